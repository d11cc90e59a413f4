from unittest import mock

import pytest

from apikeys.globs import (
    MAX_PATTERN_LENGTH,
    InvalidPattern,
    matches,
    matches_any,
    validate_pattern,
)
from tests.helpers import python_steps

# --- matches ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "package_id", "expected"),
    [
        # A lone star matches any id.
        ("*", "Anything", True),
        ("*", "a", True),
        # Prefix patterns; "." is literal and the match is case-insensitive.
        ("Contoso.*", "Contoso.Core", True),
        ("Contoso.*", "contoso.core", True),
        ("contoso.*", "CONTOSO.CORE", True),
        ("Contoso.*", "Contoso.", True),
        ("Contoso.*", "Contoso", False),
        ("Contoso.*", "ContosoX", False),
        ("Contoso.*", "Contoso_Core", False),
        ("Contoso.*", "XContoso.Core", False),
        # Suffix patterns.
        ("*.Core", "A.Core", True),
        ("*.Core", "A.Core.Extra", False),
        ("*.Core", "ACore", False),
        # Star in the middle.
        ("Contoso.*.Tests", "Contoso.Web.Tests", True),
        ("Contoso.*.Tests", "Contoso.Web.Api.Tests", True),
        ("Contoso.*.Tests", "Contoso.Tests", False),
        ("Contoso.*.Tests", "Contoso.Web.Tests.Extra", False),
        # Several stars; order of literals matters.
        ("a*b*c", "abc", True),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "acb", False),
        ("a*b*c", "abcX", False),
        # Prefix and suffix may not share characters.
        ("a*a", "a", False),
        ("a*a", "aa", True),
        ("ab*bc", "abc", False),
        ("ab*bc", "abbc", True),
        # No star: exact, whole-id, case-insensitive equality.
        ("Newtonsoft.Json", "NEWTONSOFT.JSON", True),
        ("Newtonsoft.Json", "newtonsoft.json", True),
        ("Newtonsoft.Json", "Newtonsoft.Json.Bson", False),
        ("Newtonsoft.Json", "My.Newtonsoft.Json", False),
        ("Newtonsoft.Json", "Newtonsoft", False),
        # Other characters are literal too.
        ("My_Pkg-1.*", "my_pkg-1.0", True),
        ("My_Pkg-1.*", "my-pkg-1.0", False),
        # Repeated stars mean the same as one.
        ("**", "x", True),
        ("a**b", "ab", True),
    ],
)
def test_matches(pattern, package_id, expected):
    assert matches(pattern, package_id) is expected


def test_matching_folds_only_ascii_case():
    # KELVIN SIGN casefolds to "k", but NuGet treats it as a different id.
    assert not matches("Kontoso.*", "\u212aontoso.Core")
    assert not matches("k*", "\u212a")
    assert matches("*", "\u212aontoso.Core")


@pytest.mark.parametrize(
    ("pattern", "package_id"),
    [
        # Fails only at the last character: a backtracking matcher retries every split.
        ("*a*a*a*a*a*b", "a" * 100),
        # Prefix and suffix both match, so every middle segment has to be searched for.
        ("a" + "*a" * 60 + "*b*a", "a" * 128),
    ],
)
def test_a_pathological_pattern_is_matched_in_one_pass_without_a_regex(pattern, package_id):
    # A safety bound against backtracking, counted in Python steps rather than seconds
    # (the same figure on any machine): a few steps per "*", never a retry per split.
    # A translated regex would backtrack inside C, where steps cannot see it: refuse one.
    with mock.patch("re._compile", side_effect=AssertionError("matches() used a regex")):
        matched, _ = python_steps(matches, pattern, package_id, budget=6 * pattern.count("*") + 20)
    assert not matched


def test_matches_any():
    patterns = ["Contoso.*", "Fabrikam.Core"]
    assert matches_any(patterns, "contoso.web")
    assert matches_any(patterns, "FABRIKAM.CORE")
    assert not matches_any(patterns, "Fabrikam.Web")


def test_matches_any_with_no_patterns_is_false():
    assert not matches_any([], "Anything")


def test_matches_any_accepts_a_generator():
    assert matches_any((p for p in ["x", "*"]), "Anything")


# --- validate_pattern ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("a" * MAX_PATTERN_LENGTH, "a" * MAX_PATTERN_LENGTH),
        ("My_Pkg-1.*", "My_Pkg-1.*"),
        ("*", "*"),
        ("**", "*"),
        ("Contoso.***.Tests", "Contoso.*.Tests"),
        ("  Contoso.*\t\n", "Contoso.*"),
        ("Newtonsoft.Json", "Newtonsoft.Json"),
    ],
)
def test_valid_patterns_are_cleaned(raw, cleaned):
    assert validate_pattern(raw) == cleaned


def test_max_pattern_length_is_128():
    assert MAX_PATTERN_LENGTH == 128


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_pattern_is_rejected(raw):
    with pytest.raises(InvalidPattern, match=r"^Glob pattern is empty\.$"):
        validate_pattern(raw)


def test_too_long_pattern_is_rejected_with_the_limit():
    with pytest.raises(InvalidPattern) as excinfo:
        validate_pattern("a" * 129)
    assert str(excinfo.value) == "Glob pattern is too long (129 characters; at most 128)."


def test_length_is_measured_after_stripping():
    assert validate_pattern("  " + "a" * 128 + "  ") == "a" * 128


def test_disallowed_character_message_names_pattern_and_character():
    with pytest.raises(InvalidPattern) as excinfo:
        validate_pattern("a b")
    assert str(excinfo.value) == (
        "Glob pattern 'a b' contains characters that are not allowed: ' '. "
        "Use letters, digits, '.', '_', '-' and '*'."
    )


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        ("a/b", "'/'"),
        ("a?b", "'?'"),
        ("[ab]", "'[', ']'"),
        ("\u00e9*", "'\u00e9'"),
        ("a\\b", "'\\\\'"),
        ("a\x00b", "'\\x00'"),
        ("\u0661*", "'\u0661'"),
    ],
)
def test_disallowed_characters_are_rejected_and_listed_once(raw, bad):
    with pytest.raises(InvalidPattern) as excinfo:
        validate_pattern(raw)
    assert f"not allowed: {bad}." in str(excinfo.value)


def test_repeated_bad_character_is_listed_once():
    with pytest.raises(InvalidPattern) as excinfo:
        validate_pattern("a b c")
    assert "not allowed: ' '." in str(excinfo.value)


def test_invalid_pattern_is_a_value_error():
    assert issubclass(InvalidPattern, ValueError)


def test_matches_agrees_with_a_regex_reference_on_random_inputs():
    # A regex is fine as an oracle on tiny inputs; it is only unsafe as the real matcher.
    import random
    import re

    rng = random.Random(20240601)
    for _ in range(5000):
        pattern = "".join(rng.choice("aAb.*") for _ in range(rng.randint(1, 7)))
        package_id = "".join(rng.choice("aAb.") for _ in range(rng.randint(1, 8)))
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        expected = re.fullmatch(regex, package_id, re.IGNORECASE | re.DOTALL) is not None
        assert matches(pattern, package_id) is expected, (pattern, package_id)
