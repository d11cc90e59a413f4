"""docs/api/search-autocomplete-service-resource.md: SearchAutocompleteService."""

import pytest

from tests.conformance.conftest import pushed, typed
from tests.helpers import unlist

pytestmark = pytest.mark.django_db


def complete(feed, **params) -> dict:
    response = feed.get("/autocomplete", params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def storage_packages(client, publisher):
    """The docs' sample (q=storage): ids with "storage" in them, one only pre-release."""
    pushed(client, publisher, "WindowsAzure.Storage", "9.3.3")
    pushed(client, publisher, "Storage.Net", "1.0.0")
    pushed(client, publisher, "Contoso.StoragePreview", "0.1.0-alpha")
    pushed(client, publisher, "Unrelated", "1.0.0")


# ------------------------------------------------------------------ package ids


def test_autocomplete_ids_answers_total_hits_and_data(feed, storage_packages):
    """ "GET {@id}?q={QUERY}&skip=…&take=…&prerelease=…&semVerLevel=…&packageType=…": the root
    object has `totalHits` (integer) and `data` ("The package IDs matched by the request").
    (sample: q=storage&prerelease=true)"""
    response = feed.get("/autocomplete", {"q": "storage", "prerelease": "true"})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["totalHits"], int) and body["totalHits"] == 3
    assert sorted(body["data"]) == ["Contoso.StoragePreview", "Storage.Net", "WindowsAzure.Storage"]
    assert all(isinstance(package_id, str) for package_id in body["data"])


def test_autocomplete_excludes_prerelease_unless_asked(feed, storage_packages):
    """ "If `prerelease` is not provided, pre-release packages are excluded.\""""
    assert sorted(complete(feed, q="storage")["data"]) == ["Storage.Net", "WindowsAzure.Storage"]
    assert complete(feed, q="storage", prerelease="false")["totalHits"] == 2


def test_autocomplete_skip_and_take(feed, storage_packages):
    """ "The `skip` parameter defaults to 0"; `take` "The number of results to return";
    `totalHits` disregards them."""
    everything = complete(feed, q="storage", prerelease="true")["data"]
    page = complete(feed, q="storage", prerelease="true", skip=1, take=1)
    assert page == {"totalHits": 3, "data": everything[1:2]}


def test_autocomplete_semver2_packages_only_with_sem_ver_level_2(feed, client, publisher):
    """ "If this query parameter is excluded, only package IDs with SemVer 1.0.0 compatible
    versions will be returned"; `semVerLevel=2.0.0` returns both."""
    pushed(client, publisher, "Storage.Classic", "1.0.0")
    pushed(client, publisher, "Storage.Modern", "1.0.0+build.1")
    assert complete(feed, q="storage")["data"] == ["Storage.Classic"]
    assert sorted(complete(feed, q="storage", semVerLevel="2.0.0")["data"]) == [
        "Storage.Classic",
        "Storage.Modern",
    ]


def test_autocomplete_package_type_filter(feed, client, publisher):
    """`packageType` (SearchAutocompleteService/3.5.0): only packages with a matching type;
    an unknown type gives an empty result; an empty one no filter."""
    pushed(client, publisher, "Storage.Lib")
    pushed(
        client, publisher, "Storage.Tool", nuspec=typed("Storage.Tool", package_type="DotnetTool")
    )
    assert complete(feed, q="storage", packageType="DotnetTool")["data"] == ["Storage.Tool"]
    assert complete(feed, q="storage", packageType="NoSuchType") == {"totalHits": 0, "data": []}
    assert complete(feed, q="storage", packageType="")["totalHits"] == 2


def test_a_package_with_only_unlisted_versions_does_not_appear(feed, client, publisher):
    """ "A package with only unlisted versions will not appear in the results.\""""
    pushed(client, publisher, "Storage.Gone")
    pushed(client, publisher, "Storage.Here")
    unlist(client, publisher, "Storage.Gone", "1.0.0")
    assert complete(feed, q="storage")["data"] == ["Storage.Here"]


# ------------------------------------------------------------------ package versions


@pytest.fixture
def protocol(client, publisher):
    """The docs' sample (id=nuget.protocol&prerelease=true)."""
    for version in ("4.0.0-rc", "4.0.0", "4.3.0", "5.0.0+sha.1"):
        pushed(client, publisher, "NuGet.Protocol", version)
    pushed(client, publisher, "NuGet.Protocol", "4.1.0")
    unlist(client, publisher, "NuGet.Protocol", "4.1.0")


def test_autocomplete_versions_answers_data(feed, protocol):
    """ "GET {@id}?id={ID}&prerelease={PRERELEASE}&semVerLevel={SEMVERLEVEL}": the root object
    has `data` ("The package versions matched by the request"). (sample:
    id=nuget.protocol&prerelease=true)"""
    response = feed.get("/autocomplete", {"id": "nuget.protocol", "prerelease": "true"})
    assert response.status_code == 200
    assert response.json()["data"] == ["4.0.0-rc", "4.0.0", "4.3.0"]


def test_autocomplete_versions_exclude_prerelease_unless_asked(feed, protocol):
    """ "If `prerelease` is not provided, pre-release packages are excluded.\""""
    assert complete(feed, id="nuget.protocol")["data"] == ["4.0.0", "4.3.0"]


def test_autocomplete_versions_carry_build_metadata_with_sem_ver_level_2(feed, protocol):
    """ "If `semVerLevel=2.0.0` is provided, both SemVer 1.0.0 and SemVer 2.0.0 versions will
    be returned"; "The package versions in the `data` array may contain SemVer 2.0.0 build
    metadata (e.g. `1.0.0+metadata`) if the `semVerLevel=2.0.0` is provided".\""""
    assert complete(feed, id="nuget.protocol", semVerLevel="2.0.0")["data"] == [
        "4.0.0",
        "4.3.0",
        "5.0.0+sha.1",
    ]


def test_autocomplete_versions_never_list_an_unlisted_version(feed, protocol):
    """ "A package version that is unlisted will not appear in the results.\""""
    assert "4.1.0" not in complete(feed, id="nuget.protocol", prerelease="true")["data"]


def test_autocomplete_versions_of_an_unknown_id_is_empty(feed):
    """An id the source does not have: no versions (the answer's shape stays the same)."""
    assert complete(feed, id="nobody.here")["data"] == []


def test_autocomplete_answers_head_with_the_headers_of_get(feed, protocol):
    """ "All URLs found in the registration resource support the HTTP methods `GET` and
    `HEAD`" (the autocomplete document repeats the sentence)."""
    for params in ({"q": "nuget"}, {"id": "nuget.protocol"}):
        get, head = feed.get("/autocomplete", params), feed.head("/autocomplete", params)
        assert head.status_code == 200 and head.content == b"", params
        for name in ("Content-Type", "ETag", "Cache-Control"):
            assert head[name] == get[name], (params, name)


def test_a_private_feed_autocompletes_only_what_the_reader_may_read(settings, client, alice, dana):
    """On a private feed, a package the reader's key may not read is neither an id nor has
    versions, as an unknown id."""
    from tests.conformance.conftest import Feed, basic
    from tests.factories import make_key

    settings.GALLEY_FEED_READ = "authenticated"
    pushed(client, make_key(alice)[1], "Storage.Mine")
    pushed(client, make_key(dana)[1], "Storage.Danas")
    reader = Feed("private", basic("alice", make_key(alice, scopes=["package:read"])[1]))
    assert complete(reader, q="storage") == {"totalHits": 1, "data": ["Storage.Mine"]}
    assert complete(reader, id="storage.danas")["data"] == []
