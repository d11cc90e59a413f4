"""Deleting a package version for good: an administrator's answer to malware or a
leaked secret inside a package, where unlisting is not enough because unlisted
versions still restore by exact version.

The registration stays, with its owners: the id remains theirs, as on nuget.org.
"""

import logging

from django.db import transaction

from audit.events import Kind, record
from packages import downloads, feed
from packages.models import PackageVersion
from packages.storage import package_storage

log = logging.getLogger("galley.packages")


def delete_version(request, version: PackageVersion, reason: str) -> None:
    """Remove the version's row, its files (.nupkg, .nuspec, symbols) and its
    download count not flushed yet, and record who did it and why."""
    version = PackageVersion.objects.select_related("registration", "symbols").get(pk=version.pk)
    names = feed.version_files(version)
    pk = version.pk  # delete() clears it
    with transaction.atomic():
        version.delete()  # its SymbolPackage row goes with it (CASCADE)
        record(
            Kind.PACKAGE_DELETED,
            request=request,
            actor=request.user,
            package_id=version.registration.package_id,
            package_version=version.version,
            reason=reason,
            sha512=version.sha512,
        )
    # Files go after the rows are gone: the feed answers 404 from that moment,
    # and a file that cannot be removed is left behind unreachable, logged,
    # rather than a row left pointing at a missing file.
    storage = package_storage()
    for name in names:
        try:
            storage.delete(name)
        except Exception:
            log.exception("could not delete %s of the deleted version %s", name, version)
    downloads.forget_downloads(pk)
