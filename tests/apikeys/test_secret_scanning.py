import base64
import hashlib
import io
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys.models import ApiKey
from apikeys.tokens import generate
from tests.factories import make_key

pytestmark = pytest.mark.django_db
URL = "/api/secret-scanning/github"
KEY_ID = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c"


@pytest.fixture
def github_key(settings, tmp_path):
    """A key pair standing in for GitHub's, with its public half in the configured file."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keys_file = tmp_path / "github-keys.json"
    keys_file.write_text(
        json.dumps(
            {"public_keys": [{"key_identifier": KEY_ID, "key": pem.decode(), "is_current": True}]}
        )
    )
    settings.GALLEY_GITHUB_SECRET_SCANNING_KEYS = str(keys_file)
    return private


def post(client, private, body: bytes, *, key_id=KEY_ID, signature=None):
    if signature is None:
        signature = base64.b64encode(private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    return client.post(
        URL,
        body,
        content_type="application/json",
        headers={"Github-Public-Key-Identifier": key_id, "Github-Public-Key-Signature": signature},
    )


def payload(*tokens):
    return json.dumps(
        [
            {
                "token": t,
                "type": "galley_api_key",
                "url": "https://github.com/o/r/blob/x/ci.yml",
                "source": "content",
            }
            for t in tokens
        ]
    ).encode()


def test_a_signed_report_revokes_the_key_and_emails_the_holder(
    client, alice, github_key, mailoutbox
):
    key, secret = make_key(alice, name="ci")
    stranger = generate()
    response = post(client, github_key, payload(secret, stranger))
    assert response.status_code == 200
    assert response.json() == [
        {
            "token_hash": hashlib.sha256(secret.encode()).hexdigest(),
            "token_type": "galley_api_key",
            "label": "true_positive",
        },
        {
            "token_hash": hashlib.sha256(stranger.encode()).hexdigest(),
            "token_type": "galley_api_key",
            "label": "false_positive",
        },
    ]
    key.refresh_from_db()
    assert key.revocation_source == "endpoint"
    assert key.revocation_url == "https://github.com/o/r/blob/x/ci.yml"
    assert len(mailoutbox) == 1 and secret not in mailoutbox[0].body
    assert secret not in response.content.decode()


def test_a_replay_changes_nothing_more(client, alice, github_key, mailoutbox):
    key, secret = make_key(alice)
    body = payload(secret)
    post(client, github_key, body)
    key.refresh_from_db()
    first = key.revoked_at
    again = post(client, github_key, body)
    assert again.status_code == 200 and again.json()[0]["label"] == "true_positive"
    key.refresh_from_db()
    assert key.revoked_at == first
    assert len(mailoutbox) == 1


def test_a_tampered_body_is_refused(client, alice, github_key):
    key, secret = make_key(alice)
    body = payload(generate())
    signature = base64.b64encode(github_key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    response = post(client, github_key, payload(secret), signature=signature)
    assert response.status_code == 400
    key.refresh_from_db()
    assert key.revoked_at is None


def test_an_unknown_key_identifier_is_refused(client, alice, github_key):
    key, secret = make_key(alice)
    assert post(client, github_key, payload(secret), key_id="nope").status_code == 400
    key.refresh_from_db()
    assert key.revoked_at is None


def test_an_unknown_key_identifier_is_refused_before_the_body_is_read(client, github_key):
    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

    response = client.generic(
        "POST",
        "/api/secret-scanning/github",
        b"",
        content_type="application/json",
        headers={"Github-Public-Key-Identifier": "nope", "Github-Public-Key-Signature": "x"},
        CONTENT_LENGTH="100000",
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "unknown key identifier"}


def test_a_signature_from_another_key_is_refused(client, alice, github_key):
    key, secret = make_key(alice)
    impostor = ec.generate_private_key(ec.SECP256R1())
    assert post(client, impostor, payload(secret)).status_code == 400
    assert ApiKey.objects.get().revoked_at is None


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_garbage_signatures_are_refused(client, github_key, signature):
    response = post(client, github_key, payload(generate()), signature=signature or "x")
    assert response.status_code == 400


def test_missing_headers_are_404(client, alice):
    _, secret = make_key(alice)
    assert client.post(URL, payload(secret), content_type="application/json").status_code == 404
    assert ApiKey.objects.get().revoked_at is None


@pytest.mark.parametrize("body", [b"not json", b'{"token": "x"}', b"[1, 2]"])
def test_bad_json_is_400(client, github_key, body):
    assert post(client, github_key, body).status_code == 400


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_a_report_is_looked_up_at_once_whatever_its_number_of_tokens(client, alice, github_key):
    """Queries grow with the keys revoked, never with the tokens reported: a report of a
    thousand tokens costs what a report of its ten real keys costs (counted in queries,
    not seconds)."""
    secrets = [make_key(alice, name=f"k{i}")[1] for i in range(20)]
    with CaptureQueriesContext(connection) as ten:
        response = post(client, github_key, payload(*secrets[:10]))
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as thousand:
        response = post(
            client, github_key, payload(*secrets[10:], *(generate() for _ in range(990)))
        )
    assert response.status_code == 200
    labels = [entry["label"] for entry in response.json()]
    assert labels.count("true_positive") == 10 and len(labels) == 1000
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 20
    assert len(thousand) == len(ten), [q["sql"] for q in thousand]
