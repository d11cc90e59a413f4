"""Safe reading of uploaded ``.nupkg`` files.

A ``.nupkg`` is a zip archive with a single ``.nuspec`` XML manifest at its root.
Everything in an upload is attacker-controlled, so this module never trusts the
zip's declared sizes, never expands more than it needs (only the nuspec is read),
and parses the XML with DTDs and entities forbidden.

This module is deliberately free of Django: the reasons carried by
:class:`PackageError` are plain English and are translated by the calling layer.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import defusedxml
import defusedxml.ElementTree

__all__ = [
    "NuGetVersion",
    "PackageError",
    "PackageManifest",
    "PackageTooLarge",
    "copy_limited",
    "read_package",
    "sha512_of",
    "validate_package_id",
]

MAX_ID_LENGTH = 100
MAX_VERSION_LENGTH = 64
MAX_VERSION_PART = 2**31 - 1  # NuGet stores version parts as .NET Int32.

# Entries smaller than this are not ratio-checked: tiny, highly repetitive files
# (empty XML docs, license texts) compress extremely well without being bombs.
RATIO_CHECK_MIN_SIZE = 1 << 20

_CHUNK_SIZE = 1 << 20

# NuGet's PackageIdValidator uses ``^\w+([.-]\w+)*$``; .NET's \w is Unicode-aware
# but nuget.org only accepts ASCII ids, and so do we.
_ID_RE = re.compile(r"[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*")
_IDENTIFIER_RE = re.compile(r"[0-9A-Za-z-]+")
_DOTTED_IDENTIFIERS_RE = re.compile(r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*")
_DIGITS_RE = re.compile(r"[0-9]+")


class PackageError(Exception):
    """The upload is not an acceptable package; ``reason`` says why, for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PackageTooLarge(PackageError):
    """The uploaded file itself is over the size cap (answered with 413, not 400)."""


def _shown(value: str) -> str:
    """Quote a client-supplied value for a message, escaped and bounded in length."""
    if len(value) > 100:
        return repr(value[:100]) + "..."
    return repr(value)


# --------------------------------------------------------------------------- ids


def validate_package_id(text: str) -> str:
    """Return ``text`` unchanged if it is a valid NuGet package id, else raise ValueError."""
    if not text:
        raise ValueError("Package id must not be empty.")
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(
            f"Package id {_shown(text)} is not valid: it is longer than {MAX_ID_LENGTH} characters."
        )
    # fullmatch, not match with $: "$" would accept a trailing newline.
    if not _ID_RE.fullmatch(text):
        raise ValueError(
            f"Package id {_shown(text)} is not valid: use only ASCII letters, digits and "
            "underscores, joined by single '.' or '-' characters."
        )
    return text


# ---------------------------------------------------------------------- versions


def _invalid_version(text: str, detail: str) -> ValueError:
    return ValueError(f"Version {_shown(text)} is not a valid NuGet version: {detail}.")


