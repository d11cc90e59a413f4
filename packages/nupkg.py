"""Safe reading of uploaded ``.nupkg`` files.

A ``.nupkg`` is a zip archive with a single ``.nuspec`` XML manifest at its root.
Everything in an upload is attacker-controlled, so this module never trusts the
zip's declared sizes, never expands more than it needs (only the nuspec is read),
and parses the XML with DTDs and entities forbidden.

The reasons carried by :class:`PackageError` (and the ``ValueError`` messages of
:func:`validate_package_id` and :meth:`NuGetVersion.parse`) go back to the NuGet client,
so they are built with Django's translation and number-formatting functions at the
moment the error is raised, in the active language. The limits a package is held to
default to the deployment's settings (GALLEY_MAX_PACKAGE_*), read when a package is.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import lzma
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote

import defusedxml
import defusedxml.ElementTree
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

__all__ = [
    "DependencyGroup",
    "NuGetVersion",
    "PackageError",
    "PackageManifest",
    "PackageTooLarge",
    "read_package",
    "sha512_of",
    "validate_package_id",
]

MAX_ID_LENGTH = 100
MAX_VERSION_LENGTH = 64
# Versions stored before pushes checked the normal form's length can be longer
# ("1-" and 62 letters is "1.0.0-" and 62): reading them and their URLs allows
# up to the column's length.
STORED_VERSION_LENGTH = 80
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
    """The upload is not an acceptable package; ``reason`` says why, for the client.

    The reason is already translated into the language active when it was raised.
    """

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


def _grouped(number: int) -> str:
    """``number`` with the active language's thousands separators (1,000 or 1 000)."""
    return number_format(number, force_grouping=True)


# --------------------------------------------------------------------------- ids


def validate_package_id(text: str) -> str:
    """Return ``text`` unchanged if it is a valid NuGet package id, else raise ValueError."""
    if not text:
        raise ValueError(_("Package id must not be empty."))
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(
            ngettext(
                # Translators: %(id)s is the package id as sent, in quotes (possibly cut
                # short with "..."); %(max)d is the longest length allowed.
                "Package id %(id)s is not valid: it is longer than %(max)d character.",
                "Package id %(id)s is not valid: it is longer than %(max)d characters.",
                MAX_ID_LENGTH,
            )
            % {"id": _shown(text), "max": MAX_ID_LENGTH}
        )
    # fullmatch, not match with $: "$" would accept a trailing newline.
    if not _ID_RE.fullmatch(text):
        raise ValueError(
            _(
                # Translators: %(id)s is the package id as sent, in quotes (possibly cut
                # short with "..."). Keep the quoted '.' and '-' as they are.
                "Package id %(id)s is not valid: use only ASCII letters, digits and "
                "underscores, joined by single '.' or '-' characters."
            )
            % {"id": _shown(text)}
        )
    return text


# ---------------------------------------------------------------------- versions


def _invalid_version(text: str, message: str, **values: object) -> ValueError:
    """A ValueError for ``text`` from a translated ``message`` with a ``%(version)s``."""
    return ValueError(message % {"version": _shown(text), **values})


# What _label_problem can find wrong with a pre-release label or build metadata.
# Each becomes a whole translated sentence (see _release_message, _metadata_message),
# because the two labels differ in gender and number in other languages.
_LABEL_EMPTY = "empty"
_LABEL_EMPTY_IDENTIFIER = "empty identifier"
_LABEL_BAD_CHARACTER = "bad character"
_LABEL_LEADING_ZERO = "leading zero"


def _label_problem(label: str, *, allow_leading_zeros: bool) -> str | None:
    """Name what is wrong with a dot-separated pre-release/metadata label, if anything.

    Returns one of the ``_LABEL_*`` constants, or None if the label is fine.
    """
    if not label:
        return _LABEL_EMPTY
    for identifier in label.split("."):
        if not identifier:
            return _LABEL_EMPTY_IDENTIFIER
        if not _IDENTIFIER_RE.fullmatch(identifier):
            return _LABEL_BAD_CHARACTER
        # Same rule as SemVer 2.0 and NuGet: "0" is fine, "01" is not. Also keeps
        # equality (numeric comparison) consistent with the string identity_key.
        if (
            not allow_leading_zeros
            and len(identifier) > 1
            and identifier[0] == "0"
            and _DIGITS_RE.fullmatch(identifier)
        ):
            return _LABEL_LEADING_ZERO
    return None


