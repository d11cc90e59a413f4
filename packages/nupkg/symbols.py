"""The portable PDBs of a `.snupkg`, checked against the DLLs and EXEs of their
`.nupkg` as nuget.org checks them, and extracted for the symbol server.

Both archives have passed `read_package`/`read_symbol_package` (entry count, names,
declared sizes) before they come here. Each PDB is copied out of the zip into a
spooled temporary file (memory up to 1 MiB, then disk), hashed on the way; the
PEs are read in place, a few kilobytes each (packages/nupkg/pdb.py).

The rules, each refused with its reason and nothing stored:
- every `.pdb` is a portable PDB (a Windows PDB is refused);
- every `.pdb` has a DLL or EXE of the same path (ignoring case) in the `.nupkg`,
  whose CodeView entry carries the PDB's GUID and stamp, and whose PDB checksum
  entry (SHA256), where it has one, is the PDB's checksum.
"""

from __future__ import annotations

import hashlib
import lzma
import posixpath
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext as _

from packages.nupkg.errors import shown
from packages.nupkg.pdb import (
    PortablePdb,
    SymbolError,
    pdb_checksum,
    read_pdb,
    read_pe_debug,
)

# What a corrupt, encrypted or oddly compressed zip member raises when it is read.
_UNREADABLE = (
    zipfile.BadZipFile,
    EOFError,
    OSError,
    ValueError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
)
_SPOOL_IN_MEMORY = 1 << 20
_CHUNK = 1 << 20


@dataclass
class SymbolEntry:
    """One portable PDB of a symbol package, extracted to `content`."""

    path: str
    name: str  # the file name, lower case, as debuggers ask for it
    key: str  # SSQP key, lower case
    size: int
    sha256: str
    checksum: str  # hex SHA-256 of the PDB with its id zeroed
    content: BinaryIO
    pdb: PortablePdb | None = None


def _stem(path: str) -> str:
    return posixpath.splitext(path.replace("\\", "/").lower())[0]


def _is_pdb(name: str) -> bool:
    return name.lower().endswith(".pdb") and not name.endswith("/")


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[BinaryIO, int, str]:
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    digest, size = hashlib.sha256(), 0
    try:
        with archive.open(info) as member:
            while block := member.read(_CHUNK):
                digest.update(block)
                spool.write(block)
                size += len(block)
    except _UNREADABLE as error:
        spool.close()
        raise SymbolError(
            _("%(file)s could not be read from the symbol package.")
            % {"file": shown(info.filename)}
        ) from error
    return spool, size, digest.hexdigest()


def symbol_entries(snupkg: BinaryIO, nupkg: BinaryIO) -> list[SymbolEntry]:
    """Every portable PDB of `snupkg`, each matched to a PE of `nupkg`; SymbolError
    (with the reason) for the first that is not acceptable. The caller closes the
    entries' `content` (`close_entries`)."""
    snupkg.seek(0)
    entries: list[SymbolEntry] = []
    try:
        with zipfile.ZipFile(snupkg) as archive:
            for info in archive.infolist():
                if _is_pdb(info.filename):
                    entries.append(_entry(archive, info))
        if entries:
            _match(entries, nupkg)
    except BaseException:
        close_entries(entries)
        raise
    return entries


def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> SymbolEntry:
    path = info.filename
    content, size, sha256 = _extract(archive, info)
    try:
        pdb = read_pdb(content, size, shown(path))
        checksum = pdb_checksum(content, pdb.id_offset).hex()
    except BaseException:
        content.close()
        raise
    return SymbolEntry(
        path=path,
        name=posixpath.basename(path.replace("\\", "/")).lower(),
        key=pdb.key,
        size=size,
        sha256=sha256,
        checksum=checksum,
        content=content,
        pdb=pdb,
    )


def _match(entries: list[SymbolEntry], nupkg: BinaryIO) -> None:
    nupkg.seek(0)
    with zipfile.ZipFile(nupkg) as archive:
        binaries: dict[str, list[zipfile.ZipInfo]] = {}
        for info in archive.infolist():
            if info.filename.lower().endswith((".dll", ".exe")):
                binaries.setdefault(_stem(info.filename), []).append(info)
        for entry in entries:
            candidates = binaries.get(_stem(entry.path), [])
            if not candidates:
                raise SymbolError(
                    _(
                        "%(file)s matches no DLL or EXE of the package: the package must "
                        "contain the assembly it was built with, at the same path."
                    )
                    % {"file": shown(entry.path)}
                )
            reasons = [_mismatch(archive, info, entry) for info in candidates]
            if all(reasons):
                raise SymbolError(reasons[0])


def _mismatch(archive: zipfile.ZipFile, info: zipfile.ZipInfo, entry: SymbolEntry) -> str | None:
    """Why `entry` is not the PDB of the PE `info`, or None if it is."""
    try:
        with archive.open(info) as member:
            debug = read_pe_debug(member, info.file_size, shown(info.filename))
    except SymbolError:
        raise
    except _UNREADABLE as error:
        raise SymbolError(
            _("%(file)s could not be read from the package.") % {"file": shown(info.filename)}
        ) from error
    pdb = entry.pdb
    ids = [(view.guid, struct.pack("<I", view.stamp)) for view in debug.codeviews]
    if (pdb.guid, pdb.stamp) not in ids:
        return _(
            "%(file)s does not match %(binary)s: its id differs from the one the assembly "
            "records (it comes from another build)."
        ) % {"file": shown(entry.path), "binary": shown(info.filename)}
    sha256 = [value for algorithm, value in debug.checksums if algorithm.upper() == "SHA256"]
    if sha256 and bytes.fromhex(entry.checksum) not in sha256:
        return _(
            "%(file)s does not match %(binary)s: its checksum differs from the one the "
            "assembly records."
        ) % {"file": shown(entry.path), "binary": shown(info.filename)}
    return None


def close_entries(entries: list[SymbolEntry]) -> None:
    for entry in entries:
        entry.content.close()
