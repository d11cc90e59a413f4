"""The search rows (PackageSearch): what search and autocomplete read.

Search ranks packages, not versions, and shows each by its latest listed version
for the kind of search asked for (pre-releases or not, SemVer 2.0.0 or not). So
that a search at 10,000 packages neither groups every matching version by
package nor works out the latest one, each package keeps a row per version that
is the latest for some kind of search, with that version's text (as a
GIN-indexed vector on PostgreSQL) and the package's total downloads.

The rows change with the versions, in the transaction that changes them: every
change to a version goes through packages/lifecycle.py, which calls `refresh`;
downloads flushed (packages/downloads.py) call `refresh_downloads`. No model
signal is involved, so how a row happened to be saved never matters. Versions
written around the lifecycle (a bulk import, SQL by hand) need `rebuild()`
(`manage.py reindex_search`).
"""

from __future__ import annotations

import functools
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from core.statements import compiled
from packages.models import PackageRegistration, PackageSearch, PackageVersion
from packages.nupkg import NuGetVersion

# (prerelease allowed, SemVer 2.0.0 allowed): the PackageSearch flag for it.
KINDS = {
    (False, False): "stable",
    (True, False): "prerelease",
    (False, True): "stable_semver2",
    (True, True): "prerelease_semver2",
}

# PostgreSQL writes the rows with their vectors in one statement (no row written
# twice, none left dead for vacuum): the id's words weigh most, then title and
# tags, then description, as the versions' vectors of migration 0006 did.
INSERT_SQL = """
INSERT INTO packages_packagesearch (
    registration_id, latest_id, stable, prerelease, stable_semver2, prerelease_semver2,
    downloads, normalized_id, package_types, search_vector
)
SELECT x.registration_id, x.latest_id, x.stable, x.prerelease, x.stable_semver2,
    x.prerelease_semver2, x.downloads, r.normalized_id, v.package_types,
    setweight(to_tsvector('english', replace(r.package_id, '.', ' ')), 'A')
    || setweight(to_tsvector('english', v.title || ' ' || v.tags), 'B')
    || setweight(to_tsvector('english', v.description), 'C')
FROM unnest(%s::bigint[], %s::bigint[], %s::boolean[], %s::boolean[], %s::boolean[],
            %s::boolean[], %s::bigint[])
    AS x(registration_id, latest_id, stable, prerelease, stable_semver2,
         prerelease_semver2, downloads)
JOIN packages_packageversion v ON v.id = x.latest_id
JOIN packages_packageregistration r ON r.id = x.registration_id
"""
DELETE_ONE_SQL = "DELETE FROM packages_packagesearch WHERE registration_id = %s"
# One package's rows replaced in one statement (PostgreSQL). The condition reads
# the DELETE's output, so the old rows are gone before the new ones are checked
# against one_search_row_per_latest_version (a push of an older version writes
# the same rows again).
REPLACE_ONE_SQL = (
    f"WITH gone AS ({DELETE_ONE_SQL} RETURNING 1) {INSERT_SQL}"  # noqa: S608 - this module's constants
    "WHERE (SELECT count(*) FROM gone) >= 0"
)
_COLUMNS = [
    "registration_id",
    "latest_id",
    "stable",
    "prerelease",
    "stable_semver2",
    "prerelease_semver2",
    "downloads",
]


def kind_flag(prerelease: bool, semver2: bool) -> str:
    return KINDS[(prerelease, semver2)]


# Every refresh sorts all of a package's versions; the same texts come back with
# each change to the package, so their parses are kept (NuGetVersion is immutable).
_sort_key = functools.lru_cache(maxsize=20_000)(NuGetVersion.of)


def _rows_for(registration_id: int, versions: list[tuple]) -> list[PackageSearch]:
    """The rows of one package from (pk, version as written, version, listed,
    prerelease, semver2, downloads, package types, lower-cased id) of its versions."""
    downloads = sum(version[6] for version in versions)
    listed = sorted(
        (version for version in versions if version[3]),
        key=lambda version: _sort_key(version[2]),
    )
    rows: dict[int, PackageSearch] = {}
    for (prerelease, semver2), flag in KINDS.items():
        shown = [v for v in listed if (prerelease or not v[4]) and (semver2 or not v[5])]
        if not shown:
            continue
        pk, _original, _version, _listed, _pre, _semver2, _downloads, types, lower_id = shown[-1]
        row = rows.get(pk)
        if row is None:
            row = rows[pk] = PackageSearch(
                registration_id=registration_id,
                latest_id=pk,
                normalized_id=lower_id,
                package_types=types,
                downloads=downloads,
            )
        setattr(row, flag, True)
    return list(rows.values())


