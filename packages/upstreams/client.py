"""HTTP to the upstreams, bounded in size and time.

Every answer is streamed with a byte cap and a total deadline per fetch
(GALLEY_UPSTREAM_DEADLINE) on top of httpx's connect and read timeouts
(GALLEY_UPSTREAM_TIMEOUT), so a slow or hostile upstream cannot hold a worker;
a package goes to a temporary file block by block, never into memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import tempfile
import threading
import time
from dataclasses import dataclass

import httpx
from django.conf import settings

log = logging.getLogger("galley.upstreams")

MAX_JSON_BYTES = 16 * 1024 * 1024  # a registration index of thousands of versions
_BLOCK = 256 * 1024
# Counted per process: cache hits and misses, upstream errors, fetches and their time.
STATS: dict[str, float] = {}
_STATS_LOCK = threading.Lock()


def count(name: str, amount: float = 1) -> None:
    with _STATS_LOCK:
        STATS[name] = STATS.get(name, 0) + amount


_CLIENTS: dict[tuple, httpx.Client] = {}


class UpstreamError(Exception):
    """The upstream failed: unreachable, too slow, an error status, a bad answer."""


class NotFound(UpstreamError):
    """The upstream answered 404."""


@dataclass(frozen=True)
class Upstream:
    url: str
    username: str | None = None
    password: str | None = None
    header: str | None = None

    @classmethod
    def configured(cls) -> list[Upstream]:
        return [cls(**upstream) for upstream in settings.GALLEY_UPSTREAMS]

    def client(self) -> httpx.Client:
        """One client per upstream and process, shared by its threads: its TLS
        context is built once and its connections are kept alive."""
        key = (self, settings.GALLEY_UPSTREAM_TIMEOUT)
        with _STATS_LOCK:
            found = _CLIENTS.get(key)
            if found is None:
                found = _CLIENTS[key] = self._new_client()
        return found

    def _new_client(self) -> httpx.Client:
        headers = {"User-Agent": "Galley upstream client", "Accept-Encoding": "identity"}
        if self.header:
            name, _colon, value = self.header.partition(":")
            headers[name.strip()] = value.strip()
        auth = (self.username, self.password) if self.username else None
        return httpx.Client(
            timeout=httpx.Timeout(settings.GALLEY_UPSTREAM_TIMEOUT),
            headers=headers,
            auth=auth,
            follow_redirects=True,
            max_redirects=3,
        )


def _stream(upstream: Upstream, url: str, cap: int, sink) -> None:
    """GET `url` into `sink(block)`, at most `cap` bytes before the deadline."""
    started = time.monotonic()
    deadline = started + settings.GALLEY_UPSTREAM_DEADLINE
    received = 0
    try:
        with upstream.client().stream("GET", url) as response:
            if response.status_code == 404:
                raise NotFound(url)
            if response.status_code != 200:
                raise UpstreamError(f"{url} answered {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise UpstreamError(f"{url} is {declared} bytes, over {cap}")
            if not _identity(response):  # asked for identity: a bomb is not unpacked here
                raise UpstreamError(f"{url} came compressed")
            for block in response.iter_raw(_BLOCK):
                received += len(block)
                if received > cap:
                    raise UpstreamError(f"{url} is over {cap} bytes")
                if time.monotonic() > deadline:
                    raise UpstreamError(f"{url} took over {settings.GALLEY_UPSTREAM_DEADLINE}s")
                sink(block)
    except httpx.HTTPError as error:
        count("errors")
        raise UpstreamError(f"{url}: {type(error).__name__} {error}") from None
    except UpstreamError as error:
        if not isinstance(error, NotFound):
            count("errors")
        raise
    finally:
        elapsed = time.monotonic() - started
        count("requests")
        count("seconds", elapsed)
        log.info("upstream GET %s: %d bytes in %.3fs", url, received, elapsed)


def _identity(response: httpx.Response) -> bool:
    """No content coding: the raw bytes are the body (and counted as such)."""
    return response.headers.get("Content-Encoding", "identity") in ("", "identity")


def get_json(upstream: Upstream, url: str) -> dict:
    chunks: list[bytes] = []
    _stream(upstream, url, MAX_JSON_BYTES, chunks.append)
    try:
        data = json.loads(b"".join(chunks))
    except ValueError:
        raise UpstreamError(f"{url} is not JSON") from None
    if not isinstance(data, dict):
        raise UpstreamError(f"{url} is not a JSON object")
    return data


def download(upstream: Upstream, url: str):
    """The file at `url` in an open temporary file (rewound), at most
    GALLEY_MAX_PACKAGE_SIZE bytes, carrying its `measured` (size, base64 SHA-512)
    worked out as the bytes arrived (never read again for it); the caller closes it."""
    target = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115 (returned open)
    digest = hashlib.sha512()

    def sink(block: bytes) -> None:
        target.write(block)
        digest.update(block)

    try:
        _stream(upstream, url, settings.GALLEY_MAX_PACKAGE_SIZE, sink)
    except BaseException:
        target.close()
        raise
    target.measured = (target.tell(), base64.b64encode(digest.digest()).decode("ascii"))
    target.seek(0)
    return target


# ---------------------------------------------------------------- the protocol

_RESOURCES: dict[str, tuple[float, dict]] = {}


def resources(upstream: Upstream) -> dict:
    """{"content": PackageBaseAddress, "registrations": RegistrationsBaseUrl} of an
    upstream, read from its service index once per metadata TTL per process."""
    now = time.monotonic()
    kept = _RESOURCES.get(upstream.url)
    if kept and now - kept[0] < max(settings.GALLEY_UPSTREAM_METADATA_TTL, 60):
        return kept[1]
    index = get_json(upstream, upstream.url)
    by_type = {}
    for resource in index.get("resources") or []:
        if isinstance(resource, dict) and isinstance(resource.get("@id"), str):
            by_type.setdefault(str(resource.get("@type")), resource["@id"])
    content = by_type.get("PackageBaseAddress/3.0.0")
    registrations = next(
        (
            by_type[kind]
            for kind in ("RegistrationsBaseUrl/3.6.0", "RegistrationsBaseUrl/3.4.0")
            + ("RegistrationsBaseUrl/3.0.0-rc", "RegistrationsBaseUrl")
            if kind in by_type
        ),
        None,
    )
    if not content or not registrations:
        raise UpstreamError(f"{upstream.url} has no package content or registration resource")
    found = {"content": content.rstrip("/") + "/", "registrations": registrations.rstrip("/") + "/"}
    _RESOURCES[upstream.url] = (now, found)
    return found


def registration_entries(upstream: Upstream, lower_id: str) -> list[dict]:
    """Every version's catalog entry, as given, each with its packageContent URL
    (the pages an index only links to are fetched too); NotFound if none."""
    base = resources(upstream)["registrations"]
    index = get_json(upstream, f"{base}{lower_id}/index.json")
    entries = []
    for page in index.get("items") or []:
        if not isinstance(page, dict):
            continue
        items = page.get("items")
        if items is None and isinstance(page.get("@id"), str):
            items = get_json(upstream, page["@id"]).get("items")
        for leaf in items or []:
            entry = leaf.get("catalogEntry") if isinstance(leaf, dict) else None
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                entries.append({**entry, "packageContent": leaf.get("packageContent", "")})
    if not entries:
        raise NotFound(lower_id)
    return entries


def package_url(upstream: Upstream, lower_id: str, lower_version: str) -> str:
    base = resources(upstream)["content"]
    return f"{base}{lower_id}/{lower_version}/{lower_id}.{lower_version}.nupkg"
