"""Which ids take versions from the upstreams: the dependency-confusion rule.

An id Galley has pushed a version of (a local version), or that falls under a
reserved prefix, never takes versions from an upstream, as Azure Artifacts does:
otherwise anyone who publishes `Contoso.Core` upstream at a version the team uses
could get their code restored. An administrator lifts that for one id with an
UpstreamAllowance. Blocked versions are never served.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from apikeys.scopes import Refusal
from packages.models import PackageRegistration, PackageVersion, ReservedPrefix
from packages.upstreams.models import BlockedUpstreamVersion, UpstreamAllowance


def enabled() -> bool:
    return bool(settings.GALLEY_UPSTREAMS)


def allowed(package_id: str) -> bool:
    return UpstreamAllowance.objects.filter(normalized_id=package_id.lower()).exists()


def has_local_versions(package_id: str) -> bool:
    """Is `package_id` Galley's own: a version was pushed, or it has owners (whose
    versions may all have been deleted for good: the id stays theirs)?"""
    lower = package_id.lower()
    return (
        PackageVersion.objects.filter(registration__normalized_id=lower, upstream="").exists()
        or PackageRegistration.owners.through.objects.filter(
            packageregistration__normalized_id=lower
        ).exists()
    )


def serves_upstream(package_id: str) -> bool:
    """May `package_id` take versions from the upstreams?"""
    if not enabled():
        return False
    if not has_local_versions(package_id) and not ReservedPrefix.objects.matching(package_id):
        return True
    return allowed(package_id)


def blocked_versions(package_id: str) -> set[str]:
    return set(
        BlockedUpstreamVersion.objects.filter(normalized_id=package_id.lower()).values_list(
            "normalized_version", flat=True
        )
    )


def cached_only(registration) -> bool:
    """Are all of a package's versions cached from an upstream (none pushed)? A
    package with owners never is: no query for it (owners are prefetched)."""
    if registration.owners.all():
        return False
    versions = registration.versions.all()
    return versions.filter(upstream__gt="").exists() and not versions.filter(upstream="").exists()


def push_refusal(package_id: str, registration) -> Refusal | None:
    """The first local push of an id that so far only holds versions cached from an
    upstream needs an administrator's UpstreamAllowance: the team takes the id over
    from the upstream knowingly, never by accident."""
    if registration is None or not cached_only(registration) or allowed(package_id):
        return None
    return Refusal(
        "upstream_id",
        _(
            "'%(id)s' is a package of an upstream source cached by this feed. Ask an "
            "administrator to allow local versions of it before pushing."
        )
        % {"id": package_id},
        status=403,
    )


def allow(allowance: UpstreamAllowance, request) -> None:
    """Save an administrator's allowance, audited in their security log."""
    from audit.events import Kind, record
    from packages import public_files

    allowance.created_by = allowance.created_by or request.user
    allowance.save()
    # Its pushed versions now go through the upstream rules: nginx must stop sending them.
    public_files.withdraw_id(allowance.normalized_id)
    record(
        Kind.UPSTREAM_ALLOWED,
        request=request,
        user=request.user,
        actor=request.user,
        package_id=allowance.package_id,
        reason=allowance.reason,
    )
