"""GitHub's secret-scanning partner protocol: GitHub finds `gly_…` keys in public
code and posts them here; every match is revoked and its holder told.

GitHub signs each request body with ECDSA P-256 / SHA-256. The public keys come
from a file the operator keeps (GitHub publishes them at
/meta/public_keys/secret_scanning); Galley never fetches them itself.
"""

import base64
import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from apikeys import leaks
from apikeys.models import ApiKey, RevocationSource


class BadRequest(Exception):
    pass


def public_keys() -> dict[str, bytes]:
    """{key identifier: PEM} from GALLEY_GITHUB_SECRET_SCANNING_KEYS (GitHub's JSON format)."""
    path = settings.GALLEY_GITHUB_SECRET_SCANNING_KEYS
    if not path:
        return {}
    document = json.loads(Path(path).read_text())
    return {
        entry["key_identifier"]: entry["key"].encode() for entry in document.get("public_keys", [])
    }


def public_key_pem(key_identifier: str) -> bytes:
    """The PEM of a key GitHub signs with; checked before the request body is read,
    so that nobody but GitHub can make Galley wait for a body."""
    pem = public_keys().get(key_identifier)
    if pem is None:
        raise BadRequest("unknown key identifier")
    return pem


def verify(body: bytes, key_identifier: str, signature: str) -> None:
    pem = public_key_pem(key_identifier)
    try:
        public_key = serialization.load_pem_public_key(pem)
        public_key.verify(
            base64.b64decode(signature, validate=True), body, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError, TypeError):
        raise BadRequest("bad signature") from None


def parse(body: bytes) -> list[dict]:
    try:
        matches = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("not JSON") from None
    if not isinstance(matches, list) or not all(
        isinstance(m, dict) and isinstance(m.get("token"), str) for m in matches
    ):
        raise BadRequest("expected a list of {token, type, url, source}")
    return matches


@sensitive_variables("matches", "match", "token", "found")
def handle(matches: list[dict], request=None) -> list[dict]:
    """Revoke every Galley key among the matches; GitHub's feedback for each token."""
    found = ApiKey.objects.find_many([m["token"] for m in matches])
    feedback = []
    for match in matches:
        token = match["token"]
        key = found.get(token)
        if key is not None:
            url = str(match.get("url") or "")[:1000]
            reason = _("GitHub secret scanning found the key in public (%(source)s).") % {
                "source": str(match.get("source") or "content")[:50]
            }
            leaks.revoke(
                [key],
                by=None,
                reason=reason,
                url=url,
                request=request,
                source=RevocationSource.ENDPOINT,
            )
        feedback.append(
            {
                "token_hash": hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest(),
                "token_type": str(match.get("type") or "")[:100],
                "label": "true_positive" if key is not None else "false_positive",
            }
        )
    return feedback
