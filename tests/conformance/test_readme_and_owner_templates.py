"""docs/api/readme-template-resource.md (ReadmeUriTemplate/6.13.0) and
owner-details-template-resource.md (OwnerDetailsUriTemplate/6.11.0), on the public and
the private feed."""

import pytest

from tests.conformance.conftest import BASE, pushed

pytestmark = pytest.mark.django_db

README = "# NuGet.Versioning\n\nNuGet's version grammar.\n"
NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>NuGet.Versioning</id><version>4.3.0+build.7</version><authors>alice</authors>
    <description>Versions.</description><readme>README.md</readme>
  </metadata>
</package>
"""


def test_readme_template_expands_with_lowercased_id_and_normalized_version(client, publisher, feed):
    """ "lower_version is the desired package version normalized using NuGet's version
    normalization rules", without build metadata; "If the package has a readme, a 200
    status code is returned. The response body will be the readme content itself." """
    pushed(client, publisher, "NuGet.Versioning", nuspec=NUSPEC, extra={"README.md": README})
    template = feed.resources()["ReadmeUriTemplate/6.13.0"]
    url = template.replace("{lower_id}", "nuget.versioning").replace("{lower_version}", "4.3.0")
    response = feed.get(url.removeprefix(BASE))
    assert response.status_code == 200
    assert response.content.decode() == README


def test_readme_template_is_404_for_a_package_without_readme(client, publisher, feed):
    """ "If the package does not have a readme, a 404 status code is returned." """
    pushed(client, publisher, "Contoso.Core", "1.0.0")
    template = feed.resources()["ReadmeUriTemplate/6.13.0"]
    url = template.replace("{lower_id}", "contoso.core").replace("{lower_version}", "1.0.0")
    assert feed.get(url.removeprefix(BASE)).status_code == 404


def test_owner_details_template_expands_to_the_owners_profile(client, publisher, feed, alice):
    """The template takes {owner}, the owner's user name; the page is Galley's profile."""
    pushed(client, publisher, "Contoso.Core", "1.0.0")
    template = feed.resources()["OwnerDetailsUriTemplate/6.11.0"]
    url = template.replace("{owner}", "alice").removeprefix(BASE)
    if feed.private:  # a page for people: the browser session that reads it
        client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert "Contoso.Core" in response.content.decode()
