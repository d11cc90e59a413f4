"""The NuGet V3 read protocol, apart from HTTP: what restore, install and search get.

Views (packages/feed_views.py) turn a request into the arguments of one function
here and its answer into JSON; `FeedError` carries the status for bad input.
Public functions other modules use (keep their names stable):

- `manifest_fields(manifest)` and `store_nuspec(version, manifest)`: what a push
  stores for the feed; `version_files(version)`: every stored file of a version.
- `sorted_versions(versions)`: versions in NuGet's order (oldest first).
- `count_download(version)`, `pending_downloads(versions)`,
  `flush_download_counts()`: download counts, kept in the cache between flushes.

Every function answers with a constant number of queries, whatever the number
of versions: one to find the versions (with their registration), and, for a
private feed, the reader's checks (packages/readers.py).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, replace

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.base import BaseCache
from django.core.files.base import ContentFile
from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from packages import search as search_rows
from packages.models import PackageRegistration, PackageSearch, PackageVersion, ReservedPrefix
from packages.nupkg import NuGetVersion, PackageManifest
from packages.storage import package_storage

log = logging.getLogger("galley.feed")

# nuget.org inlines the pages of a registration index up to 128 versions and,
# beyond, links pages of 64 that clients fetch one by one.
INLINE_THRESHOLD = 128
PAGE_SIZE = 64
# nuget.org caps take at 1000; a self-hosted server has no need for pages that big.
DEFAULT_TAKE = 20
MAX_TAKE = 100
MAX_SKIP = 3000
MAX_QUERY_LENGTH = 256
# What nuget.org writes as the publication date of an unlisted version.
UNLISTED_PUBLISHED = "1900-01-01T00:00:00+00:00"
DOWNLOADS_KEY = "galley:downloads:{}"
_FLUSH_LOCK = "galley:downloads:flush-lock"


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
        return NuGetVersion.parse(text)
    except ValueError as error:
        raise FeedError(400, str(error)) from None


# ------------------------------------------------------------------- pushing


def manifest_fields(manifest: PackageManifest) -> dict:
    """PackageVersion fields from a pushed manifest (the publish API stores them)."""
    return {
        "title": manifest.title[:256],
        "summary": manifest.summary,
        "tags": manifest.tags[:4000],
        "project_url": manifest.project_url[:2000],
        "icon_url": manifest.icon_url[:2000],
        "license_url": manifest.license_url[:2000],
        "license_expression": manifest.license_expression[:500],
        "require_license_acceptance": manifest.require_license_acceptance,
        "min_client_version": manifest.min_client_version[:64],
        "dependency_groups": [
            {
                "targetFramework": group.target_framework,
                "dependencies": [{"id": i, "range": r} for i, r in group.dependencies],
            }
            for group in manifest.dependency_groups
        ],
        "package_types": f" {' '.join(manifest.package_types)} " if manifest.package_types else "",
        "is_prerelease": manifest.version.is_prerelease,
        "is_semver2": manifest.is_semver2,
    }


def nuspec_name(version: PackageVersion) -> str:
    """Where a version's .nuspec is stored: beside its .nupkg."""
    return re.sub(r"\.nupkg$", "", version.file.name) + ".nuspec"


def version_files(version: PackageVersion) -> list[str]:
    """Storage names of every file kept for a version (to delete it for good)."""
    names = [version.file.name, nuspec_name(version)]
    symbols = getattr(version, "symbols", None)  # None when the version has none
    if symbols is not None:
        names.append(symbols.file.name)
    return names


def after_push(version: PackageVersion, manifest: PackageManifest) -> None:
    """What the feed keeps of a version once its push is stored; never fails the push.

    (Its search rows were written with the version: see packages/search.py.)
    """
    store_nuspec(version, manifest)


# PostgreSQL full-text search reads the vector of each package's search row
# (packages/search.py, GIN-indexed): the id's words weigh most, then title and
# tags, then description.
SEARCH_CONFIG = "english"


def store_nuspec(version: PackageVersion, manifest: PackageManifest) -> None:
    """Keep the manifest beside the package, byte for byte, for the .nuspec download.

    Never fails a push that is already stored: without this file the feed reads the
    manifest out of the package instead (as for versions pushed before it existed).
    """
    storage = package_storage()
    name = nuspec_name(version)
    try:
        if storage.exists(name):  # left by a push that failed after writing it
            storage.delete(name)
        storage.save(name, ContentFile(manifest.nuspec))
    except Exception:
        log.exception("could not store the nuspec of %s", version)


