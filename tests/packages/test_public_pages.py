"""The public pages: search results (/packages?q=), profiles (/profiles/{name}), the
home page, and what a push reads for the package page (README, icon, license)."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from packages.models import PackageVersion
from tests.factories import PackageRegistrationFactory, UserFactory, make_key
from tests.helpers import push
from tests.packages.builders import add_version, nupkg

pytestmark = pytest.mark.django_db


def package(package_id, owners, versions=("1.0.0",), downloads=0, **fields):
    registration = PackageRegistrationFactory(package_id=package_id, owners=owners)
    for text in versions:
        version = add_version(registration, text)
        PackageVersion.objects.filter(pk=version.pk).update(
            download_count=downloads, is_prerelease="-" in text, **fields
        )
    from packages import lifecycle

    lifecycle.touch([registration.pk])
    return registration


@pytest.fixture
def packages(alice, dana, fabrikam):
    return [
        package("Contoso.Core", [alice], ["1.0.0", "2.0.0-beta"], downloads=10, tags="core"),
        package("Contoso.Extras", [alice], ["1.0.0"], downloads=500, description="Core extras"),
        package("Fabrikam.Core", [fabrikam], ["3.0.0"], downloads=50),
    ]


def search(client, **params):
    response = client.get(reverse("package_search"), params)
    assert response.status_code == 200
    return response.content.decode()


def ids_in(content):
    import re

    return re.findall(r'class="search-result-title"><a href="/packages/([^"]+)"', content)


# ----------------------------------------------------------------------- search


def test_search_lists_matches_with_owners_downloads_and_latest_version(client, packages):
    content = search(client, q="core")
    # Ids that contain the query first (ranked by relevance on PostgreSQL, by
    # downloads on SQLite), then the match in a description.
    assert sorted(ids_in(content)[:2]) == ["Contoso.Core", "Fabrikam.Core"]
    assert ids_in(content)[2] == "Contoso.Extras"
    assert '<a href="/profiles/alice">alice</a>' in content
    assert '<a href="/profiles/Fabrikam">Fabrikam</a>' in content
    assert "20 total downloads" in content  # two versions of Contoso.Core, 10 each
    assert "Latest version: 2.0.0-beta" in content
    assert "There are 3 packages" in content


def test_search_without_prerelease_shows_the_latest_stable_version(client, packages):
    content = search(client, q="contoso.core", prerel="false")
    assert "Latest version: 1.0.0" in content
    assert "2.0.0-beta" not in content


def test_search_sorts_by_downloads_and_recently_updated(client, packages):
    assert ids_in(search(client, sortby="downloads")) == [
        "Contoso.Extras",
        "Fabrikam.Core",
        "Contoso.Core",
    ]
    latest = PackageVersion.objects.get(registration__package_id="Contoso.Extras")
    from django.utils import timezone

    PackageVersion.objects.filter(pk=latest.pk).update(
        created=timezone.now() + timezone.timedelta(days=1)
    )
    assert ids_in(search(client, sortby="updated"))[0] == "Contoso.Extras"


def test_search_pages_twenty_at_a_time_with_previous_and_next(client, alice):
    for n in range(45):
        package(f"Many.P{n:02d}", [alice])
    first = search(client, q="many", sortby="downloads")
    assert len(ids_in(first)) == 20
    assert 'rel="next"' in first and 'rel="prev"' not in first
    third = search(client, q="many", sortby="downloads", page="3")
    assert ids_in(third) == [f"Many.P{n:02d}" for n in range(40, 45)]
    assert 'rel="prev"' in third and 'rel="next"' not in third


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999"])
def test_unreadable_page_numbers_are_held_to_the_pages_there_are(client, packages, page):
    content = search(client, q="core", page=page)
    assert "There are" in content or "There is" in content


def test_a_query_too_long_is_a_clear_400(client, packages):
    response = client.get(reverse("package_search"), {"q": "x" * 300})
    assert response.status_code == 400
    assert "longer than 256 characters" in response.content.decode()


def test_search_hides_unlisted_packages(client, packages):
    PackageVersion.objects.filter(registration__package_id="Fabrikam.Core").update(listed=False)
    from packages import lifecycle

    lifecycle.touch([packages[2].pk])
    assert "Fabrikam.Core" not in ids_in(search(client, q="core"))


def test_private_feed_search_sends_visitors_to_sign_in(client, packages, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    response = client.get(reverse("package_search"), {"q": "core"})
    assert response.status_code == 302
    assert response["Location"].startswith("/users/account/LogOn")


def test_private_feed_search_shows_only_what_the_viewer_may_read(
    client, packages, settings, charlie, dana
):
    settings.GALLEY_FEED_READ = "authenticated"
    client.force_login(charlie)
    assert ids_in(search(client, q="core")) == []
    client.force_login(dana)  # administers Fabrikam
    assert ids_in(search(client, q="core")) == ["Fabrikam.Core"]


# --------------------------------------------------------------------- profiles


def test_profile_lists_packages_and_total_downloads(client, packages):
    response = client.get(reverse("profile", args=["ALICE"]))
    content = response.content.decode()
    assert response.status_code == 200
    assert '<h1 class="profile-name">alice</h1>' in content
    assert content.index("Contoso.Extras") < content.index("Contoso.Core")  # by downloads
    assert "520" in content  # 500 + 10 + 10
    assert "Fabrikam.Core" not in content
    assert '<svg class="avatar"' in content


def test_organization_profile(client, packages):
    content = client.get(reverse("profile", args=["Fabrikam"])).content.decode()
    assert "Fabrikam.Core" in content and "Organization" in content


def test_unknown_profiles_are_404(client, packages):
    assert client.get(reverse("profile", args=["nobody"])).status_code == 404


def test_unlisted_packages_are_not_on_profiles(client, packages):
    PackageVersion.objects.filter(registration__package_id="Contoso.Extras").update(listed=False)
    content = client.get(reverse("profile", args=["alice"])).content.decode()
    assert "Contoso.Extras" not in content and "Contoso.Core" in content


def test_private_feed_profiles(client, packages, settings, charlie, dana):
    settings.GALLEY_FEED_READ = "authenticated"
    url = reverse("profile", args=["Fabrikam"])
    assert client.get(url).status_code == 302  # a visitor signs in first
    client.force_login(charlie)  # a stranger sees the account, not its packages
    content = client.get(url).content.decode()
    assert "Fabrikam.Core" not in content and "No packages to show." in content
    client.force_login(dana)
    assert "Fabrikam.Core" in client.get(url).content.decode()


def test_owner_names_link_to_profiles_on_the_package_page(client, packages):
    content = client.get("/packages/Fabrikam.Core").content.decode()
    assert '<a href="/profiles/Fabrikam">Fabrikam</a>' in content


# ------------------------------------------------------------------------ home


def test_home_page_shows_counts_and_a_search_box(client, packages):
    content = client.get("/").content.decode()
    assert "<strong>3</strong> packages" in content
    assert "<strong>570</strong> package downloads" in content
    assert 'action="/packages"' in content and 'name="q"' in content


def test_private_home_page_shows_no_counts_to_visitors(client, packages, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    content = client.get("/").content.decode()
    assert "package downloads" not in content
    assert "sign in to search" in content


# ------------------------------------------------- what a push reads for its page

README = "# Contoso\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>Contoso.Core</id><version>1.0.0</version><authors>alice</authors>
    <description>Core.</description>
    <readme>docs\\README.md</readme>
    <icon>{icon}</icon>
    <license type="file">LICENSE.txt</license>
    <releaseNotes>Fixed the &lt;thing&gt;.</releaseNotes>
    <dependencies><group targetFramework=".NETStandard2.0" /></dependencies>
  </metadata>
</package>
"""