def _label_problem(label: str, what: str, *, allow_leading_zeros: bool) -> str | None:
    """Describe what is wrong with a dot-separated pre-release/metadata label, if anything."""
    if not label:
        return f"the {what} is empty"
    for identifier in label.split("."):
        if not identifier:
            return f"the {what} has an empty identifier"
        if not _IDENTIFIER_RE.fullmatch(identifier):
            return f"the {what} may only contain ASCII letters, digits, '-' and '.'"
        # Same rule as SemVer 2.0 and NuGet: "0" is fine, "01" is not. Also keeps
        # equality (numeric comparison) consistent with the string identity_key.
        if (
            not allow_leading_zeros
            and len(identifier) > 1
            and identifier[0] == "0"
            and _DIGITS_RE.fullmatch(identifier)
        ):
            return f"numeric identifiers in the {what} must not have leading zeros"
    return None


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class NuGetVersion:
    """A parsed NuGet version.

    Equality, hashing and ordering follow NuGet's identity rules: build metadata is
    ignored, pre-release labels compare case-insensitively, and missing or zero
    fourth parts are equal (``1.0`` == ``1.0.0`` == ``1.0.0.0``).
    """

    major: int
    minor: int = 0
    patch: int = 0
    revision: int = 0
    release: str = ""  # pre-release label as written, without the leading "-"
    metadata: str = ""  # build metadata, without the leading "+"; not part of identity

    def __post_init__(self) -> None:
        for part in (self.major, self.minor, self.patch, self.revision):
            if type(part) is not int or not 0 <= part <= MAX_VERSION_PART:
                raise ValueError(f"Version part {part!r} is out of range.")
        if self.release and _label_problem(
            self.release, "pre-release label", allow_leading_zeros=False
        ):
            raise ValueError(f"Pre-release label {_shown(self.release)} is not valid.")
        if self.metadata and _label_problem(
            self.metadata, "build metadata", allow_leading_zeros=True
        ):
            raise ValueError(f"Build metadata {_shown(self.metadata)} is not valid.")

    @classmethod
    def parse(cls, text: str) -> NuGetVersion:
        """Parse a SemVer 2.0 or legacy 4-part version; raise ValueError if invalid."""
        if not text:
            raise _invalid_version(text, "it is empty")
        if len(text) > MAX_VERSION_LENGTH:
            raise _invalid_version(text, f"it is longer than {MAX_VERSION_LENGTH} characters")
        if any(c.isspace() for c in text):
            raise _invalid_version(text, "it contains whitespace")

        core, plus, metadata = text.partition("+")
        if plus:
            problem = _label_problem(metadata, "build metadata", allow_leading_zeros=True)
            if problem:
                raise _invalid_version(text, problem)
        core, dash, release = core.partition("-")
        if dash:
            problem = _label_problem(release, "pre-release label", allow_leading_zeros=False)
            if problem:
                raise _invalid_version(text, problem)

        if not core:
            raise _invalid_version(text, "it must start with a number")
        parts = core.split(".")
        if len(parts) > 4:
            raise _invalid_version(text, "it has more than 4 numeric parts")
        if any(not part for part in parts):
            raise _invalid_version(text, "it has an empty numeric part")
        if not all(_DIGITS_RE.fullmatch(part) for part in parts):
            raise _invalid_version(text, "numeric parts may only contain the digits 0-9")
        numbers = [int(part) for part in parts]
        if any(number > MAX_VERSION_PART for number in numbers):
            raise _invalid_version(text, f"numeric parts must not exceed {MAX_VERSION_PART}")
        numbers += [0] * (4 - len(numbers))
        return cls(*numbers, release=release, metadata=metadata)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.release)

    @property
    def normalized(self) -> str:
        """NuGet's normalized form: 3 parts (4 if the revision is non-zero), no metadata."""
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.revision:
            text += f".{self.revision}"
        if self.release:
            text += f"-{self.release}"
        return text

    @property
    def identity_key(self) -> str:
        """Case-folded normalized version: equal keys exactly when versions are equal."""
        return self.normalized.lower()

    def _sort_key(self) -> tuple:
        if not self.release:
            # A release sorts after every pre-release of the same numbers.
            release_key: tuple = (1,)
        else:
            # SemVer precedence: numeric identifiers compare numerically and sort
            # before alphanumeric ones, which compare case-insensitively (as NuGet does).
            release_key = (
                0,
                tuple(
                    (0, int(ident), "") if ident.isdigit() else (1, 0, ident.lower())
                    for ident in self.release.split(".")
                ),
            )
        return (self.major, self.minor, self.patch, self.revision, release_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NuGetVersion):
            return NotImplemented
        return self._sort_key() == other._sort_key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, NuGetVersion):
            return NotImplemented
        return self._sort_key() < other._sort_key()

    def __hash__(self) -> int:
        return hash(self._sort_key())

    def __str__(self) -> str:
        return self.normalized


# ---------------------------------------------------------------------- packages


@dataclass(frozen=True)
class PackageManifest:
    id: str
    version: NuGetVersion
    original_version: str  # the version exactly as written in the nuspec (stripped)
    description: str
    authors: str
    title: str


def _unsafe_name(name: str) -> bool:
    """True for entry names that could escape an extraction directory."""
    # Windows clients treat backslashes as separators, so we do too.
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"[A-Za-z]:", normalized):
        return True
    return ".." in normalized.split("/")


def _is_root_nuspec(name: str) -> bool:
    return "/" not in name and "\\" not in name and name.lower().endswith(".nuspec")


def read_package(
    fileobj: BinaryIO,
    *,
    max_entries: int = 10_000,
    max_uncompressed: int = 1_000_000_000,
    max_ratio: int = 100,
    max_nuspec_bytes: int = 1_000_000,
) -> PackageManifest:
    """Validate an uploaded package and return its manifest; raise PackageError if unsafe.

    ``fileobj`` must be a seekable binary file. Only the nuspec is decompressed, so
    the cost is bounded by ``max_nuspec_bytes`` whatever the archive claims.
    """
    try:
        # ZipFile reads the whole central directory up front; its size is bounded
        # by the upload cap enforced earlier with copy_limited().
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise PackageError("The package is not a valid zip file.") from exc

    with archive:
        infos = archive.infolist()
        if len(infos) > max_entries:
            raise PackageError(f"The package contains more than {max_entries:,} entries.")

        for info in infos:
            if _unsafe_name(info.filename):
                raise PackageError(
                    f"The package contains an entry with an unsafe path: {_shown(info.filename)}."
                )

        # Declared sizes can lie; these checks only reject honest bombs cheaply.
        # The nuspec read below is bounded independently of what is declared.
        if sum(info.file_size for info in infos) > max_uncompressed:
            raise PackageError(f"The package expands to more than {max_uncompressed:,} bytes.")
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_CHECK_MIN_SIZE and ratio > max_ratio:
                raise PackageError(
                    f"The entry {_shown(info.filename)} is compressed more than "
                    f"{max_ratio}:1, which is not allowed (possible zip bomb)."
                )

        nuspecs = [info for info in infos if _is_root_nuspec(info.filename)]
        if len(nuspecs) != 1:
            raise PackageError(
                "The package must contain exactly one .nuspec file at its root; "
                f"found {len(nuspecs)}."
            )
        data = _read_nuspec_bytes(archive, nuspecs[0], max_nuspec_bytes)

    return _parse_nuspec(data)


