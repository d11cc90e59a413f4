"""What Galley keeps of its upstreams: their metadata for a while, their packages
for good.

- Metadata (an id's registration entries) lives in UpstreamMetadata for
  GALLEY_UPSTREAM_METADATA_TTL seconds (written once the answer that read it is
  sent); an id no upstream has is remembered as such (the negative cache). When
  the upstreams fail, a stale row is served, with a log line; with no row at all
  the caller answers 502.
- A cached version follows the upstream's listing when the metadata is read
  again (the TTL, or an administrator's refresh), unless someone here listed or
  unlisted it (lifecycle.set_listed keeps their decision).
- A package is fetched once, checked (packages.nupkg.read_package's limits, and
  the id and version it claims must be those asked for), and stored through
  packages/lifecycle.py; from then on it is served from storage, whatever becomes
  of the upstream. Concurrent first requests for one file wait for one fetch (a
  lock in the shared cache).
- A small package (ANSWER_FIRST_LIMIT) fetched for a plain download is answered
  from a copy of its bytes in memory, and stored once the answer is sent: a restore
  does not wait for the storing. The response never reads the file being stored.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.utils import timezone

from core.after_response import after_response
from packages import downloads, lifecycle
from packages.models import PackageVersion
from packages.nupkg import NuGetVersion, PackageError, read_package
from packages.upstreams import client
from packages.upstreams.client import NotFound, Upstream, UpstreamError, count
from packages.upstreams.models import UpstreamMetadata

log = logging.getLogger("galley.upstreams")
SYSTEM = lifecycle.Actor(user=None, channel=lifecycle.Channel.SYSTEM)


class Unavailable(Exception):
    """The upstreams failed and nothing is cached to answer with."""


class Rejected(Exception):
    """An upstream served a package that is unsafe or not the one asked for."""


@dataclass
class Metadata:
    """The kept metadata of an id: which upstream has it, when it was read (what the
    documents built from it are keyed on) and its catalog entries as given, read
    out of the database only when asked for (a document in the memo needs none)."""

    upstream: str
    fetched_at: datetime
    row: UpstreamMetadata | None = None  # its entries deferred
    given: list[dict] | None = None  # fetched now

    @property
    def entries(self) -> list[dict]:
        if self.given is None:
            self.given = self.row.entries  # one query, the first time
        return self.given

    def by_identity(self) -> dict[str, dict]:
        found = {}
        for entry in self.entries:
            try:
                found[NuGetVersion.of(entry["version"]).identity_key] = entry
            except (ValueError, KeyError, TypeError):
                continue
        return found


def _kept(row: UpstreamMetadata) -> Metadata | None:
    return Metadata(row.upstream, row.fetched_at, row=row) if row.found else None


def metadata(lower_id: str, *, refresh: bool = False) -> Metadata | None:
    """The first upstream's entries for an id (in GALLEY_UPSTREAMS order), None if no
    upstream has it; Unavailable if they fail and nothing was kept."""
    row = UpstreamMetadata.objects.filter(normalized_id=lower_id).defer("entries").first()
    ttl = settings.GALLEY_UPSTREAM_METADATA_TTL
    if row is not None and not refresh and (timezone.now() - row.fetched_at).total_seconds() < ttl:
        count("metadata_hits")
        return _kept(row)
    count("metadata_misses")
    try:
        upstream, entries = _fetch_metadata(lower_id)
    except UpstreamError as error:
        if row is None:
            log.warning("upstreams failed for %s, nothing cached: %s", lower_id, error)
            raise Unavailable(str(error)) from None
        log.warning(
            "upstreams failed for %s, serving metadata of %s: %s", lower_id, row.fetched_at, error
        )
        count("stale")
        return _kept(row)
    now = timezone.now()
    found = Metadata(upstream, now, given=entries) if upstream is not None else None

    def keep() -> None:
        UpstreamMetadata.objects.update_or_create(
            normalized_id=lower_id,
            defaults={
                "upstream": upstream or "",
                "found": upstream is not None,
                "entries": entries,
                "fetched_at": now,
            },
        )

    # A feed read need not wait for the write (on SQLite, behind other writers):
    # it is kept once the answer is sent (until then, or should the process die
    # first, another read asks the upstream again). An administrator's refresh
    # keeps it at once. The cached versions' listing follows now, so that this
    # answer already shows it.
    if refresh:
        keep()
    else:
        after_response(keep)
    if found is not None:
        _follow_listing(lower_id, found)
    return found


def _follow_listing(lower_id: str, found: Metadata) -> None:
    """Cached versions of the id follow the upstream's listing as its metadata is read
    again (unlisted there: unlisted here; relisted: relisted), through the lifecycle
    with the system actor, which never undoes a decision made here (set_listed)."""
    listed = {
        identity: bool(entry.get("listed", True)) for identity, entry in found.by_identity().items()
    }
    cached = PackageVersion.objects.filter(
        registration__normalized_id=lower_id, upstream=found.upstream, listing_set_here=False
    )
    for version in cached:
        wanted = listed.get(version.normalized_version)
        if wanted is not None and wanted != version.listed:
            lifecycle.set_listed(SYSTEM, version, wanted)
            log.info(
                "%s %s %s as on %s",
                lower_id,
                version.normalized_version,
                "relisted" if wanted else "unlisted",
                found.upstream,
            )


def _fetch_metadata(lower_id: str) -> tuple[str | None, list[dict]]:
    """(upstream URL, entries) of the first upstream that has the id, (None, [])
    if every upstream answers 404; UpstreamError if one fails before one has it."""
    for upstream in Upstream.configured():
        try:
            return upstream.url, client.registration_entries(upstream, lower_id)
        except NotFound:
            continue
    return None, []


def cached_version(lower_id: str, identity: str) -> PackageVersion | None:
    return (
        PackageVersion.objects.filter(
            registration__normalized_id=lower_id, normalized_version=identity
        )
        .select_related("registration")
        .first()
    )


# A package up to this size, fetched for a plain download, is answered before it is
# stored (fetch_package's `answer_first`): its bytes are held in memory meanwhile.
ANSWER_FIRST_LIMIT = 1024 * 1024


@dataclass
class Answered:
    """A package fetched and checked for the download asking for it, answered from
    `content` (a copy of its bytes): it is stored once the answer is sent."""

    lower_id: str
    identity: str
    content: bytes
    sha512: str


@dataclass
class Fetched:
    """A package fetched from an upstream and checked, in a temporary file."""

    lower_id: str
    identity: str
    manifest: object
    file: BinaryIO  # the temporary file, closed once stored
    size: int
    sha512: str


def fetch_package(
    lower_id: str, identity: str, entry: dict, upstream_url: str, *, answer_first: bool = False
) -> PackageVersion | Answered:
    """The cached version, fetched from its upstream and stored if needed, once for
    concurrent requests (the others wait for the stored version). Raises Unavailable
    (upstream failed) or Rejected (bad package).

    `answer_first` (a plain download of the .nupkg): a package fetched now and no
    larger than ANSWER_FIRST_LIMIT comes back as Answered, and is stored (its
    download counted) once the answer is sent; the lock is held until then, so
    concurrent requests get the stored version. Should the store fail or the process
    die first, nothing is kept and the next download fetches the package again."""
    lock = f"galley:upstream-fetch:{lower_id}:{identity}"
    token = secrets.token_hex(8)
    waited_until = time.monotonic() + settings.GALLEY_UPSTREAM_DEADLINE + 30
    while not cache.add(lock, token, timeout=settings.GALLEY_UPSTREAM_DEADLINE + 30):
        if time.monotonic() > waited_until:
            raise Unavailable(f"{lower_id} {identity} is being fetched")
        time.sleep(0.05)
        version = _cached_from_upstream(lower_id, identity)
        if version is not None:
            return version
    held = True
    try:
        version = _cached_from_upstream(lower_id, identity)
        if version is not None:  # fetched by the request that held the lock
            return version
        fetched = _fetch(lower_id, identity, upstream_url)
        if not answer_first or fetched.size > ANSWER_FIRST_LIMIT:
            return _store(fetched, entry, upstream_url)
        fetched.file.seek(0)
        answered = Answered(lower_id, identity, fetched.file.read(), fetched.sha512)
        held = False  # released by the store
        after_response(lambda: _store_answered(fetched, entry, upstream_url, lock, token))
        return answered
    finally:
        if held:
            _release(lock, token)


def _release(lock: str, token: str) -> None:
    # Only this request's lock: one that outlived its timeout may be another's now.
    if cache.get(lock) == token:
        cache.delete(lock)


def _store_answered(fetched: Fetched, entry: dict, upstream_url: str, lock: str, token: str):
    """Store a package whose download was answered from its bytes, count that
    download, and release the fetch lock."""
    try:
        downloads.count_download(_store(fetched, entry, upstream_url))
    except Exception:
        fetched.file.close()
        log.warning(
            "%s %s was served from %s but could not be stored; it is fetched again next time",
            fetched.lower_id,
            fetched.identity,
            upstream_url,
            exc_info=True,
        )
    finally:
        _release(lock, token)


def _cached_from_upstream(lower_id: str, identity: str) -> PackageVersion | None:
    """The version cached from an upstream, or None. A version of that number pushed
    here meanwhile is never served in the upstream's place (its reader may not read
    it): Unavailable."""
    version = cached_version(lower_id, identity)
    if version is not None and not version.upstream:
        raise Unavailable(f"{lower_id} {identity} was pushed here")
    return version


def _fetch(lower_id: str, identity: str, upstream_url: str) -> Fetched:
    """The package from its upstream in a checked temporary file."""
    upstream = next((u for u in Upstream.configured() if u.url == upstream_url), None)
    if upstream is None:
        raise Unavailable(f"{upstream_url} is no longer an upstream")
    count("package_misses")
    try:
        url = client.package_url(upstream, lower_id, identity)
        package = client.download(upstream, url)
    except UpstreamError as error:
        log.warning("could not fetch %s %s from %s: %s", lower_id, identity, upstream_url, error)
        raise Unavailable(str(error)) from None
    try:
        try:
            manifest = read_package(package)
        except PackageError as error:
            log.warning("%s %s from %s refused: %s", lower_id, identity, upstream_url, error)
            raise Rejected(str(error)) from None
        if manifest.id.lower() != lower_id or manifest.version.identity_key != identity:
            log.warning(
                "%s from %s claims to be %s %s: refused",
                url,
                upstream_url,
                manifest.id,
                manifest.version.normalized,
            )
            raise Rejected(f"the package is {manifest.id} {manifest.version.normalized}")
    except BaseException:
        package.close()
        raise
    size, sha512 = package.measured  # as it arrived (client.download)
    return Fetched(lower_id, identity, manifest, package, size, sha512)


def _store(fetched: Fetched, entry: dict, upstream_url: str) -> PackageVersion:
    """Store a fetched package through the lifecycle (another request may have stored
    it first) and close its temporary file."""
    lower_id, identity = fetched.lower_id, fetched.identity
    fields = {"size": fetched.size, "sha512": fetched.sha512}
    with fetched.file:
        listed = bool(entry.get("listed", True))
        try:
            version = lifecycle.cache_upstream_version(
                SYSTEM, fetched.manifest, fetched.file, fields, upstream_url, listed
            )
        except lifecycle.Conflict:
            version = _cached_from_upstream(lower_id, identity)
            if version is None:
                raise Unavailable(f"{lower_id} {identity} could not be stored") from None
    log.info("cached %s %s from %s (%d bytes)", lower_id, identity, upstream_url, fetched.size)
    return version


def refresh(lower_id: str) -> bool:
    """Read an id's metadata from the upstreams again now; False if they failed."""
    try:
        metadata(lower_id, refresh=True)
    except Unavailable:
        return False
    return UpstreamMetadata.objects.filter(normalized_id=lower_id).exists()


def prune(days: int, now=None) -> int:
    """Remove cached upstream versions not served for `days` days (never served:
    cached that long ago), through the lifecycle; how many were removed."""
    cutoff = (now or timezone.now()) - timezone.timedelta(days=days)
    stale = (
        PackageVersion.objects.exclude(upstream="")
        .filter(
            models.Q(last_used__lt=cutoff) | models.Q(last_used__isnull=True, created__lt=cutoff)
        )
        .select_related("registration")
    )
    removed = sum(lifecycle.prune_upstream_version(SYSTEM, version) for version in stale)
    log.info("pruned %d cached upstream versions unused for %d days", removed, days)
    return removed
