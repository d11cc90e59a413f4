"""The feed's answers for an id that takes versions from the upstreams
(rules.serves_upstream): the flat container's versions, the registration index,
pages and leaves, and the version whose file is downloaded.

An id's versions are, by precedence: versions pushed to Galley (only with an
administrator's UpstreamAllowance, since otherwise the id never reaches here),
then the upstream's catalog entries as given (listed, deprecation,
vulnerabilities included; only the addresses point at Galley), then versions
cached earlier that the upstream no longer lists (served for good). Blocked
versions are left out. Each function answers None when the id does not take
upstream versions, so the caller answers from Galley's own versions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.utils.translation import gettext as _

from packages import feed
from packages.feed import FeedError, _not_found, parse_version
from packages.models import PackageRegistration, PackageVersion
from packages.nupkg import NuGetVersion
from packages.registrations import INLINE_THRESHOLD, PAGE_SIZE, Links, catalog_entry, published
from packages.upstreams import cache, rules


@dataclass
class Item:
    identity: str
    order: NuGetVersion
    entry: dict | None = None  # the upstream's catalog entry
    row: PackageVersion | None = None  # the stored version (cached or pushed)


def _unavailable() -> FeedError:
    return FeedError(502, _("The upstream source did not answer, and nothing of it is cached."))


@dataclass
class _Id:
    """What an id's documents are built from, found in a few indexed queries without
    reading the upstream's entries: `revision` changes whenever a document would."""

    package_id: str
    lower: str
    registration: PackageRegistration | None
    metadata: cache.Metadata | None
    unavailable: bool  # the upstreams failed and nothing of them is kept
    blocked: frozenset[str]
    reads_local: bool

    @property
    def revision(self) -> tuple:
        registration = self.registration
        return (
            (registration.pk, registration.revision) if registration else None,
            (self.metadata.upstream, self.metadata.fetched_at) if self.metadata else None,
            self.unavailable,
            tuple(sorted(self.blocked)),
        )

    def slot(self, kind: str, *variant) -> tuple:
        """Where a document is kept in the feed's memo (packages/feed.py): one per
        id, kind and whether the reader reads the id's own versions."""
        return ("upstream", kind, self.lower, self.reads_local, *variant)


def _id(package_id: str, reader, *, serves: bool = False) -> _Id | None:
    """The id's state, or None when it does not take upstream versions (`serves`:
    the caller found it does); the upstreams are asked when its kept metadata is
    older than the TTL."""
    if not serves and not rules.serves_upstream(package_id):
        return None
    lower = package_id.lower()
    registration = PackageRegistration.objects.filter(normalized_id=lower).first()
    try:
        found, unavailable = cache.metadata(lower), False
    except cache.Unavailable:
        found, unavailable = None, True
    return _Id(
        package_id,
        lower,
        registration,
        found,
        unavailable,
        frozenset(rules.blocked_versions(lower)),
        registration is not None and reader.can_read(registration),
    )


def _items(state: _Id) -> tuple[str, str, list[Item]]:
    """(lower id, upstream URL, items sorted oldest first). FeedError 404 when the id
    has none, 502 when the upstreams fail and nothing is kept."""
    registration = state.registration
    rows = list(registration.versions.all()) if registration else []
    if state.unavailable and not rows:
        raise _unavailable()
    items: dict[str, Item] = {}
    for row in rows:  # cached earlier: kept for good
        row.registration = registration
        if row.upstream:
            items[row.normalized_version] = Item(
                row.normalized_version, NuGetVersion.of(row.version), row=row
            )
    upstream = ""
    if state.metadata is not None:
        upstream = state.metadata.upstream
        for identity, entry in state.metadata.by_identity().items():
            item = items.get(identity)
            items[identity] = Item(
                identity, NuGetVersion.of(identity), entry=entry, row=item.row if item else None
            )
    for row in rows:
        if not row.upstream:
            # A version pushed here shadows the upstream's of its number: the
            # readers of the id's own versions get it, and no one gets the other
            # (it could only be served from the pushed file, which is not theirs).
            if state.reads_local:
                items[row.normalized_version] = Item(
                    row.normalized_version, NuGetVersion.of(row.version), row=row
                )
            else:
                items.pop(row.normalized_version, None)
    chosen = sorted(
        (i for i in items.values() if i.identity not in state.blocked), key=lambda i: i.order
    )
    if not chosen:
        raise _not_found(state.package_id)
    return state.lower, upstream, chosen


def _document(package_id: str, reader, kind: str, build, *variant) -> feed.Document | None:
    """The Document `build(lower, items)` makes for the id, kept in the feed's memo
    for the id's revision: rebuilt only when its versions, its kept metadata (the
    TTL) or its blocked versions change. None when the id takes no upstream versions."""
    state = _id(package_id, reader)
    if state is None:
        return None
    return feed.remembered(
        state.slot(kind, *variant), state.revision, lambda: build(*_items(state)[::2])
    )


def versions_index(package_id: str, reader) -> feed.Document | None:
    return _document(
        package_id,
        reader,
        "versions",
        lambda lower, items: {"versions": [item.identity for item in items]},
    )


def _urls(lower: str, identity: str, links: Links) -> dict:
    return {
        "leaf": f"{links.registrations}{lower}/{identity}.json",
        "nupkg": f"{links.content}{lower}/{identity}/{lower}.{identity}.nupkg",
        "index": links.index(lower),
    }


