"""NuGet's version grammar, the one the feed, search, the pages and pushes use:
SemVer 2.0.0 and legacy four-part versions, their normal form and order, and the
version ranges of dependencies."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from packages.nupkg.errors import shown

MAX_VERSION_LENGTH = 64
# Versions stored before pushes checked the normal form's length can be longer
# ("1-" and 62 letters is "1.0.0-" and 62): reading them and their URLs allows
# up to the column's length.
STORED_VERSION_LENGTH = 80
MAX_VERSION_PART = 2**31 - 1  # NuGet stores version parts as .NET Int32.

_IDENTIFIER_RE = re.compile(r"[0-9A-Za-z-]+")
_DOTTED_IDENTIFIERS_RE = re.compile(r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*")
_DIGITS_RE = re.compile(r"[0-9]+")


def _invalid_version(text: str, message: str, **values: object) -> ValueError:
    """A ValueError for ``text`` from a translated ``message`` with a ``%(version)s``."""
    return ValueError(message % {"version": shown(text), **values})


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


def _check_text(text: str, limit: int) -> None:
    """What a version must be before its parts are read: not empty, not longer than
    `limit`, no whitespace."""
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


def _numbers(text: str, core: str) -> list[int]:
    """The 1 to 4 numbers before the pre-release label, each within .NET's Int32."""
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
    return numbers


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
                _("Pre-release label %(label)s is not valid.") % {"label": shown(self.release)}
            )
        if self.metadata and _label_problem(self.metadata, allow_leading_zeros=True):
            raise ValueError(
                # Translators: %(metadata)s is the build metadata (the part after "+"
                # in "1.0.0+build.5"), in quotes.
                _("Build metadata %(metadata)s is not valid.") % {"metadata": shown(self.metadata)}
            )

    @classmethod
    def parse(cls, text: str, *, limit: int = MAX_VERSION_LENGTH) -> NuGetVersion:
        """Parse a SemVer 2.0 or legacy 4-part version; raise ValueError if invalid.

        `limit`: the longest text accepted; STORED_VERSION_LENGTH for versions read
        back from the database or looked up by URL."""
        _check_text(text, limit)
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
        numbers = _numbers(text, core)
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


def is_semver2_version(text: str) -> bool:
    core, plus, _metadata = text.partition("+")
    return bool(plus) or "." in core.partition("-")[2]


def range_bounds(range_text: str) -> list[str]:
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
        _("Version range %(range)s is not valid.") % {"range": shown(text)}
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
