"""The NuGet V3 read protocol on a public feed: packages pushed through the real
publish API, read back through the service index's resources."""

import io
import zipfile

import pytest
from django.core.cache import cache
from django.core.management import call_command

from packages import downloads, lifecycle
from packages.models import PackageVersion
from packages.nupkg import read_package
from packages.search import queries
from packages.storage import package_storage
from tests.factories import make_key
from tests.helpers import push, unlist
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db

RICH_NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata minClientVersion="4.3.0">
    <id>{id}</id>
    <version>{version}</version>
    <title>Acme Widgets</title>
    <authors>Alice, Bob</authors>
    <requireLicenseAcceptance>true</requireLicenseAcceptance>
    <license type="expression">MIT</license>
    <licenseUrl>https://licenses.nuget.org/MIT</licenseUrl>
    <projectUrl>https://example.com/widgets</projectUrl>
    <iconUrl>https://example.com/icon.png</iconUrl>
    <description>Spinning gizmos for every dashboard.</description>
    <summary>Gizmos.</summary>
    <tags>widgets ui  charts</tags>
    <packageTypes><packageType name="Dependency" /></packageTypes>
    <dependencies>
      <group targetFramework="net8.0">
        <dependency id="Newtonsoft.Json" version="13.0" />
        <dependency id="Acme.Core" version="[1.0,2.0)" />
      </group>
      <group targetFramework="netstandard2.0" />
    </dependencies>
  </metadata>
