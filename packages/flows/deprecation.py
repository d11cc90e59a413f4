"""Deprecating and undeprecating versions from the Manage page, as nuget.org does.

The owner picks versions, the reasons (legacy, critical bugs, other), an
optional alternate package (an id, and a version or any version) and a message.
The rules on what may be saved live here; the change itself is the lifecycle's
(`lifecycle.set_deprecation`), which records it and refreshes the feed.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from apikeys.scopes import Refusal
from packages import lifecycle
from packages.models import PackageRegistration, PackageVersion
from packages.nupkg import NuGetVersion

# The registration's `reasons` values (registration-base-url-resource.md).
REASONS = ("Legacy", "CriticalBugs", "Other")
MESSAGE_MAX_LENGTH = 4000  # nuget.org's limit on a deprecation's custom message


def _alternate(alternate_id: str, alternate_version: str) -> tuple[str, str] | Refusal:
    """The alternate package as stored (its id as registered, the normalized
    version or "" for any), or why it cannot be one: it must exist here."""
    if not alternate_id:
        if alternate_version:
            return Refusal("alternate_version_without_id", _("Enter the alternate package’s ID."))
        return "", ""
    registration = PackageRegistration.objects.filter(normalized_id=alternate_id.lower()).first()
    if registration is None:
        return Refusal(
            "alternate_missing",
            _("The alternate package %(id)s does not exist.") % {"id": alternate_id[:100]},
        )
    if not alternate_version:
        return registration.package_id, ""
    try:
        identity = NuGetVersion.of(alternate_version).identity_key
    except ValueError:
        identity = None
    version = registration.versions.filter(normalized_version=identity).first()
    if version is None:
        return Refusal(
            "alternate_version_missing",
            _("The alternate package %(id)s has no version %(version)s.")
            % {"id": registration.package_id, "version": alternate_version[:64]},
        )
    return registration.package_id, version.version


def deprecate(
    request,
    registration: PackageRegistration,
    version_pks: set[int],
    reasons: list[str],
    message: str = "",
    alternate_id: str = "",
    alternate_version: str = "",
) -> list[PackageVersion] | Refusal:
    """Deprecate the chosen versions of `registration` (the caller checked the user
    may manage it). Returns the versions changed."""
    versions = list(registration.versions.filter(pk__in=version_pks))
    if not versions:
        return Refusal("no_versions", _("Select at least one version."), status=400)
    if not reasons:
        return Refusal("no_reasons", _("Select at least one reason."), status=400)
    if any(reason not in REASONS for reason in reasons):
        return Refusal("unknown_reason", _("Select the reasons from the list."), status=400)
    if len(message) > MESSAGE_MAX_LENGTH:
        return Refusal(
            "message_too_long",
            _("The message may have at most %(count)d characters.") % {"count": MESSAGE_MAX_LENGTH},
            status=400,
        )
    alternate = _alternate(alternate_id.strip(), alternate_version.strip())
    if isinstance(alternate, Refusal):
        return Refusal(alternate.code, alternate.message, status=400)
    ordered = tuple(reason for reason in REASONS if reason in reasons)
    deprecation = lifecycle.Deprecation(ordered, message.strip(), *alternate)
    return lifecycle.set_deprecation(lifecycle.Actor.of_session(request), versions, deprecation)


def undeprecate(request, registration: PackageRegistration, version_pks: set[int]):
    """nuget.org's Undeprecate: the chosen versions lose their deprecation."""
    versions = list(registration.versions.filter(pk__in=version_pks))
    if not versions:
        return Refusal("no_versions", _("Select at least one version."), status=400)
    actor = lifecycle.Actor.of_session(request)
    return lifecycle.set_deprecation(actor, versions, lifecycle.Deprecation())
