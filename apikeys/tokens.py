"""The API key format: generation, cheap shape checks, hints and storage hashes.

A key is ``prefix + body + checksum``:

* ``prefix`` -- ``gly_`` by default, so leaked keys are recognisable by secret scanners.
* ``body`` -- 32 base62 characters from :mod:`secrets` (32 * log2(62) ~= 190 bits).
* ``checksum`` -- CRC32 of ``prefix + body``, as exactly 6 base62 characters.

The checksum is not a security feature: it lets us (and secret scanners) reject typos
and random junk without touching the database.

This module is deliberately stdlib-only and Django-free, so it can be used and tested
without settings; the Django layer passes the configured prefix and secret in.
"""

import hashlib
import hmac
import secrets
import string
import zlib

__all__ = [
    "ALPHABET",
    "BODY_LENGTH",
    "CHECKSUM_LENGTH",
    "DEFAULT_PREFIX",
    "HINT_BODY_LENGTH",
    "generate",
    "hash_key",
    "hint",
    "is_well_formed",
]

DEFAULT_PREFIX = "gly_"

# Spelled out rather than relying on str.isalnum()/isdigit(), which accept non-ASCII
# letters and digits (e.g. Arabic-Indic digits).
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ALPHABET_SET = frozenset(ALPHABET)

BODY_LENGTH = 32
# 62**5 < 2**32 <= 62**6, so six characters hold every CRC32 value.
CHECKSUM_LENGTH = 6
HINT_BODY_LENGTH = 4


def _encode_checksum(value: int) -> str:
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, remainder = divmod(value, len(ALPHABET))
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def _checksum(prefix: str, body: str) -> str:
    return _encode_checksum(zlib.crc32((prefix + body).encode("ascii")))


def _check_prefix(prefix: str) -> None:
    # The prefix is configuration, not user input, so a bad one is a programming error
    # and should fail loudly rather than produce keys that is_well_formed() rejects.
    if not isinstance(prefix, str) or not prefix or not prefix.isascii():
        raise ValueError("API key prefix must be a non-empty ASCII string.")


def generate(prefix: str = DEFAULT_PREFIX) -> str:
    """Return a new random API key. This is the only function that ever returns a key."""
    _check_prefix(prefix)
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return prefix + body + _checksum(prefix, body)


def is_well_formed(key: object, prefix: str = DEFAULT_PREFIX) -> bool:
    """Return True if ``key`` has the shape of a key we issued (prefix, alphabet, checksum).

    Never raises, and rejects anything of the wrong length before looking at its content,
    so hostile input (huge strings, bytes, None) costs next to nothing.
    """
    if not isinstance(key, str) or not isinstance(prefix, str) or not prefix:
        return False
    if len(key) != len(prefix) + BODY_LENGTH + CHECKSUM_LENGTH:
        return False
    # isascii() also guarantees a matched prefix is ASCII, so the encode below can't fail.
    if not key.isascii() or not key.startswith(prefix):
        return False
    rest = key[len(prefix) :]
    if not _ALPHABET_SET.issuperset(rest):
        return False
    body, checksum = rest[:BODY_LENGTH], rest[BODY_LENGTH:]
    return checksum == _checksum(prefix, body)


def hint(key: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Return a short, non-secret hint identifying ``key`` in the UI, e.g. ``gly_4fQz``.

    Four base62 characters are about 24 bits, which leaves ~166 bits of the body unknown:
    showing the hint gives no practical help in guessing the key.
    """
    if not is_well_formed(key, prefix):
        # The message deliberately does not include the value: it may be a real key
        # with a typo, and exception messages end up in logs.
        raise ValueError("Cannot make a hint: not a well-formed API key.")
    return key[: len(prefix) + HINT_BODY_LENGTH]


def hash_key(key: str, secret: bytes | str) -> str:
    """Return the value stored for ``key``: hex HMAC-SHA256 under a dedicated server secret.

    Why a fast keyed hash and not Argon2/bcrypt:

    * Keys carry ~190 bits of entropy, so brute-forcing the hash is hopeless however fast
      it is; slow hashes exist to protect low-entropy passwords, which keys are not.
    * A slow hash would cost every push ~50-100 ms of CPU and let anyone with a pile of
      junk keys exhaust the server (denial of service).
    * Being keyed, a stolen database alone does not let an attacker test candidate keys
      offline; they also need the secret, which is kept apart from the database (and is
      not Django's SECRET_KEY, so rotating one does not affect the other).
    * It is deterministic, so the stored value can carry a unique index and a presented
      key is found by hashing it and looking it up. Argon2's random per-hash salt would
      rule that out. Because the comparison happens inside an index lookup, a
      constant-time comparison in Python is neither possible nor needed.
    """
    secret_bytes = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not secret_bytes:
        raise ValueError("An API key hashing secret is required.")
    # surrogatepass: callers may hash unvalidated input, and that must not raise.
    message = key.encode("utf-8", "surrogatepass")
    return hmac.new(secret_bytes, message, hashlib.sha256).hexdigest()
