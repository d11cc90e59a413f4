"""Public packages that the web server sends without asking Galley.

On a public feed whose packages are in the local folder, nginx can send a download
itself, as a static file server or nuget.org's CDN does: Galley keeps a folder
(GALLEY_PUBLIC_FILES) laid out as the feed's download addresses,
`v3-flatcontainer/{id}/{version}/{id}.{version}.nupkg` in lower case, each a
symbolic link to the stored package, and nginx sends what it finds there and asks
Galley for anything else (docs/deploy.md). The downloads nginx sent are counted
from its log (packages/download_log.py).

Which versions: every version pushed here, listed or not, which every reader may
download from Galley itself on a public feed, unless its id takes versions from the
upstreams (an administrator's UpstreamAllowance): Galley then answers through the
upstream rules (blocked versions), so those downloads keep going through Galley, as
do those of versions cached from an upstream (Galley notes their use on every
download, for prune_upstream_cache).

The lifecycle (packages/lifecycle.py) keeps the folder in step with the rows, under
the package's row lock, so that nginx never sends what Galley would refuse: a
version's link is made in its push's transaction, and removed in its deletion's
before the row goes; an allowance removes its id's links (packages/upstreams/rules.py).
A link missing only sends that download through Galley; a link whose file was removed
dangles, and nginx then asks Galley too (a push that fails after its link was made
removes its file, so its link dangles). `manage.py public_files` makes the folder
agree with the rows again (after turning it on, restoring a backup or moving the
packages), each link under the same lock.

Galley writes nothing in the folder but links and their folders, below
`v3-flatcontainer/`, and removes nothing else there.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction

from packages.models import PackageVersion
from packages.storage import is_object_storage, package_storage
from packages.upstreams import rules as upstream_rules
from packages.upstreams.models import UpstreamAllowance

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


def _segment(lower_id: str) -> str:
    if not _SEGMENT.fullmatch(lower_id):
        raise ValueError(f"not a package id: {lower_id!r}")
    return lower_id


def _served_here(version: PackageVersion) -> bool:
    return not version.upstream and not upstream_rules.serves_upstream(
        version.registration.normalized_id
    )


def _upstream_ids() -> set[str]:
    """The ids whose pushed versions rules.serves_upstream sends through the upstream
    rules: those with an allowance, when upstreams are on (an id with a pushed
    version has local versions, so only its allowance decides)."""
    if not upstream_rules.enabled():
        return set()
    return set(UpstreamAllowance.objects.values_list("normalized_id", flat=True))


def _link_of(folder: Path, version: PackageVersion) -> Path:
    return folder / address(version.registration.normalized_id, version.normalized_version)


def publish(version: PackageVersion) -> None:
    """Link a version just written, in its transaction (its registration's row locked:
    no deletion of it can run meanwhile). Never fails the push: without its link, the
    download goes through Galley."""
    folder = root()
    if folder is None or not _served_here(version):
        return
    try:
        _link(_link_of(folder, version), Path(package_storage().path(version.file.name)))
    except (OSError, ValueError):
        log.exception("no public link for %s: its downloads go through Galley", version)


def withdraw_id(lower_id: str) -> None:
    """Remove every link of an id (it takes upstream versions from now on)."""
    folder = root()
    if folder is None:
        return
    try:
        shutil.rmtree(folder / PREFIX / _segment(lower_id))
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        log.exception("could not remove the public links of %s", lower_id)


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


def rebuild() -> tuple[int, int, list[Path]]:
    """Make the folder agree with the rows: (links made, entries removed, files left
    alone).

    Every version served here gets its link, made under its registration's row lock
    once its row is read again (a deletion meanwhile wins); links of versions gone,
    or pointing elsewhere, go, unless a push made them since the rows were read; empty
    folders go. Anything that is not a link is reported, never removed. With the
    folder off, nothing happens."""
    folder = root()
    if folder is None:
        return 0, 0, []
    rows = _wanted(folder)
    wanted = {link: target for link, (_pk, target) in rows.items()}
    removed, strangers = 0, []
    tree = folder / PREFIX
    for entry in _entries(tree):
        if not entry.is_symlink():
            strangers.append(entry)
            continue
        target = _readlink(entry)
        if target is not None and wanted.get(entry) == target:
            del wanted[entry]
        elif target is None or _target_now(folder, entry) != target:
            entry.unlink(missing_ok=True)
            removed += 1
    made = sum(_link_if_current(rows[link][0], link, target) for link, target in wanted.items())
    return made, removed + _prune_empty(tree), strangers


def _wanted(folder: Path) -> dict[Path, tuple[int, Path]]:
    """{link: (version pk, target)} for every version served here, as the rows say now."""
    storage = package_storage()
    upstream_ids = _upstream_ids()
    found: dict[Path, tuple[int, Path]] = {}
    versions = (
        PackageVersion.objects.filter(upstream="")
        .exclude(registration__normalized_id__in=upstream_ids)
        .values_list("pk", "registration__normalized_id", "normalized_version", "file")
        .iterator(chunk_size=2000)
    )
    for pk, lower_id, lower_version, name in versions:
        try:
            found[folder / address(lower_id, lower_version)] = (pk, Path(storage.path(name)))
        except ValueError:
            log.warning("no public link for %s %s: not a feed address", lower_id, lower_version)
    return found


def _target_now(folder: Path, link: Path) -> Path | None:
    """What a link found in the folder should point at, by the rows read now."""
    parts = link.relative_to(folder).parts
    if len(parts) != 4 or parts[3] != f"{parts[1]}.{parts[2]}.nupkg":
        return None
    version = (
        PackageVersion.objects.filter(
            registration__normalized_id=parts[1], normalized_version=parts[2], upstream=""
        )
        .exclude(registration__normalized_id__in=_upstream_ids())
        .values_list("file", flat=True)
        .first()
    )
    return None if version is None else Path(package_storage().path(version))


def _link_if_current(pk: int, link: Path, target: Path) -> int:
    """Make a link under its registration's row lock if its version is still the one
    read (1), else nothing (0)."""
    with transaction.atomic():
        version = (
            PackageVersion.objects.filter(pk=pk)
            .select_for_update(of=("registration",))
            .select_related("registration")
            .first()
        )
        if version is None or Path(package_storage().path(version.file.name)) != target:
            return 0
        _link(link, target)
    return 1


def _readlink(entry: Path) -> Path | None:
    try:
        return Path(os.readlink(entry))
    except FileNotFoundError:  # removed meanwhile
        return None


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
        if path != folder:
            try:
                path.rmdir()  # only an empty folder: a push may be linking in it
            except OSError:
                continue
            removed += 1
    return removed
