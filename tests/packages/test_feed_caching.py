"""Feed documents served as static files are: built once per revision, kept with
their gzip form and ETag (packages/feed.py `Document`, `remembered`), answered
304 to a client that holds them, compressed for clients that accept it.
"""

import base64
import gzip

import pytest

from accounts.models import User
from packages import feed
from packages.models import PackageRegistration
from tests.factories import make_key
from tests.helpers import push, unlist
from tests.packages.builders import add_version, nupkg

pytestmark = pytest.mark.django_db

INDEX = "/v3/registration/contoso.core/index.json"
VERSIONS = "/v3-flatcontainer/contoso.core/index.json"
LEAF = "/v3/registration/contoso.core/1.0.0.json"
DOCUMENTS = [INDEX, VERSIONS, LEAF, "/v3/index.json"]
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture(autouse=True)
def _a_fresh_feed_in_a_folder_of_the_tests_own(fresh_feed):
    pass


@pytest.fixture
def secret(alice):
    return make_key(alice, scopes=["package:push", "package:unlist"], glob_patterns=["*"])[1]


@pytest.fixture
def package(client, secret):
    assert push(client, secret, nupkg()).status_code == 201


def basic(username, secret):
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# ------------------------------------------------------------------------- 304


@pytest.mark.parametrize("url", DOCUMENTS)
def test_a_client_holding_the_document_gets_304_without_the_body(client, package, url):
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"].startswith('"')
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == first["Cache-Control"]
    assert "Accept-Encoding" in again["Vary"]
    # Weak comparison, and a list of tags, as caches send them.
    weak = client.get(url, headers={"If-None-Match": f'"other", W/{first["ETag"]}'})
    assert weak.status_code == 304
    stale = client.get(url, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200 and stale.content == first.content


def test_the_304_costs_the_registration_query_alone(client, package, django_assert_num_queries):
    etag = client.get(INDEX)["ETag"]
    # 1 the registration with its revision; the ETag is the memo's
    with django_assert_num_queries(1):
        assert client.get(INDEX, headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("url", [INDEX, VERSIONS, LEAF])
def test_the_etag_is_the_same_in_every_process_for_the_same_revision(client, package, url):
    """Another process (an empty memo) builds the same bytes and the same ETag, so a
    cache revalidating against any instance gets its 304."""
    first = client.get(url)
    feed.forget_all()  # as in a process that never built it
    etag = first["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    feed.forget_all()
    again = client.get(url)
    assert again["ETag"] == etag and again.content == first.content
    assert etag == feed.etag_of(first.content)


def test_a_change_to_the_versions_changes_the_etag(client, secret, package):
    before = client.get(INDEX)
    assert unlist(client, secret).status_code == 200
    after = client.get(INDEX, headers={"If-None-Match": before["ETag"]})
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert after.json()["items"][0]["items"][0]["catalogEntry"]["listed"] is False


@pytest.mark.parametrize("url", DOCUMENTS)
def test_head_answers_gets_headers_without_the_body(client, package, url):
    get = client.get(url, headers=GZIP)
    head = client.head(url, headers=GZIP)
    assert head.status_code == 200 and head.content == b""
    for name in ("ETag", "Content-Length", "Content-Encoding", "Cache-Control", "Vary"):
        assert head.get(name) == get.get(name), name
    assert int(head["Content-Length"]) == len(get.content)


# ------------------------------------------------------------------------ gzip


@pytest.mark.parametrize("url", [INDEX, LEAF, "/v3/index.json", "/query?q=contoso"])
def test_gzip_answers_decompress_to_the_identical_json(client, package, url):
    plain = client.get(url)
    packed = client.get(url, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content)
    assert plain["Vary"] == packed["Vary"] and "Accept-Encoding" in plain["Vary"]
    # One ETag per encoding; a client holding either gets its 304.
    assert packed["ETag"] != plain["ETag"]
    revalidated = client.get(url, headers={**GZIP, "If-None-Match": packed["ETag"]})
    assert revalidated.status_code == 304 and revalidated["ETag"] == packed["ETag"]


@pytest.mark.parametrize("url", [VERSIONS, "/autocomplete?q=contoso"])
def test_documents_too_small_to_gain_are_sent_as_they_are(client, package, url):
    """`{"versions":["1.0.0"]}` would grow by gzip's 18 bytes of framing."""
    response = client.get(url, headers=GZIP)
    assert response.status_code == 200 and len(response.content) < feed.GZIP_SMALLEST
    assert "Content-Encoding" not in response and "Accept-Encoding" in response["Vary"]
    assert response.json()


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "br", "gzip;q=0, *;q=0", ""])
def test_no_gzip_for_clients_that_refuse_it(client, package, accept):
    response = client.get(INDEX, headers={"Accept-Encoding": accept})
    assert response.status_code == 200 and "Content-Encoding" not in response
    assert response.json()["count"] == 1


def test_a_128_version_index_travels_at_a_fifth_of_its_size(client, alice, package):
    registration = PackageRegistration.objects.get()
    for patch in range(1, 128):
        add_version(registration, f"1.0.{patch}")
    plain = client.get(INDEX)
    packed = client.get(INDEX, headers=GZIP)
    assert len(plain.json()["items"][0]["items"]) == 128
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) <= len(plain.content) * 0.2