def _release_message(problem: str) -> str:
    """The translated message for a pre-release label ``problem``; has a ``%(version)s``."""
    if problem == _LABEL_EMPTY:
        return _(
            # Translators: %(version)s is the version as sent, in quotes. The pre-release
            # label is the part after "-", as in "beta.2" in "1.0.0-beta.2".
            "Version %(version)s is not a valid NuGet version: the pre-release label is empty."
        )
    if problem == _LABEL_EMPTY_IDENTIFIER:
        return _(
            # Translators: %(version)s is the version as sent, in quotes. The pre-release
            # label is made of identifiers separated by dots; one of them is empty.
            "Version %(version)s is not a valid NuGet version: "
            "the pre-release label has an empty identifier."
        )
    if problem == _LABEL_LEADING_ZERO:
        return _(
            # Translators: %(version)s is the version as sent, in quotes. E.g. "01" in
            # "1.0.0-beta.01" is not allowed; "0" or "1" is.
            "Version %(version)s is not a valid NuGet version: "
            "numeric identifiers in the pre-release label must not have leading zeros."
        )
    return _(
        # Translators: %(version)s is the version as sent, in quotes. Keep the quoted
        # '-' and '.' as they are.
        "Version %(version)s is not a valid NuGet version: "
        "the pre-release label may only contain ASCII letters, digits, '-' and '.'."
    )


def _metadata_message(problem: str) -> str:
    """The translated message for a build metadata ``problem``; has a ``%(version)s``."""
    if problem == _LABEL_EMPTY:
        # Translators: %(version)s is the version as sent, in quotes. Build metadata
        # is the part after "+", as in "build.5" in "1.0.0+build.5".
        return _("Version %(version)s is not a valid NuGet version: the build metadata is empty.")
    if problem == _LABEL_EMPTY_IDENTIFIER:
        return _(
            # Translators: %(version)s is the version as sent, in quotes. Build metadata
            # is made of identifiers separated by dots; one of them is empty.
            "Version %(version)s is not a valid NuGet version: "
            "the build metadata has an empty identifier."
        )
    # Build metadata allows leading zeros, so this is the only problem left.
    return _(
        # Translators: %(version)s is the version as sent, in quotes. Keep the quoted
        # '-' and '.' as they are.
        "Version %(version)s is not a valid NuGet version: "
        "the build metadata may only contain ASCII letters, digits, '-' and '.'."
    )


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
                # Translators: %(part)s is a number (or other value) given as a
                # major, minor, patch or revision number.
                raise ValueError(_("Version part %(part)s is out of range.") % {"part": repr(part)})
        if self.release and _label_problem(self.release, allow_leading_zeros=False):
            raise ValueError(
                # Translators: %(label)s is the pre-release label (the part after "-"
                # in "1.0.0-beta"), in quotes.
                _("Pre-release label %(label)s is not valid.") % {"label": _shown(self.release)}
            )
        if self.metadata and _label_problem(self.metadata, allow_leading_zeros=True):
            raise ValueError(
                # Translators: %(metadata)s is the build metadata (the part after "+"
                # in "1.0.0+build.5"), in quotes.
                _("Build metadata %(metadata)s is not valid.") % {"metadata": _shown(self.metadata)}
            )

    @classmethod
    def parse(cls, text: str, *, limit: int = MAX_VERSION_LENGTH) -> NuGetVersion:
        """Parse a SemVer 2.0 or legacy 4-part version; raise ValueError if invalid.

        `limit`: the longest text accepted; STORED_VERSION_LENGTH for versions read
        back from the database or looked up by URL."""
        if not text:
            raise _invalid_version(
                text,
                # Translators: %(version)s is the version as sent, in quotes (here '').
                _("Version %(version)s is not a valid NuGet version: it is empty."),
            )
        if len(text) > limit:
            raise _invalid_version(
                text,
                ngettext(
                    # Translators: %(version)s is the version as sent, in quotes (possibly
                    # cut short with "..."); %(max)d is the longest length allowed.
                    "Version %(version)s is not a valid NuGet version: "
                    "it is longer than %(max)d character.",
                    "Version %(version)s is not a valid NuGet version: "
                    "it is longer than %(max)d characters.",
                    limit,
                ),
                max=limit,
            )
        if any(c.isspace() for c in text):
            raise _invalid_version(
                text,
                # Translators: %(version)s is the version as sent, in quotes.
                _("Version %(version)s is not a valid NuGet version: it contains whitespace."),
            )

        core, plus, metadata = text.partition("+")
        if plus:
            problem = _label_problem(metadata, allow_leading_zeros=True)
            if problem:
                raise _invalid_version(text, _metadata_message(problem))
        core, dash, release = core.partition("-")
        if dash:
            problem = _label_problem(release, allow_leading_zeros=False)
            if problem:
                raise _invalid_version(text, _release_message(problem))

        if not core:
            raise _invalid_version(
                text,
                # Translators: %(version)s is the version as sent, in quotes.
                _("Version %(version)s is not a valid NuGet version: it must start with a number."),
            )
        parts = core.split(".")
        if len(parts) > 4:
            raise _invalid_version(
                text,
                _(
                    # Translators: %(version)s is the version as sent, in quotes. A NuGet
                    # version has at most 4 numbers separated by dots, as in 1.2.3.4.
                    "Version %(version)s is not a valid NuGet version: "
                    "it has more than 4 numeric parts."
                ),
            )
        if any(not part for part in parts):
            raise _invalid_version(
                text,
                _(
                    # Translators: %(version)s is the version as sent, in quotes. E.g. "1..2"
                    # or "1." has an empty part between or after the dots.
                    "Version %(version)s is not a valid NuGet version: it has an empty numeric part."
                ),
            )
        if not all(_DIGITS_RE.fullmatch(part) for part in parts):
            raise _invalid_version(
                text,
                _(
                    # Translators: %(version)s is the version as sent, in quotes.
                    "Version %(version)s is not a valid NuGet version: "
                    "numeric parts may only contain the digits 0-9."
                ),
            )
        numbers = [int(part) for part in parts]
        if any(number > MAX_VERSION_PART for number in numbers):
            raise _invalid_version(
                text,
                _(
                    # Translators: %(version)s is the version as sent, in quotes; %(max)d is
                    # the largest number allowed in a part (2147483647).
                    "Version %(version)s is not a valid NuGet version: "
                    "numeric parts must not exceed %(max)d."
                ),
                max=MAX_VERSION_PART,
            )
        numbers += [0] * (4 - len(numbers))
        return cls(*numbers, release=release, metadata=metadata)

    @classmethod
    def of(cls, stored: str) -> NuGetVersion:
        """The NuGetVersion of a version read back from the database or a URL: the
        one grammar by which the feed, search and the pages find and order versions."""
        return cls.parse(stored, limit=STORED_VERSION_LENGTH)

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
    def full(self) -> str:
        """The normalized form with its build metadata: what the registration's
        `catalogEntry.version` and search's `version` carry."""
        return f"{self.normalized}+{self.metadata}" if self.metadata else self.normalized

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
class DependencyGroup:
    """The dependencies of one target framework ("" for a package-wide group)."""

    target_framework: str
    dependencies: tuple[tuple[str, str], ...]  # (id, NuGet version range)


