"""What a debugger needs to find a PDB: the ids in a DLL's debug directory and in a
portable PDB's metadata, read without trusting a single offset.

Everything read here comes from an upload. Each read goes through `_File.at`,
which checks that the span lies inside the file before seeking, and reads at most
a few kilobytes: a PE's headers, its debug directory and the entries it names; a
PDB's metadata root and the first 20 bytes of its `#Pdb` stream. Nothing else is
loaded, whatever sizes the file declares.

- A PE (ECMA-335 II.25, PE/COFF): DOS header -> `PE\\0\\0` -> COFF header -> optional
  header (PE32 or PE32+) -> data directory 6 (debug) -> its entries, found through
  the section table. Entry type 2 (CodeView) holds `RSDS` + GUID + age + path;
  type 19 (PDB checksum) holds an algorithm name and the PDB's hash.
- A portable PDB (ECMA-335 metadata, `BSJB`): the `#Pdb` stream begins with the
  PDB id, a GUID (16 bytes) and a stamp (4 bytes). Its checksum is the hash of the
  file with those 20 bytes zeroed.
- A Windows PDB (MSF, `Microsoft C/C++ MSF 7.00`) is recognised only to be refused.

The SSQP key of a portable PDB (dotnet/symstore's key conventions) is the GUID in
.NET's `N` format (its first three fields little-endian) followed by `ffffffff`.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from dataclasses import dataclass, field
from typing import BinaryIO

from django.utils.translation import gettext as _

MSF_SIGNATURE = b"Microsoft C/C++ MSF 7.00"
METADATA_SIGNATURE = b"BSJB"
PDB_ID_SIZE = 20
CODEVIEW, PDB_CHECKSUM = 2, 19
_MAX_SECTIONS = 96
_MAX_DEBUG_ENTRIES = 32
_MAX_ENTRY_DATA = 4096
_MAX_STREAMS = 16
_CHUNK = 1 << 20


class SymbolError(ValueError):
    """Why a file is not a usable PE or portable PDB; `reason` is said to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _File:
    """Bounded reads of a seekable binary file whose size is known."""

    def __init__(self, fileobj: BinaryIO, size: int, what: str) -> None:
        self.fileobj, self.size, self.what = fileobj, size, what

    def at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise SymbolError(
                _("%(file)s is truncated or malformed: a header points outside the file.")
                % {"file": self.what}
            )
        self.fileobj.seek(offset)
        data = self.fileobj.read(length)
        if len(data) != length:
            raise SymbolError(_("%(file)s is truncated.") % {"file": self.what})
        return data


def guid_text(guid: bytes) -> str:
    """A GUID's 16 bytes as .NET's Guid.ToString("N") writes them (lower case)."""
    return uuid.UUID(bytes_le=bytes(guid)).hex


def ssqp_key(guid: bytes) -> str:
    """The SSQP key of a portable PDB with this GUID (lower case)."""
    return guid_text(guid) + "ffffffff"


# ------------------------------------------------------------------ portable PDB


@dataclass(frozen=True)
class PortablePdb:
    guid: bytes
    stamp: bytes
    id_offset: int  # where the 20-byte PDB id lies in the file

    @property
    def key(self) -> str:
        return ssqp_key(self.guid)


def read_pdb(fileobj: BinaryIO, size: int, name: str) -> PortablePdb:
    """The id of a portable PDB; SymbolError for a Windows PDB or anything else."""
    pdb = _File(fileobj, size, name)
    head = pdb.at(0, min(size, 32))
    if head.startswith(MSF_SIGNATURE):
        raise SymbolError(
            _(
                "%(file)s is a Windows PDB: symbol packages hold portable PDBs only. "
                "Build with <DebugType>portable</DebugType>."
            )
            % {"file": name}
        )
    if not head.startswith(METADATA_SIGNATURE) or len(head) < 16:
        raise SymbolError(_("%(file)s is not a portable PDB.") % {"file": name})
    (version_length,) = struct.unpack_from("<I", head, 12)
    if version_length > 255:
        raise SymbolError(_("%(file)s is not a portable PDB.") % {"file": name})
    position = 16 + version_length
    _flags, streams = struct.unpack("<HH", pdb.at(position, 4))
    position += 4
    for _index in range(min(streams, _MAX_STREAMS)):
        offset, length = struct.unpack("<II", pdb.at(position, 8))
        raw_name = pdb.at(position + 8, min(32, size - position - 8))
        stream_name, nul, _rest = raw_name.partition(b"\0")
        if not nul:
            break
        position += 8 + (len(stream_name) + 4) // 4 * 4
        if stream_name == b"#Pdb":
            if length < PDB_ID_SIZE:
                break
            pdb_id = pdb.at(offset, PDB_ID_SIZE)
            return PortablePdb(guid=pdb_id[:16], stamp=pdb_id[16:], id_offset=offset)
    raise SymbolError(_("%(file)s has no #Pdb stream: it is not a portable PDB.") % {"file": name})