def test_pages_with_forms_are_not_compressed(client, alice, package):
    client.force_login(alice)
    response = client.get("/account/apikeys", headers=GZIP, follow=True)
    assert response.status_code == 200 and b"csrfmiddlewaretoken" in response.content
    assert "Content-Encoding" not in response


# ------------------------------------------------------------------------ memo


def test_the_memo_keeps_one_revision_per_document_within_its_bytes(
    client, secret, package, monkeypatch
):
    client.get(INDEX)
    assert len(feed._MEMO) == 1 and feed.memo_bytes() > 0
    assert unlist(client, secret).status_code == 200
    client.get(INDEX)
    assert len(feed._MEMO) == 1  # the older revision's document went with the change
    monkeypatch.setattr(feed, "MEMO_BYTES", feed.memo_bytes() + 1)
    client.get(VERSIONS)  # over the budget: the least recently used slot goes
    assert [slot[0] for slot in feed._MEMO] == ["versions"]
    assert feed.memo_bytes() <= feed.MEMO_BYTES
    assert client.get(INDEX).status_code == 200  # built again when asked


# --------------------------------------------------------------- private feeds


@pytest.fixture
def private(settings, client, package):
    settings.GALLEY_FEED_READ = "authenticated"


@pytest.mark.parametrize("url", [INDEX, VERSIONS, LEAF])
def test_a_private_feeds_304_needs_valid_credentials(client, alice, charlie, private, url):
    reader = make_key(alice, scopes=["package:read"])[1]
    stranger = make_key(charlie, scopes=["package:read"])[1]
    etag = client.get(url, headers=basic("alice", reader))["ETag"]
    held = {"If-None-Match": etag}
    assert client.get(url, headers=held).status_code == 401
    assert client.get(url, headers={**held, **basic("alice", "gly_wrong")}).status_code == 401
    # A reader who may not see the package learns nothing from its ETag: 404.
    refused = client.get(url, headers={**held, **basic("charlie", stranger)})
    assert refused.status_code == 404 and "ETag" not in refused
    answered = client.get(url, headers={**held, **basic("alice", reader)})
    assert answered.status_code == 304
    assert answered["Vary"].startswith("Accept-Encoding, Authorization, Cookie")
    assert answered["Cache-Control"] == "private, max-age=60"


def test_a_private_feeds_documents_are_gzipped_for_their_reader(client, alice, private):
    reader = make_key(alice, scopes=["package:read"])[1]
    plain = client.get(INDEX, headers=basic("alice", reader))
    packed = client.get(INDEX, headers={**GZIP, **basic("alice", reader)})
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert packed["Vary"].startswith("Accept-Encoding, Authorization, Cookie")