@pytest.fixture
def pushed(client, alice, fresh_feed):
    def pushed(icon_name="icon.png", icon=PNG):
        secret = make_key(alice, scopes=["package:push"])[1]
        data = nupkg(
            nuspec=NUSPEC.format(icon=icon_name),
            extra={
                "docs/README.md": README,
                icon_name: icon,
                "LICENSE.txt": "MIT <b>License</b>",
                "lib/net48/Contoso.Core.dll": b"MZ",
            },
        )
        assert push(client, secret, data).status_code == 201
        return PackageVersion.objects.get()

    return pushed


def test_push_reads_readme_release_notes_icon_license_and_frameworks(pushed):
    version = pushed()
    assert version.readme == README
    assert version.release_notes == "Fixed the <thing>."
    assert (version.icon_file, version.license_file) == ("icon.png", "LICENSE.txt")
    assert version.lib_frameworks == ["net8.0", "net48"]


def test_package_page_shows_readme_frameworks_and_release_notes(client, pushed):
    pushed()
    content = client.get("/packages/Contoso.Core").content.decode()
    assert "<h1>Contoso</h1>" in content and "<td>1</td>" in content
    for name in (".NET Standard 2.0", ".NET 8.0", ".NET Framework 4.8"):
        assert name in content
    assert "Fixed the &lt;thing&gt;." in content
    assert 'src="/v3-flatcontainer/contoso.core/1.0.0/icon"' in content
    assert 'href="/packages/Contoso.Core/1.0.0/License"' in content