def refresh(registration_ids, *, locked: bool = False) -> None:
    """Make the search rows of these packages match their versions now.

    The packages' rows are locked first (PostgreSQL), so that two refreshes of
    one package follow each other and the second reads what the first wrote;
    `locked`: the caller holds those locks already (packages/lifecycle.py).
    Four queries whatever the number of packages and versions (three when locked, two
    for one locked package on PostgreSQL).
    """
    ids = sorted(set(registration_ids))
    if not ids:
        return
    if locked and len(ids) == 1:
        _write_one(ids[0])
        return
    if locked:
        _write(PackageVersion.objects.filter(registration_id__in=ids), ids)
        return
    with transaction.atomic():
        ids = list(
            PackageRegistration.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        _write(PackageVersion.objects.filter(registration_id__in=ids), ids)


def rebuild() -> None:
    """Every package's search rows, from scratch (after a bulk import)."""
    with transaction.atomic():
        _write(PackageVersion.objects.all(), None)


_VERSION_COLUMNS = (
    "registration_id",
    "pk",
    "original_version",
    "version",
    "listed",
    "is_prerelease",
    "is_semver2",
    "download_count",
    "package_types",
    "registration__normalized_id",
)

# A stand-in for the package's id while the one-package statement is compiled.
_ID = -7_000_101


def _write_one(registration_id: int) -> None:
    """`_write` for one package whose row the caller has locked (every push, unlist
    and relist), its SELECT compiled once per process (core/statements.py) and its
    DELETE a fixed statement, on PostgreSQL one with the INSERT: the ORM's work per
    query would cost more than the queries do."""
    select = compiled(
        "search.versions_of_one",
        lambda: (
            PackageVersion.objects.filter(registration_id=_ID)
            .order_by()
            .values_list(*_VERSION_COLUMNS)
        ),
    )
    versions = [row[1:] for row in select.rows({_ID: registration_id})]
    rows = _rows_for(registration_id, versions) if versions else []
    if connection.vendor == "postgresql" and rows:
        with connection.cursor() as cursor:
            cursor.execute(REPLACE_ONE_SQL, [registration_id, *_arrays(rows)])
        return
    with connection.cursor() as cursor:
        cursor.execute(DELETE_ONE_SQL, [registration_id])
    _insert(rows)


def _write(versions, ids: list[int] | None) -> None:
    by_registration = defaultdict(list)
    for row in versions.order_by().values_list(*_VERSION_COLUMNS):
        by_registration[row[0]].append(row[1:])
    rows = [
        row
        for registration_id, package_versions in by_registration.items()
        for row in _rows_for(registration_id, package_versions)
    ]
    existing = PackageSearch.objects.all()
    if ids is not None:
        existing = existing.filter(registration_id__in=ids)
    existing.delete()
    _insert(rows)


def _insert(rows: list[PackageSearch]) -> None:
    if connection.vendor != "postgresql":
        PackageSearch.objects.bulk_create(rows, batch_size=1000)
    elif rows:
        with connection.cursor() as cursor:
            cursor.execute(INSERT_SQL, _arrays(rows))


def _arrays(rows: list[PackageSearch]) -> list[list]:
    """The rows column by column, for INSERT_SQL's unnest()."""
    return [[getattr(row, column) for row in rows] for column in _COLUMNS]


def refresh_downloads(registration_ids) -> None:
    """The packages' total downloads again, after a flush of download counts."""
    ids = sorted(set(registration_ids))
    if not ids:
        return
    total = (
        PackageVersion.objects.filter(registration_id=OuterRef("registration_id"))
        .order_by()
        .values("registration_id")
        .annotate(total=Sum("download_count"))
        .values("total")
    )
    with transaction.atomic():
        list(PackageRegistration.objects.select_for_update().filter(pk__in=ids).values("pk"))
        PackageSearch.objects.filter(registration_id__in=ids).update(
            downloads=Coalesce(Subquery(total), 0)
        )
