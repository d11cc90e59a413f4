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
import gzip
import hashlib
import json
import logging
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass

from django.utils.translation import gettext as _

from core import statements
from packages import lifecycle
from packages.models import PackageRegistration, PackageVersion
from packages.nupkg import NuGetVersion
from packages.readers import DOCUMENT_FIELDS
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


def _version_with_registration():
    versions = PackageVersion.objects.filter(
        registration__normalized_id=statements.PACKAGE_ID,
        normalized_version=statements.VERSION,
    )
    return versions.select_related("registration").order_by()[:1]


def find_version(package_id: str, version_text: str, reader) -> PackageVersion:
    """One version by id and version (any spelling NuGet treats as equal), or FeedError.

    Every download asks it: its statement is compiled once per process
    (core/statements.py), as building it through the ORM cost more than the
    download's whole answer when nginx sends the file."""
    identity = parse_version(version_text).identity_key
    statement = statements.compiled("feed.find_version", _version_with_registration)
    version = statement.first(
        {statements.PACKAGE_ID: package_id.lower(), statements.VERSION: identity}
    )
    if version is None or not reader.can_read(version.registration):
        raise _not_found(package_id, version_text[:64])
    return version


def versions_index(package_id: str, reader, registration=None) -> dict:
    """The flat container's list: every version, lowercase and normalised."""
    _registration, versions = _versions_of(package_id, reader, registration)
    return {"versions": [version.normalized_version for version in versions]}


# ------------------------------------------------------------------ memoised
# Feed documents are read far more often than packages change: each process keeps
# them as a static file server would, as bytes with their gzip form and ETag, built
# once per registration revision (packages/lifecycle.py bumps it with every change
# to a package's versions) and answered without rebuilding, re-hashing or
# re-compressing. The memo is per process and bounded by bytes (MEMO_BYTES, bodies
# and gzip forms together): one slot per document, holding only its latest
# revision, least recently used slots dropped first. Measured with the benchmark's
# metadata: a 200-version package's documents take 0.36 MB once all are read (its
# index 1 KB, four pages 219 KB, 200 leaves 136 KB, its versions index 2 KB), a
# 128-version inline index 141 KB (137 KB and 4 KB gzipped); 32 MB per worker keeps
# about ninety such packages.

MEMO_BYTES = 32 << 20
MEMO_LARGEST = 4 << 20  # a larger document is built again each time, never kept
GZIP_SMALLEST = 256  # below this, the gzip header costs more than it saves


@dataclass(frozen=True)
class Document:
    """A JSON answer ready to send: its bytes, their gzip form (None when gzip does
    not pay) and an ETag for each, derived from the body's hash so that every
    process gives the same document the same ETag."""

    body: bytes
    gzipped: bytes | None
    etag: str
    gzip_etag: str

    @classmethod
    def of(cls, data: dict | bytes, *, compresslevel: int = 9) -> Document:
        body = data if isinstance(data, bytes) else as_json(data)
        gzipped = None
        if len(body) >= GZIP_SMALLEST:
            # mtime=0: the same bytes in every process, hence the same ETag's meaning.
            gzipped = gzip.compress(body, compresslevel=compresslevel, mtime=0)
            if len(gzipped) >= len(body):
                gzipped = None
        etag = etag_of(body)
        # A representation's ETag differs between its encodings (RFC 9110 8.8.3).
        return cls(body, gzipped, etag, etag[:-1] + '-gzip"')

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")

    def matches(self, if_none_match: str) -> bool:
        """Whether an If-None-Match header names this document (either encoding),
        compared weakly as RFC 9110 13.1.2 says for If-None-Match."""
        if if_none_match.strip() == "*":
            return True
        tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
        return any(tag in (self.etag, self.gzip_etag) for tag in tags)


_MEMO: OrderedDict[tuple, tuple[tuple, Document]] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_memo_bytes = 0


def as_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def remembered(slot: tuple, revision: tuple, build) -> Document:
    """The Document `build()` made for `slot` at `revision`, made once per process."""
    global _memo_bytes
    with _MEMO_LOCK:
        kept = _MEMO.get(slot)
        if kept is not None and kept[0] == revision:
            _MEMO.move_to_end(slot)
            return kept[1]
    document = build()
    if not isinstance(document, Document):
        document = Document.of(document)
    if document.size > MEMO_LARGEST:
        return document
    with _MEMO_LOCK:
        old = _MEMO.pop(slot, None)
        if old is not None:
            _memo_bytes -= old[1].size
        _MEMO[slot] = (revision, document)
        _memo_bytes += document.size
        while _memo_bytes > MEMO_BYTES and _MEMO:
            _slot, (_revision, dropped) = _MEMO.popitem(last=False)
            _memo_bytes -= dropped.size
    return document


def forget_all() -> None:
    """Empty this process's memo (tests)."""
    global _memo_bytes
    with _MEMO_LOCK:
        _MEMO.clear()
        _memo_bytes = 0


def memo_bytes() -> int:
    return _memo_bytes


def memoised_json(kind: str, package_id: str, reader, links, build, *variant) -> Document:
    """The Document of `build(registration)` for a package the reader may read,
    reused while its versions are unchanged (see above), or FeedError 404.

    One query, the reader's rules included (readers.Reader.registration); `build`
    runs only on the first request for the registration's revision."""
    lower = package_id.lower()
    registration = reader.registration(lower, *DOCUMENT_FIELDS)
    if registration is None:
        raise _not_found(package_id)
    return remembered(
        (kind, lower, links, *variant),
        (registration.pk, registration.revision),
        lambda: build(registration),
    )


def versions_index_json(package_id: str, reader) -> Document:
    """versions_index() as a Document, memoised (see memoised_json)."""
    return memoised_json(
        "versions",
        package_id,
        reader,
        None,
        lambda registration: versions_index(package_id, reader, registration),
    )


def etag_of(body: bytes) -> str:
    digest = hashlib.blake2b(body, digest_size=16).digest()
    return '"' + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=") + '"'
