"""The package page people read: /packages/{id} and /packages/{id}/{version}."""

import html

import pytest
from django.urls import reverse

from accounts.models import Membership, User
from tests.factories import PackageRegistrationFactory
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def contoso(alice, bob):
    """alice administers Contoso; bob is a collaborator in it."""
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=organization, member=bob)
    return organization


@pytest.fixture
def core(contoso):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    for text, listed in [("1.0.0", True), ("1.9.0", True), ("1.10.0", True), ("2.0.0", False)]:
        version = add_version(registration, text, listed=listed)
        version.description = f"Core {text} does things."
        version.authors = "Contoso Ltd"
        version.save()
    return registration


def page(client, *args) -> str:
    name = "package_version_detail" if len(args) == 2 else "package_detail"
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_page_shows_latest_listed_version_and_its_install_snippets(client, core):
    content = page(client, "Contoso.Core")
    # 1.10.0 is newer than 1.9.0 in NuGet's order; the unlisted 2.0.0 is not offered.
    assert 'Contoso.<wbr>Core <span class="package-version">1.10.0</span>' in content
    assert "Core 1.10.0 does things." in content
    assert "Contoso Ltd" in content
    assert "Contoso" in content  # the owner
    for snippet in [
        "dotnet add package Contoso.Core --version 1.10.0",
        '<PackageReference Include="Contoso.Core" Version="1.10.0" />',
        "paket add Contoso.Core --version 1.10.0",
        "NuGet\\Install-Package Contoso.Core -Version 1.10.0",
        "http://testserver/v3/index.json",
    ]:
        assert html.escape(snippet) in content
    # nuget.org's eight install tabs; Central Package Management and Cake show two snippets.
    assert content.count("data-copy=") == 10
    assert "<script>" not in content  # the page's CSP allows no inline script
    assert "js/copy.js" in content


def test_versions_are_listed_newest_first(client, core):
    content = page(client, "Contoso.Core")
    assert content.index(">1.10.0</a>") < content.index(">1.9.0</a>") < content.index(">1.0.0</a>")


def test_ids_are_case_insensitive(client, core):
    content = page(client, "contoso.CORE")
    assert "dotnet add package Contoso.Core --version 1.10.0" in content


def test_version_page_shows_that_version(client, core):
    content = page(client, "Contoso.Core", "1.0.0")
    assert "Core 1.0.0 does things." in content
    assert "dotnet add package Contoso.Core --version 1.0.0" in content
    assert 'aria-current="page">1.0.0</a>' in content


def test_a_version_as_written_differently_redirects_to_the_normalized_one(client, core):
    response = client.get(reverse("package_version_detail", args=["contoso.core", "1.9"]))
    assert response.status_code == 302
    assert response["Location"] == "/packages/Contoso.Core/1.9.0"
    response = client.get("/packages/Contoso.Core/1.10.0.0")
    assert response["Location"] == "/packages/Contoso.Core/1.10.0"


@pytest.mark.parametrize(
    "url",
    ["/packages/Nope", "/packages/Contoso.Core/3.0.0", "/packages/Contoso.Core/not-a-version"],
)
def test_unknown_ids_and_versions_are_404(client, core, url):
    response = client.get(url)
    assert response.status_code == 404
    assert b"Contoso.Core" not in response.content


def test_unlisted_versions_are_not_shown_to_strangers(client, core, charlie):
    for viewer in [None, charlie]:
        if viewer:
            client.force_login(viewer)
        content = page(client, "Contoso.Core")
        assert "2.0.0" not in content
        assert "Unlisted" not in content


@pytest.mark.parametrize("viewer", ["alice", "bob"])
def test_owners_and_organization_members_see_unlisted_versions_marked(
    client, core, viewer, request
):
    client.force_login(request.getfixturevalue(viewer))
    content = page(client, "Contoso.Core")
    assert ">2.0.0</a>" in content
    assert '<span class="badge">Unlisted</span>' in content
    # The page is still about the latest listed version.
    assert "dotnet add package Contoso.Core --version 1.10.0" in content


def test_an_unlisted_version_by_its_exact_version_says_it_is_unlisted(client, core):
    content = page(client, "Contoso.Core", "2.0.0")
    assert "The owner has unlisted this version." in content
    assert "dotnet add package Contoso.Core --version 2.0.0" in content


