"""Every read path of a private feed, against every caller who must not read alice's
package: nobody signed in, another owner's key, alice's own key whose glob patterns
do not cover the package, and another person's browser session. Alice's read key
is the control that each path does show the package.
"""

import base64

import pytest
from django.core.cache import cache

from packages.models import PackageRegistration
from tests.factories import make_key
from tests.helpers import push
from tests.packages.builders import add_version, nupkg

pytestmark = pytest.mark.django_db

FILES = [
    "/v3-flatcontainer/contoso.core/index.json",
    "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg",
    "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.nuspec",
    "/v3/registration/contoso.core/index.json",
    "/v3/registration/contoso.core/1.0.0.json",
]
SEARCHES = [
    "/query?q=contoso",
    "/query?q=packageid:contoso.core",
    "/autocomplete?q=contoso",
    "/autocomplete?id=contoso.core",
]
PAGES = [
    "/packages/Contoso.Core",
    "/packages/Contoso.Core/1.0.0",
    "/packages/Contoso.Core/1.0.0/ReportAbuse",
    "/packages/Contoso.Core/1.0.0/ContactOwners",
]


def basic(username, secret):
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def feed(client, alice, settings, fresh_feed):
    """alice's Contoso.Core: 1.0.0 pushed, and 130 more versions, so that its
    registration index links pages; Fabrikam.Tools, alice's too, for the narrow key."""
    settings.GALLEY_FEED_READ = "authenticated"
    cache.clear()
    secret = make_key(alice, scopes=["package:push"])[1]
    assert push(client, secret, nupkg()).status_code == 201
    assert push(client, secret, nupkg("Fabrikam.Tools")).status_code == 201
    registration = PackageRegistration.objects.get(normalized_id="contoso.core")
    for patch in range(1, 131):
        add_version(registration, f"1.0.{patch}")
    index = client.get(FILES[3], headers=basic("alice", _read_key(alice)))
    pages = [page["@id"].split("testserver", 1)[1] for page in index.json()["items"]]
    assert len(pages) == 3  # 131 versions: linked pages of 64
    return pages[0]


def _read_key(user, **options):
    return make_key(user, scopes=["package:read"], **options)[1]


def _callers(alice, charlie):
    return {
        "nobody": {},
        "another owner's key": basic("charlie", _read_key(charlie)),
        "a key whose patterns miss": basic("alice", _read_key(alice, glob_patterns=["Fabrikam.*"])),
    }


def _shows_nothing(response) -> bool:
    if response.status_code in (401, 404):
        return True
    body = response.json()
    return response.status_code == 200 and body["data"] == [] and body["totalHits"] == 0


def test_alices_read_key_reads_every_path(client, alice, feed):
    headers = basic("alice", _read_key(alice))
    for url in [*FILES, feed]:
        assert client.get(url, headers=headers).status_code == 200, url
    for url in SEARCHES:
        assert client.get(url, headers=headers).json()["totalHits"] >= 1, url


@pytest.mark.parametrize("caller", ["nobody", "another owner's key", "a key whose patterns miss"])
def test_no_feed_path_shows_alices_package_to(client, alice, charlie, feed, caller):
    headers = _callers(alice, charlie)[caller]
    for url in [*FILES, feed]:
        response = client.get(url, headers=headers)
        assert response.status_code in (401, 404), (url, response.status_code)
        assert b"Contoso" not in b"".join(getattr(response, "streaming_content", [])) + (
            b"" if response.streaming else response.content
        )
    for url in SEARCHES:
        response = client.get(url, headers=headers)
        assert _shows_nothing(response), (url, response.content[:200])


def test_another_persons_session_reads_nothing_of_alices(client, alice, charlie, feed):
    client.force_login(charlie)
    for url in [*FILES, feed]:
        assert client.get(url).status_code == 404, url
    for url in SEARCHES:
        assert _shows_nothing(client.get(url)), url
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Contoso.Core" not in response.content.decode()


def test_pages_of_a_private_package_need_a_reader(client, alice, feed):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert response["Location"].startswith("/users/account/LogOn")
    client.force_login(alice)
    for url in PAGES:
        assert client.get(url).status_code == 200, url
