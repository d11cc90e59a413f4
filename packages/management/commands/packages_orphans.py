"""Find, and with --delete remove, stored files that no package version refers to."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from packages import lifecycle
from packages.models import PackageVersion, SymbolFile, SymbolPackage
from packages.storage import package_storage, stored_files


def referenced_names() -> set[str]:
    """Every storage name a row points to: packages, their manifests, symbols and
    the PDBs extracted from them."""
    names = set()
    for name in PackageVersion.objects.values_list("file", flat=True).iterator():
        names.add(name)
        names.add(lifecycle.manifest_name(PackageVersion(file=name)))
    names.update(SymbolPackage.objects.values_list("file", flat=True).iterator())
    names.update(SymbolFile.objects.values_list("file", flat=True).iterator())
    return names


def orphans(min_age: timedelta) -> list[tuple[str, object]]:
    """Files older than `min_age` that no row refers to.

    Listed before the rows are read: a push writes its file, then its row, so a
    file that is young enough to belong to a push still in flight is left alone,
    and any older file whose row exists is seen in the rows read afterwards.
    """
    cutoff = timezone.now() - min_age
    candidates = [(n, m) for n, m in stored_files(package_storage()) if m < cutoff]
    if not candidates:
        return []
    known = referenced_names()
    return sorted((n, m) for n, m in candidates if n not in known)


class Command(BaseCommand):
    help = (
        "List stored package files that no package version refers to (left by a crash "
        "between writing a file and its row, or by a failed delete); --delete removes them. "
        "Files younger than --min-age are left alone: they may belong to a push in progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help="Remove the files listed.")
        parser.add_argument(
            "--min-age",
            type=int,
            default=3600,
            metavar="SECONDS",
            help="Only files last written at least this long ago (default: 3600).",
        )

    def handle(self, *args, delete: bool, min_age: int, **options):
        storage = package_storage()
        found = orphans(timedelta(seconds=max(min_age, 0)))
        for name, modified in found:
            if delete:
                storage.delete(name)
            self.stdout.write(
                f"{'deleted' if delete else 'orphan'} {name} {modified:%Y-%m-%dT%H:%M:%SZ}"
            )
        verb = "deleted" if delete else "found"
        self.stdout.write(f"{len(found)} orphaned files {verb}.")
