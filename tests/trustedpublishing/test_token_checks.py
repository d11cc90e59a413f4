"""POST /api/v2/token refuses every token it must not trust, each with its reason,
and none of them leaves a key or uses anything up."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from django.utils import timezone

from apikeys.models import ApiKey
from tests.trustedpublishing.conftest import exchange, make_policy
from tests.trustedpublishing.issuer import github_claims
from trustedpublishing.models import UsedToken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trusted_publishing")]


@pytest.fixture(autouse=True)
def policy(alice):
    return make_policy(alice)


def refused(client, token) -> str:
    response = exchange(client, token)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Bearer"
    assert not ApiKey.objects.exists() and not UsedToken.objects.exists()
    return response.json()["error"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, claims: dict, sign) -> str:
    """A JWT put together by hand, as an attacker would (PyJWT refuses to make these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def valid_claims(issuer, **overrides) -> dict:
    now = int(time.time())
    return {
        "iss": issuer.url,
        "aud": "https://galley.example",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "a-token-id",
        **github_claims(),
        **overrides,
    }


def test_a_valid_token_still_exchanges(client, issuer):
    assert exchange(client, issuer.token(github_claims())).status_code == 200


def test_hs256_signed_with_the_issuers_published_key_is_refused(client, issuer):
    # The classic confusion: the public key, which anyone can fetch from the
    # JWKS, used as an HMAC secret.
    public_pem = (
        issuer.keys["key-1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    token = hand_made(
        {"alg": "HS256", "typ": "JWT", "kid": "key-1"},
        valid_claims(issuer),
        lambda data: hmac.new(public_pem, data, hashlib.sha256).digest(),
    )
    assert refused(client, token) == "The token is signed with HS256; only RS256 is accepted."


def test_alg_none_is_refused(client, issuer):
    token = hand_made({"alg": "none", "kid": "key-1"}, valid_claims(issuer), lambda data: b"")
    assert refused(client, token) == "The token is signed with none; only RS256 is accepted."


def test_an_unknown_algorithm_is_named_in_twenty_characters_at_most(client, issuer):
    token = hand_made({"alg": "A" * 30, "kid": "key-1"}, valid_claims(issuer), lambda data: b"")
    assert refused(client, token) == f"The token is signed with {'A' * 20}; only RS256 is accepted."


def test_wrong_audience_is_refused(client, issuer):
    token = issuer.token(github_claims(aud="https://www.nuget.org"))
    assert refused(client, token) == (
        "The token's audience is not https://galley.example: ask your CI for a token with it."
    )


def test_expired_token_is_refused(client, issuer):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        token = issuer.token(github_claims(), lifetime=300)
        # The leeway for clocks that differ (60 s) is over too.
        traveller.shift(300 + 61)
        assert refused(client, token) == "The token has expired."


def test_token_not_valid_yet_is_refused(client, issuer):
    later = int(time.time()) + 600
    token = issuer.token(github_claims(nbf=later))
    assert refused(client, token) == "The token is not valid yet."


def test_token_issued_in_the_future_is_refused(client, issuer):
    now = int(time.time())
    token = issuer.token(github_claims(nbf=now, iat=now + 600, exp=now + 900))
    assert refused(client, token) == "The token is not valid yet."


@time_machine.travel("2026-03-01 12:00:00", tick=False)
def test_a_token_issued_a_fraction_of_a_second_beyond_the_leeway_is_refused(client, issuer, caplog):
    """PyJWT compares the whole seconds of iat with the leeway; Galley, the time itself:
    a token issued 60.5 s ahead is refused, one issued 60 s ahead is not."""
    now = int(time.time())
    token = issuer.token(github_claims(nbf=now, iat=now + 60.5, exp=now + 900))
    with caplog.at_level("WARNING", logger="galley.trustedpublishing"):
        assert refused(client, token) == "The token was issued in the future."
    assert "token exchange refused: status=401 rule=not_yet_valid\n" in caplog.text
    token = issuer.token(github_claims(nbf=now, iat=now + 60, exp=now + 900))
    assert exchange(client, token).status_code == 200


def test_token_claiming_too_long_a_life_is_refused(client, issuer):
    now = int(time.time())
    token = issuer.token(github_claims(iat=now, nbf=now, exp=now + 7 * 3600 + 60))
    assert refused(client, token) == "The token claims too long a life."


@pytest.mark.parametrize("claim", ["jti", "exp", "iat", "aud"])
def test_token_without_a_required_claim_is_refused(client, issuer, claim):
    token = issuer.token(github_claims(**{claim: None}))
    assert refused(client, token) == f"The token has no {claim} claim."


@pytest.mark.parametrize(
    ("jti", "error"),
    [
        ("", "The token's jti claim must be a text of at most 255 characters."),
        ("x" * 256, "The token's jti claim must be a text of at most 255 characters."),
        (12345, "The token is not valid."),  # PyJWT's own check of its type
    ],
)
def test_token_with_an_unusable_jti_is_refused(client, issuer, jti, error):
    assert refused(client, issuer.token(github_claims(jti=jti))) == error


def test_token_with_an_unknown_kid_is_refused(client, issuer):
    from tests.trustedpublishing.issuer import new_rsa_key

    token = jwt.encode(
        valid_claims(issuer), new_rsa_key(), algorithm="RS256", headers={"kid": "rotated-out"}
    )
    assert refused(client, token) == (
        "The token is signed with a key (rotated-out) that its issuer does not publish."
    )


def test_token_without_a_kid_is_refused(client, issuer):
    token = jwt.encode(valid_claims(issuer), issuer.keys["key-1"], algorithm="RS256")
    assert refused(client, token) == "The token's header names no signing key (kid)."
