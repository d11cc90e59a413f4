"""Queries per request on the paths clients call most, pinned one by one.

The caller of a request (key, holder, package owner, membership) is resolved
once, in the key's lookup; feed documents are keyed on the registration's
revision, and a private read of a feed document finds the key and the
registration in one statement: it costs the queries a public read costs.
"""

import base64

import pytest
import time_machine
from django.db import connection

from accounts.models import Membership, User
from tests.factories import PackageRegistrationFactory, make_key
from tests.helpers import push
from tests.packages.builders import nupkg

# PostgreSQL replaces a package's search rows in one statement, SQLite in two.
SEARCH_ROWS_WRITTEN = 1 if connection.vendor == "postgresql" else 2

INDEX = "/v3/registration/contoso.core/index.json"
VERSIONS = "/v3-flatcontainer/contoso.core/index.json"


def basic(username, secret):
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def used_key(alice, client, package_dir):
    """A key that pushed Contoso.Core 1.0.0 a moment ago (its last use is recorded,
    so the next minute writes no last_used)."""
    _, secret = make_key(alice, scopes=["package:push", "package:read"])
    with time_machine.travel("2026-03-01 12:00:00", tick=False):
        assert push(client, secret).status_code == 201
    return secret


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_push_with_a_valid_key(client, used_key, django_assert_num_queries):
    # 1 the key, with its holder, package owner and membership
    # 2 the registration, and whether it has the version, 3 its owners
    # savepoint; 4 the registration locked by bumping its revision; 5 the version's
    # row; 6 the versions for the search rows, 7 the old rows out, 8 the new rows in
    # (PostgreSQL: 7 both at once); 9 the event (its owners, none an organization,
    # are whose log shows it); release
    with django_assert_num_queries(9 + SEARCH_ROWS_WRITTEN):
        assert push(client, used_key, nupkg(version="1.0.1")).status_code == 201


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_push_of_a_version_that_exists(client, used_key, django_assert_num_queries):
    """Refused on the registration's query, before the package is stored (the
    unique constraint would refuse it too, but only after the file is written)."""
    with time_machine.travel("2026-03-01 12:00:20", tick=False):
        push(client, used_key, nupkg(version="1.0.0"))  # the refusal's audit
    # 1 the key, 2 the registration and whether it has the version, 3 its owners;
    # the refusal was audited within the minute.
    with django_assert_num_queries(3):
        response = push(client, used_key, nupkg(version="1.0.0"))
    assert response.status_code == 409 and response["X-Galley-Reason"] == "version_exists"


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_push_of_a_new_id(client, used_key, django_assert_num_queries):
    # 1 the key, 2 no registration, 3 no reserved prefix covers the id;
    # savepoint; 4 the registration, 5 its owner, 6 the version, 7 the revision;
    # 8 the versions for the search rows, 9-10 the rows out and in (PostgreSQL: 9 both);
    # 11 the event (its owner is whose log shows it); release
    with django_assert_num_queries(11 + SEARCH_ROWS_WRITTEN):
        assert push(client, used_key, nupkg(package_id="Contoso.New")).status_code == 201


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_push_refused_by_the_keys_patterns(client, alice, used_key, django_assert_num_queries):
    _, narrow = make_key(alice, glob_patterns=["Fabrikam.*"])
    with time_machine.travel("2026-03-01 12:00:20", tick=False):
        push(client, narrow, nupkg(version="2.0.0"))  # its use and the refusal's audit
    # 1 the key, which says it selects no package by name: its patterns refuse the
    # id before the id is looked up; the refusal was audited within the minute (no
    # cache, no row).
    with django_assert_num_queries(1):
        response = push(client, narrow, nupkg(version="2.0.0"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "package_not_selected"


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_key_that_selects_packages_by_name_looks_the_id_up(
    client, alice, used_key, django_assert_num_queries
):
    other = PackageRegistrationFactory(package_id="Fabrikam.Other", owners=[alice])
    _, narrow = make_key(alice, glob_patterns=["Fabrikam.*"], packages=[other])
    with time_machine.travel("2026-03-01 12:00:20", tick=False):
        push(client, narrow, nupkg(version="2.0.0"))
    # 1 the key, 2 the registration, 3 its owners, 4 the packages the key selects
    # by name (one of them could be this one).
    with django_assert_num_queries(4):
        response = push(client, narrow, nupkg(version="2.0.0"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "package_not_selected"


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_new_id_refused_by_the_keys_patterns(client, alice, used_key, django_assert_num_queries):
    """The out-of-pattern refusal `make bench` times: the key's patterns are matched
    before the id or its reserved prefixes are looked up (apikeys.scopes.before_lookup)."""
    _, narrow = make_key(alice, glob_patterns=["Fabrikam.*"])
    with time_machine.travel("2026-03-01 12:00:20", tick=False):
        push(client, narrow, nupkg(package_id="Contoso.Refused"))
    # 1 the key; the refusal was audited within the minute.
    with django_assert_num_queries(1):
        response = push(client, narrow, nupkg(package_id="Contoso.Refused"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "package_not_selected"


@pytest.mark.parametrize("url", [INDEX, VERSIONS])
def test_public_reads(client, used_key, url, django_assert_num_queries):
    # 1 the registration with its revision, 2 its versions (a memo miss),
    # and for the registration index 3 the package's security advisories
    with django_assert_num_queries(3 if url == INDEX else 2):
        assert client.get(url).status_code == 200
    # 1 the registration with its revision; the body is the memo's
    with django_assert_num_queries(1):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [INDEX, VERSIONS])
@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_private_reads_cost_what_public_reads_cost(
    client, used_key, settings, url, django_assert_num_queries
):
    settings.GALLEY_FEED_READ = "authenticated"
    headers = basic("alice", used_key)
    # 1 the key with its holder, owner and membership, and in the same statement
    # the registration with its revision, whether one of its owners is readable
    # and whether the key selects it by name; 2 its versions (a memo miss); for
    # the registration index, 3 the package's security advisories
    with django_assert_num_queries(3 if url == INDEX else 2):
        assert client.get(url, headers=headers).status_code == 200
    # 1 the key with the registration; the body is the memo's
    with django_assert_num_queries(1):
        assert client.get(url, headers=headers).status_code == 200


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_key_that_selects_its_package_by_name_costs_the_same(
    client, alice, used_key, settings, django_assert_num_queries
):
    """Whether the key selects the package is asked in the registration's query too."""
    from packages.models import PackageRegistration

    settings.GALLEY_FEED_READ = "authenticated"
    chosen = PackageRegistration.objects.get()
    _, secret = make_key(alice, scopes=["package:read"], glob_patterns=[], packages=[chosen])
    headers = basic("alice", secret)
    client.get(VERSIONS, headers=headers)  # the key's first use is written
    with django_assert_num_queries(1):  # the key with the registration: the memo's body
        assert client.get(VERSIONS, headers=headers).status_code == 200


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_private_read_on_a_feed_with_upstreams_costs_the_same(
    client, used_key, settings, django_assert_num_queries
):
    """Whether the package came only from an upstream is asked in the registration's
    query too (an owned id is never looked up upstream: nothing is fetched)."""
    settings.GALLEY_FEED_READ = "authenticated"
    settings.GALLEY_UPSTREAMS = [
        {"url": "http://127.0.0.1:9/v3/index.json", "username": None, "password": None}
    ]
    headers = basic("alice", used_key)
    assert client.get(VERSIONS, headers=headers).status_code == 200
    # 1 the key with the registration, the reader's rules and whether it came only
    # from an upstream; 2 whether the id has local versions and 3 an allowance
    # (which decide that the upstream is not asked); the body is the memo's
    with django_assert_num_queries(3):
        assert client.get(VERSIONS, headers=headers).status_code == 200


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_an_organizations_read_key_costs_the_same(
    client, alice, bob, used_key, settings, django_assert_num_queries
):
    """bob reads Contoso.Core, alice's, through her organization's key: the owners
    his organization can read are asked inside the registration's query."""
    settings.GALLEY_FEED_READ = "authenticated"
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=bob, accepted=True)
    _, secret = make_key(bob, owner=contoso, scopes=["package:read"])
    headers = basic("contoso", secret)
    client.get(INDEX, headers=headers)  # the key's first use is written
    # alice's package is not the organization's: 404, in the key's one statement.
    with django_assert_num_queries(1):
        assert client.get(INDEX, headers=headers).status_code == 404
    from packages.models import PackageRegistration

    PackageRegistration.objects.get().owners.add(contoso)
    # the key with the registration, its versions, its advisories
    with django_assert_num_queries(3):
        assert client.get(INDEX, headers=headers).status_code == 200
    with django_assert_num_queries(1):  # the key with the registration: the memo's body
        assert client.get(INDEX, headers=headers).status_code == 200


LEAF = "/v3/registration/contoso.core/1.0.0.json"


@pytest.mark.parametrize("url", [INDEX, VERSIONS, LEAF])
def test_a_revalidation_costs_what_a_read_from_the_memo_costs(
    client, used_key, url, django_assert_num_queries
):
    """304 and HEAD come from the memo's Document: no building, no hashing."""
    etag = client.get(url)["ETag"]
    # 1 the registration with its revision
    with django_assert_num_queries(1):
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    with django_assert_num_queries(1):
        assert client.head(url).status_code == 200


@pytest.mark.django_db
def test_the_service_index_makes_no_query(client, django_assert_num_queries):
    client.get("/v3/index.json")
    with django_assert_num_queries(0):  # the process's Document, per host
        assert client.get("/v3/index.json").status_code == 200


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_private_revalidation_checks_the_reader_first(
    client, used_key, settings, django_assert_num_queries
):
    settings.GALLEY_FEED_READ = "authenticated"
    headers = basic("alice", used_key)
    etag = client.get(INDEX, headers=headers)["ETag"]
    # 1 the key with the registration and the reader's rules; then the memo's ETag
    with django_assert_num_queries(1):
        response = client.get(INDEX, headers={**headers, "If-None-Match": etag})
    assert response.status_code == 304


@time_machine.travel("2026-03-01 12:00:30", tick=False)
def test_a_private_search_asks_for_a_keys_selected_packages_only_when_it_has_some(
    client, alice, used_key, settings, django_assert_num_queries
):
    """Search narrows to the key's patterns and selected packages; a key that selects
    none by name (its lookup says so) costs no query for them."""
    from packages.models import PackageRegistration

    settings.GALLEY_FEED_READ = "authenticated"
    headers = basic("alice", used_key)
    # 1 the key, 2 its owner's organizations, 3 the readable candidates, 4 the hits,
    # 5 their latest versions, 6 owners, 7 reserved prefixes and 8 advisories
    with django_assert_num_queries(8):
        assert client.get("/query?q=contoso", headers=headers).status_code == 200
    chosen = PackageRegistration.objects.get()
    _, secret = make_key(alice, scopes=["package:read"], glob_patterns=[], packages=[chosen])
    selecting = basic("alice", secret)
    client.get("/query?q=contoso", headers=selecting)  # the key's first use is written
    # the same, and the packages the key selects by name
    with django_assert_num_queries(9):
        response = client.get("/query?q=contoso", headers=selecting)
    assert [item["id"] for item in response.json()["data"]] == ["Contoso.Core"]
