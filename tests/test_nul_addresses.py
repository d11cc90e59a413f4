"""A NUL character in a request's address (config.middleware.RefuseNulMiddleware):
400 with a clear answer on every kind of page, never the 500 PostgreSQL's refusal of
the string would make of whichever query read it, for everyone and for a key."""

import base64

import pytest

from tests.factories import make_key

pytestmark = pytest.mark.django_db

URLS = [
    "/v3/registration/a%00b/index.json",
    "/v3/registration/contoso.core/1.0.0%00.json",
    "/v3-flatcontainer/a%00b/index.json",
    "/v3-flatcontainer/a%00b/1.0.0/a.1.0.0.nupkg",
    "/query?q=a%00b",
    "/autocomplete?id=a%00b",
    "/packages/a%00b",
    "/packages?q=a%00b",
    "/profiles/a%00b",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("feed_read", ["public", "authenticated"])
def test_a_nul_in_the_address_is_refused_with_400(client, alice, settings, url, feed_read):
    settings.GALLEY_FEED_READ = feed_read
    secret = make_key(alice, scopes=["package:read"])[1]
    token = base64.b64encode(f"alice:{secret}".encode()).decode()
    response = client.get(url, headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 400
    assert b"NUL character" in response.content


def test_an_unlist_with_a_nul_changes_nothing(client, alice):
    secret = make_key(alice, scopes=["package:push", "package:unlist"])[1]
    response = client.delete("/api/v2/package/a%00b/1.0.0", headers={"X-NuGet-ApiKey": secret})
    assert response.status_code == 400


def test_an_encoded_percent_sign_is_not_a_nul(client):
    """%2500 is a percent sign followed by 00, which a search may hold."""
    assert client.get("/query?q=50%2500").status_code == 200


def test_the_refusal_is_in_the_readers_language(client):
    response = client.get("/packages?q=a%00b", headers={"Accept-Language": "fr"})
    assert response.status_code == 400
    assert "L’adresse d’une requête ne peut pas contenir de caractère NUL." in response.text
