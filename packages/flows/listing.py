"""Unlisting and relisting from the web page, as the publish API's DELETE and POST do.

nuget.org's per-package "Manage" page lists every version with a "Listed" box;
saving it unlists the versions whose box was cleared and relists the others.
"""

from packages import lifecycle
from packages.models import PackageRegistration, PackageVersion


def apply_listing(
    request, registration: PackageRegistration, listed_pks: set[int], shown_pks: set[int]
) -> list[PackageVersion]:
    """Of the versions the page showed (`shown_pks`), make exactly those in `listed_pks`
    listed; returns the versions changed. A version pushed after the page was opened
    is left as it is."""
    actor = lifecycle.Actor.of_session(request)
    return [
        version
        for version in registration.versions.filter(pk__in=shown_pks)
        if lifecycle.set_listed(actor, version, listed=version.pk in listed_pks)
    ]
