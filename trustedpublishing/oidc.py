"""Verifying a CI system's OpenID Connect token: discovery, keys, claims.

The issuer's keys are found through `{issuer}/.well-known/openid-configuration`
and kept in memory. A token naming a key id we do not know triggers one
refresh, but never more often than the cool-down: otherwise anyone could make
Galley hammer GitHub or GitLab by sending tokens with made-up key ids.
PyJWT does the parsing and the cryptography; nothing here reads a JWT by hand.
"""

import ipaddress
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

log = logging.getLogger("galley.trustedpublishing")

# Clocks of CI runners and of this server may differ a little.
LEEWAY_SECONDS = 60
# The longest a token may claim to live; GitHub's and GitLab's live minutes.
MAX_TOKEN_LIFETIME_SECONDS = 6 * 3600
MAX_JTI_LENGTH = 255
ALGORITHMS = ["RS256"]
KEYS_MAX_AGE_SECONDS = 3600
REFRESH_COOL_DOWN_SECONDS = 60
FETCH_TIMEOUT_SECONDS = 5
MAX_DOCUMENT_BYTES = 256 * 1024


@dataclass
class TokenRefused(Exception):
    status: int
    code: str
    message: str


class IssuerUnavailable(Exception):
    """The issuer's discovery document or keys could not be fetched or read."""


def is_allowed_issuer_url(url: str) -> bool:
    """https anywhere; http only on a loopback address (a test's own issuer)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def issuers() -> dict[str, str]:
    """{issuer URL: provider} for the CI systems this server trusts."""
    return {
        settings.GALLEY_OIDC_GITHUB_ISSUER.rstrip("/"): "github",
        settings.GALLEY_OIDC_GITLAB_ISSUER.rstrip("/"): "gitlab",
    }


def _fetch_json(url: str) -> dict:
    if not is_allowed_issuer_url(url):
        raise IssuerUnavailable(f"refusing to fetch {url}: https, or http on loopback only")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, headers={"Accept": "application/json", "User-Agent": "Galley"}
    )
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise IssuerUnavailable(f"{url}: {error}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise IssuerUnavailable(f"{url}: document too large")
    try:
        document = json.loads(body)
    except ValueError:
        raise IssuerUnavailable(f"{url}: not JSON") from None
    if not isinstance(document, dict):
        raise IssuerUnavailable(f"{url}: not a JSON object")
    return document


@dataclass
class _KeySet:
    keys: dict  # kid -> jwt.PyJWK
    fetched: float


class KeyCache:
    """Each issuer's signing keys, per process, with a refresh cool-down."""

    def __init__(self):
        self._sets: dict[str, _KeySet] = {}
        self._lock = threading.Lock()

    def clear(self):
        with self._lock:
            self._sets.clear()

    def key(self, issuer: str, kid: str):
        """The issuer's key with this id, or None when it has none (after one refresh)."""
        with self._lock:
            current = self._sets.get(issuer)
            now = time.monotonic()
            stale = current is None or now - current.fetched > KEYS_MAX_AGE_SECONDS
            unknown = current is not None and kid not in current.keys
            cooled = current is None or now - current.fetched > REFRESH_COOL_DOWN_SECONDS
            if stale or (unknown and cooled):
                try:
                    current = self._sets[issuer] = _KeySet(_load_keys(issuer), now)
                except IssuerUnavailable:
                    if current is None:
                        raise
                    # Keep serving the keys we have; try again after the cool-down.
                    log.warning("could not refresh the keys of %s", issuer, exc_info=True)
                    current.fetched = now
            return current.keys.get(kid)


def _load_keys(issuer: str) -> dict:
    configuration = _fetch_json(f"{issuer}/.well-known/openid-configuration")
    if str(configuration.get("issuer", "")).rstrip("/") != issuer:
        raise IssuerUnavailable(f"{issuer}: the discovery document names another issuer")
    jwks_uri = configuration.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise IssuerUnavailable(f"{issuer}: the discovery document has no jwks_uri")
    document = _fetch_json(jwks_uri)
    keys = {}
    for entry in document.get("keys") or []:
        if not isinstance(entry, dict) or not entry.get("kid"):
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue  # a key type we do not use
    return keys


