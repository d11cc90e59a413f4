"""docs/api/registration-base-url-resource.md: RegistrationsBaseUrl, package metadata."""

import gzip
import re
from datetime import datetime

import pytest

from packages.models import PackageRegistration
from tests.conformance.conftest import BASE, pushed
from tests.helpers import unlist
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db

HIVES = [
    "RegistrationsBaseUrl",
    "RegistrationsBaseUrl/3.0.0-beta",
    "RegistrationsBaseUrl/3.0.0-rc",
    "RegistrationsBaseUrl/3.4.0",
    "RegistrationsBaseUrl/3.6.0",
]
INDEX = "/v3/registration/nuget.server.core/index.json"
# The docs' sample package (nuget.server.core), with what its catalog entry documents.
SAMPLE_NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata minClientVersion="2.12">
    <id>NuGet.Server.Core</id>
    <version>{version}</version>
    <title>NuGet.Server.Core</title>
    <authors>.NET Foundation</authors>
    <requireLicenseAcceptance>false</requireLicenseAcceptance>
    <license type="expression">Apache-2.0</license>
    <licenseUrl>https://licenses.nuget.org/Apache-2.0</licenseUrl>
    <projectUrl>https://github.com/NuGet/NuGet.Server</projectUrl>
    <iconUrl>https://example.com/nuget.png</iconUrl>
    <description>Core library for creating a Web Application used to host a simple NuGet feed</description>
    <summary>A NuGet server.</summary>
    <language>en-US</language>
    <tags>nuget server</tags>
    <dependencies>
      <group targetFramework=".NETFramework4.6">
        <dependency id="NuGet.Core" version="[2.14.0, )" />
      </group>
      <group />
    </dependencies>
  </metadata>