def read_nuspec(version: PackageVersion) -> tuple[object | None, bytes | None]:
    """(an open stored file, None), or (None, the bytes read out of the package)."""
    storage = package_storage()
    try:
        return storage.open(nuspec_name(version), "rb"), None
    except FileNotFoundError:
        pass
    with storage.open(version.file.name, "rb") as package, zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            if "/" not in info.filename and info.filename.lower().endswith(".nuspec"):
                return None, archive.read(info)
    raise FeedError(404, _("The package has no manifest."))


# ------------------------------------------------------------------ versions


def sorted_versions(versions) -> list[PackageVersion]:
    """Versions in NuGet's order, oldest first (1.0.0-beta < 1.0.0 < 1.0.1 < 1.10.0).

    By the version as written: normalising may lengthen it past the 64 characters
    NuGetVersion.parse accepts ("1-" and 62 letters), never change its order.
    """
    return sorted(versions, key=lambda v: NuGetVersion.parse(v.original_version or v.version))


def _versions_of(package_id: str, reader) -> tuple[PackageRegistration, list[PackageVersion]]:
    """The registration and all its versions (unlisted too, for exact restores), sorted.

    One query; a package the reader may not see does not exist for them.
    """
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


def versions_index(package_id: str, reader) -> dict:
    """The flat container's list: every version, lowercase and normalised."""
    _registration, versions = _versions_of(package_id, reader)
    return {"versions": [version.normalized_version for version in versions]}


# ------------------------------------------------------------------ memoised


_MEMO: OrderedDict[tuple, bytes] = OrderedDict()
_MEMO_LOCK = threading.Lock()
MEMO_ENTRIES = 128
MEMO_LARGEST = 1 << 20  # bodies over 1 MB are built again each time


def as_json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def memoised_json(kind: str, package_id: str, reader, links: Links | None, build) -> bytes:
    """The JSON of `build()` for a package, reused while its versions are unchanged.

    Indexes are read far more often than packages change, and building one for
    hundreds of versions costs far more than one aggregate query, so each process
    keeps the latest bodies, keyed by what any change alters: the number of
    versions, the newest row (a push, or a delete followed by a push), and the
    listed ones (unlist, relist). Versions' metadata never changes after a push.
    """
    lower = package_id.lower()
    stamp = PackageVersion.objects.filter(registration__normalized_id=lower).aggregate(
        registration=Max("registration_id"),
        count=Count("pk"),
        last=Max("pk"),
        listed_count=Count("pk", filter=Q(listed=True)),
        listed_sum=Sum("pk", filter=Q(listed=True)),
    )
    if not stamp["count"]:
        raise _not_found(package_id)
    if not reader.is_everyone:
        registration = PackageRegistration.objects.prefetch_related("owners").get(
            pk=stamp["registration"]
        )
        if not reader.can_read(registration):
            raise _not_found(package_id)
    key = (kind, lower, links, *stamp.values())
    with _MEMO_LOCK:
        body = _MEMO.get(key)
        if body is not None:
            _MEMO.move_to_end(key)
            return body
    body = as_json(build())
    if len(body) <= MEMO_LARGEST:
        with _MEMO_LOCK:
            _MEMO[key] = body
            while len(_MEMO) > MEMO_ENTRIES:
                _MEMO.popitem(last=False)
    return body


def versions_index_json(package_id: str, reader) -> bytes:
    """versions_index() as JSON, memoised (see memoised_json)."""
    return memoised_json(
        "versions", package_id, reader, None, lambda: versions_index(package_id, reader)
    )


def registration_index_json(package_id: str, reader, links: Links) -> bytes:
    """registration_index() as JSON, memoised (see memoised_json)."""
    return memoised_json(
        "registration",
        package_id,
        reader,
        links,
        lambda: registration_index(package_id, reader, links),
    )


# -------------------------------------------------------------- registration


@dataclass(frozen=True)
class Links:
    """Absolute URL prefixes, worked out once per request (reverse() per item is slow)."""

    registrations: str  # …/v3/registration/
    content: str  # …/v3-flatcontainer/

    def index(self, lower_id: str) -> str:
        return f"{self.registrations}{lower_id}/index.json"

    def leaf(self, version: PackageVersion) -> str:
        return f"{self.registrations}{version.registration.normalized_id}/{version.normalized_version}.json"

    def page(self, lower_id: str, lower: str, upper: str) -> str:
        return f"{self.registrations}{lower_id}/page/{lower}/{upper}.json"

    def nupkg(self, version: PackageVersion) -> str:
        lower_id, lower_version = version.registration.normalized_id, version.normalized_version
        return f"{self.content}{lower_id}/{lower_version}/{lower_id}.{lower_version}.nupkg"