def test_an_organizations_reader_and_its_owner_share_the_document(client, alice, bob, private):
    """Documents do not depend on who reads them: one memo slot serves every reader."""
    contoso = User.objects.create_organization("Contoso", admin=alice)
    PackageRegistration.objects.get().owners.add(contoso)
    reader = make_key(alice, scopes=["package:read"])[1]
    organization = make_key(alice, owner=contoso, scopes=["package:read"])[1]
    first = client.get(INDEX, headers=basic("alice", reader))
    second = client.get(INDEX, headers=basic("contoso", organization))
    assert first.content == second.content and first["ETag"] == second["ETag"]
    assert len(feed._MEMO) == 1


def test_the_readers_registration_query_is_compiled_once(client, alice, private, monkeypatch):
    """Every feed read asks for the registration with the reader's rules; building
    that query through the ORM cost many times the lookup, so each shape of it is
    compiled once per process (packages/readers.py `_statement`)."""
    from packages import readers

    reader = make_key(alice, scopes=["package:read"])[1]
    assert client.get(INDEX, headers=basic("alice", reader)).status_code == 200
    assert readers._STATEMENTS
    monkeypatch.setattr(readers, "_registrations", lambda *shape: pytest.fail("compiled again"))
    feed.forget_all()
    assert client.get(INDEX, headers=basic("alice", reader)).status_code == 200
    other = make_key(alice, scopes=["package:read"], glob_patterns=["Fabrikam.*"])[1]
    assert client.get(INDEX, headers=basic("alice", other)).status_code == 404


# Vary: what a shared cache keys its copies on ------------------------------------

PACKAGE = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


@pytest.mark.parametrize("url", [*DOCUMENTS, PACKAGE])
def test_a_public_document_or_file_varies_on_nothing_a_reader_s_language_or_session_changes(
    client, alice, package, url
):
    """The same bytes for every language and session: a shared cache (nginx, a CDN)
    keeps one copy, not one per language and cookie."""
    client.force_login(alice)  # a middleware reads the session: Django would add Cookie
    response = client.get(url, headers={**GZIP, **FRENCH})
    assert response.status_code == 200
    assert response.get("Vary", "") == ("" if url == PACKAGE else "Accept-Encoding")
    assert "Content-Language" not in response


def test_a_feed_error_still_varies_on_the_language_it_is_written_in(client, package):
    response = client.get("/v3/registration/nobody.here/index.json", headers=FRENCH)
    assert response.status_code == 404
    assert "Accept-Language" in response["Vary"]


def test_a_private_document_varies_on_its_credentials_not_on_the_language(client, alice, private):
    reader = make_key(alice, scopes=["package:read"])[1]
    response = client.get(INDEX, headers={**GZIP, **FRENCH, **basic("alice", reader)})
    assert response.status_code == 200
    assert response["Vary"] == "Accept-Encoding, Authorization, Cookie"
    assert "Content-Language" not in response


def test_a_document_that_sets_a_cookie_is_kept_by_no_shared_cache(rf):
    """A session written on the way (Set-Cookie) must not reach a shared cache: the
    response keeps Django's Vary and becomes private."""
    from django.http import HttpResponse

    from core.vary import VaryAsSetMiddleware, vary_as_set

    def view(request):
        response = HttpResponse(b"{}", content_type="application/json")
        response["Cache-Control"] = "public, max-age=60"
        response["Vary"] = "Accept-Encoding"
        vary_as_set(response)
        response["Vary"] = "Accept-Encoding, Accept-Language, Cookie"  # as Django's add
        response.set_cookie("sessionid", "x")
        return response

    response = VaryAsSetMiddleware(view)(rf.get(INDEX))
    assert "Cookie" in response["Vary"]
    assert "public" not in response["Cache-Control"] and "private" in response["Cache-Control"]

    def without_cookie(request):
        response = view(request)
        del response.cookies["sessionid"]
        return response

    response = VaryAsSetMiddleware(without_cookie)(rf.get(INDEX))
    assert response["Vary"] == "Accept-Encoding"
    assert response["Cache-Control"] == "public, max-age=60"