def pdb_checksum(fileobj: BinaryIO, id_offset: int, algorithm: str = "sha256") -> bytes:
    """The PDB's checksum as a PE's checksum entry records it: the hash of the whole
    file with its 20-byte id zeroed."""
    digest = hashlib.new(algorithm)
    fileobj.seek(0)
    position = 0
    end_of_id = id_offset + PDB_ID_SIZE
    while block := fileobj.read(_CHUNK):
        start, stop = position, position + len(block)
        if start < end_of_id and stop > id_offset:
            data = bytearray(block)
            lo, hi = max(id_offset, start) - start, min(end_of_id, stop) - start
            data[lo:hi] = bytes(hi - lo)
            block = bytes(data)
        digest.update(block)
        position = stop
    return digest.digest()


# --------------------------------------------------------------------------- PE


@dataclass(frozen=True)
class CodeView:
    guid: bytes
    age: int
    stamp: int
    path: str


@dataclass(frozen=True)
class PeDebug:
    """What a PE's debug directory says about its PDB."""

    codeviews: list[CodeView] = field(default_factory=list)
    checksums: list[tuple[str, bytes]] = field(default_factory=list)


def read_pe_debug(fileobj: BinaryIO, size: int, name: str) -> PeDebug:
    """The CodeView and PDB checksum entries of a PE's debug directory (empty for a
    PE without one); SymbolError if the file is not a PE."""
    pe = _File(fileobj, size, name)
    if pe.at(0, 2) != b"MZ":
        raise SymbolError(_("%(file)s is not a PE file (DLL or EXE).") % {"file": name})
    (header,) = struct.unpack("<I", pe.at(0x3C, 4))
    coff = pe.at(header, 24)
    if coff[:4] != b"PE\0\0":
        raise SymbolError(_("%(file)s is not a PE file (DLL or EXE).") % {"file": name})
    sections, optional_size = (
        struct.unpack_from("<H", coff, 6)[0],
        struct.unpack_from("<H", coff, 20)[0],
    )
    optional = pe.at(header + 24, min(optional_size, 240))
    directory = _debug_directory(optional)
    if directory is None:
        return PeDebug()
    table = pe.at(header + 24 + optional_size, 40 * min(sections, _MAX_SECTIONS))
    rva, length = directory
    offset = _file_offset(table, rva)
    if offset is None:
        return PeDebug()
    return _debug_entries(pe, offset, min(length // 28, _MAX_DEBUG_ENTRIES))


def _debug_directory(optional: bytes) -> tuple[int, int] | None:
    """(RVA, size) of the debug data directory, or None."""
    if len(optional) < 2:
        return None
    (magic,) = struct.unpack_from("<H", optional, 0)
    count_at, directories_at = {0x10B: (92, 96), 0x20B: (108, 112)}.get(magic, (None, None))
    if count_at is None or len(optional) < directories_at + 7 * 8:
        return None
    (count,) = struct.unpack_from("<I", optional, count_at)
    if count <= 6:
        return None
    rva, length = struct.unpack_from("<II", optional, directories_at + 6 * 8)
    return (rva, length) if rva and length else None


def _file_offset(table: bytes, rva: int) -> int | None:
    for index in range(len(table) // 40):
        virtual_size, address, raw_size, raw_pointer = struct.unpack_from(
            "<IIII", table, index * 40 + 8
        )
        if address <= rva < address + max(virtual_size, raw_size):
            return raw_pointer + (rva - address)
    return None


def _debug_entries(pe: _File, offset: int, count: int) -> PeDebug:
    debug = PeDebug()
    entries = pe.at(offset, count * 28)
    for index in range(count):
        _chars, stamp, _major, _minor, kind, length, _rva, pointer = struct.unpack_from(
            "<IIHHIIII", entries, index * 28
        )
        if kind not in (CODEVIEW, PDB_CHECKSUM) or not length:
            continue
        data = pe.at(pointer, min(length, _MAX_ENTRY_DATA))
        if kind == CODEVIEW and data[:4] == b"RSDS" and len(data) >= 24:
            path = data[24:].partition(b"\0")[0].decode("utf-8", "replace")
            (age,) = struct.unpack_from("<I", data, 20)
            debug.codeviews.append(CodeView(data[4:20], age, stamp, path))
        elif kind == PDB_CHECKSUM:
            algorithm, nul, checksum = data.partition(b"\0")
            if nul and checksum:
                debug.checksums.append((algorithm.decode("ascii", "replace"), checksum))
    return debug
