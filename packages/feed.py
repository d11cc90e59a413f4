"""The NuGet V3 read protocol's common ground: finding versions for a reader, the
flat container's versions index and manifests, and the memo of feed documents.

Registration documents live in packages/registrations.py, search and autocomplete
in packages/search/, download counts in packages/downloads.py. Views
(packages/feed_views.py) turn a request into the arguments of one function and
its answer into JSON; `FeedError` carries the status for bad input.

Every function answers with a constant number of queries, whatever the number
of versions: the registration (with the reader's rules, packages/readers.py)
and its versions.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass

from django.utils.translation import gettext as _

from packages import lifecycle
from packages.models import PackageRegistration, PackageVersion
from packages.nupkg import NuGetVersion
from packages.storage import package_storage

log = logging.getLogger("galley.feed")


@dataclass
class FeedError(Exception):
    status: int
    message: str


def _not_found(package_id: str, version: str = "") -> FeedError:
    if version:
        return FeedError(
            404,
            _("%(id)s %(version)s does not exist.") % {"id": package_id[:100], "version": version},
        )
    return FeedError(404, _("The package %(id)s does not exist.") % {"id": package_id[:100]})


def parse_version(text: str) -> NuGetVersion:
    """The version in a URL, or FeedError 400 saying why it is not one."""
    try:
        return NuGetVersion.of(text)
    except ValueError as error:
        raise FeedError(400, str(error)) from None


def read_nuspec(version: PackageVersion) -> tuple[object | None, bytes | None]:
    """(an open stored file, None), or (None, the bytes read out of the package)."""
    storage = package_storage()
    try:
        return storage.open(lifecycle.manifest_name(version), "rb"), None
    except FileNotFoundError:
        pass
    with storage.open(version.file.name, "rb") as package, zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            if "/" not in info.filename and info.filename.lower().endswith(".nuspec"):
                return None, archive.read(info)
    raise FeedError(404, _("The package has no manifest."))


# ------------------------------------------------------------------ versions


def full_version(version: PackageVersion) -> str:
    """The normalized version with its build metadata ("1.0.0-rc.1+build.7"): the
    docs' "full version string after normalization", which may carry build data."""
    return NuGetVersion.of(version.original_version or version.version).full


def sorted_versions(versions) -> list[PackageVersion]:
    """Versions in NuGet's order, oldest first (1.0.0-beta < 1.0.0 < 1.0.1 < 1.10.0)."""
    return sorted(versions, key=lambda v: NuGetVersion.of(v.version))


def _versions_of(
    package_id: str, reader, registration=None
) -> tuple[PackageRegistration, list[PackageVersion]]:
    """The registration and all its versions (unlisted too, for exact restores), sorted.

    One query; a package the reader may not see does not exist for them. With a
    `registration` the reader was already found to read (memoised_json), only
    its versions are read.
    """
    if registration is not None:
        versions = list(registration.versions.all())
        if not versions:
            raise _not_found(package_id)
        for version in versions:
            version.registration = registration
        return registration, sorted_versions(versions)
    versions = list(
        PackageVersion.objects.filter(registration__normalized_id=package_id.lower())
        .select_related("registration")
        .defer("registration__created")
    )
    if not versions:
        raise _not_found(package_id)
    registration = versions[0].registration
    if not reader.can_read(registration):
        raise _not_found(package_id)
    for version in versions:
        version.registration = registration
    return registration, sorted_versions(versions)


def find_version(package_id: str, version_text: str, reader) -> PackageVersion:
    """One version by id and version (any spelling NuGet treats as equal), or FeedError."""
    identity = parse_version(version_text).identity_key
    version = (
        PackageVersion.objects.filter(
            registration__normalized_id=package_id.lower(), normalized_version=identity
        )
        .select_related("registration")
        .first()
    )
    if version is None or not reader.can_read(version.registration):
        raise _not_found(package_id, version_text[:64])
    return version


def versions_index(package_id: str, reader, registration=None) -> dict:
    """The flat container's list: every version, lowercase and normalised."""
    _registration, versions = _versions_of(package_id, reader, registration)
    return {"versions": [version.normalized_version for version in versions]}


# ------------------------------------------------------------------ memoised


_MEMO: OrderedDict[tuple, bytes] = OrderedDict()
_MEMO_LOCK = threading.Lock()
MEMO_ENTRIES = 128
MEMO_LARGEST = 1 << 20  # bodies over 1 MB are built again each time


def as_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def memoised_json(kind: str, package_id: str, reader, links, build) -> bytes:
    """The JSON of `build()` for a package, reused while its versions are unchanged.

    Indexes are read far more often than packages change, and building one for
    hundreds of versions costs far more than one indexed lookup, so each process
    keeps the latest bodies, keyed by the registration's revision, which
    packages/lifecycle.py bumps with every change to its versions.
    """
    lower = package_id.lower()
    # One query, the reader's rules included (readers.Reader.registration).
    registration = reader.registration(lower, "normalized_id", "revision")
    if registration is None:
        raise _not_found(package_id)
    key = (kind, lower, links, registration.pk, registration.revision)
    with _MEMO_LOCK:
        body = _MEMO.get(key)
        if body is not None:
            _MEMO.move_to_end(key)
            return body
    body = as_json(build(registration))
    if len(body) <= MEMO_LARGEST:
        with _MEMO_LOCK:
            _MEMO[key] = body
            while len(_MEMO) > MEMO_ENTRIES:
                _MEMO.popitem(last=False)
    return body


def versions_index_json(package_id: str, reader) -> bytes:
    """versions_index() as JSON, memoised (see memoised_json)."""
    return memoised_json(
        "versions",
        package_id,
        reader,
        None,
        lambda registration: versions_index(package_id, reader, registration),
    )


def etag_of(body: bytes) -> str:
    import hashlib

    digest = hashlib.blake2b(body, digest_size=16).digest()
    return '"' + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=") + '"'