def full_version(version: PackageVersion) -> str:
    """The normalized version with its build metadata ("1.0.0-rc.1+build.7"): the
    docs' "full version string after normalization", which may carry build data."""
    return NuGetVersion.parse(version.original_version or version.version).full


def published(version: PackageVersion) -> str:
    return UNLISTED_PUBLISHED if not version.listed else version.created.isoformat()


def catalog_entry(version: PackageVersion, links: Links) -> dict:
    """The fields of a version that NuGet clients read (the registration's catalogEntry)."""
    entry = {
        "@id": links.leaf(version),
        "@type": "PackageDetails",
        "id": version.registration.package_id,
        "version": full_version(version),
        "listed": version.listed,
        "published": published(version),
        "description": version.description,
        "authors": version.authors,
        "title": version.title,
        "summary": version.summary,
        "tags": version.tags.split(),
        "projectUrl": version.project_url,
        "iconUrl": version.icon_url,
        "licenseUrl": version.license_url,
        "licenseExpression": version.license_expression,
        "requireLicenseAcceptance": version.require_license_acceptance,
        "language": "",
        "packageContent": links.nupkg(version),
        "dependencyGroups": [
            {
                "@type": "PackageDependencyGroup",
                **({"targetFramework": g["targetFramework"]} if g["targetFramework"] else {}),
                "dependencies": [
                    {
                        "@type": "PackageDependency",
                        "id": d["id"],
                        "range": d["range"],
                        "registration": links.index(d["id"].lower()),
                    }
                    for d in g["dependencies"]
                ],
            }
            for g in version.dependency_groups
        ],
    }
    if version.min_client_version:
        entry["minClientVersion"] = version.min_client_version
    return entry


def _leaf(version: PackageVersion, links: Links) -> dict:
    return {
        "@id": links.leaf(version),
        "@type": "Package",
        "catalogEntry": catalog_entry(version, links),
        "packageContent": links.nupkg(version),
        "registration": links.index(version.registration.normalized_id),
    }


def _pages(versions: list[PackageVersion]) -> list[list[PackageVersion]]:
    if len(versions) <= INLINE_THRESHOLD:
        return [versions]
    return [versions[start : start + PAGE_SIZE] for start in range(0, len(versions), PAGE_SIZE)]


def _page(registration, page, links: Links, *, inline: bool) -> dict:
    lower, upper = page[0].normalized_version, page[-1].normalized_version
    index_url = links.index(registration.normalized_id)
    document = {
        "@id": f"{index_url}#page/{lower}/{upper}"
        if inline
        else links.page(registration.normalized_id, lower, upper),
        "@type": "catalog:CatalogPage",
        "count": len(page),
        "lower": lower,
        "upper": upper,
    }
    if inline:  # "parent" only with "items", as documented
        document["items"] = [_leaf(version, links) for version in page]
        document["parent"] = index_url
    return document


def registration_index(package_id: str, reader, links: Links) -> dict:
    """Every version's metadata, inline for up to 128 versions, else in linked pages.

    One hive with every version, SemVer 2.0.0 ones included, answers for every
    RegistrationsBaseUrl type: nuget.org keeps SemVer 2.0.0 out of its older hives
    for clients older than NuGet 4.3, which cannot restore them anyway.
    """
    registration, versions = _versions_of(package_id, reader)
    pages = _pages(versions)
    inline = len(pages) == 1
    return {
        "@id": links.index(registration.normalized_id),
        "@type": ["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"],
        "count": len(pages),
        "items": [_page(registration, page, links, inline=inline) for page in pages],
    }


def registration_page(package_id: str, lower: str, upper: str, reader, links: Links) -> dict:
    """One linked page of a registration index with more than 128 versions."""
    parse_version(lower), parse_version(upper)
    registration, versions = _versions_of(package_id, reader)
    for page in _pages(versions):
        if (page[0].normalized_version, page[-1].normalized_version) == (
            lower.lower(),
            upper.lower(),
        ):
            return {
                **_page(registration, page, links, inline=True),
                "@id": links.page(registration.normalized_id, lower.lower(), upper.lower()),
            }
    raise FeedError(404, _("The page does not exist."))


