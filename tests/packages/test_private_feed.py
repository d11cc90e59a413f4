"""GALLEY_FEED_READ=authenticated: HTTP Basic with a user name and an API key."""

import base64

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from accounts.models import User
from tests.factories import make_key
from tests.helpers import manage, push
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db

NUPKG = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
READ_URLS = [
    "/v3-flatcontainer/contoso.core/index.json",
    NUPKG,
    "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.nuspec",
    "/v3/registration/contoso.core/index.json",
    "/v3/registration/contoso.core/1.0.0.json",
    "/query?q=contoso",
    "/autocomplete?q=contoso",
]


@pytest.fixture(autouse=True)
def _a_fresh_feed_in_a_folder_of_the_tests_own(fresh_feed):
    pass


@pytest.fixture(autouse=True)
def private_feed(settings):
    settings.GALLEY_FEED_READ = "authenticated"
    cache.clear()


@pytest.fixture
def package(client, alice):
    secret = make_key(alice, scopes=["package:push"], glob_patterns=["*"])[1]
    data = nupkg()
    assert push(client, secret, data).status_code == 201
    return data


def basic(username, secret):
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def read_key(user, **options):
    return make_key(user, scopes=["package:read"], **options)[1]


def test_without_credentials_everything_is_401_with_basic(client, package):
    for url in ["/v3/index.json", *READ_URLS]:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == 'Basic realm="Galley", charset="UTF-8"'


def test_a_read_key_reads_everything_its_owner_can_see(client, alice, package):
    headers = basic("alice", read_key(alice))
    for url in ["/v3/index.json", *READ_URLS]:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert response["Cache-Control"].startswith("private, ")
        assert "Authorization" in response["Vary"]
    download = client.get(NUPKG, headers=headers)
    assert b"".join(download.streaming_content) == package
    assert client.get("/query?q=contoso", headers=headers).json()["totalHits"] == 1


def test_the_user_name_may_be_the_holder_or_the_owner_in_any_case(client, alice, bob, package):
    organization = User.objects.create_organization("acme", admin=alice)
    organization_key = read_key(alice, owner=organization)
    for name in ("ALICE", "Acme"):
        assert (
            client.get("/v3/index.json", headers=basic(name, organization_key)).status_code == 200
        )
    assert client.get("/v3/index.json", headers=basic("bob", organization_key)).status_code == 401
    assert client.get("/v3/index.json", headers=basic("", organization_key)).status_code == 401


