"""Safe reading of uploaded ``.nupkg`` and ``.snupkg`` files (zip archives).

Everything in an upload is attacker-controlled, so this module never trusts the
zip's declared sizes, never expands more than it needs (the nuspec, and a README
named by it, each bounded),
and refuses entry names that could escape a folder once a client unescapes them.
The limits a package is held to default to the deployment's settings
(GALLEY_MAX_PACKAGE_*), read when a package is.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import lzma
import re
import struct
import unicodedata
import zipfile
import zlib
from typing import BinaryIO
from urllib.parse import unquote

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from packages.nupkg.errors import PackageError, grouped, shown
from packages.nupkg.nuspec import PackageManifest, parse_nuspec

# Entries smaller than this are not ratio-checked: tiny, highly repetitive files
# (empty XML docs, license texts) compress extremely well without being bombs.
RATIO_CHECK_MIN_SIZE = 1 << 20

_CHUNK_SIZE = 1 << 20


def _unescaped(name: str) -> str:
    """`name` as NuGet clients write it to disk: they percent-decode entry names
    (`nuget pack` escapes them), so `%2e%2e` is `..` and `%5c` a backslash. Decoded
    until nothing changes (a few rounds at most), so that no layer of escaping hides
    a path; a `%` that decodes to nothing stays as it is."""
    for _round in range(4):
        decoded = unquote(name, errors="surrogateescape")
        if decoded == name:
            break
        name = decoded
    return name


def _is_parent(segment: str) -> bool:
    return len(segment) >= 2 and set(segment) == {"."}


def _unsafe_name(name: str) -> bool:
    """True for entry names that could escape an extraction directory, as written
    or once unescaped as clients do: an absolute path, a drive letter, a `..`
    segment (either slash separates), or a control character."""
    for candidate in (name, _unescaped(name)):
        if any(unicodedata.category(char) == "Cc" for char in candidate):
            return True
        # Windows clients treat backslashes as separators, so we do too.
        normalized = candidate.replace("\\", "/")
        if normalized.startswith("/") or re.match(r"[A-Za-z]:", normalized):
            return True
        # Windows drops trailing spaces from a segment: `.. ` is `..` there.
        if any(_is_parent(segment.rstrip(" ")) for segment in normalized.split("/")):
            return True
    return False


def _is_root_nuspec(name: str) -> bool:
    return "/" not in name and "\\" not in name and name.lower().endswith(".nuspec")


def read_package(
    fileobj: BinaryIO,
    *,
    max_entries: int | None = None,
    max_uncompressed: int | None = None,
    max_ratio: int | None = None,
    max_nuspec_bytes: int = 1_000_000,
) -> PackageManifest:
    """Validate an uploaded package and return its manifest; raise PackageError if unsafe.

    ``fileobj`` must be a seekable binary file. Only the nuspec is decompressed, so
    the cost is bounded by ``max_nuspec_bytes`` whatever the archive claims. A limit
    left out is the deployment's (the GALLEY_MAX_PACKAGE_* settings): one source.
    """
    max_entries = max_entries or settings.GALLEY_MAX_PACKAGE_ENTRIES
    max_uncompressed = max_uncompressed or settings.GALLEY_MAX_PACKAGE_EXPANDED_SIZE
    max_ratio = max_ratio or settings.GALLEY_MAX_PACKAGE_COMPRESSION_RATIO
    # ZipFile loads the whole central directory into objects up front: millions
    # of entries cost gigabytes before any limit below could look at them. The
    # directory is counted first, record by record, without keeping any.
    _check_central_directory(fileobj, max_entries)
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise PackageError(_("The package is not a valid zip file.")) from exc
    with archive:
        infos = archive.infolist()
        _check_entries(infos, max_entries)
        _check_sizes(infos, max_uncompressed, max_ratio)
        data = _read_nuspec_bytes(archive, _root_nuspec(infos), max_nuspec_bytes)
        manifest = parse_nuspec(data)
        return dataclasses.replace(
            manifest,
            readme=_readme(archive, infos, manifest.readme_file),
            lib_frameworks=lib_frameworks(info.filename for info in infos),
        )


# nuget.org refuses READMEs over 1 MB; Galley keeps the push and leaves the README out.
MAX_README_BYTES = 1_000_000
MAX_ICON_BYTES = 1_000_000  # nuget.org's limit for an embedded icon
MAX_LICENSE_BYTES = 1_000_000


def _entry_named(infos, name: str):
    """The entry a manifest element names ("docs\\README.md", any case), or None."""
    wanted = name.replace("\\", "/").lstrip("/").lower()
    if not wanted:
        return None
    return next((i for i in infos if i.filename.replace("\\", "/").lower() == wanted), None)


def _bounded(archive: zipfile.ZipFile, info, limit: int) -> bytes | None:
    """The entry's bytes, or None if larger than `limit`, encrypted or unreadable."""
    if info is None or info.file_size > limit or info.flag_bits & 0x1:
        return None
    try:
        with archive.open(info) as entry:
            data = entry.read(limit + 1)
    except (NotImplementedError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError):
        return None
    return data if len(data) <= limit else None