key_cache = KeyCache()


def _unauthorized(code: str, message: str) -> TokenRefused:
    return TokenRefused(401, code, message)


def _issuer_of(token: str) -> tuple[str, str]:
    """The token's issuer and key id, read before verification only to pick the key."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _unauthorized("malformed_token", _("The bearer token is not a valid JWT.")) from None
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or issuer.rstrip("/") not in issuers():
        raise _unauthorized(
            "wrong_issuer",
            _("The token's issuer %(issuer)s is not one this server trusts (%(trusted)s).")
            % {"issuer": str(issuer)[:200], "trusted": ", ".join(issuers())},
        )
    if header.get("alg") not in ALGORITHMS:
        raise _unauthorized(
            "wrong_algorithm",
            _("The token is signed with %(alg)s; only RS256 is accepted.")
            % {"alg": str(header.get("alg"))[:20]},
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _unauthorized("no_key_id", _("The token's header names no signing key (kid)."))
    return issuer.rstrip("/"), kid


@sensitive_variables("token")
def verify(token: str) -> dict:
    """The verified claims of `token`, or TokenRefused with the reason."""
    issuer, kid = _issuer_of(token)
    try:
        key = key_cache.key(issuer, kid)
    except IssuerUnavailable:
        log.warning("issuer unavailable: %s", issuer, exc_info=True)
        raise TokenRefused(
            503,
            "issuer_unavailable",
            _("The token's issuer could not be reached to fetch its keys; try again later."),
        ) from None
    if key is None:
        raise _unauthorized(
            "unknown_key",
            _("The token is signed with a key (%(kid)s) that its issuer does not publish.")
            % {"kid": kid[:100]},
        )
    audience = settings.GALLEY_OIDC_AUDIENCE
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"], "strict_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("expired", _("The token has expired.")) from None
    except jwt.ImmatureSignatureError:
        raise _unauthorized("not_yet_valid", _("The token is not valid yet.")) from None
    except jwt.InvalidAudienceError:
        raise _unauthorized(
            "wrong_audience",
            _("The token's audience is not %(audience)s: ask your CI for a token with it.")
            % {"audience": audience},
        ) from None
    except jwt.InvalidSignatureError:
        raise _unauthorized(
            "bad_signature", _("The token's signature does not verify with its issuer's key.")
        ) from None
    except jwt.MissingRequiredClaimError as error:
        raise _unauthorized(
            "missing_claim",
            _("The token has no %(claim)s claim.") % {"claim": error.claim},
        ) from None
    except jwt.PyJWTError:
        raise _unauthorized("invalid_token", _("The token is not valid.")) from None
    _check_times(claims)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        # It is stored to accept each token once (trustedpublishing.models.UsedToken).
        raise _unauthorized(
            "invalid_token",
            _("The token's jti claim must be a text of at most %(max)d characters.")
            % {"max": MAX_JTI_LENGTH},
        )
    if claims.get("iss", "").rstrip("/") != issuer:
        raise _unauthorized("wrong_issuer", _("The token's issuer changed while reading it."))
    return claims


def _check_times(claims: dict) -> None:
    """PyJWT checks exp and nbf; iat is checked here: not in the future, and no
    token may claim a life longer than CI systems give theirs."""
    now = time.time()
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise _unauthorized("invalid_token", _("The token's iat claim is not a time."))
    if issued > now + LEEWAY_SECONDS:
        raise _unauthorized("not_yet_valid", _("The token was issued in the future."))
    if expires - issued > MAX_TOKEN_LIFETIME_SECONDS:
        raise _unauthorized("too_long_lived", _("The token claims too long a life."))