def test_wrong_credentials_are_401(client, alice, package):
    secret = read_key(alice)
    for headers in (
        basic("alice", secret[:-1] + ("A" if secret[-1] != "A" else "B")),
        basic("alice", "not-a-key"),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer " + secret},
    ):
        response = client.get(NUPKG, headers=headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Basic ")


def test_revoked_and_expired_keys_are_401(client, alice, package):
    revoked_key, revoked = make_key(alice, scopes=["package:read"])
    revoked_key.revoked_at = timezone.now()
    revoked_key.save()
    expired_key, expired = make_key(alice, scopes=["package:read"])
    expired_key.expires = timezone.now()
    expired_key.save()
    for secret in (revoked, expired):
        assert client.get("/v3/index.json", headers=basic("alice", secret)).status_code == 401


def test_a_push_only_key_reads_the_service_index_but_no_package(client, alice, package):
    headers = basic("alice", make_key(alice, scopes=["package:push"])[1])
    assert client.get("/v3/index.json", headers=headers).status_code == 200
    for url in READ_URLS:
        response = client.get(url, headers=headers)
        assert response.status_code == 403, url
        assert "do not allow reading" in response.content.decode()


def test_a_read_key_of_another_owner_sees_nothing_of_alices(client, charlie, package):
    headers = basic("charlie", read_key(charlie))
    assert client.get("/v3/index.json", headers=headers).status_code == 200
    for url in READ_URLS[:5]:
        assert client.get(url, headers=headers).status_code == 404, url
    assert client.get("/query?q=contoso", headers=headers).json() == {"totalHits": 0, "data": []}
    assert client.get("/autocomplete?q=contoso", headers=headers).json()["data"] == []
    assert client.get("/autocomplete?id=contoso.core", headers=headers).json()["data"] == []


def test_a_read_keys_patterns_narrow_what_it_reads(client, alice, package):
    other = nupkg("Fabrikam.Tools")
    assert push(client, make_key(alice)[1], other).status_code == 201
    headers = basic("alice", read_key(alice, glob_patterns=["Fabrikam.*"]))
    assert client.get(READ_URLS[0], headers=headers).status_code == 404
    ok = client.get("/v3-flatcontainer/fabrikam.tools/index.json", headers=headers)
    assert ok.status_code == 200
    ids = [item["id"] for item in client.get("/query", headers=headers).json()["data"]]
    assert ids == ["Fabrikam.Tools"]


def test_a_read_key_reads_the_packages_it_selects_by_name_and_no_other(client, alice, package):
    """A key without patterns reads the packages chosen for it, found in the same query
    as the package (packages/readers.py): another key's choice is not its own."""
    from packages.models import PackageRegistration

    assert push(client, make_key(alice)[1], nupkg("Fabrikam.Tools")).status_code == 201
    contoso = PackageRegistration.objects.get(package_id="Contoso.Core")
    fabrikam = PackageRegistration.objects.get(package_id="Fabrikam.Tools")
    for chosen, other in ((contoso, fabrikam), (fabrikam, contoso)):
        headers = basic("alice", read_key(alice, glob_patterns=[], packages=[chosen]))
        url = "/v3-flatcontainer/{}/index.json"
        assert client.get(url.format(chosen.normalized_id), headers=headers).status_code == 200
        assert client.get(url.format(other.normalized_id), headers=headers).status_code == 404


def test_a_feed_made_private_asks_for_a_key_for_what_it_served_to_everyone(
    client, alice, charlie, settings, package
):
    """One process serves every kind of reader: what it learnt answering everyone
    must not answer a key, nor the other way round."""
    settings.GALLEY_FEED_READ = "public"
    assert client.get(READ_URLS[0]).status_code == 200
    settings.GALLEY_FEED_READ = "authenticated"
    assert client.get(READ_URLS[0]).status_code == 401
    assert client.get(READ_URLS[0], headers=basic("alice", read_key(alice))).status_code == 200
    stranger = basic("charlie", read_key(charlie))
    assert client.get(READ_URLS[0], headers=stranger).status_code == 404
    settings.GALLEY_FEED_READ = "public"
    assert client.get(READ_URLS[0]).status_code == 200


def test_a_member_reads_the_packages_of_their_organization(client, alice, bob, charlie):
    organization = User.objects.create_organization("acme", admin=alice)
    from accounts.models import Membership

    Membership.objects.create(
        organization=organization, member=bob, role=Membership.Role.COLLABORATOR
    )
    push_secret = make_key(alice, owner=organization)[1]
    assert push(client, push_secret, nupkg("Acme.Core")).status_code == 201
    bob_headers = basic("bob", read_key(bob))
    assert (
        client.get("/v3/registration/acme.core/index.json", headers=bob_headers).status_code == 200
    )
    charlie_headers = basic("charlie", read_key(charlie))
    response = client.get("/v3/registration/acme.core/index.json", headers=charlie_headers)
    assert response.status_code == 404


def test_a_signed_in_session_reads_what_its_user_can_see(client, alice, charlie, package):
    client.force_login(alice)
    download = client.get(NUPKG)
    assert download.status_code == 200 and b"".join(download.streaming_content) == package
    client.force_login(charlie)
    assert client.get(NUPKG).status_code == 404
    assert client.get("/v3/index.json").status_code == 200


@time_machine.travel("2026-03-01 12:00:10", tick=False)  # failures are counted per minute
def test_failed_basic_sign_ins_are_rate_limited_per_address(client, alice, settings, package):
    settings.GALLEY_FEED_AUTH_FAILURES_LIMIT = 3
    secret = read_key(alice)
    good = basic("alice", secret)
    for _ in range(3):
        assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 401
    mistyped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for wrong in ("wrong", mistyped, ""):
        limited = client.get(NUPKG, headers=basic("alice", wrong))
        assert limited.status_code == 429 and limited["Retry-After"] == "60"
    limited = client.get(NUPKG, headers=basic("mallory", secret))
    assert limited.status_code == 429
    elsewhere = client.get(NUPKG, headers=basic("alice", "wrong"), REMOTE_ADDR="192.0.2.7")
    assert elsewhere.status_code == 401
    # Someone else's guesses from the same address (an office behind one NAT)
    # never lock out good credentials.
    assert client.get(NUPKG, headers=good).status_code == 200


def test_a_public_feed_needs_no_credentials(client, settings, package):
    settings.GALLEY_FEED_READ = "public"
    for url in READ_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"].startswith("public, ")


def test_an_unknown_feed_read_setting_is_refused():
    result = manage("check", DJANGO_DEBUG="1", GALLEY_FEED_READ="private")
    assert result.returncode != 0
    assert "GALLEY_FEED_READ must be one of public, authenticated" in result.stderr


def test_a_strangers_unlist_of_a_private_id_answers_as_for_an_unknown_id(client, charlie, package):
    """On a private feed, unlist, relist and delete must not tell which private ids exist
    (nor their registered casing or owner)."""
    secret = make_key(charlie, scopes=["package:unlist"])[1]
    headers = {"X-NuGet-ApiKey": secret}
    for method in ("delete", "post"):
        private = getattr(client, method)("/api/v2/package/contoso.core/1.0.0", headers=headers)
        unknown = getattr(client, method)("/api/v2/package/contoso.nothing/1.0.0", headers=headers)
        assert private.status_code == unknown.status_code == 404
        assert private["X-Galley-Reason"] == unknown["X-Galley-Reason"] == "not_found"
        assert private.content.decode() == unknown.content.decode().replace(
            "contoso.nothing", "contoso.core"
        )
        assert "Contoso.Core" not in private.content.decode()  # the registered casing
        assert "alice" not in private.content.decode()


def test_a_strangers_push_to_a_private_id_names_neither_its_casing_nor_its_owner(
    client, charlie, package
):
    secret = make_key(charlie, scopes=["package:push"])[1]
    response = push(client, secret, nupkg("CONTOSO.CORE", "2.0.0"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "CONTOSO.CORE" in body and "Contoso.Core" not in body and "alice" not in body


def test_on_a_public_feed_a_strangers_unlist_keeps_nuget_orgs_answer(
    client, charlie, package, settings
):
    settings.GALLEY_FEED_READ = "public"
    secret = make_key(charlie, scopes=["package:unlist"])[1]
    response = client.delete(
        "/api/v2/package/contoso.core/1.0.0", headers={"X-NuGet-ApiKey": secret}
    )
    assert response.status_code == 403 and response["X-Galley-Reason"] == "not_owner"


def test_an_organizations_read_key_reads_the_organizations_packages_not_its_holders(
    client, alice, dana
):
    """A read key reads what its package owner sees: Contoso's key held by alice
    reads none of alice's personal packages, neither by id nor through search."""
    contoso = User.objects.create_organization("Contoso", admin=alice)
    assert push(client, make_key(alice)[1], nupkg("Alice.Personal")).status_code == 201
    assert push(client, make_key(alice, owner=contoso)[1], nupkg("Contoso.Core")).status_code == 201
    assert push(client, make_key(dana)[1], nupkg("Dana.Tools")).status_code == 201
    headers = basic("alice", read_key(alice, owner=contoso))
    assert (
        client.get("/v3/registration/contoso.core/index.json", headers=headers).status_code == 200
    )
    for package in ("alice.personal", "dana.tools"):
        url = f"/v3/registration/{package}/index.json"
        assert client.get(url, headers=headers).status_code == 404, url
        url = f"/v3-flatcontainer/{package}/index.json"
        assert client.get(url, headers=headers).status_code == 404, url
    ids = [item["id"] for item in client.get("/query", headers=headers).json()["data"]]
    assert ids == ["Contoso.Core"]
    # alice's own read key reads both of hers (the key's owner decides, not a rule
    # that would hide personal packages from everyone).
    headers = basic("alice", read_key(alice))
    ids = [item["id"] for item in client.get("/query", headers=headers).json()["data"]]
    assert sorted(ids) == ["Alice.Personal", "Contoso.Core"]


def test_the_user_name_may_be_an_organization_name_with_capitals_in_any_case(
    client, alice, package
):
    contoso = User.objects.create_organization("Contoso", admin=alice)
    secret = read_key(alice, owner=contoso)
    for name in ("Contoso", "contoso", "CONTOSO", " Contoso "):
        assert client.get("/v3/index.json", headers=basic(name, secret)).status_code == 200, name
    assert client.get("/v3/index.json", headers=basic("Fabrikam", secret)).status_code == 401


@time_machine.travel("2026-03-01 12:00:10", tick=False)  # counted per minute
def test_each_refusal_is_plain_text_in_words_and_never_stored(client, alice, settings, package):
    settings.GALLEY_FEED_AUTH_FAILURES_LIMIT = 1
    push_only = basic("alice", make_key(alice, scopes=["package:push"])[1])
    cases = [
        ({}, 401, "This feed is private: sign in with your user name and an API key."),
        (
            push_only,
            403,
            "The API key's scopes do not allow reading packages.",
        ),
        (
            basic("alice", "wrong"),
            401,
            "The user name or API key is not valid, or the key has expired or was revoked.",
        ),
        (
            basic("alice", "wrong"),
            429,
            "Too many failed sign-ins from your address. Try again later.",
        ),
    ]
    for headers, status, words in cases:
        response = client.get(NUPKG, headers=headers)
        assert (response.status_code, response.content.decode()) == (status, words + "\n")
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["Cache-Control"] == "no-store"
        assert response.has_header("WWW-Authenticate") == (status == 401)


def test_a_basic_value_with_characters_outside_base64_is_refused(client, alice, package):
    token = base64.b64encode(f"alice:{read_key(alice)}".encode()).decode()
    assert client.get(NUPKG, headers={"Authorization": f"Basic {token}"}).status_code == 200
    damaged = token[:8] + "!" + token[8:]  # decodes to the same bytes if junk is skipped
    response = client.get(NUPKG, headers={"Authorization": f"Basic {damaged}"})
    assert response.status_code == 401


@time_machine.travel("2026-03-01 12:00:10", tick=False)  # counted per minute
def test_the_failure_limit_counts_from_zero(client, alice, settings, package):
    settings.GALLEY_FEED_AUTH_FAILURES_LIMIT = 1
    good = basic("alice", read_key(alice))
    assert client.get(NUPKG, headers=good).status_code == 200
    assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 401
    assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 429
    assert client.get(NUPKG, headers=good).status_code == 200  # good credentials never limited


def test_failures_are_counted_per_minute(client, alice, settings, package):
    settings.GALLEY_FEED_AUTH_FAILURES_LIMIT = 2
    good = basic("alice", read_key(alice))
    # The last second of a minute (and not of any 61-second window around it).
    last_second = 60 * 29_500_003 - 1
    with time_machine.travel(last_second, tick=False) as traveller:
        for _ in range(2):
            assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 401
        assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 429
        traveller.shift(1)
        assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 401
        assert client.get(NUPKG, headers=good).status_code == 200


@time_machine.travel("2026-03-01 12:00:10", tick=False)  # counted per minute
def test_a_failure_counts_though_its_counter_expired_a_moment_before(
    client, alice, settings, package, monkeypatch
):
    """The counter can go between cache.add and cache.incr (its minute ended, or the
    cache evicted it): the failure is still counted, as the first of a new count."""
    settings.GALLEY_FEED_AUTH_FAILURES_LIMIT = 2
    good = basic("alice", read_key(alice))

    def gone(key, delta=1, version=None):
        cache.delete(key)
        raise ValueError(f"Key '{key}' not found")

    with monkeypatch.context() as patch:
        patch.setattr(cache, "incr", gone)
        assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 401
    assert client.get(NUPKG, headers=good).status_code == 200
    # one failure counted, not two: a second is still under the limit of 2
    assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 401
    assert client.get(NUPKG, headers=basic("alice", "wrong")).status_code == 429


def test_a_signed_in_session_searches_what_its_user_can_see(client, alice, charlie, package):
    client.force_login(alice)
    ids = [item["id"] for item in client.get("/query?q=contoso").json()["data"]]
    assert ids == ["Contoso.Core"]
    client.force_login(charlie)
    assert client.get("/query?q=contoso").json() == {"totalHits": 0, "data": []}


def test_a_read_key_searches_its_selected_packages(client, alice, package):
    from packages.models import PackageRegistration

    assert push(client, make_key(alice)[1], nupkg("Fabrikam.Tools")).status_code == 201
    selected = PackageRegistration.objects.get(package_id="Contoso.Core")
    headers = basic("alice", read_key(alice, glob_patterns=[], packages=[selected]))
    ids = [item["id"] for item in client.get("/query", headers=headers).json()["data"]]
    assert ids == ["Contoso.Core"]
