import json

import pytest

# The real-client fixtures (gunicorn on the test database, nuget.exe 5.8), for
# the end-to-end test of an exchanged key.
from tests.client.conftest import collected_static, nuget58, start_galley  # noqa: F401
from tests.trustedpublishing.issuer import Issuer
from trustedpublishing import oidc
from trustedpublishing.models import Policy, Provider

AUDIENCE = "https://galley.example"


@pytest.fixture
def issuer():
    """GitHub Actions' issuer, played by a local server."""
    server = Issuer().start()
    yield server
    server.stop()


@pytest.fixture
def gitlab_issuer():
    server = Issuer("gitlab").start()
    yield server
    server.stop()


@pytest.fixture
def trusted_publishing(settings, issuer, gitlab_issuer):
    """Trusted Publishing on, trusting the two local issuers; no keys cached from other tests."""
    settings.GALLEY_OIDC_AUDIENCE = AUDIENCE
    settings.GALLEY_OIDC_GITHUB_ISSUER = issuer.url
    settings.GALLEY_OIDC_GITLAB_ISSUER = gitlab_issuer.url
    oidc.key_cache.clear()
    yield
    oidc.key_cache.clear()


def make_policy(creator, *, owner=None, **fields) -> Policy:
    values = {
        "name": "Release",
        "provider": Provider.GITHUB,
        "repository_owner": "contoso",
        "repository": "widgets",
        "workflow": "release.yml",
        **fields,
    }
    return Policy.objects.create(creator=creator, owner=owner or creator, **values)


def make_gitlab_policy(creator, *, owner=None, **fields) -> Policy:
    values = {
        "name": "GitLab release",
        "provider": Provider.GITLAB,
        "project_path": "contoso/widgets",
        **fields,
    }
    return Policy.objects.create(creator=creator, owner=owner or creator, **values)


def exchange(client, token, username="alice", **body):
    """POST /api/v2/token as NuGet/login sends it: the CI's token in, a key out."""
    return client.post(
        "/api/v2/token",
        json.dumps({"username": username, "tokenType": "ApiKey", **body}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "User-Agent": "nuget/login-action"},
    )
