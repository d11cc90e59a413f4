"""Search and autocomplete (SearchQueryService, SearchAutocompleteService), with
nuget.org's parameters and answers, read from the search rows (rows.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, TextField, Value, When
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from packages import advisories
from packages.feed import FeedError, full_version, sorted_versions
from packages.models import PackageRegistration, PackageSearch, PackageVersion, ReservedPrefix
from packages.registrations import Links, deprecation
from packages.search import rows as search_rows

# nuget.org caps take at 1000; a self-hosted server has no need for pages that big.
DEFAULT_TAKE = 20
MAX_TAKE = 100
MAX_SKIP = 3000
MAX_QUERY_LENGTH = 256

# PostgreSQL full-text search reads the vector of each package's search row
# (packages/search.py, GIN-indexed): the id's words weigh most, then title and
# tags, then description.
SEARCH_CONFIG = "english"


# How each sort orders the matching search rows (ties by id, for stable pages).
SORTS = {
    "relevance": ("-tier", "-relevance", "-downloads", "normalized_id"),
    "downloads": ("-downloads", "normalized_id"),
    "updated": ("-latest__created", "normalized_id"),
}


@dataclass(frozen=True)
class SearchParameters:
    q: str = ""
    skip: int = 0
    take: int = DEFAULT_TAKE
    prerelease: bool = False
    semver2: bool = False
    package_type: str = ""
    # "relevance" (nuget.org's default), "downloads" (most first) or "updated"
    # (recently updated first): the search page's "Sort by".
    sort: str = "relevance"

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
            sort=params.get("sortBy", "") if params.get("sortBy", "") in SORTS else "relevance",
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
    "created",
    "icon_file",
    "deprecation_reasons",
    "deprecation_message",
    "deprecation_alternate_id",
    "deprecation_alternate_version",
]


@dataclass
class Found:
    """One package on a page of search results: its versions this kind of search
    shows (oldest first), its owners' names and its downloads."""

    registration_id: int
    versions: list
    owners: list[str]
    downloads: int
    verified: bool


def search_page(params: SearchParameters, reader) -> tuple[int, list[Found]]:
    """(total hits, the page of packages), for the feed's /query and the search page.
    Five queries: the page of packages, their versions, their owners, their owners'
    reserved prefixes (`verified`), and the count (not needed when the page is the last)."""
    matches, ranked = _matching(params, reader)
    page = list(
        ranked.order_by(*SORTS[params.sort]).values_list("registration_id", "downloads")[
            params.skip : params.skip + params.take
        ]
    )
    if 0 < len(page) < params.take or (not page and not params.skip):
        total = params.skip + len(page)
    else:
        total = matches.count()
    by_registration: dict[int, list[PackageVersion]] = {pk: [] for pk, _downloads in page}
    # Every version this kind of search shows, whatever its package type (the
    # type filter is on the latest, as nuget.org's).
    shown = _eligible(replace(params, package_type=""))
    for version in (
        shown.filter(registration_id__in=by_registration)
        .select_related("registration")
        .only(*_RESULT_FIELDS)
    ):
        by_registration[version.registration_id].append(version)
    owners, owner_ids = _owners(by_registration)
    reservations = _reservations(owner_ids)
    found = []
    for registration_id, downloads in page:
        versions = sorted_versions(by_registration[registration_id])
        if versions:  # else unlisted between the two queries
            lower_id = versions[-1].registration.normalized_id
            verified = _verified(lower_id, owner_ids[registration_id], reservations)
            found.append(
                Found(registration_id, versions, owners[registration_id], downloads, verified)
            )
    return total, found


def _owners(by_registration) -> tuple[dict[int, list[str]], dict[int, set[int]]]:
    """The owners' names and ids of each package on the page, in one query."""
    owners: dict[int, list[str]] = {pk: [] for pk in by_registration}
    owner_ids: dict[int, set[int]] = {pk: set() for pk in by_registration}
    through = PackageRegistration.owners.through.objects.filter(
        packageregistration_id__in=by_registration
    )
    for registration_id, owner_id, name in through.values_list(
        "packageregistration_id", "user_id", "user__username"
    ):
        owners[registration_id].append(name)
        owner_ids[registration_id].add(owner_id)
    return owners, owner_ids


def search(params: SearchParameters, reader, links: Links) -> dict:
    """nuget.org's search answer: the queries of `search_page`, and one more for the
    latest versions' security advisories."""
    total, found = search_page(params, reader)
    # search-query-service-resource.md: the latest version's known vulnerabilities,
    # an empty array when it has none.
    latest = [each.versions[-1] for each in found]
    vulnerable = advisories.latest_vulnerabilities(latest) if latest else {}
    data = []
    for each in found:
        result = _search_result(each.versions, each.owners, each.downloads, links)
        result["verified"] = each.verified
        result["vulnerabilities"] = vulnerable[each.versions[-1].pk]
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
    result = {
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
    # search-query-service-resource.md: "The deprecation associated with the latest
    # package version", the registration's shape.
    if (deprecated := deprecation(latest)) is not None:
        result["deprecation"] = deprecated
    return result


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


def dependents(package_id: str, reader, limit: int = 10) -> tuple[int, list[dict]]:
    """nuget.org's Used By: (how many packages, the most downloaded few) whose latest
    listed version depends on `package_id`, among those `reader` may read. One row
    per package (its search row's latest version, pre-releases included); the
    dependency is found in the stored groups' JSON text, then checked exactly."""
    rows = (
        _rows(SearchParameters(prerelease=True, semver2=True), reader)
        .exclude(normalized_id=package_id.lower())
        .annotate(groups=Cast("latest__dependency_groups", TextField()))
        .filter(groups__icontains=f'"{package_id}"')
        .order_by("-downloads", "normalized_id")
        .values_list("registration__package_id", "downloads", "latest__dependency_groups")
    )
    wanted = package_id.lower()
    found = [
        {"id": pid, "downloads": downloads}
        for pid, downloads, groups in rows[:500]
        if any(d.get("id", "").lower() == wanted for g in groups for d in g.get("dependencies", []))
    ]
    return len(found), found[:limit]