def test_a_package_with_only_unlisted_versions_is_404_for_strangers(client, alice, charlie):
    hidden = PackageRegistrationFactory(package_id="Alice.Hidden", owners=[alice])
    add_version(hidden, "1.0.0", listed=False)
    client.force_login(charlie)
    assert client.get(reverse("package_detail", args=["Alice.Hidden"])).status_code == 404
    client.force_login(alice)
    assert "The owner has unlisted this version." in page(client, "Alice.Hidden")


def test_manage_link_only_for_those_who_may_manage(client, core, alice, bob):
    manage_url = reverse("package_manage", args=["Contoso.Core"])
    client.force_login(alice)
    assert manage_url in page(client, "Contoso.Core")
    client.force_login(bob)  # a collaborator: sees unlisted versions, cannot manage
    assert manage_url not in page(client, "Contoso.Core")


def test_private_feed_pages_need_sign_in(client, core, bob, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    response = client.get("/packages/Contoso.Core")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("log_on"))
    assert "Contoso.Core" not in response.content.decode()
    client.force_login(bob)  # a member of the owning organization reads it
    assert "1.10.0" in page(client, "Contoso.Core")


def test_private_feed_pages_are_404_to_those_who_may_not_read_the_package(
    client, core, charlie, settings
):
    """As the feed itself answers charlie: the package does not exist for him."""
    settings.GALLEY_FEED_READ = "authenticated"
    client.force_login(charlie)
    response = client.get("/packages/Contoso.Core")
    assert response.status_code == 404
    assert "Core 1.10.0 does things" not in response.content.decode()


def test_public_feed_pages_need_no_sign_in(client, core, settings):
    settings.GALLEY_FEED_READ = "public"
    assert "1.10.0" in page(client, "Contoso.Core")


def test_manage_packages_links_each_package_to_its_page(client, core, alice):
    client.force_login(alice)
    content = client.get(reverse("packages")).content.decode()
    assert '<a href="/packages/Contoso.Core">Contoso.<wbr>Core</a>' in content
    assert 'href="/packages/Contoso.Core/Manage"' in content


def test_page_in_french(client, core):
    response = client.get("/packages/Contoso.Core", HTTP_ACCEPT_LANGUAGE="fr")
    content = response.content.decode()
    assert "Historique des versions" in content
    assert "Copier" in content


def test_query_count_does_not_grow_with_versions(client, core, alice, django_assert_num_queries):
    client.force_login(alice)
    # session, user, registration, its owners, its versions (without what only the
    # shown version's page shows), the shown version's README, description and
    # dependencies, alice's memberships, the downloads not yet flushed (one read of their table, or of Redis),
    # alice's administered organizations (may she manage it?), the reserved
    # prefix it is under (with its owner), the packages that depend on it (Used By),
    # the package's security advisories, the shown version's symbols
    with django_assert_num_queries(13):
        client.get("/packages/Contoso.Core")
    for minor in range(20):
        add_version(core, f"3.{minor}.0")
    with django_assert_num_queries(13):
        response = client.get("/packages/Contoso.Core")
    assert response.content.count(b"<tr") == 1 + 24


def test_page_shows_license_project_tags_dependencies_and_downloads(client, core):
    from packages.models import PendingDownload

    version = core.versions.get(version="1.10.0")
    version.license_expression = "MIT OR Apache-2.0"
    version.project_url = "https://contoso.example/core"
    version.tags = "contoso utilities"
    version.download_count = 40
    version.dependency_groups = [
        {
            "targetFramework": "net8.0",
            "dependencies": [{"id": "Contoso.Base", "range": "[1.2.0, )"}],
        },
        {"targetFramework": "netstandard2.0", "dependencies": []},
    ]
    version.save()
    core.versions.filter(version="1.0.0").update(download_count=2)
    PendingDownload.objects.create(version=version, downloads=5)  # not flushed yet
    content = page(client, "Contoso.Core")
    assert 'href="https://licenses.nuget.org/MIT%20OR%20Apache-2.0"' in content
    assert (
        '<a href="https://contoso.example/core" rel="noopener noreferrer nofollow">'
        "contoso.example</a>" in content
    )
    assert (
        '<li><a href="/packages?q=contoso">contoso</a></li>'
        '<li><a href="/packages?q=utilities">utilities</a></li>' in content
    )
    assert '<h3 class="framework">net8.0</h3>' in content
    assert '<a href="/packages/Contoso.Base">Contoso.<wbr>Base</a> (&gt;= 1.2.0)' in content
    assert '<h3 class="framework">netstandard2.0</h3>' in content
    assert (
        '<td class="number" data-label="Downloads">45</td>' in content
    )  # 40 flushed + 5 counted since
    assert "<dd>47</dd>" in content  # all versions: 45 + 2