def _readme(archive: zipfile.ZipFile, infos, name: str) -> str:
    data = _bounded(archive, _entry_named(infos, name), MAX_README_BYTES)
    return data.decode("utf-8-sig", errors="replace") if data else ""


def lib_frameworks(names) -> tuple[str, ...]:
    """The target frameworks of a package's lib/ folders ("lib/net8.0/a.dll"), in order."""
    found: list[str] = []
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if len(parts) >= 3 and parts[0].lower() == "lib" and parts[1]:
            framework = unquote(parts[1]).lower()[:64]
            if framework not in found:
                found.append(framework)
    return tuple(found)


def read_stored_entry(fileobj: BinaryIO, name: str, limit: int) -> bytes | None:
    """A file of a stored package (its icon, its license), bounded; None if absent."""
    try:
        with zipfile.ZipFile(fileobj) as archive:
            return _bounded(archive, _entry_named(archive.infolist(), name), limit)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        return None


def _check_entries(infos: list[zipfile.ZipInfo], max_entries: int) -> None:
    """No more entries than allowed, none whose name could escape a folder."""
    if len(infos) > max_entries:
        raise PackageError(
            ngettext(
                # Translators: %(count)s is a number with thousands separators, e.g. 10,000.
                "The package contains more than %(count)s entry.",
                "The package contains more than %(count)s entries.",
                max_entries,
            )
            % {"count": grouped(max_entries)}
        )
    for info in infos:
        if _unsafe_name(info.filename):
            raise PackageError(
                # Translators: %(name)s is the path of a file inside the package
                # (a zip archive), in quotes.
                _("The package contains an entry with an unsafe path: %(name)s.")
                % {"name": shown(info.filename)}
            )