</package>
"""
ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@pytest.fixture
def sample(client, publisher):
    """NuGet.Server.Core 3.0.0-beta and 3.0.0 (the docs' sample index), the first unlisted."""
    for version in ("3.0.0-beta", "3.0.0"):
        pushed(
            client,
            publisher,
            "NuGet.Server.Core",
            version,
            nuspec=SAMPLE_NUSPEC.format(version=version),
        )
    unlist(client, publisher, "NuGet.Server.Core", "3.0.0-beta")


def is_string_or_strings(value) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


# ------------------------------------------------------------------------- the index


def test_registration_index_has_count_and_items(feed, sample):
    """ "GET {@id}/{LOWER_ID}/index.json": the root object has `count` (integer, "The number
    of registration pages in the index") and `items` (array of objects, the pages)."""
    response = feed.get(INDEX)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    index = response.json()
    assert isinstance(index["count"], int) and isinstance(index["items"], list)
    assert index["count"] == len(index["items"]) == 1


def test_registration_page_object_has_the_documented_fields(feed, sample):
    """Registration page object: `@id` (string), `count` (integer), `items` (array),
    `lower` and `upper` ("The lowest/highest SemVer 2.0.0 version in the page
    (inclusive)", normalized), `parent` ("will only appear if the registration page object
    has the `items` property")."""
    (page,) = feed.get(INDEX).json()["items"]
    assert isinstance(page["@id"], str) and page["@id"].startswith(f"{BASE}/v3/registration/")
    assert page["count"] == len(page["items"]) == 2
    assert (page["lower"], page["upper"]) == ("3.0.0-beta", "3.0.0")
    assert page["parent"] == f"{BASE}{INDEX}"


def test_registration_leaf_object_in_a_page_has_id_catalog_entry_and_package_content(feed, sample):
    """Registration leaf object in a page: `@id` (string, "The URL to the registration
    leaf"), `catalogEntry` (object), `packageContent` (string, "The URL to the package
    content (.nupkg)")."""
    beta, stable = feed.get(INDEX).json()["items"][0]["items"]
    assert stable["@id"] == f"{BASE}/v3/registration/nuget.server.core/3.0.0.json"
    assert isinstance(stable["catalogEntry"], dict)
    assert stable["packageContent"] == (
        f"{BASE}/v3-flatcontainer/nuget.server.core/3.0.0/nuget.server.core.3.0.0.nupkg"
    )
    assert feed.get(stable["packageContent"].removeprefix(BASE)).status_code == 200


def test_catalog_entry_has_every_documented_field_with_its_type(feed, sample):
    """Catalog entry: each documented property has its documented type (`authors` and
    `tags` "string or array of strings", `listed` and `requireLicenseAcceptance` booleans,
    `published` "a ISO 8601 timestamp", the rest strings)."""
    entry = feed.get(INDEX).json()["items"][0]["items"][1]["catalogEntry"]
    strings = [
        "@id",
        "description",
        "iconUrl",
        "id",
        "language",
        "licenseUrl",
        "licenseExpression",
        "minClientVersion",
        "packageContent",
        "projectUrl",
        "published",
        "summary",
        "title",
        "version",
    ]
    for name in strings:
        assert isinstance(entry[name], str), name
    assert is_string_or_strings(entry["authors"]) and is_string_or_strings(entry["tags"])
    assert isinstance(entry["listed"], bool)
    assert isinstance(entry["requireLicenseAcceptance"], bool)
    assert isinstance(entry["dependencyGroups"], list)
    assert ISO_8601.fullmatch(entry["published"])
    assert datetime.fromisoformat(entry["published"]).year > 2000


def test_catalog_entry_values_are_the_manifests(feed, sample):
    """The catalog entry carries the package's metadata: `id` ("The ID of the package"),
    `version` ("The full version string after normalization"), and the manifest's fields."""
    entry = feed.get(INDEX).json()["items"][0]["items"][1]["catalogEntry"]
    assert entry["id"] == "NuGet.Server.Core" and entry["version"] == "3.0.0"
    assert entry["title"] == "NuGet.Server.Core" and entry["summary"] == "A NuGet server."
    assert entry["authors"] == ".NET Foundation"
    assert entry["licenseExpression"] == "Apache-2.0"
    assert entry["licenseUrl"] == "https://licenses.nuget.org/Apache-2.0"
    assert entry["projectUrl"] == "https://github.com/NuGet/NuGet.Server"
    assert entry["iconUrl"] == "https://example.com/nuget.png"
    assert entry["tags"] == ["nuget", "server"]
    assert entry["requireLicenseAcceptance"] is False
    assert entry["minClientVersion"] == "2.12"
    assert (
        entry["packageContent"] == feed.get(INDEX).json()["items"][0]["items"][1]["packageContent"]
    )  # "Duplicate of the same property in the parent object"


def test_catalog_entry_version_keeps_build_metadata(feed, client, publisher):
    """ "The package `version` property is the full version string after normalization.
    This means that SemVer 2.0.0 build data can be included here.\""""
    pushed(client, publisher, "Owin", "1.0-rc.1+build.7")
    (leaf,) = feed.get("/v3/registration/owin/index.json").json()["items"][0]["items"]
    assert leaf["catalogEntry"]["version"] == "1.0.0-rc.1+build.7"
    assert leaf["@id"].endswith("/owin/1.0.0-rc.1.json")


def test_unlisted_version_is_listed_false_and_published_in_1900(feed, sample):
    """`listed`: "Should be considered as listed if absent"; "On nuget.org, the `published`
    value is set to year 1900 when the package is unlisted.\""""
    beta = feed.get(INDEX).json()["items"][0]["items"][0]["catalogEntry"]
    assert beta["version"] == "3.0.0-beta" and beta["listed"] is False
    assert beta["published"] == "1900-01-01T00:00:00+00:00"


def test_dependency_groups_and_dependencies_have_the_documented_shape(feed, sample):
    """Package dependency group: `targetFramework` (optional: "If no `targetFramework` is
    specified, the dependency group applies to all target frameworks"), `dependencies`
    (array). Package dependency: `id` (required), `range`, `registration` ("The URL to the
    registration index for this dependency")."""
    entry = feed.get(INDEX).json()["items"][0]["items"][1]["catalogEntry"]
    framework, everything = entry["dependencyGroups"]
    assert framework["targetFramework"] == ".NETFramework4.6"
    (dependency,) = framework["dependencies"]
    assert dependency["id"] == "NuGet.Core"
    assert dependency["range"] == "[2.14.0, )"
    assert dependency["registration"] == f"{BASE}/v3/registration/nuget.core/index.json"
    assert "targetFramework" not in everything and everything["dependencies"] == []


def test_registration_index_of_an_unknown_id_is_404(feed):
    """An id the source does not have: 404 (overview.md: "The requested resource doesn't
    exist"), GET and HEAD."""
    assert feed.get("/v3/registration/nobody.here/index.json").status_code == 404
    assert feed.head("/v3/registration/nobody.here/index.json").status_code == 404


def test_registration_urls_answer_head_with_the_headers_of_get(feed, sample):
    """ "All URLs found in the registration resource support the HTTP methods `GET` and
    `HEAD`": index, leaf."""
    for url in (INDEX, "/v3/registration/nuget.server.core/3.0.0.json"):
        get, head = feed.get(url), feed.head(url)
        assert head.status_code == 200 and head.content == b"", url
        for name in ("Content-Type", "ETag", "Cache-Control"):
            assert head[name] == get[name], (url, name)


# ---------------------------------------------------------------------------- hives


@pytest.mark.parametrize("hive", HIVES)
def test_every_advertised_hive_answers_the_index(feed, sample, hive):
    """Each advertised `RegistrationsBaseUrl` type's `@id` is a base URL under which
    `{@id}/{LOWER_ID}/index.json` answers."""
    base = feed.resources()[hive]
    response = feed.get(f"{base}nuget.server.core/index.json".removeprefix(BASE))
    assert response.status_code == 200
    assert response.json()["items"][0]["upper"] == "3.0.0"


@pytest.mark.parametrize("hive", ["RegistrationsBaseUrl/3.4.0", "RegistrationsBaseUrl/3.6.0"])
def test_gzipped_hives_answer_gzip_to_clients_that_accept_it(feed, sample, hive):
    """ "RegistrationsBaseUrl/3.4.0 | Gzipped responses": "These registrations are compressed
    using `Content-Encoding: gzip`.\""""
    base = feed.resources()[hive].removeprefix(BASE)
    response = feed.get(f"{base}nuget.server.core/index.json", **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert b'"count":1' in gzip.decompress(response.content)
    assert "Accept-Encoding" in response["Vary"]


def test_one_hive_includes_semver2_versions_for_every_type(feed, client, publisher):
    """Deliberate difference: the docs keep SemVer 2.0.0 packages out of
    `RegistrationsBaseUrl` and `/3.4.0` ("SemVer 2.0.0 packages are **excluded** from this
    hive"); Galley serves one hive with every version for every type (clients older than
    NuGet 4.3, which read those hives, cannot restore SemVer 2.0.0 versions anyway)."""
    pushed(client, publisher, "Owin", "1.0.0")
    pushed(client, publisher, "Owin", "2.0.0-beta.1")
    for hive in HIVES:
        base = feed.resources()[hive].removeprefix(BASE)
        page = feed.get(f"{base}owin/index.json").json()["items"][0]
        assert page["upper"] == "2.0.0-beta.1", hive


# ---------------------------------------------------------------------------- pages


@pytest.fixture
def many(alice):
    """129 versions of Contoso.Many (rows only: the registration reads no file)."""
    registration = PackageRegistration.objects.create(package_id="Contoso.Many")
    registration.owners.add(alice)
    for patch in range(129):
        add_version(registration, f"1.0.{patch}")
    return registration


def test_past_128_versions_pages_are_linked_not_inlined(feed, many):
    """ "If the `items` property is not present in the registration page object, the URL
    specified in the `@id` must be used to fetch metadata"; nuget.org breaks the leaves
    into pages of 64 past 128 versions. `parent` only appears with `items`."""
    index = feed.get("/v3/registration/contoso.many/index.json").json()
    assert index["count"] == 3
    assert [(p["lower"], p["upper"], p["count"]) for p in index["items"]] == [
        ("1.0.0", "1.0.63", 64),
        ("1.0.64", "1.0.127", 64),
        ("1.0.128", "1.0.128", 1),
    ]
    for page in index["items"]:
        assert "items" not in page and "parent" not in page


def test_a_linked_page_has_every_required_field(feed, many):
    """Registration page document: `@id`, `count`, `items`, `lower`, `parent`, `upper`, all
    required; "The shape of the registration leaf objects is the same as in the
    registration index"."""
    index = feed.get("/v3/registration/contoso.many/index.json").json()
    url = index["items"][1]["@id"]
    response = feed.get(url.removeprefix(BASE))
    assert response.status_code == 200
    page = response.json()
    assert page["@id"] == url
    assert (page["lower"], page["upper"], page["count"]) == ("1.0.64", "1.0.127", 64)
    assert page["parent"] == f"{BASE}/v3/registration/contoso.many/index.json"
    assert len(page["items"]) == 64
    first = page["items"][0]
    assert first["catalogEntry"]["version"] == "1.0.64"
    assert {"@id", "catalogEntry", "packageContent"} <= set(first)
    assert feed.head(url.removeprefix(BASE)).status_code == 200


def test_a_page_galley_did_not_link_is_404(feed, many):
    """Page URLs "are not meant to be predictable": bounds that are not a page are 404."""
    assert feed.get("/v3/registration/contoso.many/page/1.0.1/1.0.2.json").status_code == 404


def test_128_versions_are_still_inlined(feed, alice):
    """Deliberate difference: nuget.org pages from 128 versions ("if there are 128 or more
    versions"); Galley inlines up to 128 and pages past them (a server's heuristic: "The
    number of package versions in a page is defined by server implementation")."""
    registration = PackageRegistration.objects.create(package_id="Contoso.Many")
    registration.owners.add(alice)
    for patch in range(128):
        add_version(registration, f"1.0.{patch}")
    index = feed.get("/v3/registration/contoso.many/index.json").json()
    assert index["count"] == 1 and len(index["items"][0]["items"]) == 128


# ---------------------------------------------------------------------------- leaves


def test_registration_leaf_has_the_documented_fields(feed, sample):
    """Registration leaf: `@id` (string), `catalogEntry` (string, "The URL to the catalog
    entry"), `listed` (boolean), `packageContent` (string), `published` (ISO 8601),
    `registration` ("The URL to the registration index"). (sample: nuget.versioning/4.3.0.json)"""
    index = feed.get(INDEX).json()
    url = index["items"][0]["items"][1]["@id"]
    response = feed.get(url.removeprefix(BASE))
    assert response.status_code == 200
    leaf = response.json()
    assert leaf["@id"] == url
    assert isinstance(leaf["catalogEntry"], str)
    assert leaf["listed"] is True
    assert leaf["packageContent"] == index["items"][0]["items"][1]["packageContent"]
    assert ISO_8601.fullmatch(leaf["published"])
    assert leaf["registration"] == f"{BASE}{INDEX}"


def test_unlisted_leaf_is_listed_false_and_published_in_1900(feed, sample):
    """Leaf: "On nuget.org, the `published` value is set to year 1900 when the package is
    unlisted.\""""
    leaf = feed.get("/v3/registration/nuget.server.core/3.0.0-beta.json").json()
    assert leaf["listed"] is False and leaf["published"].startswith("1900-01-01")


def test_leaf_of_an_unknown_version_is_404(feed, sample):
    """A version the source does not have: 404, GET and HEAD."""
    url = "/v3/registration/nuget.server.core/9.9.9.json"
    assert feed.get(url).status_code == 404 and feed.head(url).status_code == 404