</package>
"""


@pytest.fixture(autouse=True)
def _a_fresh_feed_in_a_folder_of_the_tests_own(fresh_feed):
    pass


@pytest.fixture
def secret(alice):
    return make_key(alice, scopes=["package:push", "package:unlist"], glob_patterns=["*"])[1]


def pushed(client, secret, package_id="Contoso.Core", version="1.0.0", nuspec=None, **extra):
    data = nupkg(package_id, version, nuspec=nuspec, **extra)
    response = push(client, secret, data)
    assert response.status_code == 201, response.content
    return data


def rich(package_id="Acme.Widgets", version="1.0.0"):
    return RICH_NUSPEC.format(id=package_id, version=version)


# ---------------------------------------------------------------- service index


def test_service_index_lists_every_resource_clients_look_for(client):
    response = client.get("/v3/index.json")
    assert response.status_code == 200 and response["ETag"]
    assert response["Cache-Control"] == "public, max-age=3600"
    resources = {r["@type"]: r["@id"] for r in response.json()["resources"]}
    base = "http://testserver"
    assert resources["PackagePublish/2.0.0"] == f"{base}/api/v2/package"
    assert resources["SymbolPackagePublish/4.9.0"] == f"{base}/api/v2/symbolpackage"
    assert resources["PackageBaseAddress/3.0.0"] == f"{base}/v3-flatcontainer/"
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc", "/3.4.0", "/3.6.0"):
        assert resources[f"RegistrationsBaseUrl{suffix}"] == f"{base}/v3/registration/"
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc", "/3.5.0"):
        assert resources[f"SearchQueryService{suffix}"] == f"{base}/query"
        assert resources[f"SearchAutocompleteService{suffix}"] == f"{base}/autocomplete"


def test_json_answers_are_revalidated_with_their_etag(client):
    first = client.get("/v3/index.json")
    again = client.get("/v3/index.json", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again["ETag"] == first["ETag"]


# -------------------------------------------------------------- flat container


def test_versions_index_lists_every_version_lowercase_normalised_in_order(client, secret):
    for version in ("1.0", "1.0.0-Beta", "1.10.0", "2.0.0-rc.1+build.5", "1.2.0"):
        pushed(client, secret, version=version)
    unlist(client, secret, version="1.2.0")
    response = client.get("/v3-flatcontainer/CONTOSO.core/index.json")
    assert response.status_code == 200
    assert response.json() == {"versions": ["1.0.0-beta", "1.0.0", "1.2.0", "1.10.0", "2.0.0-rc.1"]}
    assert response["Cache-Control"] == "public, max-age=60"


def test_unknown_package_is_a_json_404(client):
    response = client.get("/v3-flatcontainer/nobody.here/index.json")
    assert response.status_code == 404
    assert "does not exist" in response.json()["error"]


def test_downloaded_package_equals_the_pushed_one_byte_for_byte(client, secret):
    data = pushed(client, secret)
    response = client.get("/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg")
    assert response.status_code == 200
    assert response.streaming  # handed to the server as a file, never read whole
    assert b"".join(response.streaming_content) == data
    version = PackageVersion.objects.get()
    assert response["ETag"] == f'"{version.sha512}"'
    assert response["Content-Length"] == str(len(data))
    assert response["Last-Modified"]
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["Accept-Ranges"] == "bytes"


def test_downloaded_nuspec_equals_the_one_inside_the_package(client, secret, package_dir):
    data = pushed(client, secret, "Acme.Widgets", nuspec=rich())
    response = client.get("/v3-flatcontainer/acme.widgets/1.0.0/acme.widgets.nuspec")
    assert response.status_code == 200 and response.streaming
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inside = archive.read("Acme.Widgets.nuspec")
    assert b"".join(response.streaming_content) == inside
    assert (package_dir / "acme.widgets" / "1.0.0.nuspec").read_bytes() == inside


def test_nuspec_of_a_version_pushed_before_nuspecs_were_kept_comes_from_the_package(
    client, secret, package_dir
):
    data = pushed(client, secret)
    (package_dir / "contoso.core" / "1.0.0.nuspec").unlink()
    response = client.get("/v3-flatcontainer/contoso.core/1.0.0/contoso.core.nuspec")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert response.content == archive.read("Contoso.Core.nuspec")


def test_conditional_download_is_not_modified(client, secret):
    pushed(client, secret)
    url = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
    first = client.get(url)
    by_etag = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert by_etag.status_code == 304 and by_etag["ETag"] == first["ETag"]
    by_date = client.get(url, headers={"If-Modified-Since": first["Last-Modified"]})
    assert by_date.status_code == 304
    changed = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200


def test_range_requests_get_the_bytes_asked_for(client, secret):
    data = pushed(client, secret)
    url = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
    middle = client.get(url, headers={"Range": "bytes=10-19"})
    assert middle.status_code == 206
    assert b"".join(middle.streaming_content) == data[10:20]
    assert middle["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert middle["Content-Length"] == "10"
    tail = client.get(url, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == data[-5:]
    rest = client.get(url, headers={"Range": f"bytes={len(data) - 3}-"})
    assert b"".join(rest.streaming_content) == data[-3:]
    beyond = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(data)}"
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and b"".join(stale.streaming_content) == data


def test_bad_versions_are_400_and_unknown_ones_404(client, secret):
    pushed(client, secret)
    bad = client.get("/v3-flatcontainer/contoso.core/1..0/contoso.core.1..0.nupkg")
    assert bad.status_code == 400 and "not a valid NuGet version" in bad.json()["error"]
    missing = client.get("/v3-flatcontainer/contoso.core/9.0.0/contoso.core.9.0.0.nupkg")
    assert missing.status_code == 404 and missing.json()["error"]
    other_name = client.get("/v3-flatcontainer/contoso.core/1.0.0/other.1.0.0.nupkg")
    assert other_name.status_code == 404
    assert client.get("/v3/registration/contoso.core/1..0.json").status_code == 400
    assert client.get("/v3/registration/contoso.core/9.0.0.json").status_code == 404
    assert client.post("/v3-flatcontainer/contoso.core/index.json").status_code == 405


def test_unlisted_version_stays_restorable_by_exact_version(client, secret):
    data = pushed(client, secret)
    unlist(client, secret)
    response = client.get("/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg")
    assert b"".join(response.streaming_content) == data
    leaf = client.get("/v3/registration/contoso.core/1.0.0.json").json()
    assert leaf["listed"] is False and leaf["published"].startswith("1900-01-01")


# ---------------------------------------------------------------- registration


def test_registration_index_carries_what_clients_read(client, secret):
    pushed(client, secret, "Acme.Widgets", nuspec=rich())
    pushed(client, secret, "Acme.Widgets", "2.0.0-beta", nuspec=rich(version="2.0.0-beta"))
    unlist(client, secret, "Acme.Widgets", "2.0.0-beta")
    response = client.get("/v3/registration/acme.widgets/index.json")
    assert response.status_code == 200 and response["ETag"]
    index = response.json()
    base = "http://testserver/v3/registration/acme.widgets"
    assert index["@id"] == f"{base}/index.json" and index["count"] == 1
    (page,) = index["items"]
    assert (page["lower"], page["upper"], page["count"]) == ("1.0.0", "2.0.0-beta", 2)
    assert page["parent"] == f"{base}/index.json"
    first, second = page["items"]
    assert first["@id"] == f"{base}/1.0.0.json"
    content = "http://testserver/v3-flatcontainer/acme.widgets/1.0.0/acme.widgets.1.0.0.nupkg"
    assert first["packageContent"] == content
    entry = first["catalogEntry"]
    assert entry["id"] == "Acme.Widgets" and entry["version"] == "1.0.0"
    assert entry["listed"] is True and not entry["published"].startswith("1900")
    assert entry["title"] == "Acme Widgets" and entry["summary"] == "Gizmos."
    assert entry["authors"] == "Alice, Bob"
    assert entry["description"] == "Spinning gizmos for every dashboard."
    assert entry["licenseExpression"] == "MIT"
    assert entry["licenseUrl"] == "https://licenses.nuget.org/MIT"
    assert entry["projectUrl"] == "https://example.com/widgets"
    assert entry["iconUrl"] == "https://example.com/icon.png"
    assert entry["tags"] == ["widgets", "ui", "charts"]
    assert entry["requireLicenseAcceptance"] is True
    assert entry["minClientVersion"] == "4.3.0"
    assert entry["packageContent"] == content
    net8, netstandard = entry["dependencyGroups"]
    assert net8["targetFramework"] == "net8.0"
    assert [(d["id"], d["range"]) for d in net8["dependencies"]] == [
        ("Newtonsoft.Json", "[13.0.0, )"),
        ("Acme.Core", "[1.0.0, 2.0.0)"),
    ]
    assert net8["dependencies"][0]["registration"] == (
        "http://testserver/v3/registration/newtonsoft.json/index.json"
    )
    assert netstandard == {
        "@type": "PackageDependencyGroup",
        "targetFramework": "netstandard2.0",
        "dependencies": [],
    }
    assert second["catalogEntry"]["listed"] is False
    assert second["catalogEntry"]["published"] == "1900-01-01T00:00:00+00:00"


def test_indexes_change_with_every_push_unlist_and_relist(client, secret):
    """The memoised indexes (feed.memoised_json) never outlive a change."""
    pushed(client, secret, version="1.0.0")
    pushed(client, secret, version="2.0.0")

    def listed():
        index = client.get("/v3/registration/contoso.core/index.json").json()
        return [
            (i["catalogEntry"]["version"], i["catalogEntry"]["listed"])
            for i in index["items"][0]["items"]
        ]

    assert listed() == [("1.0.0", True), ("2.0.0", True)]
    unlist(client, secret, version="1.0.0")
    assert listed() == [("1.0.0", False), ("2.0.0", True)]
    # Relist one and unlist the other: as many listed as before.
    unlist(client, secret, version="1.0.0", method="post")
    unlist(client, secret, version="2.0.0")
    assert listed() == [("1.0.0", True), ("2.0.0", False)]
    pushed(client, secret, version="3.0.0")
    assert [v for v, _listed in listed()] == ["1.0.0", "2.0.0", "3.0.0"]
    versions = client.get("/v3-flatcontainer/contoso.core/index.json").json()["versions"]
    assert versions == ["1.0.0", "2.0.0", "3.0.0"]


def test_registration_leaf(client, secret):
    pushed(client, secret)
    leaf = client.get("/v3/registration/Contoso.Core/1.0.json").json()
    base = "http://testserver/v3/registration/contoso.core"
    assert leaf["@id"] == f"{base}/1.0.0.json"
    assert leaf["registration"] == f"{base}/index.json"
    assert leaf["listed"] is True
    assert leaf["packageContent"].endswith("/contoso.core/1.0.0/contoso.core.1.0.0.nupkg")


def test_registration_pages_past_128_versions(client, secret):
    for patch in range(129):
        pushed(client, secret, version=f"1.0.{patch}")
    index = client.get("/v3/registration/contoso.core/index.json").json()
    assert index["count"] == 3
    assert [(p["lower"], p["upper"], p["count"]) for p in index["items"]] == [
        ("1.0.0", "1.0.63", 64),
        ("1.0.64", "1.0.127", 64),
        ("1.0.128", "1.0.128", 1),
    ]
    assert all("items" not in page for page in index["items"])
    url = index["items"][1]["@id"]
    assert url == "http://testserver/v3/registration/contoso.core/page/1.0.64/1.0.127.json"
    page = client.get(url).json()
    assert page["count"] == 64 and len(page["items"]) == 64
    assert page["items"][0]["catalogEntry"]["version"] == "1.0.64"
    assert page["parent"] == "http://testserver/v3/registration/contoso.core/index.json"
    missing = client.get("/v3/registration/contoso.core/page/1.0.1/1.0.2.json")
    assert missing.status_code == 404
    inline = client.get("/v3/registration/contoso.core/index.json")
    assert len(inline.content) > 0


def test_128_versions_stay_inline(client, secret):
    for patch in range(128):
        pushed(client, secret, version=f"1.0.{patch}")
    index = client.get("/v3/registration/contoso.core/index.json").json()
    assert index["count"] == 1 and len(index["items"][0]["items"]) == 128


@pytest.mark.parametrize("versions", [2, 12])
def test_queries_do_not_grow_with_the_number_of_versions(
    client, secret, versions, django_assert_num_queries
):
    for patch in range(versions):
        pushed(client, secret, version=f"1.0.{patch}")
    # Indexes: what the package's versions are now (one aggregate: count, newest,
    # listed), then, the first time only, the versions with their registration
    # (and for the registration index, the package's security advisories).
    # A public feed makes no reader checks.
    for url, first_build in (
        ("/v3/registration/contoso.core/index.json", 3),
        ("/v3-flatcontainer/contoso.core/index.json", 2),
    ):
        with django_assert_num_queries(first_build):
            first = client.get(url)
        with django_assert_num_queries(1):
            again = client.get(url)
        assert first.status_code == again.status_code == 200
        assert first.content == again.content
    # A leaf: the registration with its revision, then, the first time only, the
    # version; the memo's Document afterwards.
    with django_assert_num_queries(2):
        assert client.get("/v3/registration/contoso.core/1.0.1.json").status_code == 200
    with django_assert_num_queries(1):
        assert client.get("/v3/registration/contoso.core/1.0.1.json").status_code == 200
    # The version with its registration; then the download is counted: one
    # upsert of its pending count (packages/downloads.py). With Redis, as in
    # production, the download touches the database once.
    with django_assert_num_queries(1 + 1):
        client.get("/v3-flatcontainer/contoso.core/1.0.1/contoso.core.1.0.1.nupkg")
    # Search: the page of packages (one search row each), their versions, their
    # owners, the owners' reserved prefixes, their security advisories; no count,
    # as the page is the last (tests/packages/test_search.py).
    with django_assert_num_queries(5):
        assert client.get("/query?q=contoso").json()["totalHits"] == 1


# ----------------------------------------------------------------------- search


def _ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


def test_search_answers_as_nuget_org(client, secret):
    pushed(client, secret, "Acme.Widgets", nuspec=rich())
    pushed(client, secret, "Acme.Widgets", "1.1.0", nuspec=rich(version="1.1.0"))
    response = client.get("/query?q=widgets")
    assert response["Cache-Control"] == "public, max-age=30" and response["ETag"]
    body = response.json()
    assert body["totalHits"] == 1
    (item,) = body["data"]
    assert item["id"] == "Acme.Widgets" and item["version"] == "1.1.0"
    assert item["registration"] == "http://testserver/v3/registration/acme.widgets/index.json"
    assert item["title"] == "Acme Widgets" and item["description"].startswith("Spinning")
    assert item["authors"] == ["Alice", "Bob"] and item["owners"] == ["alice"]
    assert item["tags"] == ["widgets", "ui", "charts"]
    assert item["packageTypes"] == [{"name": "Dependency"}]
    assert item["verified"] is False and item["totalDownloads"] == 0
    assert item["versions"] == [
        {
            "version": "1.0.0",
            "downloads": 0,
            "@id": "http://testserver/v3/registration/acme.widgets/1.0.0.json",
        },
        {
            "version": "1.1.0",
            "downloads": 0,
            "@id": "http://testserver/v3/registration/acme.widgets/1.1.0.json",
        },
    ]


def test_search_is_case_insensitive_over_id_title_tags_and_description(client, secret):
    pushed(client, secret, "Acme.Widgets", nuspec=rich())
    pushed(client, secret, "Contoso.Core")
    assert _ids(client.get("/query?q=ACME")) == ["Acme.Widgets"]
    assert _ids(client.get("/query?q=Widgets")) == ["Acme.Widgets"]  # title and id
    assert _ids(client.get("/query?q=CHARTS")) == ["Acme.Widgets"]  # tags
    assert _ids(client.get("/query?q=dashboard")) == ["Acme.Widgets"]  # description
    assert _ids(client.get("/query?q=gizmos+dashboard")) == ["Acme.Widgets"]
    assert _ids(client.get("/query?q=gizmos+nowhere")) == []
    assert _ids(client.get("/query")) == ["Acme.Widgets", "Contoso.Core"]


def test_search_puts_the_exact_id_first_then_id_prefixes(client, secret):
    # Pushed so that neither name order nor push order gives the expected ranking.
    pushed(client, secret, "Another.Json.Tool")
    pushed(client, secret, "Json.Extras")
    pushed(client, secret, "Json")
    data = nupkg("Aardvark", "1.0.0", nuspec=rich("Aardvark").replace("widgets ui", "json"))
    assert push(client, secret, data).status_code == 201
    assert _ids(client.get("/query?q=json")) == [
        "Json",
        "Json.Extras",
        "Another.Json.Tool",
        "Aardvark",
    ]


def test_unlisted_versions_never_appear_in_search(client, secret):
    pushed(client, secret, "Contoso.Core", "1.0.0")
    pushed(client, secret, "Contoso.Core", "2.0.0")
    pushed(client, secret, "Contoso.Hidden", "1.0.0")
    unlist(client, secret, "Contoso.Core", "2.0.0")
    unlist(client, secret, "Contoso.Hidden", "1.0.0")
    (item,) = client.get("/query?q=contoso").json()["data"]
    assert item["id"] == "Contoso.Core" and item["version"] == "1.0.0"
    assert [v["version"] for v in item["versions"]] == ["1.0.0"]
    assert client.get("/autocomplete?q=contoso").json()["data"] == ["Contoso.Core"]
    assert client.get("/autocomplete?id=contoso.core").json()["data"] == ["1.0.0"]


def test_prerelease_and_semver2_versions_only_when_asked(client, secret):
    pushed(client, secret, "Contoso.Core", "1.0.0")
    pushed(client, secret, "Contoso.Core", "1.1.0-beta")
    pushed(client, secret, "Contoso.Core", "1.2.0-beta.1")
    pushed(client, secret, "Contoso.Next", "1.0.0+build.7")

    def versions(query):
        return {
            item["id"]: [v["version"] for v in item["versions"]]
            for item in client.get(f"/query?q=contoso{query}").json()["data"]
        }

    assert versions("") == {"Contoso.Core": ["1.0.0"]}
    assert versions("&prerelease=true") == {"Contoso.Core": ["1.0.0", "1.1.0-beta"]}
    assert versions("&prerelease=true&semVerLevel=2.0.0") == {
        "Contoso.Core": ["1.0.0", "1.1.0-beta", "1.2.0-beta.1"],
        # "The full SemVer 2.0.0 version string … (could contain build metadata)"
        "Contoso.Next": ["1.0.0+build.7"],
    }
    assert client.get("/autocomplete?id=contoso.core&prerelease=true").json()["data"] == [
        "1.0.0",
        "1.1.0-beta",
    ]


def test_semver2_is_recognised_in_versions_and_dependency_ranges(client, secret):
    pushed(client, secret, "Plain", "1.0.0-beta")
    pushed(client, secret, "Dotted", "1.0.0-beta.1")
    pushed(client, secret, "Built", "1.0.0+sha.abc")
    ranged = rich("Ranged").replace('version="13.0"', 'version="[1.0.0-alpha.1, )"')
    pushed(client, secret, "Ranged", nuspec=ranged)
    flags = dict(PackageVersion.objects.values_list("registration__package_id", "is_semver2"))
    assert flags == {"Plain": False, "Dotted": True, "Built": True, "Ranged": True}


def test_package_type_filter(client, secret):
    tool = rich("Acme.Tool").replace('name="Dependency"', 'name="DotnetTool"')
    pushed(client, secret, "Acme.Tool", nuspec=tool)
    pushed(client, secret, "Acme.Lib")  # no package types: a Dependency
    assert _ids(client.get("/query?q=acme&packageType=dotnettool")) == ["Acme.Tool"]
    assert _ids(client.get("/query?q=acme&packageType=Dependency")) == ["Acme.Lib"]
    tool_types = client.get("/query?q=acme.tool").json()["data"][0]["packageTypes"]
    assert tool_types == [{"name": "DotnetTool"}]


def test_skip_and_take_are_capped_and_long_queries_refused(client, secret):
    for n in range(3):
        pushed(client, secret, f"Pkg{n}")
    assert _ids(client.get("/query?take=2")) == ["Pkg0", "Pkg1"]
    assert _ids(client.get("/query?skip=2&take=5")) == ["Pkg2"]
    assert queries.SearchParameters.from_query({"take": "100000"}).take == queries.MAX_TAKE
    assert queries.SearchParameters.from_query({"skip": "999999"}).skip == queries.MAX_SKIP
    assert queries.SearchParameters.from_query({"take": "x", "skip": "-4"}).take == 20
    assert _ids(client.get("/query?take=abc&skip=-1")) == ["Pkg0", "Pkg1", "Pkg2"]
    long = client.get("/query", {"q": "a" * 257})
    assert long.status_code == 400 and "longer than 256" in long.json()["error"]
    assert client.get("/autocomplete", {"q": "a" * 257}).status_code == 400
    assert client.get("/query", {"q": "a" * 256}).status_code == 200
    # A digit str.isdigit() accepts but int() does not: a default, not a 500.
    assert client.get("/query", {"semVerLevel": "\u00b2.0.0"}).status_code == 200


def test_autocomplete_lists_ids_ranked_like_search(client, secret):
    pushed(client, secret, "Another.Json.Tool")
    pushed(client, secret, "Json.Extras")
    pushed(client, secret, "Json")
    body = client.get("/autocomplete?q=json").json()
    assert body == {"totalHits": 3, "data": ["Json", "Json.Extras", "Another.Json.Tool"]}
    assert client.get("/autocomplete?id=nobody").json() == {"totalHits": 0, "data": []}


# -------------------------------------------------------------------- downloads


def test_downloads_are_counted_aside_and_flushed_once(client, secret):
    pushed(client, secret)
    url = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
    for _ in range(3):
        b"".join(client.get(url).streaming_content)
    client.head(url)  # not a download
    client.get(url, headers={"Range": "bytes=5-9"})  # a resumed download: not counted
    version = PackageVersion.objects.get()
    assert version.download_count == 0  # no database write per download
    assert downloads.pending_downloads([version]) == {version.pk: 3}
    call_command("flush_download_counts")
    version.refresh_from_db()
    assert version.download_count == 3 and downloads.pending_downloads([version]) == {}
    call_command("flush_download_counts")  # idempotent
    version.refresh_from_db()
    assert version.download_count == 3
    item = client.get("/query?q=contoso").json()["data"][0]
    assert item["totalDownloads"] == 3 and item["versions"][0]["downloads"] == 3


def test_only_one_flush_runs_at_a_time(client, secret):
    pushed(client, secret)
    downloads.count_download(PackageVersion.objects.get())
    cache.add("galley:downloads:flush-lock", 1)  # another instance is flushing
    assert downloads.flush_download_counts() is None
    assert PackageVersion.objects.get().download_count == 0
    cache.delete("galley:downloads:flush-lock")
    assert downloads.flush_download_counts() == 1


# --------------------------------------------------------------------- manifest


def test_pushed_manifest_fields_are_stored(client, secret):
    pushed(client, secret, "Acme.Widgets", "2.0.0-rc.1", nuspec=rich(version="2.0.0-rc.1"))
    version = PackageVersion.objects.get()
    assert version.is_prerelease and version.is_semver2
    assert version.tags == "widgets ui charts" and version.title == "Acme Widgets"
    assert version.license_expression == "MIT" and version.require_license_acceptance
    assert version.package_types == " Dependency "
    with package_storage().open(lifecycle.manifest_name(version)) as stored:
        assert stored.read() == read_package(io.BytesIO(nupkg(nuspec=rich()))).nuspec.replace(
            b"1.0.0", b"2.0.0-rc.1"
        )


def test_flat_dependencies_apply_to_every_framework():
    nuspec = rich().replace(
        """<group targetFramework="net8.0">
        <dependency id="Newtonsoft.Json" version="13.0" />
        <dependency id="Acme.Core" version="[1.0,2.0)" />
      </group>
      <group targetFramework="netstandard2.0" />""",
        '<dependency id="Acme.Core" version="1.0" /><dependency id="Acme.Any" />',
    )
    manifest = read_package(io.BytesIO(nupkg(nuspec=nuspec)))
    (group,) = manifest.dependency_groups
    assert group.target_framework == ""
    assert group.dependencies == (("Acme.Core", "[1.0.0, )"), ("Acme.Any", "(, )"))
