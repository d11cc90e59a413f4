import pytest

from apikeys import tokens
from apikeys.tokens import ALPHABET, DEFAULT_PREFIX, generate, hash_key, hint, is_well_formed

KEY_LENGTH = len(DEFAULT_PREFIX) + 38
SECRET = b"test-only-api-key-secret"


@pytest.fixture
def key() -> str:
    return generate()


# --- generate / round trip -------------------------------------------------------------


def test_generated_key_is_well_formed(key):
    assert is_well_formed(key)


def test_generated_key_has_exact_length_and_default_prefix(key):
    assert len(key) == KEY_LENGTH
    assert key.startswith("gly_")


def test_generated_key_body_and_checksum_use_only_base62(key):
    assert set(key[len(DEFAULT_PREFIX) :]) <= set(ALPHABET)


def test_generated_keys_are_distinct():
    keys = {generate() for _ in range(200)}
    assert len(keys) == 200


def test_custom_prefix_is_honoured():
    key = generate(prefix="xyz_")
    assert key.startswith("xyz_")
    assert len(key) == len("xyz_") + 38
    assert is_well_formed(key, prefix="xyz_")
    assert not is_well_formed(key)


def test_key_with_default_prefix_is_rejected_under_custom_prefix(key):
    assert not is_well_formed(key, prefix="xyz_")


@pytest.mark.parametrize("prefix", ["", "gl\u00fd_", None])
def test_generate_rejects_unusable_prefix(prefix):
    with pytest.raises(ValueError, match=r"^API key prefix must be a non-empty ASCII string\.$"):
        generate(prefix=prefix)


def test_alphabet_is_ascii_base62():
    assert ALPHABET == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def test_checksum_encoding_is_zero_padded_to_six_characters():
    assert tokens._encode_checksum(0) == "000000"
    assert tokens._encode_checksum(61) == "00000z"
    assert len(tokens._encode_checksum(2**32 - 1)) == 6


# --- is_well_formed rejects damaged keys -----------------------------------------------


def test_every_single_character_substitution_is_rejected(key):
    # CRC32 detects every error burst of up to 32 bits, so any one-character change to
    # prefix+body is caught; a changed checksum character can never re-encode the same
    # CRC. This loop checks that claim exhaustively for one key rather than trusting it.
    accepted = []
    for position in range(len(key)):
        for replacement in ALPHABET:
            if replacement == key[position]:
                continue
            mutated = key[:position] + replacement + key[position + 1 :]
            if is_well_formed(mutated):
                accepted.append((position, replacement))
    assert accepted == []


@pytest.mark.parametrize("position", [0, 4, 20, KEY_LENGTH - 1])
def test_deleting_a_character_is_rejected(key, position):
    assert not is_well_formed(key[:position] + key[position + 1 :])


def test_appending_a_character_is_rejected(key):
    assert not is_well_formed(key + "a")


def test_uppercased_prefix_is_rejected(key):
    assert not is_well_formed("GLY_" + key[4:])


def test_wrong_prefix_is_rejected(key):
    assert not is_well_formed("ghp_" + key[4:])


def test_swapping_two_body_characters_is_rejected():
    # Guards against a checksum that ignores order; pick a key whose swap changes it.
    key = generate()
    while key[4] == key[5]:
        key = generate()
    assert not is_well_formed(key[:4] + key[5] + key[4] + key[6:])


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        0,
        ["gly_"],
        "gly_",
        "x" * KEY_LENGTH,
    ],
)
def test_non_keys_are_rejected(value):
    assert not is_well_formed(value)


def test_bytes_of_a_valid_key_are_rejected(key):
    assert not is_well_formed(key.encode("ascii"))


def test_huge_string_is_rejected():
    assert not is_well_formed("gly_" + "a" * 10_000_000)


def test_non_ascii_digits_are_rejected(key):
    # Arabic-Indic digits pass str.isdigit()/isalnum(); they must not pass here.
    arabic_indic = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
    body = (arabic_indic * 4)[:32]
    assert not is_well_formed("gly_" + body + key[-6:])


def test_accented_letter_is_rejected(key):
    assert not is_well_formed(key[:10] + "\u00e9" + key[11:])


def test_is_well_formed_with_unusable_prefix_returns_false(key):
    assert not is_well_formed(key, prefix=None)
    assert not is_well_formed(key, prefix="")
    assert not is_well_formed("gl\u00fd_" + key[4:], prefix="gl\u00fd_")
    # Not even a key with no prefix at all whose checksum matches.
    body = key[4:36]
    assert not is_well_formed(body + tokens._checksum("", body), prefix="")


# --- hint ------------------------------------------------------------------------------


def test_hint_is_prefix_plus_four_characters(key):
    value = hint(key)
    assert len(value) == len("gly_") + 4
    assert value.startswith("gly_")
    assert key.startswith(value)


def test_hint_honours_custom_prefix():
    key = generate(prefix="xyz_")
    assert hint(key, prefix="xyz_") == key[:8]


def test_hint_refuses_malformed_input_without_echoing_it(key):
    damaged = key[:-1] + ("0" if key[-1] != "0" else "1")
    with pytest.raises(
        ValueError, match=r"^Cannot make a hint: not a well-formed API key\.$"
    ) as excinfo:
        hint(damaged)
    assert damaged not in str(excinfo.value)
    assert damaged[4:] not in str(excinfo.value)


# --- hash_key --------------------------------------------------------------------------


def test_hash_key_is_deterministic(key):
    assert hash_key(key, SECRET) == hash_key(key, SECRET)


def test_hash_key_is_64_lowercase_hex_characters(key):
    digest = hash_key(key, SECRET)
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")


def test_hash_key_accepts_str_secret_equivalently(key):
    assert hash_key(key, SECRET.decode()) == hash_key(key, SECRET)


def test_hash_key_differs_with_a_different_secret(key):
    assert hash_key(key, SECRET) != hash_key(key, b"another-secret")


def test_hash_key_differs_for_different_keys():
    assert hash_key(generate(), SECRET) != hash_key(generate(), SECRET)


def test_hash_key_does_not_contain_the_key(key):
    digest = hash_key(key, SECRET)
    assert key not in digest
    assert key[4:] not in digest


def test_hash_key_is_hmac_sha256_not_a_plain_hash(key):
    import hashlib
    import hmac

    assert hash_key(key, SECRET) == hmac.new(SECRET, key.encode(), hashlib.sha256).hexdigest()
    assert hash_key(key, SECRET) != hashlib.sha256(key.encode()).hexdigest()


@pytest.mark.parametrize("secret", [b"", ""])
def test_hash_key_refuses_empty_secret(key, secret):
    with pytest.raises(ValueError, match=r"^An API key hashing secret is required\.$"):
        hash_key(key, secret)


def test_hash_key_does_not_raise_on_junk_input():
    assert len(hash_key("\ud800 not a key", SECRET)) == 64


@pytest.mark.parametrize("outsider", ["_", "-", "+", "/", "=", " ", "."])
def test_a_key_with_characters_outside_the_alphabet_is_malformed_even_with_a_matching_checksum(
    outsider,
):
    # The checksum is computed over the bad body, so only the alphabet check refuses it.
    body = "A" * 10 + outsider + "b" * 21
    key = DEFAULT_PREFIX + body + tokens._checksum(DEFAULT_PREFIX, body)
    assert len(key) == KEY_LENGTH
    assert not is_well_formed(key)
    with pytest.raises(ValueError):
        hint(key)