def _check_sizes(infos: list[zipfile.ZipInfo], max_uncompressed: int, max_ratio: int) -> None:
    """Declared sizes can lie; these checks only reject honest bombs cheaply. The
    nuspec read is bounded independently of what is declared."""
    total_size = sum(info.file_size for info in infos)
    if total_size > max_uncompressed:
        raise PackageError(
            ngettext(
                # Translators: %(count)s is a number with thousands separators, e.g.
                # 1,000,000,000. "Expands" means once the zip archive is decompressed.
                "The package expands to more than %(count)s byte.",
                "The package expands to more than %(count)s bytes.",
                max_uncompressed,
            )
            % {"count": grouped(max_uncompressed)}
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_CHECK_MIN_SIZE and ratio > max_ratio:
            raise PackageError(
                _(
                    # Translators: %(name)s is the path of a file inside the package
                    # (a zip archive), in quotes; "%(ratio)d:1" is a compression ratio,
                    # e.g. 100:1 (the file is 100 times smaller compressed).
                    "The entry %(name)s is compressed more than %(ratio)d:1, "
                    "which is not allowed (possible zip bomb)."
                )
                % {"name": shown(info.filename), "ratio": max_ratio}
            )
    # Small entries escape the per-entry ratio check above; together they must not
    # expand a small upload into a huge one either.
    total_compressed = sum(info.compress_size for info in infos)
    if total_size > RATIO_CHECK_MIN_SIZE and total_size > max_ratio * max(total_compressed, 1):
        raise PackageError(
            _(
                # Translators: "%(ratio)d:1" is a compression ratio, e.g. 100:1.
                "The package as a whole is compressed more than %(ratio)d:1, "
                "which is not allowed (possible zip bomb)."
            )
            % {"ratio": max_ratio}
        )


def _root_nuspec(infos: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    nuspecs = [info for info in infos if _is_root_nuspec(info.filename)]
    if len(nuspecs) != 1:
        raise PackageError(
            ngettext(
                # Translators: %(count)d is how many .nuspec files were found (0 or 2 and
                # more). English uses the same wording for singular and plural.
                "The package must contain exactly one .nuspec file at its root; found %(count)d.",
                "The package must contain exactly one .nuspec file at its root; found %(count)d.",
                len(nuspecs),
            )
            % {"count": len(nuspecs)}
        )
    return nuspecs[0]


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_DIRECTORY_ENTRY = struct.Struct("<4s6H3L5H2L")  # central directory file header


def _too_many_entries(max_entries: int) -> PackageError:
    return PackageError(
        ngettext(
            # Translators: %(count)s is a number with thousands separators, e.g. 10,000.
            "The package contains more than %(count)s entry.",
            "The package contains more than %(count)s entries.",
            max_entries,
        )
        % {"count": grouped(max_entries)}
    )


def _check_central_directory(fileobj: BinaryIO, max_entries: int) -> None:
    """Refuse an archive whose central directory holds more than ``max_entries`` entries.

    Reads the end-of-central-directory record (and its Zip64 form), then walks the
    directory's fixed-size headers, stopping at the first entry over the limit:
    memory stays flat however many entries the archive declares or holds. An
    archive these records do not describe is left for ZipFile to refuse.
    """
    fileobj.seek(0, 2)
    size = fileobj.tell()
    tail_length = min(size, _EOCD.size + 0xFFFF)  # the record, then a comment of up to 64 KiB
    fileobj.seek(size - tail_length)
    tail = fileobj.read(tail_length)
    position = tail.rfind(b"PK\x05\x06")
    if position < 0 or len(tail) - position < _EOCD.size:
        return
    record_offset = size - tail_length + position
    fields = _EOCD.unpack_from(tail, position)
    entries, directory_size = fields[4], fields[5]
    if record_offset >= _ZIP64_LOCATOR.size:
        fileobj.seek(record_offset - _ZIP64_LOCATOR.size)
        locator = _ZIP64_LOCATOR.unpack(fileobj.read(_ZIP64_LOCATOR.size))
        if locator[0] == b"PK\x06\x07" and locator[2] + _ZIP64_EOCD.size <= size:
            fileobj.seek(locator[2])
            record = _ZIP64_EOCD.unpack(fileobj.read(_ZIP64_EOCD.size))
            if record[0] == b"PK\x06\x06":
                entries, directory_size, record_offset = record[7], record[8], locator[2]
    if entries > max_entries:
        raise _too_many_entries(max_entries)
    # ZipFile reads the directory into memory in one piece: bound it too. A
    # kilobyte an entry is generous (NuGet's paths are short).
    max_directory = max(1 << 20, max_entries * 1024)
    if directory_size > max_directory:
        raise PackageError(
            _("The package's zip directory is larger than %(count)s bytes.")
            % {"count": grouped(max_directory)}
        )
    # Count the records actually there, where ZipFile will look for them (just
    # before the end record): the declared count may lie.
    fileobj.seek(max(0, record_offset - directory_size))
    seen = 0
    while seen <= max_entries:
        header = fileobj.read(_DIRECTORY_ENTRY.size)
        if len(header) < _DIRECTORY_ENTRY.size or header[:4] != b"PK\x01\x02":
            return
        fields = _DIRECTORY_ENTRY.unpack(header)
        name_length, extra_length, comment_length = fields[10], fields[11], fields[12]
        fileobj.seek(name_length + extra_length + comment_length, 1)
        seen += 1
    raise _too_many_entries(max_entries)


def read_symbol_package(fileobj: BinaryIO, **limits) -> PackageManifest:
    """Validate a `.snupkg` and return its manifest.

    As on nuget.org, a symbol package declares the SymbolsPackage package type and
    carries portable PDB files, at least one, and nothing else besides its packaging
    parts.
    """
    manifest = read_package(fileobj, **limits)
    if "symbolspackage" not in (kind.lower() for kind in manifest.package_types):
        raise PackageError(
            _("The symbol package must declare the package type SymbolsPackage in its .nuspec.")
        )
    fileobj.seek(0)
    with zipfile.ZipFile(fileobj) as archive:
        pdbs = 0
        for name in archive.namelist():
            if name.endswith("/") or _is_packaging_part(name):
                continue
            if not name.lower().endswith(".pdb"):
                raise PackageError(
                    # Translators: %(name)s is the path of a file inside the package, in quotes.
                    _("The symbol package may contain only .pdb files, not %(name)s.")
                    % {"name": shown(name)}
                )
            pdbs += 1
    if not pdbs:
        raise PackageError(
            _(
                "The symbol package contains no .pdb file: it carries the portable PDBs of "
                "its package's assemblies."
            )
        )
    fileobj.seek(0)
    return manifest


def _is_packaging_part(name: str) -> bool:
    """The files every package has besides its content: nuspec, OPC parts, signature."""
    lowered = name.lower()
    return (
        _is_root_nuspec(name)
        or lowered in ("[content_types].xml", ".signature.p7s")
        or lowered.startswith(("_rels/", "package/"))
    )


def _read_nuspec_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    def too_big() -> PackageError:
        return PackageError(
            ngettext(
                # Translators: %(count)s is a number with thousands separators, e.g. 1,000,000.
                "The .nuspec is larger than %(count)s byte.",
                "The .nuspec is larger than %(count)s bytes.",
                limit,
            )
            % {"count": grouped(limit)}
        )

    if info.file_size > limit:
        raise too_big()
    if info.flag_bits & 0x1:  # general-purpose bit 0: the entry is encrypted
        raise PackageError(_("The .nuspec is encrypted, which is not supported."))
    try:
        with archive.open(info) as entry:
            # One byte over the limit tells us the declared size was a lie.
            data = entry.read(limit + 1)
    except NotImplementedError as exc:
        raise PackageError(
            _("The .nuspec uses a zip compression method that is not supported.")
        ) from exc
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as exc:
        # OSError: what bz2 raises for a corrupt stream.
        raise PackageError(_("The .nuspec entry in the zip file is corrupt.")) from exc
    if len(data) > limit:
        raise too_big()
    return data


def sha512_of(fileobj: BinaryIO) -> str:
    """Base64 SHA-512 of the whole file, as NuGet records package hashes; rewinds after."""
    digest = hashlib.sha512()
    fileobj.seek(0)
    while chunk := fileobj.read(_CHUNK_SIZE):
        digest.update(chunk)
    fileobj.seek(0)
    return base64.b64encode(digest.digest()).decode("ascii")
