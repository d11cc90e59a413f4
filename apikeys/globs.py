"""Package-id glob patterns used to scope API keys.

Rules: ``*`` matches any run of characters (including none) and is the only wildcard;
every other character, ``.`` included, is literal; a pattern must match the whole id;
matching ignores ASCII case, as NuGet ids are case-insensitive.

Error messages are built with Django's translation functions when the error is raised,
so they come out in the active language; nothing here needs Django settings until a
message is actually built.
"""

import re
import string
from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

__all__ = [
    "ALLOWED_CHARACTERS",
    "MAX_PATTERN_LENGTH",
    "InvalidPattern",
    "matches",
    "matches_any",
    "validate_pattern",
]

MAX_PATTERN_LENGTH = 128

ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + "._-*")

_REPEATED_STARS = re.compile(r"\*{2,}")

# Only A-Z are folded. str.casefold()/lower() would also fold some non-ASCII characters
# onto ASCII ones (KELVIN SIGN U+212A -> "k"), so a key scoped to "Kontoso.*" could push
# "\u212aontoso.Evil" -- an id NuGet itself treats as different. Patterns are ASCII-only,
# so ASCII folding loses nothing.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class InvalidPattern(ValueError):
    """A glob pattern that breaks the rules; the message says why, in the active language."""


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` stripped of surrounding whitespace, with runs of ``*`` collapsed.

    Case is preserved. Raises :class:`InvalidPattern` if the pattern is empty, longer than
    :data:`MAX_PATTERN_LENGTH`, or contains anything other than ASCII letters, digits,
    ``.``, ``_``, ``-`` and ``*``.
    """
    cleaned = pattern.strip()
    if not cleaned:
        raise InvalidPattern(_("Glob pattern is empty."))
    # Length first, so a huge input is rejected before we scan or echo it back.
    if len(cleaned) > MAX_PATTERN_LENGTH:
        raise InvalidPattern(
            ngettext(
                # Translators: %(length)d is the length of the pattern the user typed,
                # %(max)d the longest length allowed.
                "Glob pattern is too long (%(length)d character; at most %(max)d).",
                "Glob pattern is too long (%(length)d characters; at most %(max)d).",
                len(cleaned),
            )
            % {"length": len(cleaned), "max": MAX_PATTERN_LENGTH}
        )
    bad = [c for c in dict.fromkeys(cleaned) if c not in ALLOWED_CHARACTERS]
    if bad:
        listed = ", ".join(repr(c) for c in bad)
        raise InvalidPattern(
            _(
                # Translators: %(pattern)s is the pattern the user typed, in quotes;
                # %(characters)s is a comma-separated list of the quoted characters that
                # are not allowed. Keep the quoted characters '.', '_', '-' and '*' as they are.
                "Glob pattern %(pattern)s contains characters that are not allowed: "
                "%(characters)s. Use letters, digits, '.', '_', '-' and '*'."
            )
            % {"pattern": repr(cleaned), "characters": listed}
        )
    return _REPEATED_STARS.sub("*", cleaned)


def matches(pattern: str, package_id: str) -> bool:
    """Return True if ``pattern`` matches the whole of ``package_id``, ignoring ASCII case.

    Runs in O(len(pattern) * len(package_id)) at worst and never backtracks, unlike a
    translated regex, where many ``.*`` can take exponential time on hostile input.
    The pattern is not validated here; do that when it is saved.
    """
    pat = pattern.translate(_ASCII_LOWER)
    text = package_id.translate(_ASCII_LOWER)
    if "*" not in pat:
        return pat == text

    first, *middle, last = pat.split("*")
    # Prefix and suffix must not overlap: "a*a" needs at least two characters.
    if len(first) + len(last) > len(text):
        return False
    if not text.startswith(first) or not text.endswith(last):
        return False

    # Taking the leftmost occurrence of each middle segment is always safe: it leaves
    # the most room for the segments after it, so no choice ever needs revisiting.
    pos, end = len(first), len(text) - len(last)
    for segment in middle:
        if not segment:
            continue
        found = text.find(segment, pos, end)
        if found < 0:
            return False
        pos = found + len(segment)
    return True


def matches_any(patterns: Iterable[str], package_id: str) -> bool:
    """Return True if any of ``patterns`` matches ``package_id``."""
    return any(matches(pattern, package_id) for pattern in patterns)
