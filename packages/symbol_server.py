"""Which PDB the symbol server answers an SSQP lookup with (dotnet/symstore's Simple
Symbol Query Protocol): `GET /download/symbols/{file}/{key}/{file}`, the address
Visual Studio, dotnet-symbol, WinDbg and Rider are given (README).

- The key of a portable PDB is its GUID in `N` format followed by `ffffffff`
  (packages/nupkg/pdb.py); file and key are compared ignoring case.
- A debugger may send `SymbolChecksum: SHA256:<hex>[;...]`, the PDB checksum its
  DLL records; when it does, only a PDB with that checksum answers.
- Debuggers send no credentials. GALLEY_SYMBOL_SERVER (on by default on a public
  feed, off on a private one) turns the server off; on a private feed turned on,
  only lookups carrying a matching SymbolChecksum are answered (the checksum is
  known only to holders of the DLL), as GitLab's package registry does.
- Unlisted versions keep their symbols served (a debugger still needs them);
  a version deleted for good takes its symbols with it.
"""

from __future__ import annotations

import re
from datetime import UTC

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from packages.models import SymbolFile

_KEY = re.compile(r"[0-9a-f]{32}ffffffff")
_CHECKSUM = re.compile(r"sha256:([0-9a-f]{64})")
MAX_CHECKSUMS = 8  # read from one SymbolChecksum header; debuggers send one per algorithm


def enabled() -> bool:
    return settings.GALLEY_SYMBOL_SERVER == "on"


def server_url(request) -> str | None:
    """The address to add to Visual Studio (Tools > Options > Debugging > Symbols),
    or None when the symbol server is off."""
    if not enabled():
        return None
    path = reverse("symbol_file", args=["NAME", "KEY", "NAME"])
    return request.build_absolute_uri(path[: -len("NAME/KEY/NAME")])


def requested_checksums(header: str | None) -> set[str] | None:
    """The SHA-256 checksums of a SymbolChecksum header (lower-case hex), None when
    the header is absent; an empty set for a header naming none we can check."""
    if header is None:
        return None
    found = set()
    for part in header.lower().split(";"):
        if match := _CHECKSUM.fullmatch(part.strip()):
            found.add(match.group(1))
        if len(found) >= MAX_CHECKSUMS:
            break
    return found


def lookup(name: str, key: str, checksum_header: str | None) -> SymbolFile | None:
    """The PDB to answer `{name}/{key}/{name}` with, or None (a 404)."""
    name, key = name.lower(), key.lower()
    if not enabled() or not _KEY.fullmatch(key):
        return None
    checksums = requested_checksums(checksum_header)
    if checksums is None and settings.GALLEY_FEED_READ != "public":
        return None
    # One indexed query on one table, written out: the ORM's compilation would cost
    # more than the query itself, and a lookup should cost about what the bare view
    # does (make bench). The same PDB pushed with several versions: the latest
    # push answers.
    table = connection.ops.quote_name(SymbolFile._meta.db_table)
    q = connection.ops.quote_name
    columns = ", ".join(q(column) for column in ("id", "name", "size", "sha256", "file", "created"))
    sql = f"SELECT {columns} FROM {table} WHERE {q('key')} = %s AND {q('name')} = %s"  # noqa: S608
    params = [key, name]
    if checksums is not None:
        if not checksums:
            return None
        sql += f" AND {q('checksum')} IN ({', '.join(['%s'] * len(checksums))})"
        params += sorted(checksums)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY id DESC LIMIT 1", params)
        row = cursor.fetchone()
    if row is None:
        return None
    pk, name, size, sha256, file, created = row
    if isinstance(created, str):  # SQLite through a raw cursor: UTC, as stored
        created = SymbolFile._meta.get_field("created").to_python(created)
    if timezone.is_naive(created):
        created = timezone.make_aware(created, UTC)
    return SymbolFile(pk=pk, name=name, size=size, sha256=sha256, file=file, created=created)