def _read_nuspec_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    too_big = PackageError(f"The .nuspec is larger than {limit:,} bytes.")
    if info.file_size > limit:
        raise too_big
    if info.flag_bits & 0x1:  # general-purpose bit 0: the entry is encrypted
        raise PackageError("The .nuspec is encrypted, which is not supported.")
    try:
        with archive.open(info) as entry:
            # One byte over the limit tells us the declared size was a lie.
            data = entry.read(limit + 1)
    except NotImplementedError as exc:
        raise PackageError(
            "The .nuspec uses a zip compression method that is not supported."
        ) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise PackageError("The .nuspec entry in the zip file is corrupt.") from exc
    if len(data) > limit:
        raise too_big
    return data


def _local_name(tag: object) -> str:
    # Comments and processing instructions have non-string tags.
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _parse_nuspec(data: bytes) -> PackageManifest:
    try:
        root = defusedxml.ElementTree.fromstring(data, forbid_dtd=True)
    except (
        defusedxml.DTDForbidden,
        defusedxml.EntitiesForbidden,
        defusedxml.ExternalReferenceForbidden,
    ) as exc:
        raise PackageError(
            "The .nuspec contains a DTD or entity declaration, which is not allowed."
        ) from exc
    except defusedxml.ElementTree.ParseError as exc:
        raise PackageError(f"The .nuspec is not well-formed XML: {exc}.") from exc

    if _local_name(root.tag) != "package":
        raise PackageError("The .nuspec root element must be <package>.")
    # Like NuGet's NuspecReader: <metadata> is found by local name (old tools put the
    # xmlns on <metadata> rather than <package>), and its children are read in
    # <metadata>'s own namespace, so look-alike elements from extensions are ignored.
    metadata = next((child for child in root if _local_name(child.tag) == "metadata"), None)
    if metadata is None:
        raise PackageError("The .nuspec has no <metadata> element.")
    namespace = metadata.tag[: -len("metadata")]

    def text_of(name: str) -> str:
        element = metadata.find(namespace + name)
        if element is None or element.text is None:
            return ""
        return element.text.strip()

    package_id = text_of("id")
    if not package_id:
        raise PackageError("The .nuspec metadata has no <id>.")
    original_version = text_of("version")
    if not original_version:
        raise PackageError("The .nuspec metadata has no <version>.")

    try:
        validate_package_id(package_id)
        version = NuGetVersion.parse(original_version)
    except ValueError as exc:
        raise PackageError(str(exc)) from exc

    return PackageManifest(
        id=package_id,
        version=version,
        original_version=original_version,
        description=text_of("description"),
        authors=text_of("authors"),
        title=text_of("title"),
    )


# ----------------------------------------------------------------------- streams


def copy_limited(src: BinaryIO, dst: BinaryIO, limit: int, chunk_size: int = _CHUNK_SIZE) -> int:
    """Copy ``src`` into ``dst``; raise PackageTooLarge once more than ``limit`` bytes arrive.

    Never reads more than ``limit + 1`` bytes from ``src``. Returns the bytes written.
    """
    written = 0
    while True:
        # Ask for at most one byte past the limit, so an oversized upload is
        # detected without pulling in another whole chunk.
        chunk = src.read(min(chunk_size, limit - written + 1))
        if not chunk:
            return written
        if written + len(chunk) > limit:
            raise PackageTooLarge(f"The package is larger than the {limit:,}-byte limit.")
        dst.write(chunk)
        written += len(chunk)


def sha512_of(fileobj: BinaryIO) -> str:
    """Base64 SHA-512 of the whole file, as NuGet records package hashes; rewinds after."""
    digest = hashlib.sha512()
    fileobj.seek(0)
    while chunk := fileobj.read(_CHUNK_SIZE):
        digest.update(chunk)
    fileobj.seek(0)
    return base64.b64encode(digest.digest()).decode("ascii")
