"""Download counts between a download and the next flush_download_counts.

A download must not cost a write to the version's row (a popular version would
queue every download on one row lock), so it is counted aside and moved into
PackageVersion.download_count by the flush. Where the counts wait:

- With Redis (the default cache is Redis): one hash, `<prefix>:downloads`, a field
  per version. HINCRBY counts exactly; the flush takes each field and deletes it
  in one MULTI, so nothing is counted twice or lost between the two.
- Otherwise: the PendingDownload table, a row per version, counted with one
  upsert and taken by the flush in the transaction that adds them to the versions.

Never in the default cache: anyone may download, and entries they create there
would crowd out what the cache must keep (sign-in limits, used two-factor codes;
see the README's "What the cache holds"). Both places hold one entry per version
at most (the number of versions, which only publishers make, bounds them), and a
flush deletes what it moved.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F

from packages.models import PackageVersion, PendingDownload, SymbolFile
from packages.search import rows as search_rows

log = logging.getLogger("galley.feed")

REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
_FLUSH_LOCK = "galley:downloads:flush-lock"
_clients: dict[str, object] = {}


def _redis():
    """(client, hash name) when the shared cache is Redis; None otherwise."""
    default = settings.CACHES["default"]
    if default["BACKEND"] != REDIS_BACKEND:
        return None
    url = default["LOCATION"]
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url)
    return _clients[url], f"{default.get('KEY_PREFIX', '')}:downloads"


def _add_pending_sql() -> str:
    """Add downloads to a version's pending count: one statement, the same on SQLite
    and PostgreSQL, exact under concurrency. Parameters: the version's pk, how many."""
    table = connection.ops.quote_name(PendingDownload._meta.db_table)
    return (
        f"INSERT INTO {table} (version_id, downloads) VALUES (%s, %s) "  # noqa: S608
        f"ON CONFLICT (version_id) DO UPDATE SET downloads = {table}.downloads + excluded.downloads"
    )


def count_download(version: PackageVersion) -> None:
    """Count one download; a download never fails for its count."""
    try:
        if found := _redis():
            client, name = found
            client.hincrby(name, str(version.pk), 1)
            return
        with connection.cursor() as cursor:
            cursor.execute(_add_pending_sql(), [version.pk, 1])
    except Exception:  # the cache or database down, the version deleted meanwhile
        log.warning("download of %s not counted", version, exc_info=True)


def count_downloads(counts: dict[int, int]) -> None:
    """Count many downloads at once ({version pk: downloads}: those nginx sent,
    packages/download_log.py); raises when they cannot be counted, so that the
    caller counts them later rather than never."""
    if not counts:
        return
    if found := _redis():
        client, name = found
        with client.pipeline(transaction=True) as pipe:  # all of them or none
            for pk, count in sorted(counts.items()):
                pipe.hincrby(name, str(pk), count)
            pipe.execute()
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # In the order of the rows, as the flush takes them: two writers never deadlock.
        cursor.executemany(_add_pending_sql(), sorted(counts.items()))


def pending_downloads(versions) -> dict[int, int]:
    """{version pk: downloads counted since the last flush}, in one read."""
    pks = [version.pk for version in versions]
    if not pks:
        return {}
    if found := _redis():
        client, name = found
        counts = client.hmget(name, [str(pk) for pk in pks])
        return {pk: int(count) for pk, count in zip(pks, counts, strict=True) if count}
    return dict(
        PendingDownload.objects.filter(version_id__in=pks, downloads__gt=0).values_list(
            "version_id", "downloads"
        )
    )


def forget_downloads(pk: int) -> None:
    """A version deleted for good: its pending count goes too (the table's row
    goes with the version)."""
    if found := _redis():
        client, name = found
        client.hdel(name, str(pk))


def flush_download_counts(batch: int = 1000) -> int | None:
    """Move counted downloads into PackageVersion.download_count; the number moved.

    Only one instance flushes at a time (a lock in the shared cache; None when
    another holds it). The versions counted when the flush starts are moved, in
    batches; downloads counted meanwhile wait for the next flush. Each count is
    taken and deleted at once, so it is never moved twice; with Redis, a crash
    between taking a batch and writing it loses that batch rather than counting
    it twice.
    """
    if not cache.add(_FLUSH_LOCK, 1, timeout=600):
        return None
    moved = 0
    try:
        found = _redis()
        if found:
            client, name = found
            pending = sorted(int(pk) for pk in client.hkeys(name))
        else:
            pending = list(
                PendingDownload.objects.order_by("version_id").values_list("version_id", flat=True)
            )
        for start in range(0, len(pending), batch):
            chunk = pending[start : start + batch]
            with transaction.atomic():
                taken = _take_from_redis(*found, chunk) if found else _take_from_table(chunk)
                registrations = _add_to_versions(taken)
            search_rows.refresh_downloads(registrations)  # the packages' totals, for ranking
            moved += sum(taken.values())
    finally:
        cache.delete(_FLUSH_LOCK)
    return moved


def _take_from_redis(client, name: str, pks: list[int]) -> dict[int, int]:
    with client.pipeline(transaction=True) as pipe:  # MULTI ... EXEC: read and delete at once
        for pk in pks:
            pipe.hget(name, str(pk))
        pipe.hdel(name, *[str(pk) for pk in pks])
        *counts, _deleted = pipe.execute()
    return {pk: int(count) for pk, count in zip(pks, counts, strict=True) if count}


def _take_from_table(pks: list[int]) -> dict[int, int]:
    # Locked, so that a download counted meanwhile waits and makes a new row.
    taken = dict(
        PendingDownload.objects.select_for_update()
        .filter(version_id__in=pks)
        .values_list("version_id", "downloads")
    )
    PendingDownload.objects.filter(version_id__in=list(taken)).delete()
    return {pk: count for pk, count in taken.items() if count}


def _add_to_versions(taken: dict[int, int]) -> set[int]:
    """Add the counts to their versions; the ids of their registrations."""
    for pk, count in taken.items():
        PackageVersion.objects.filter(pk=pk).update(download_count=F("download_count") + count)
    return set(
        PackageVersion.objects.filter(pk__in=list(taken)).values_list("registration_id", flat=True)
    )


def count_symbol_download(symbol_file) -> None:
    """Count one download of a PDB from the symbol server, apart from the package's
    downloads (a debugger loading symbols is not an install). Debuggers ask once per
    PDB and cache it, so a write per download is affordable; it never fails one."""
    table = connection.ops.quote_name(SymbolFile._meta.db_table)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET download_count = download_count + 1 WHERE id = %s",  # noqa: S608
                [symbol_file.pk],
            )
    except Exception:
        log.warning("symbol download of %s not counted", symbol_file, exc_info=True)