@dataclass(frozen=True)
class PackageManifest:
    id: str
    version: NuGetVersion
    original_version: str  # the version exactly as written in the nuspec (stripped)
    description: str
    authors: str
    title: str
    summary: str = ""
    tags: str = ""  # space-separated, as in the nuspec
    project_url: str = ""
    icon_url: str = ""
    license_url: str = ""
    license_expression: str = ""
    require_license_acceptance: bool = False
    min_client_version: str = ""
    dependency_groups: tuple[DependencyGroup, ...] = ()
    package_types: tuple[str, ...] = ()
    # The manifest as stored in the package, byte for byte (served as .nuspec).
    nuspec: bytes = b""

    @property
    def is_semver2(self) -> bool:
        """SemVer 2.0.0-only, as nuget.org decides: a dotted pre-release label or build
        metadata in the version, or in any dependency's range. Older clients cannot read
        these versions, which is why nuget.org keeps them out of its older hives."""
        if _is_semver2_version(self.original_version):
            return True
        return any(
            _is_semver2_version(bound)
            for group in self.dependency_groups
            for _id, range_text in group.dependencies
            for bound in _range_bounds(range_text)
        )


def _is_semver2_version(text: str) -> bool:
    core, plus, _metadata = text.partition("+")
    return bool(plus) or "." in core.partition("-")[2]


def _range_bounds(range_text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\[\](),]", range_text) if part.strip()]


