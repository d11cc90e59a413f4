"""docs/api/search-query-service-resource.md: SearchQueryService, searching packages."""

import pytest

from packages.models import ReservedPrefix
from tests.conformance.conftest import BASE, pushed, typed
from tests.helpers import unlist

pytestmark = pytest.mark.django_db


def search(feed, **params):
    response = feed.get("/query", params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(feed, **params) -> list[str]:
    return [result["id"] for result in search(feed, **params)["data"]]


@pytest.fixture
def versioning(client, publisher):
    """The docs' sample: NuGet.Versioning, stable and pre-release versions."""
    for version in ("3.5.0", "4.0.0-rc", "4.3.0"):
        pushed(
            client,
            publisher,
            "NuGet.Versioning",
            version,
            nuspec=typed(
                "NuGet.Versioning", version, description="NuGet's implementation of versioning."
            ),
        )


# ------------------------------------------------------------------------- response


def test_search_sample_request_answers_total_hits_and_data(feed, versioning):
    """ "GET {@id}?q={QUERY}&skip={SKIP}&take={TAKE}&prerelease={PRERELEASE}&semVerLevel=…";
    the root object has `totalHits` (integer) and `data` (array). (sample:
    q=NuGet.Versioning&prerelease=false&semVerLevel=2.0.0)"""
    response = feed.get(
        "/query", {"q": "NuGet.Versioning", "prerelease": "false", "semVerLevel": "2.0.0"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["totalHits"], int) and isinstance(body["data"], list)
    assert body["totalHits"] == 1 and body["data"][0]["id"] == "NuGet.Versioning"


def test_search_result_has_every_documented_field_with_its_type(feed, versioning):
    """Search result: `id`, `version` (strings, required), `description`, `authors`,
    `iconUrl`, `licenseUrl`, `owners`, `projectUrl`, `registration`, `summary`, `tags`,
    `title`, `totalDownloads` (integer), `verified` (boolean), `versions` (array,
    required), `packageTypes` (array, required)."""
    (result,) = search(feed, q="NuGet.Versioning")["data"]
    for name in ("id", "version", "description", "iconUrl", "licenseUrl", "projectUrl"):
        assert isinstance(result[name], str), name
    for name in ("registration", "summary", "title"):
        assert isinstance(result[name], str), name
    for name in ("authors", "owners", "tags"):
        value = result[name]
        assert isinstance(value, str) or all(isinstance(v, str) for v in value), name
    assert isinstance(result["totalDownloads"], int)
    assert isinstance(result["verified"], bool)
    assert isinstance(result["versions"], list) and isinstance(result["packageTypes"], list)


def test_search_result_metadata_is_the_latest_versions(feed, versioning):
    """ "The metadata contained in the search result object is taken from the latest package
    version"; `owners`: "A string represents a single owner's username"."""
    (result,) = search(feed, q="NuGet.Versioning")["data"]
    assert result["version"] == "4.3.0"
    assert result["description"] == "NuGet's implementation of versioning."
    assert result["summary"] == "Summary of NuGet.Versioning."
    assert result["authors"] == ["Microsoft", ".NET Foundation"]
    assert result["owners"] == ["alice"]
    assert result["iconUrl"] == "https://example.com/icon.png"


def test_search_result_registration_is_the_absolute_registration_index(feed, versioning):
    """`registration`: "The absolute URL to the associated registration index"."""
    (result,) = search(feed, q="NuGet.Versioning")["data"]
    assert result["registration"] == f"{BASE}/v3/registration/nuget.versioning/index.json"
    assert feed.get(result["registration"].removeprefix(BASE)).status_code == 200


def test_search_versions_have_id_version_and_downloads(feed, versioning):
    """Each item of `versions`: `@id` ("The absolute URL to the associated registration
    leaf"), `version` (string), `downloads` (integer); "All of the versions of the package
    matching the `prerelease` parameter"."""
    (result,) = search(feed, q="NuGet.Versioning")["data"]
    assert [v["version"] for v in result["versions"]] == ["3.5.0", "4.3.0"]
    for item in result["versions"]:
        assert isinstance(item["downloads"], int)
        assert item["@id"] == f"{BASE}/v3/registration/nuget.versioning/{item['version']}.json"
        assert feed.get(item["@id"].removeprefix(BASE)).status_code == 200
    (with_prerelease,) = search(feed, q="NuGet.Versioning", prerelease="true")["data"]
    assert [v["version"] for v in with_prerelease["versions"]] == ["3.5.0", "4.0.0-rc", "4.3.0"]


def test_total_downloads_is_the_sum_of_the_versions_downloads(feed, versioning):
    """`totalDownloads`: "This value can be inferred by the sum of downloads in the
    `versions` array" (downloads counted, then flushed)."""
    from packages import downloads as feed_module

    for version in ("3.5.0", "4.3.0", "4.3.0"):
        feed.get(f"/v3-flatcontainer/nuget.versioning/{version}/nuget.versioning.{version}.nupkg")
    feed_module.flush_download_counts()
    (result,) = search(feed, q="NuGet.Versioning")["data"]
    assert [v["downloads"] for v in result["versions"]] == [1, 2]
    assert result["totalDownloads"] == 3


def test_search_version_is_the_full_version_with_build_metadata(feed, client, publisher):
    """`version`: "The full SemVer 2.0.0 version string of the package (could contain build
    metadata)", in the result and in its `versions`."""
    pushed(client, publisher, "Contoso.Meta", "1.0+git.abc")
    (result,) = search(feed, q="contoso.meta", semVerLevel="2.0.0")["data"]
    assert result["version"] == "1.0.0+git.abc"
    assert result["versions"][0]["version"] == "1.0.0+git.abc"


def test_package_types_always_has_at_least_one_item(feed, client, publisher):
    """ "The `packageTypes` array will always consist of at least one (1) item"; each item
    has `name` (string, required)."""
    pushed(client, publisher, "Contoso.Untyped")  # no <packageTypes>: a Dependency
    pushed(
        client, publisher, "Contoso.Tool", nuspec=typed("Contoso.Tool", package_type="DotnetTool")
    )
    by_id = {r["id"]: r["packageTypes"] for r in search(feed, q="contoso")["data"]}
    assert by_id == {
        "Contoso.Untyped": [{"name": "Dependency"}],
        "Contoso.Tool": [{"name": "DotnetTool"}],
    }


def test_verified_is_true_under_a_prefix_reserved_for_an_owner(
    feed, client, publisher, alice, dana
):
    """`verified`: "a verified package is one which has a package ID matching a reserved ID
    prefix and owned by one of the reserved prefix's owners"."""
    pushed(client, publisher, "Contoso.Core")
    pushed(client, publisher, "Fabrikam.Core")
    pushed(client, publisher, "Other.Core")
    ReservedPrefix.objects.create(prefix="Contoso.*", owner=alice)
    ReservedPrefix.objects.create(prefix="Fabrikam.*", owner=dana)  # not an owner of it
    verified = {r["id"]: r["verified"] for r in search(feed, q="core")["data"]}
    assert verified == {"Contoso.Core": True, "Fabrikam.Core": False, "Other.Core": False}


def test_results_are_grouped_by_package_id(feed, client, publisher):
    """ "Search results are grouped by package ID": one result per package, however many
    versions match."""
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        pushed(client, publisher, "Contoso.Core", version)
    assert ids(feed, q="contoso") == ["Contoso.Core"]


# ---------------------------------------------------------------------- parameters


def test_q_matches_ids_titles_descriptions_and_tags(feed, client, publisher):
    """ "The general expectation is that the search query is used for matching package IDs,
    titles, descriptions, and tags.\""""
    pushed(client, publisher, "Alpha.Widgets")
    pushed(client, publisher, "Beta", nuspec=typed("Beta", title="Gadget widgets"))
    pushed(client, publisher, "Gamma", nuspec=typed("Gamma", description="Spins widgets."))
    pushed(client, publisher, "Delta", nuspec=typed("Delta", tags="ui widgets"))
    pushed(client, publisher, "Epsilon")
    assert sorted(ids(feed, q="widgets")) == ["Alpha.Widgets", "Beta", "Delta", "Gamma"]


def test_without_q_every_package_is_returned(feed, client, publisher):
    """ "If no `q` is provided, all packages should be returned, within the boundaries imposed
    by skip and take. This enables the "Browse" tab.\""""
    for package_id in ("A.One", "B.Two", "C.Three"):
        pushed(client, publisher, package_id)
    body = search(feed)
    assert body["totalHits"] == 3 and sorted(r["id"] for r in body["data"]) == [
        "A.One",
        "B.Two",
        "C.Three",
    ]


def test_skip_defaults_to_0_and_skip_take_paginate(feed, client, publisher):
    """ "The `skip` parameter defaults to 0"; `take`: "The number of results to return, for
    pagination"; `totalHits`: "The total number of matches, disregarding `skip` and
    `take`"."""
    for n in range(5):
        pushed(client, publisher, f"Contoso.P{n}")
    everything = ids(feed, q="contoso")
    assert len(everything) == 5
    page = search(feed, q="contoso", skip=1, take=2)
    assert [r["id"] for r in page["data"]] == everything[1:3]
    assert page["totalHits"] == 5
    assert ids(feed, q="contoso", take=2) == everything[:2]


def test_take_has_a_server_maximum(feed, client, publisher):
    """ "The server implementation may impose a maximum value" on take (nuget.org: 1,000;
    Galley: 100) and skip (nuget.org and Galley: 3,000): larger values are held to it, not
    refused."""
    pushed(client, publisher, "Contoso.Core")
    assert ids(feed, q="contoso", take=100000) == ["Contoso.Core"]
    assert search(feed, q="contoso", skip=999999)["data"] == []


def test_unreadable_numbers_fall_back_to_the_defaults(feed, client, publisher):
    """Bad input gets a clear answer and never a 500: skip and take that are not integers
    are read as their defaults, as nuget.org does."""
    pushed(client, publisher, "Contoso.Core")
    assert ids(feed, q="contoso", skip="x", take="-") == ["Contoso.Core"]


def test_prerelease_versions_are_excluded_unless_asked_for(feed, client, publisher):
    """ "If `prerelease` is not provided, pre-release packages are excluded"; `true` or
    `false` decides."""
    pushed(client, publisher, "Contoso.Core", "1.0.0")
    pushed(client, publisher, "Contoso.Next", "1.0.0-beta")
    assert ids(feed, q="contoso") == ["Contoso.Core"]
    assert ids(feed, q="contoso", prerelease="false") == ["Contoso.Core"]
    assert sorted(ids(feed, q="contoso", prerelease="true")) == ["Contoso.Core", "Contoso.Next"]


def test_semver2_packages_only_with_sem_ver_level_2(feed, client, publisher):
    """ "If this query parameter is excluded, only packages with SemVer 1.0.0 compatible
    versions will be returned"; "If `semVerLevel=2.0.0` is provided, both SemVer 1.0.0 and
    SemVer 2.0.0 compatible packages will be returned.\""""
    pushed(client, publisher, "Contoso.Core", "1.0.0")
    pushed(client, publisher, "Contoso.Dotted", "1.0.0-beta.1")
    pushed(client, publisher, "Contoso.Meta", "1.0.0+build.1")
    assert ids(feed, q="contoso", prerelease="true") == ["Contoso.Core"]
    assert sorted(ids(feed, q="contoso", prerelease="true", semVerLevel="2.0.0")) == [
        "Contoso.Core",
        "Contoso.Dotted",
        "Contoso.Meta",
    ]
    assert ids(feed, q="contoso", prerelease="true", semVerLevel="1.0.0") == ["Contoso.Core"]


def test_package_type_filters_by_the_latest_versions_types(feed, client, publisher):
    """`packageType`: "filter the search results to only packages that have at least one
    package type matching the package type name" (SearchQueryService/3.5.0)."""
    pushed(client, publisher, "Contoso.Lib")
    pushed(
        client, publisher, "Contoso.Tool", nuspec=typed("Contoso.Tool", package_type="DotnetTool")
    )
    assert ids(feed, q="contoso", packageType="DotnetTool") == ["Contoso.Tool"]
    assert ids(feed, q="contoso", packageType="Dependency") == ["Contoso.Lib"]


def test_an_unknown_package_type_returns_an_empty_result(feed, client, publisher):
    """ "If the provided package type is not a valid package type …, an empty result will
    returned.\""""
    pushed(client, publisher, "Contoso.Lib")
    assert search(feed, q="contoso", packageType="NoSuchType") == {"totalHits": 0, "data": []}


def test_an_empty_package_type_applies_no_filter(feed, client, publisher):
    """ "If the provided package type is empty, no filter will be applied.\""""
    pushed(client, publisher, "Contoso.Lib")
    pushed(
        client, publisher, "Contoso.Tool", nuspec=typed("Contoso.Tool", package_type="DotnetTool")
    )
    assert sorted(ids(feed, q="contoso", packageType="")) == ["Contoso.Lib", "Contoso.Tool"]


def test_an_unlisted_package_never_appears(feed, client, publisher):
    """ "An unlisted package should never appear in search results.\""""
    pushed(client, publisher, "Contoso.Core", "1.0.0")
    pushed(client, publisher, "Contoso.Gone", "1.0.0")
    unlist(client, publisher, "Contoso.Gone", "1.0.0")
    pushed(client, publisher, "Contoso.Core", "2.0.0")
    unlist(client, publisher, "Contoso.Core", "2.0.0")
    (result,) = search(feed, q="contoso")["data"]
    assert result["id"] == "Contoso.Core" and result["version"] == "1.0.0"
    assert [v["version"] for v in result["versions"]] == ["1.0.0"]


def test_search_answers_head_with_the_headers_of_get(feed, versioning):
    """ "All URLs found in the registration resource support the HTTP methods `GET` and
    `HEAD`" (the search document repeats the sentence)."""
    get, head = feed.get("/query", {"q": "nuget"}), feed.head("/query", {"q": "nuget"})
    assert head.status_code == 200 and head.content == b""
    for name in ("Content-Type", "ETag", "Cache-Control"):
        assert head[name] == get[name], name


def test_a_query_too_long_is_a_clear_400(feed):
    """overview.md: "400 | The parameters in the URL or in the request body aren't valid\""""
    response = feed.get("/query", {"q": "x" * 300})
    assert response.status_code == 400 and "256" in response.json()["error"]


def test_a_private_feed_searches_only_what_the_reader_may_read(settings, client, alice, dana):
    """On a private feed, a package the reader's key may not read is not found, as an
    unknown id."""
    from tests.conformance.conftest import Feed, basic
    from tests.factories import make_key

    settings.GALLEY_FEED_READ = "authenticated"
    pushed(client, make_key(alice)[1], "Contoso.Mine")
    pushed(client, make_key(dana)[1], "Contoso.Danas")
    reader = Feed("private", basic("alice", make_key(alice, scopes=["package:read"])[1]))
    assert ids(reader, q="contoso") == ["Contoso.Mine"]
    assert search(reader, q="contoso")["totalHits"] == 1