def test_urls_that_are_not_web_addresses_are_not_linked(client, core):
    core.versions.filter(version="1.10.0").update(
        project_url="javascript:alert(1)", license_url="data:text/html,hi"
    )
    content = page(client, "Contoso.Core")
    assert "javascript:" not in content and "data:text" not in content


@pytest.mark.parametrize(
    "version_range, shown",
    [
        ("1.0.0", "(>= 1.0.0)"),
        ("[1.0.0, )", "(>= 1.0.0)"),
        ("(1.0.0, )", "(> 1.0.0)"),
        ("[1.0.0]", "(= 1.0.0)"),
        ("[1.0.0, 2.0.0)", "(>= 1.0.0 && < 2.0.0)"),
        ("(, 2.0.0]", "(<= 2.0.0)"),
        ("", ""),
    ],
)
def test_dependency_ranges_read_as_on_nuget_org(version_range, shown):
    from packages.page_views import range_text

    assert range_text(version_range) == shown


def test_download_link_fetches_the_pushed_package(client, alice, package_dir):
    from tests.factories import make_key
    from tests.helpers import push
    from tests.packages.builders import nupkg

    _, secret = make_key(alice)
    data = nupkg("Contoso.Tools", "1.0.0")
    assert push(client, secret, data).status_code == 201
    content = page(client, "Contoso.Tools")
    url = "/v3-flatcontainer/contoso.tools/1.0.0/contoso.tools.1.0.0.nupkg"
    assert f'href="{url}" download>Download Package</a>' in content
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data


def test_a_stored_version_normalised_past_64_characters_renders(client, alice):
    """Pushes refuse these now (nuget.org does too); rows an older push stored keep
    their package page, version page and Manage page."""
    version = "1.0.0-" + "a" * 62
    registration = PackageRegistrationFactory(package_id="Contoso.Long", owners=[alice])
    add_version(registration, "1.0.0")
    add_version(registration, version, original_version="1-" + "a" * 62)
    assert client.get("/packages/Contoso.Long").status_code == 200
    page = client.get(f"/packages/Contoso.Long/{version}")
    assert page.status_code == 200 and version in page.content.decode()
    client.force_login(alice)
    assert client.get("/packages/Contoso.Long/Manage").status_code == 200


def test_query_count_is_the_same_for_one_version_and_two_hundred_with_fifty_dependencies(
    client, alice
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from packages import lifecycle
    from packages.models import PackageVersion

    groups = [
        {
            "targetFramework": "net8.0",
            "dependencies": [{"id": f"Dep.N{d}", "range": "[1.0.0, )"} for d in range(50)],
        }
    ]
    counts = []
    for package_id, versions in [("Bench.One", 1), ("Bench.Many", 200)]:
        registration = PackageRegistrationFactory(package_id=package_id, owners=[alice])
        PackageVersion.objects.bulk_create(
            PackageVersion(
                registration=registration,
                version=f"1.{i}.0",
                normalized_version=f"1.{i}.0",
                original_version=f"1.{i}.0",
                size=1,
                sha512="x" * 88,
                readme="# Readme",
                dependency_groups=groups if versions > 1 else [],
            )
            for i in range(versions)
        )
        lifecycle.touch([registration.pk])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/packages/{package_id}")
        assert response.status_code == 200
        counts.append(len(queries))
    # signed out: registration, its owners, its versions (without what only the
    # shown version's page shows), the shown version's own fields, the downloads not yet
    # flushed, the reserved prefix, the packages that depend on it (Used By), the
    # package's security advisories, the shown version's symbols
    assert counts == [9, 9]
