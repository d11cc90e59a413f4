"""Public packages that the web server sends without asking Galley.

On a public feed whose packages are in the local folder, nginx can send a download
itself, as a static file server or nuget.org's CDN does: Galley keeps a folder
(GALLEY_PUBLIC_FILES) laid out as the feed's download addresses,
`v3-flatcontainer/{id}/{version}/{id}.{version}.nupkg` in lower case, each a
symbolic link to the stored package, and nginx sends what it finds there and asks
Galley for anything else (docs/deploy.md). The downloads nginx sent are counted
from its log (packages/download_log.py).

Which versions: every version pushed here, listed or not, which every reader may
download from Galley itself on a public feed. Not the versions cached from an
upstream: Galley checks their id's upstream rules and notes their use (for
prune_upstream_cache) on every download, so those keep going through Galley.

The lifecycle (packages/lifecycle.py) keeps the folder in step with the rows, in
the order that never lets nginx send what Galley would refuse: a version's link is
made once its row has committed, and removed before its deletion commits. A link
missing only sends that download through Galley; a link whose file was removed
dangles, and nginx then asks Galley too. `manage.py public_files` makes the folder
agree with the rows again (after turning it on or restoring a backup).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from packages.models import PackageVersion
from packages.storage import is_object_storage, package_storage

log = logging.getLogger("galley.packages")

PREFIX = "v3-flatcontainer"
# A lower-case id or normalised version, as the feed writes them: never a
# separator, never a leading dot (no `..`, no hidden names in the folder).
_SEGMENT = re.compile(r"[a-z0-9_][a-z0-9_.-]*")


def root() -> Path | None:
    """The folder, when the feed keeps one (checked at start: config/settings.py)."""
    folder = settings.GALLEY_PUBLIC_FILES
    if folder is None or settings.GALLEY_FEED_READ != "public":
        return None
    if is_object_storage(package_storage()):
        return None
    return folder


def address(lower_id: str, lower_version: str) -> str:
    """A version's download address below the site's root, without its leading /."""
    if not (_SEGMENT.fullmatch(lower_id) and _SEGMENT.fullmatch(lower_version)):
        raise ValueError(f"not a package id and version: {lower_id!r} {lower_version!r}")
    return f"{PREFIX}/{lower_id}/{lower_version}/{lower_id}.{lower_version}.nupkg"


def _served_here(version: PackageVersion) -> bool:
    return not version.upstream


def _link_of(folder: Path, version: PackageVersion) -> Path:
    return folder / address(version.registration.normalized_id, version.normalized_version)


def publish(version: PackageVersion) -> None:
    """Link a version whose row has committed (a pushed one only). Never fails the
    change it follows: without its link, the download goes through Galley."""
    folder = root()
    if folder is None or not _served_here(version):
        return
    try:
        _link(_link_of(folder, version), Path(package_storage().path(version.file.name)))
    except (OSError, ValueError):
        log.exception("no public link for %s: its downloads go through Galley", version)


def withdraw(version: PackageVersion) -> None:
    """Remove a version's link, before the change that stops Galley serving it
    commits. Should it fail, the change goes on: the version's file is removed
    right after, and a dangling link sends the download to Galley."""
    folder = root()
    if folder is None:
        return
    try:
        _link_of(folder, version).unlink(missing_ok=True)
    except (OSError, ValueError):
        log.exception("could not remove the public link of %s", version)


def _link(link: Path, target: Path) -> None:
    """`link` made to point at `target`, replacing what was there in one rename."""
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".link-{secrets.token_hex(8)}")
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def rebuild() -> tuple[int, int]:
    """Make the folder agree with the rows: (links made, entries removed).

    Every version served here gets its link; anything else in the folder goes (links
    of versions gone, links that point elsewhere, files nobody made, empty folders).
    With the folder off, nothing happens: (0, 0)."""
    folder = root()
    if folder is None:
        return 0, 0
    storage = package_storage()
    wanted: dict[Path, Path] = {}
    versions = (
        PackageVersion.objects.filter(upstream="")
        .values_list("registration__normalized_id", "normalized_version", "file")
        .iterator(chunk_size=2000)
    )
    for lower_id, lower_version, name in versions:
        try:
            wanted[folder / address(lower_id, lower_version)] = Path(storage.path(name))
        except ValueError:
            log.warning("no public link for %s %s: not a feed address", lower_id, lower_version)
    removed = 0
    for entry in _entries(folder):
        if entry.is_symlink() and wanted.get(entry) == Path(os.readlink(entry)):
            del wanted[entry]
        else:
            entry.unlink()
            removed += 1
    for link, target in wanted.items():
        _link(link, target)
    removed += _prune_empty(folder)
    return len(wanted), removed


def _entries(folder: Path) -> Iterator[Path]:
    """Every file and link below `folder` (links not followed)."""
    for directory, dirs, files in os.walk(folder):
        for name in files:
            yield Path(directory) / name
        for name in dirs:
            if (Path(directory) / name).is_symlink():
                yield Path(directory) / name


def _prune_empty(folder: Path) -> int:
    removed = 0
    for directory, _dirs, _files in os.walk(folder, topdown=False):
        path = Path(directory)
        if path != folder and not any(path.iterdir()):
            path.rmdir()
            removed += 1
    return removed
