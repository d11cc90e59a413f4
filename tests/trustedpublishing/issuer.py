"""A local OpenID Connect issuer on loopback, as GitHub's or GitLab's looks to Galley.

It serves the discovery document and the JWKS over real HTTP from a thread,
and signs tokens RS256 with a key generated here, so verification runs end to
end: discovery, key fetch, signature, claims.
"""

import functools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


def new_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def first_rsa_key(issuer_name: str):
    """An issuer's first signing key, generated once per process and issuer (a 2048-bit
    key costs a noticeable share of a test); rotations and forgers get fresh ones."""
    return new_rsa_key()


class Issuer:
    def __init__(self, name: str = "github"):
        self.keys = {"key-1": first_rsa_key(name)}  # kid -> private key
        self.published = ["key-1"]  # the kids the JWKS lists
        self.requests: list[str] = []  # paths fetched, to count discovery and JWKS hits
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # A short poll interval: shutdown() waits for it, twice per test (two issuers).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def add_key(self, kid: str) -> None:
        self.keys[kid] = new_rsa_key()
        self.published.append(kid)

    def configuration(self) -> dict:
        """The discovery document (a test may replace it)."""
        return {"issuer": self.url, "jwks_uri": f"{self.url}/.well-known/jwks"}

    def jwks(self) -> dict:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def _handler(self):
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                issuer.requests.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = issuer.configuration()
                elif self.path == "/.well-known/jwks":
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def token(self, claims: dict | None = None, *, kid="key-1", key=None, lifetime=300, **extra):
        """A signed token: GitHub-like defaults, overridden by `claims` (None drops one)."""
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": "https://galley.example",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            **(claims or {}),
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, key or self.keys[kid], algorithm="RS256", headers={"kid": kid}, **extra
        )


def github_claims(**overrides) -> dict:
    """The claims GitHub Actions puts in a run's token (the ones Galley reads)."""
    claims = {
        "sub": "repo:contoso/widgets:environment:release",
        "repository": "contoso/widgets",
        "repository_owner": "contoso",
        "repository_owner_id": "1001",
        "repository_id": "2002",
        "workflow_ref": "contoso/widgets/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_ref": "contoso/widgets/.github/workflows/release.yml@refs/heads/main",
        "environment": "release",
        "ref": "refs/heads/main",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "run_id": "987654321",
        "run_attempt": "1",
        "actor": "alice-gh",
        "event_name": "push",
    }
    claims.update(overrides)
    return claims


def gitlab_claims(**overrides) -> dict:
    claims = {
        "sub": "project_path:contoso/widgets:ref_type:tag:ref:v1.0.0",
        "project_path": "contoso/widgets",
        "project_id": "3003",
        "namespace_path": "contoso",
        "namespace_id": "4004",
        "ref": "v1.0.0",
        "ref_type": "tag",
        "environment": "production",
        "pipeline_id": "555",
        "job_id": "666",
        "user_login": "alice-gl",
    }
    claims.update(overrides)
    return claims