def registration_leaf(package_id: str, version_text: str, reader, links: Links) -> dict:
    version = find_version(package_id, version_text, reader)
    return {
        "@id": links.leaf(version),
        "@type": ["Package", "http://schema.nuget.org/catalog#Permalink"],
        "catalogEntry": links.leaf(version),
        "listed": version.listed,
        "packageContent": links.nupkg(version),
        "published": published(version),
        "registration": links.index(version.registration.normalized_id),
    }


# -------------------------------------------------------------------- search


@dataclass(frozen=True)
class SearchParameters:
    q: str = ""
    skip: int = 0
    take: int = DEFAULT_TAKE
    prerelease: bool = False
    semver2: bool = False
    package_type: str = ""

    @classmethod
    def from_query(cls, params) -> SearchParameters:
        """nuget.org's query parameters; unreadable numbers fall back to the defaults,
        as there, and skip and take are held to their caps."""
        q = " ".join(params.get("q", "").split())
        if len(q) > MAX_QUERY_LENGTH:
            raise FeedError(
                400,
                _("The search query is longer than %(max)d characters.")
                % {"max": MAX_QUERY_LENGTH},
            )
        semver = params.get("semVerLevel", "")
        return cls(
            q=q,
            skip=min(max(_number(params.get("skip"), 0), 0), MAX_SKIP),
            take=min(max(_number(params.get("take"), DEFAULT_TAKE), 0), MAX_TAKE),
            prerelease=params.get("prerelease", "").lower() == "true",
            semver2=_number(semver.split(".")[0], 0) >= 2,
            package_type=params.get("packageType", "").strip()[:100],
        )