def test_embedded_png_icon_is_served_inline_and_sandboxed(client, pushed):
    pushed()
    response = client.get("/v3-flatcontainer/contoso.core/1.0.0/icon")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == PNG


def test_an_icon_that_is_not_a_raster_image_is_a_download(client, pushed):
    pushed("icon.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>')
    response = client.get("/v3-flatcontainer/contoso.core/1.0.0/icon")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_readme_uri_template_answers_the_markdown_and_404_without_one(client, pushed, alice):
    pushed()
    response = client.get("/v3-flatcontainer/contoso.core/1.0.0/readme")
    assert response.status_code == 200
    assert response.content.decode() == README
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    other = package("Other.Package", [alice])
    assert other.versions.get().readme == ""
    assert client.get("/v3-flatcontainer/other.package/1.0.0/readme").status_code == 404


def test_license_file_is_shown_escaped_in_a_galley_page(client, pushed):
    pushed()
    response = client.get("/packages/Contoso.Core/1.0.0/License")
    assert response.status_code == 200
    content = response.content.decode()
    assert "MIT &lt;b&gt;License&lt;/b&gt;" in content
    assert "<b>License</b>" not in content


def test_license_page_is_404_without_a_license_file(client, alice):
    package("Other.Package", [alice])
    assert client.get("/packages/Other.Package/1.0.0/License").status_code == 404


def test_private_feed_icon_and_readme_need_a_reader(client, pushed, settings, charlie):
    pushed()
    settings.GALLEY_FEED_READ = "authenticated"
    cache.clear()
    assert client.get("/v3-flatcontainer/contoso.core/1.0.0/readme").status_code == 401
    client.force_login(charlie)
    assert client.get("/v3-flatcontainer/contoso.core/1.0.0/icon").status_code == 404
    assert client.get("/packages/Contoso.Core/1.0.0/License").status_code == 404


def test_manage_packages_links_owners_to_their_profiles(client, packages, alice):
    client.force_login(alice)
    content = client.get(reverse("packages")).content.decode()
    assert '<a href="/profiles/alice">alice</a>' in content


def test_install_tabs_show_nuget_org_snippets(client, packages):
    content = client.get("/packages/Contoso.Core").content.decode()
    import html

    for snippet in [
        "dotnet add package Contoso.Core --version 1.0.0",
        "NuGet\\Install-Package Contoso.Core -Version 1.0.0",
        '<PackageReference Include="Contoso.Core" Version="1.0.0" />',
        '<PackageVersion Include="Contoso.Core" Version="1.0.0" />',
        '<PackageReference Include="Contoso.Core" />',
        "paket add Contoso.Core --version 1.0.0",
        '#r "nuget: Contoso.Core, 1.0.0"',
        "#:package Contoso.Core@1.0.0",
        "#addin nuget:?package=Contoso.Core&version=1.0.0",
        "#tool nuget:?package=Contoso.Core&version=1.0.0",
    ]:
        assert html.escape(snippet) in content, snippet


def test_banners_for_a_prerelease_and_an_older_version(client, alice):
    package("Contoso.Core", [alice], ["1.0.0", "1.1.0", "2.0.0-beta"])
    older = client.get("/packages/Contoso.Core/1.0.0").content.decode()
    assert "There is a newer version of this package available." in older
    assert 'href="/packages/Contoso.Core/1.1.0">latest version, 1.1.0</a>' in older
    latest = client.get("/packages/Contoso.Core").content.decode()
    assert "There is a newer version" not in latest
    beta = client.get("/packages/Contoso.Core/2.0.0-beta").content.decode()
    assert "This is a prerelease version of" in beta


def test_versions_tab_can_leave_prereleases_out_without_javascript(client, alice):
    package("Contoso.Core", [alice], ["1.0.0", "2.0.0-beta"])
    every = client.get("/packages/Contoso.Core", {"tab": "versions"}).content.decode()
    stable = client.get(
        "/packages/Contoso.Core", {"tab": "versions", "prerel": "false"}
    ).content.decode()
    assert ">2.0.0-beta</a>" in every
    assert ">2.0.0-beta</a>" not in stable and ">1.0.0</a>" in stable


def test_used_by_lists_readable_dependents(client, alice, dana, fabrikam, settings):
    core = package("Contoso.Core", [alice])
    dependent = package(
        "Fabrikam.App",
        [fabrikam],
        dependency_groups=[{"targetFramework": "", "dependencies": [{"id": "contoso.core"}]}],
    )
    # The JSON text holds the name, but not as a dependency's id: not a dependent.
    package(
        "Odd.Package",
        [alice],
        dependency_groups=[{"targetFramework": "Contoso.Core", "dependencies": []}],
    )
    content = client.get("/packages/Contoso.Core", {"tab": "used-by"}).content.decode()
    assert '<a href="/packages/Fabrikam.App">Fabrikam.<wbr>App</a>' in content
    assert "Odd.Package" not in content
    assert "1 package on this feed depends on this one." in content
    settings.GALLEY_FEED_READ = "authenticated"
    client.force_login(alice)  # may read Contoso.Core, not Fabrikam's package
    content = client.get("/packages/Contoso.Core", {"tab": "used-by"}).content.decode()
    assert "Fabrikam.App" not in content
    assert core and dependent


def test_a_readme_over_one_megabyte_is_left_out_and_the_push_kept(client, alice, fresh_feed):
    secret = make_key(alice, scopes=["package:push"])[1]
    nuspec = NUSPEC.format(icon="icon.png").replace("docs\\README.md", "README.md")
    data = nupkg(nuspec=nuspec, extra={"README.md": "x" * 1_000_001, "icon.png": PNG})
    assert push(client, secret, data).status_code == 201
    version = PackageVersion.objects.get()
    assert version.readme == ""
    assert client.get("/v3-flatcontainer/contoso.core/1.0.0/readme").status_code == 404


# ---------------------------------------------------------------- the Manage page


def test_manage_page_has_owners_listing_and_readme_sections(client, alice, dana):
    from packages.models import OwnershipRequest

    core = package("Contoso.Core", [alice, dana], readme="# Hello readme")
    OwnershipRequest.objects.create(
        registration=core, new_owner=UserFactory(username="erin"), requested_by=alice
    )
    client.force_login(alice)
    content = client.get("/packages/Contoso.Core/Manage").content.decode()
    for heading in ("Owners", "Listing", "Readme"):
        assert f'">{heading}</h2>' in content
    assert '<a href="/profiles/dana">dana</a>' in content
    assert '<a href="/profiles/erin">erin</a> <span class="badge">Pending</span>' in content
    assert "# Hello readme" in content  # the source, as pushed
    assert "push a new version" in content


def test_owner_forms_on_the_manage_page_come_back_to_it(client, alice, dana):
    core = package("Contoso.Core", [alice, dana])
    client.force_login(alice)
    response = client.post(
        reverse("package_remove_owner", args=["Contoso.Core", "dana"]), {"back": "manage"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/packages/Contoso.Core/Manage"
    assert list(core.owners.all()) == [alice]


def test_manage_page_is_404_for_a_stranger(client, alice, charlie):
    package("Contoso.Core", [alice])
    client.force_login(charlie)
    assert client.get("/packages/Contoso.Core/Manage").status_code == 404