def _entry(lower: str, item: Item, links: Links) -> dict:
    """The catalog entry of an item: the upstream's as given, its addresses Galley's;
    a cached version's listing is its own (it follows the upstream's unless it was
    set here: lifecycle.set_listed)."""
    if item.entry is None or (item.row is not None and not item.row.upstream):
        return catalog_entry(item.row, links)
    urls = _urls(lower, item.identity, links)
    entry = copy.deepcopy(item.entry)
    entry["@id"] = urls["leaf"]
    entry["packageContent"] = urls["nupkg"]
    if item.row is not None:
        entry["listed"] = item.row.listed
    for group in entry.get("dependencyGroups") or []:
        for dependency in (group.get("dependencies") or []) if isinstance(group, dict) else []:
            if isinstance(dependency, dict) and isinstance(dependency.get("id"), str):
                dependency["registration"] = links.index(dependency["id"].lower())
    return entry


def _leaf(lower: str, item: Item, links: Links) -> dict:
    urls = _urls(lower, item.identity, links)
    return {
        "@id": urls["leaf"],
        "@type": "Package",
        "catalogEntry": _entry(lower, item, links),
        "packageContent": urls["nupkg"],
        "registration": urls["index"],
    }


def _pages(items: list[Item]) -> list[list[Item]]:
    if len(items) <= INLINE_THRESHOLD:
        return [items]
    return [items[start : start + PAGE_SIZE] for start in range(0, len(items), PAGE_SIZE)]


def _page(lower: str, page: list[Item], links: Links, *, inline: bool) -> dict:
    first, last = page[0].identity, page[-1].identity
    index = links.index(lower)
    document = {
        "@id": f"{index}#page/{first}/{last}" if inline else links.page(lower, first, last),
        "@type": "catalog:CatalogPage",
        "count": len(page),
        "lower": first,
        "upper": last,
    }
    if inline:
        document["items"] = [_leaf(lower, item, links) for item in page]
        document["parent"] = index
    return document


def registration_index(package_id: str, reader, links: Links) -> feed.Document | None:
    def build(lower, items):
        pages = _pages(items)
        inline = len(pages) == 1
        return {
            "@id": links.index(lower),
            "@type": ["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"],
            "count": len(pages),
            "items": [_page(lower, page, links, inline=inline) for page in pages],
        }

    return _document(package_id, reader, "index", build, links)


def registration_page(package_id, first: str, last: str, reader, links: Links):
    parse_version(first), parse_version(last)
    first, last = first.lower(), last.lower()

    def build(lower, items):
        for page in _pages(items):
            if (page[0].identity, page[-1].identity) == (first, last):
                return {
                    **_page(lower, page, links, inline=True),
                    "@id": links.page(lower, first, last),
                }
        raise FeedError(404, _("The page does not exist."))

    return _document(package_id, reader, "page", build, links, first, last)


def _item(package_id: str, version_text: str, reader) -> tuple[str, str, Item]:
    """(lower id, upstream URL, item) of a version of an id that takes upstream
    versions (the caller checked)."""
    identity = parse_version(version_text).identity_key
    lower, upstream, items = _items(_id(package_id, reader, serves=True))
    for item in items:
        if item.identity == identity:
            return lower, upstream, item
    raise _not_found(package_id, version_text[:64])


def registration_leaf(package_id: str, version_text: str, reader, links: Links):
    identity = parse_version(version_text).identity_key

    def build(lower, items):
        item = next((item for item in items if item.identity == identity), None)
        if item is None:
            raise _not_found(package_id, version_text[:64])
        urls = _urls(lower, item.identity, links)
        entry = _entry(lower, item, links)
        listed = entry.get("listed", True) if item.row is None else item.row.listed
        return {
            "@id": urls["leaf"],
            "@type": ["Package", "http://schema.nuget.org/catalog#Permalink"],
            "catalogEntry": urls["leaf"],
            "listed": listed,
            "packageContent": urls["nupkg"],
            "published": entry.get("published", "") if item.row is None else published(item.row),
            "registration": urls["index"],
        }

    return _document(package_id, reader, "leaf", build, links, identity)


def stored_version(
    package_id: str, version_text: str, reader, *, answer_first: bool = False
) -> PackageVersion | cache.Answered | None:
    """The stored version to download, fetched from the upstream the first time;
    None when the id does not take upstream versions. FeedError 404 for a version
    nobody has, 502 when the upstream fails or serves a bad package. With
    `answer_first` (a plain download of its .nupkg), a small package fetched now
    comes as cache.Answered, stored once the answer is sent (cache.fetch_package).

    A version cached already is served without reading the id's metadata (the
    upstream may be down, or may have deleted it: it is Galley's for good)."""
    identity = parse_version(version_text).identity_key
    if not rules.serves_upstream(package_id):
        return None
    lower = package_id.lower()
    row = cache.cached_version(lower, identity)
    if row is not None and row.upstream and identity not in rules.blocked_versions(lower):
        cache.count("package_hits")
        return row
    lower, upstream, item = _item(package_id, version_text, reader)
    if item.row is not None:
        cache.count("package_hits")
        return item.row
    try:
        return cache.fetch_package(
            lower, item.identity, item.entry or {}, upstream, answer_first=answer_first
        )
    except cache.Unavailable:
        raise _unavailable() from None
    except cache.Rejected:
        raise FeedError(
            502,
            _("The upstream source served a package that is not safe or not the one asked for."),
        ) from None