def normalized_range(text: str) -> str:
    """A dependency's version range as NuGet writes it in registrations, or ValueError.

    A bare version means "this or newer" ("1.0" -> "[1.0.0, )"); no version means
    any ("(, )"); "[1.0]" is exactly that version; otherwise an interval of two
    bounds, either of which may be open, whose lower bound is not above its upper.
    """
    text = text.strip()
    if not text:
        return "(, )"
    invalid = ValueError(
        # Translators: %(range)s is a dependency's version range as written, in quotes.
        _("Version range %(range)s is not valid.") % {"range": _shown(text)}
    )
    if text[0] not in "[(":
        return f"[{NuGetVersion.parse(text).normalized}, )"
    if len(text) < 2 or text[-1] not in "])":
        raise invalid
    bounds = [bound.strip() for bound in text[1:-1].split(",")]
    if len(bounds) == 1:
        if text[0] + text[-1] != "[]" or not bounds[0]:
            raise invalid
        return f"[{NuGetVersion.parse(bounds[0]).normalized}]"
    if len(bounds) != 2:
        raise invalid
    lower, upper = (NuGetVersion.parse(bound) if bound else None for bound in bounds)
    if lower and upper and (upper < lower or (upper == lower and text[0] + text[-1] != "[]")):
        raise invalid
    return "{}{}, {}{}".format(
        text[0], lower.normalized if lower else "", upper.normalized if upper else "", text[-1]
    )


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
        if len(infos) > max_entries:
            raise PackageError(
                ngettext(
                    # Translators: %(count)s is a number with thousands separators, e.g. 10,000.
                    "The package contains more than %(count)s entry.",
                    "The package contains more than %(count)s entries.",
                    max_entries,
                )
                % {"count": _grouped(max_entries)}
            )

        for info in infos:
            if _unsafe_name(info.filename):
                raise PackageError(
                    # Translators: %(name)s is the path of a file inside the package
                    # (a zip archive), in quotes.
                    _("The package contains an entry with an unsafe path: %(name)s.")
                    % {"name": _shown(info.filename)}
                )

        # Declared sizes can lie; these checks only reject honest bombs cheaply.
        # The nuspec read below is bounded independently of what is declared.
        if sum(info.file_size for info in infos) > max_uncompressed:
            raise PackageError(
                ngettext(
                    # Translators: %(count)s is a number with thousands separators, e.g.
                    # 1,000,000,000. "Expands" means once the zip archive is decompressed.
                    "The package expands to more than %(count)s byte.",
                    "The package expands to more than %(count)s bytes.",
                    max_uncompressed,
                )
                % {"count": _grouped(max_uncompressed)}
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
                    % {"name": _shown(info.filename), "ratio": max_ratio}
                )

        # Small entries escape the per-entry ratio check above; together they
        # must not expand a small upload into a huge one either.
        total_compressed = sum(info.compress_size for info in infos)
        total_size = sum(info.file_size for info in infos)
        if total_size > RATIO_CHECK_MIN_SIZE and total_size > max_ratio * max(total_compressed, 1):
            raise PackageError(
                _(
                    # Translators: "%(ratio)d:1" is a compression ratio, e.g. 100:1.
                    "The package as a whole is compressed more than %(ratio)d:1, "
                    "which is not allowed (possible zip bomb)."
                )
                % {"ratio": max_ratio}
            )
        nuspecs = [info for info in infos if _is_root_nuspec(info.filename)]
        if len(nuspecs) != 1:
            raise PackageError(
                ngettext(
                    # Translators: %(count)d is how many .nuspec files were found (0 or 2 and
                    # more). English uses the same wording for singular and plural.
                    "The package must contain exactly one .nuspec file at its root; "
                    "found %(count)d.",
                    "The package must contain exactly one .nuspec file at its root; "
                    "found %(count)d.",
                    len(nuspecs),
                )
                % {"count": len(nuspecs)}
            )
        data = _read_nuspec_bytes(archive, nuspecs[0], max_nuspec_bytes)

    return _parse_nuspec(data)


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
        % {"count": _grouped(max_entries)}
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
            % {"count": _grouped(max_directory)}
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
    carries only portable PDB files besides its packaging parts.
    """
    manifest = read_package(fileobj, **limits)
    if "symbolspackage" not in (kind.lower() for kind in manifest.package_types):
        raise PackageError(
            _("The symbol package must declare the package type SymbolsPackage in its .nuspec.")
        )
    fileobj.seek(0)
    with zipfile.ZipFile(fileobj) as archive:
        for name in archive.namelist():
            if name.endswith("/") or _is_packaging_part(name):
                continue
            if not name.lower().endswith(".pdb"):
                raise PackageError(
                    # Translators: %(name)s is the path of a file inside the package, in quotes.
                    _("The symbol package may contain only .pdb files, not %(name)s.")
                    % {"name": _shown(name)}
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
            % {"count": _grouped(limit)}
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
            _("The .nuspec contains a DTD or entity declaration, which is not allowed.")
        ) from exc
    except defusedxml.ElementTree.ParseError as exc:
        raise PackageError(
            # Translators: %(error)s is the XML parser's own description of the error,
            # in English, e.g. "mismatched tag: line 3, column 2".
            _("The .nuspec is not well-formed XML: %(error)s.") % {"error": exc}
        ) from exc

    if _local_name(root.tag) != "package":
        raise PackageError(_("The .nuspec root element must be <package>."))
    # Like NuGet's NuspecReader: <metadata> is found by local name (old tools put the
    # xmlns on <metadata> rather than <package>), and its children are read in
    # <metadata>'s own namespace, so look-alike elements from extensions are ignored.
    metadata = next((child for child in root if _local_name(child.tag) == "metadata"), None)
    if metadata is None:
        raise PackageError(_("The .nuspec has no <metadata> element."))
    namespace = metadata.tag[: -len("metadata")]

    def text_of(name: str) -> str:
        element = metadata.find(namespace + name)
        if element is None or element.text is None:
            return ""
        return element.text.strip()

    package_id = text_of("id")
    if not package_id:
        raise PackageError(_("The .nuspec metadata has no <id>."))
    original_version = text_of("version")
    if not original_version:
        raise PackageError(_("The .nuspec metadata has no <version>."))

    try:
        validate_package_id(package_id)
        version = NuGetVersion.parse(original_version)
    except ValueError as exc:
        raise PackageError(str(exc)) from exc
    if len(version.normalized) > MAX_VERSION_LENGTH:
        # nuget.org refuses these too: the version's pages and URLs use its normal form.
        raise PackageError(
            _(
                # Translators: %(version)s is the version as written, %(normalized)s
                # its normal form (e.g. "1-beta" is "1.0.0-beta"), both in quotes.
                "Version %(version)s is not valid: its normal form %(normalized)s is "
                "longer than %(max)d characters."
            )
            % {
                "version": _shown(original_version),
                "normalized": _shown(version.normalized),
                "max": MAX_VERSION_LENGTH,
            }
        )

    license_element = metadata.find(namespace + "license")
    license_expression = ""
    if license_element is not None and license_element.get("type") == "expression":
        license_expression = (license_element.text or "").strip()
    return PackageManifest(
        id=package_id,
        version=version,
        original_version=original_version,
        description=text_of("description"),
        authors=text_of("authors"),
        title=text_of("title"),
        summary=text_of("summary"),
        tags=" ".join(text_of("tags").replace(",", " ").split()),
        project_url=text_of("projectUrl"),
        icon_url=text_of("iconUrl"),
        license_url=text_of("licenseUrl"),
        license_expression=license_expression,
        require_license_acceptance=text_of("requireLicenseAcceptance").lower() == "true",
        min_client_version=(metadata.get("minClientVersion") or "").strip(),
        dependency_groups=_dependency_groups(metadata, namespace),
        package_types=_package_types(metadata, namespace),
        nuspec=data,
    )


def _dependency_groups(metadata, namespace: str) -> tuple[DependencyGroup, ...]:
    """<dependencies> as NuGet reads it: <group> elements, or bare <dependency> elements
    that apply to every framework (the old, flat form)."""
    dependencies = metadata.find(namespace + "dependencies")
    if dependencies is None:
        return ()

    def entries(parent) -> tuple[tuple[str, str], ...]:
        return tuple(
            _dependency(element.get("id", "").strip(), element.get("version", ""))
            for element in parent.findall(namespace + "dependency")
        )

    groups = [
        DependencyGroup(group.get("targetFramework", "").strip(), entries(group))
        for group in dependencies.findall(namespace + "group")
    ]
    flat = entries(dependencies)
    if flat:
        groups.insert(0, DependencyGroup("", flat))
    return tuple(groups)


def _dependency(package_id: str, version_range: str) -> tuple[str, str]:
    """(id, normalised range) of a <dependency>, validated as a pushed package's own:
    its id becomes a link and a registration URL, its range is read by clients."""
    try:
        return validate_package_id(package_id), normalized_range(version_range)
    except ValueError as exc:
        raise PackageError(
            # Translators: %(reason)s is why, a whole sentence ("Package id 'a/b' is not valid: …").
            _("A dependency is not valid: %(reason)s") % {"reason": exc}
        ) from exc


def _package_types(metadata, namespace: str) -> tuple[str, ...]:
    types = metadata.find(namespace + "packageTypes")
    if types is None:
        return ()
    return tuple(
        name
        for element in types.findall(namespace + "packageType")
        if (name := element.get("name", "").strip())
    )


# ----------------------------------------------------------------------- streams


def sha512_of(fileobj: BinaryIO) -> str:
    """Base64 SHA-512 of the whole file, as NuGet records package hashes; rewinds after."""
    digest = hashlib.sha512()
    fileobj.seek(0)
    while chunk := fileobj.read(_CHUNK_SIZE):
        digest.update(chunk)
    fileobj.seek(0)
    return base64.b64encode(digest.digest()).decode("ascii")
