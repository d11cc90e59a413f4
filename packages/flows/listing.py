"""Unlisting and relisting from the web page, as the publish API's DELETE and POST do.

nuget.org's per-package "Manage" page lists every version with a "Listed" box;
saving it unlists the versions whose box was cleared and relists the others.
"""

from audit.events import Kind, record
from packages import search
from packages.models import PackageRegistration, PackageVersion


def set_listed(request, version: PackageVersion, listed: bool) -> bool:
    """List or unlist one version for the signed-in user; True if it changed.

    The conditional UPDATE makes two saves of the same page at once record the
    change only once.
    """
    changed = PackageVersion.objects.filter(pk=version.pk, listed=not listed).update(listed=listed)
    if not changed:
        return False
    version.listed = listed
    search.refresh([version.registration_id])  # an UPDATE sends no post_save
    record(
        Kind.PACKAGE_RELISTED if listed else Kind.PACKAGE_UNLISTED,
        request=request,
        user=request.user,
        actor=request.user,
        package_id=version.registration.package_id,
        package_version=version.version,
        via="web",
    )
    return True


def apply_listing(
    request, registration: PackageRegistration, listed_pks: set[int], shown_pks: set[int]
) -> list[PackageVersion]:
    """Of the versions the page showed (`shown_pks`), make exactly those in `listed_pks`
    listed; returns the versions changed. A version pushed after the page was opened
    is left as it is."""
    changed = []
    for version in registration.versions.filter(pk__in=shown_pks):
        version.registration = registration  # for the audit record, without a query
        if set_listed(request, version, listed=version.pk in listed_pks):
            changed.append(version)
    return changed
