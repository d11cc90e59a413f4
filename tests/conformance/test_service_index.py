"""docs/api/service-index.md and overview.md: the entry point and the resources it lists."""

import re
from urllib.parse import urlsplit

import pytest

from tests.conformance.conftest import BASE

pytestmark = pytest.mark.django_db

# Every @type Galley advertises, with the @id it points at (path only), as the
# resource documents spell them.
ADVERTISED = {
    "PackagePublish/2.0.0": "/api/v2/package",
    "SymbolPackagePublish/4.9.0": "/api/v2/symbolpackage",
    "PackageBaseAddress/3.0.0": "/v3-flatcontainer/",
    "RegistrationsBaseUrl": "/v3/registration/",
    "RegistrationsBaseUrl/3.0.0-beta": "/v3/registration/",
    "RegistrationsBaseUrl/3.0.0-rc": "/v3/registration/",
    "RegistrationsBaseUrl/3.4.0": "/v3/registration/",
    "RegistrationsBaseUrl/3.6.0": "/v3/registration/",
    "SearchQueryService": "/query",
    "SearchQueryService/3.0.0-beta": "/query",
    "SearchQueryService/3.0.0-rc": "/query",
    "SearchQueryService/3.5.0": "/query",
    "SearchAutocompleteService": "/autocomplete",
    "SearchAutocompleteService/3.0.0-beta": "/autocomplete",
    "SearchAutocompleteService/3.0.0-rc": "/autocomplete",
    "SearchAutocompleteService/3.5.0": "/autocomplete",
    "ReportAbuseUriTemplate/3.0.0-beta": "/packages/{id}/{version}/ReportAbuse",
    "ReportAbuseUriTemplate/3.0.0-rc": "/packages/{id}/{version}/ReportAbuse",
    "ReportAbuseUriTemplate/3.0.0": "/packages/{id}/{version}/ReportAbuse",
    "PackageDetailsUriTemplate/5.1.0": "/packages/{id}/{version}",
    "ReadmeUriTemplate/6.13.0": "/v3-flatcontainer/{lower_id}/{lower_version}/readme",
    "OwnerDetailsUriTemplate/6.11.0": "/profiles/{owner}",
    "VulnerabilityInfo/6.7.0": "/v3/vulnerabilities/index.json",
}


def test_service_index_has_version_3_and_resources(feed):
    """service-index.md: "The service index is a JSON object with two required properties:
    `version` … and `resources`"; "The API mandates that the version string has a major
    version number of `3`"; "The current schema version is `3.0.0`"."""
    response = feed.get("/v3/index.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["version"] == "3.0.0"
    assert isinstance(document["resources"], list) and document["resources"]


def test_service_index_answers_head_with_the_headers_of_get(feed):
    """service-index.md: "The service index is accessible using HTTP methods `GET` and `HEAD`"."""
    get, head = feed.get("/v3/index.json"), feed.head("/v3/index.json")
    assert head.status_code == 200 and head.content == b""
    for name in ("Content-Type", "ETag", "Cache-Control"):
        assert head[name] == get[name], name


def test_every_resource_has_an_absolute_http_id_a_type_and_a_comment(feed):
    """service-index.md: a resource has `@id` (string, required), `@type` (string,
    required), `comment` (string, optional); "The `@id` is a URL that must be absolute
    and must either have the HTTP or HTTPS schema"."""
    for resource in feed.get("/v3/index.json").json()["resources"]:
        assert isinstance(resource["@id"], str) and isinstance(resource["@type"], str)
        assert isinstance(resource.get("comment", ""), str)
        assert urlsplit(resource["@id"]).scheme in ("http", "https")
        assert urlsplit(resource["@id"]).netloc == "testserver"


def test_every_advertised_type_is_a_documented_version(feed):
    """Each resource document's "Versioning" table lists its `@type` values; Galley
    advertises exactly these (no undocumented resources: overview.md "we *strongly*
    recommend that you do not take a dependency on them")."""
    assert feed.resources() == {kind: BASE + path for kind, path in ADVERTISED.items()}


def test_the_required_resources_are_there(feed):
    """overview.md: PackageBaseAddress, PackagePublish, RegistrationsBaseUrl and
    SearchQueryService are required."""
    kinds = {kind.split("/")[0] for kind in feed.resources()}
    assert {
        "PackageBaseAddress",
        "PackagePublish",
        "RegistrationsBaseUrl",
        "SearchQueryService",
    } <= kinds


@pytest.mark.parametrize(
    "absent",
    [
        "Catalog",  # catalog-resource.md: optional; Galley keeps no event log for replication
        "RepositorySignatures",  # Galley does not repository-sign packages
        "LegacyGallery",  # undocumented: a V2 feed, which Galley does not serve
    ],
)
def test_deliberately_absent_resources_are_not_advertised(feed, absent):
    """overview.md marks Catalog and RepositorySignatures "Required: no"; Galley does
    not offer them (README, Protocol:
    deliberate differences), so it must not advertise them either."""
    assert not [kind for kind in feed.resources() if kind.split("/")[0] == absent]


def test_service_index_resources_are_on_galleys_own_host(feed):
    """service-index.md: "if your service index adds resources that point directly to
    nuget.org … your feed will not work where access to nuget.org is blocked"."""
    assert {urlsplit(url).netloc for url in feed.resources().values()} == {"testserver"}


def test_uri_templates_carry_only_the_documented_placeholders(feed):
    """report-abuse-resource.md and package-details-template-resource.md: the `@id` is
    "a URL string containing any of the following placeholder tokens": `{id}`, `{version}`."""
    for kind, url in feed.resources().items():
        if kind.split("/")[0] in ("ReportAbuseUriTemplate", "PackageDetailsUriTemplate"):
            assert set(re.findall(r"\{[^}]*\}", url)) == {"{id}", "{version}"}, kind
        if kind.startswith("ReadmeUriTemplate"):  # readme-template-resource.md
            assert set(re.findall(r"\{[^}]*\}", url)) == {"{lower_id}", "{lower_version}"}
        if kind.startswith("OwnerDetailsUriTemplate"):  # owner-details-template-resource.md
            assert set(re.findall(r"\{[^}]*\}", url)) == {"{owner}"}


def test_service_index_revalidates_with_its_etag(feed):
    """overview.md: GET "Performs a read-only operation"; a client may revalidate what it
    cached: If-None-Match with the ETag answers 304."""
    first = feed.get("/v3/index.json")
    again = feed.get("/v3/index.json", **{"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert first["Cache-Control"] == f"{feed.cache_scope}, max-age=3600"