def _number(text, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _eligible(params: SearchParameters):
    """Versions search may show: listed, and within the pre-release, SemVer and
    package type filters."""
    versions = PackageVersion.objects.filter(listed=True)
    if not params.prerelease:
        versions = versions.filter(is_prerelease=False)
    if not params.semver2:
        versions = versions.filter(is_semver2=False)
    if params.package_type:
        versions = versions.filter(_package_type(params.package_type))
    return versions


def _package_type(name: str) -> Q:
    wanted = Q(package_types__icontains=f" {name} ")
    if name.lower() == "dependency":  # what a package without types is
        wanted |= Q(package_types="")
    return wanted


def _words(q: str) -> list[str]:
    return [word for word in re.split(r"[^0-9a-z]+", q.lower()) if word]


def _rows(params: SearchParameters, reader):
    """The search rows (packages/search.py) of the packages this search may show,
    one per package: its latest listed version for this kind of search (with or
    without pre-releases and SemVer 2.0.0), which must have the package type
    asked for, as on nuget.org."""
    rows = PackageSearch.objects.filter(
        **{search_rows.kind_flag(params.prerelease, params.semver2): True}
    )
    if params.package_type:
        rows = rows.filter(_package_type(params.package_type))
    if not reader.is_everyone:
        readable = reader.readable(PackageRegistration.objects.all())
        rows = rows.filter(registration_id__in=readable.values("pk"))
    return rows


def _matching(params: SearchParameters, reader):
    """The search rows that match the query, as (the matches, to count them; the
    matches ranked, to list them). The ranking: the exact id first, then ids that
    start with the query, then other ids that contain it, then the other matches
    (by relevance on PostgreSQL), each by downloads.

    One table, one row per package: no grouping of versions by package, and the
    count reads no more than it must.
    """
    rows = _rows(params, reader)
    q = params.q.lower()
    exact = re.fullmatch(r"packageid:(\S+)", q)
    if exact:
        rows = rows.filter(normalized_id=exact.group(1))
        return rows, rows.annotate(tier=Value(3), relevance=Value(0.0))
    tier = Case(
        When(normalized_id=q, then=3),
        When(normalized_id__startswith=q, then=2),
        When(normalized_id__contains=q, then=1),
        default=0,
        output_field=IntegerField(),
    )
    relevance = Value(0.0)
    if q and connection.vendor == "postgresql":
        rows, relevance = _full_text(rows, q)
    elif q:
        for term in q.split():
            rows = rows.filter(
                Q(normalized_id__contains=term)
                | Q(latest__title__icontains=term)
                | Q(latest__tags__icontains=term)
                | Q(latest__description__icontains=term)
            )
    return rows, rows.annotate(tier=tier, relevance=relevance)


def _full_text(rows, q: str):
    """PostgreSQL: every word of the query, as a prefix, in the id, title, tags or
    description of the latest version (the row's GIN-indexed vector); or the query
    inside the id."""
    from django.contrib.postgres.search import SearchQuery, SearchRank

    words = _words(q)
    if not words:
        return rows.filter(normalized_id__contains=q), Value(0.0)
    query = SearchQuery(
        " & ".join(f"{word}:*" for word in words), config=SEARCH_CONFIG, search_type="raw"
    )
    rows = rows.filter(Q(normalized_id__contains=q) | Q(search_vector=query))
    return rows, Coalesce(SearchRank(F("search_vector"), query), Value(0.0))


# What a search answer shows of each version (dependencies and the rest stay behind).
_RESULT_FIELDS = [
    "registration__package_id",
    "registration__normalized_id",
    "version",
    "original_version",
    "normalized_version",
    "download_count",
    "description",
    "summary",
    "title",
    "icon_url",
    "license_url",
    "project_url",
    "tags",
    "authors",
    "package_types",
]


def search(params: SearchParameters, reader, links: Links) -> dict:
    """nuget.org's search answer. Five queries: the page of packages, their
    versions, their owners, their owners' reserved prefixes (`verified`), and the
    count (not needed when the page is the last)."""
    matches, ranked = _matching(params, reader)
    page = list(
        ranked.order_by("-tier", "-relevance", "-downloads", "normalized_id").values_list(
            "registration_id", "downloads"
        )[params.skip : params.skip + params.take]
    )
    if 0 < len(page) < params.take or (not page and not params.skip):
        total = params.skip + len(page)
    else:
        total = matches.count()
    by_registration: dict[int, list[PackageVersion]] = {pk: [] for pk, _downloads in page}
    owners: dict[int, list[str]] = {pk: [] for pk, _downloads in page}
    # Every version this kind of search shows, whatever its package type (the
    # type filter is on the latest, as nuget.org's).
    shown = _eligible(replace(params, package_type=""))
    for version in (
        shown.filter(registration_id__in=by_registration)
        .select_related("registration")
        .only(*_RESULT_FIELDS)
    ):
        by_registration[version.registration_id].append(version)
    through = PackageRegistration.owners.through.objects.filter(
        packageregistration_id__in=by_registration
    )
    owner_ids: dict[int, set[int]] = {pk: set() for pk, _downloads in page}
    for registration_id, owner_id, name in through.values_list(
        "packageregistration_id", "user_id", "user__username"
    ):
        owners[registration_id].append(name)
        owner_ids[registration_id].add(owner_id)
    reservations = _reservations(owner_ids)
    data = []
    for registration_id, downloads in page:
        versions = sorted_versions(by_registration[registration_id])
        if versions:  # else unlisted between the two queries
            result = _search_result(versions, owners[registration_id], downloads, links)
            result["verified"] = _verified(
                versions[-1].registration.normalized_id, owner_ids[registration_id], reservations
            )
            data.append(result)
    return {"totalHits": total, "data": data}


def _reservations(owner_ids: dict[int, set[int]]) -> list[tuple[str, int]]:
    """(normalized prefix, owner) of every reservation held by an owner on the page:
    one query, none for an empty page."""
    everyone = set().union(*owner_ids.values())
    if not everyone:
        return []
    return list(
        ReservedPrefix.objects.filter(owner_id__in=everyone).values_list(
            "normalized_prefix", "owner_id"
        )
    )


def _verified(normalized_id: str, owners: set[int], reservations) -> bool:
    """search-query-service-resource.md: "a verified package is one which has a package
    ID matching a reserved ID prefix and owned by one of the reserved prefix's owners"."""
    return any(
        owner in owners
        and (
            prefix == normalized_id
            or (prefix.endswith("*") and normalized_id.startswith(prefix[:-1]))
        )
        for prefix, owner in reservations
    )


def _search_result(versions, owners, downloads: int, links: Links) -> dict:
    latest = versions[-1]
    registration = latest.registration
    types = latest.package_types.split() or ["Dependency"]
    return {
        "@id": links.index(registration.normalized_id),
        "@type": "Package",
        "registration": links.index(registration.normalized_id),
        "id": registration.package_id,
        "version": full_version(latest),
        "description": latest.description,
        "summary": latest.summary,
        "title": latest.title or registration.package_id,
        "iconUrl": latest.icon_url,
        "licenseUrl": latest.license_url,
        "projectUrl": latest.project_url,
        "tags": latest.tags.split(),
        "authors": [name.strip() for name in latest.authors.split(",") if name.strip()],
        "owners": sorted(owners),
        "totalDownloads": downloads,
        "verified": False,
        "packageTypes": [{"name": name} for name in types],
        "versions": [
            {"version": full_version(v), "downloads": v.download_count, "@id": links.leaf(v)}
            for v in versions
        ],
    }


def autocomplete(params: SearchParameters, reader) -> dict:
    """Package ids that contain the query, ranked as search ranks them."""
    rows = _rows(params, reader)
    q = params.q.lower()
    if q:
        rows = rows.filter(normalized_id__contains=q).annotate(
            id_tier=Case(
                When(normalized_id=q, then=3),
                When(normalized_id__startswith=q, then=2),
                default=1,
                output_field=IntegerField(),
            )
        )
    else:
        rows = rows.annotate(id_tier=Value(0))
    total = rows.count()
    ids = rows.order_by("-id_tier", "-downloads", "normalized_id").values_list(
        "registration__package_id", flat=True
    )[params.skip : params.skip + params.take]
    return {"totalHits": total, "data": list(ids)}


def autocomplete_versions(package_id: str, params: SearchParameters, reader) -> dict:
    """The versions of one package search may show (autocomplete with id=…)."""
    versions = list(
        _eligible(params)
        .filter(registration__normalized_id=package_id.lower())
        .select_related("registration")
    )
    if versions and not reader.can_read(versions[0].registration):
        versions = []
    listed = [full_version(version) for version in sorted_versions(versions)]
    return {"totalHits": len(listed), "data": listed}


# ----------------------------------------------------------------- downloads


def count_download(version: PackageVersion) -> None:
    """Count one download in the shared cache; flush_download_counts moves the
    counts into the database, so a download costs no database write (with Redis)."""
    key = DOWNLOADS_KEY.format(version.pk)
    try:
        if type(caches[DEFAULT_CACHE_ALIAS]).incr is BaseCache.incr:
            # Backends without an atomic increment (the database cache) would also
            # reset the key's lifetime on incr(); count without an expiry there.
            # Concurrent downloads may then lose a count: use Redis for exact counts.
            cache.set(key, (cache.get(key) or 0) + 1, timeout=None)
        else:
            cache.add(key, 0, timeout=None)
            cache.incr(key)
    except Exception:  # a download never fails for a count (an evicted key, a cache down)
        log.warning("download of %s not counted", version, exc_info=True)


def pending_downloads(versions) -> dict[int, int]:
    """{version pk: downloads counted since the last flush}, in one cache read."""
    keys = {DOWNLOADS_KEY.format(version.pk): version.pk for version in versions}
    return {keys[key]: count for key, count in cache.get_many(list(keys)).items() if count}


def flush_download_counts(batch: int = 1000) -> int | None:
    """Move counted downloads into PackageVersion.download_count; the number moved.

    Only one instance flushes at a time (a lock in the shared cache; None when
    another holds it). Each count is taken out of the cache with an atomic
    decrement by what was read, so downloads counted meanwhile stay for the next
    flush; a crash between the decrement and the write loses those counts rather
    than counting them twice.
    """
    if not cache.add(_FLUSH_LOCK, 1, timeout=600):
        return None
    moved = 0
    try:
        ids = list(PackageVersion.objects.order_by("pk").values_list("pk", "registration_id"))
        registration_of = dict(ids)
        for start in range(0, len(ids), batch):
            keys = {
                DOWNLOADS_KEY.format(pk): pk for pk, _registration in ids[start : start + batch]
            }
            counted = set()
            for key, count in cache.get_many(list(keys)).items():
                if not count:
                    continue
                if type(caches[DEFAULT_CACHE_ALIAS]).decr is BaseCache.decr:  # see count_download
                    cache.set(key, (cache.get(key) or 0) - count, timeout=None)
                else:
                    cache.decr(key, count)
                PackageVersion.objects.filter(pk=keys[key]).update(
                    download_count=F("download_count") + count
                )
                counted.add(registration_of[keys[key]])
                moved += count
            search_rows.refresh_downloads(counted)  # the packages' totals, for ranking
    finally:
        cache.delete(_FLUSH_LOCK)
    return moved


def etag_of(body: bytes) -> str:
    import hashlib

    digest = hashlib.blake2b(body, digest_size=16).digest()
    return '"' + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=") + '"'
