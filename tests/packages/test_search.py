"""Search reads one row per package and latest version (packages/search.py): the rows
follow every change to versions at once, and a search costs the same few queries
however many packages and versions there are."""

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from packages import downloads
from packages.models import PackageRegistration, PackageSearch, PackageVersion
from packages.search import rows as search
from tests.factories import PackageRegistrationFactory, UserFactory, make_key
from tests.helpers import push, unlist
from tests.packages.builders import add_version, nupkg

pytestmark = pytest.mark.django_db

NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>alice</authors>
    <description>{description}</description>
    {types}
  </metadata>
</package>
"""


@pytest.fixture(autouse=True)
def _a_fresh_feed_in_a_folder_of_the_tests_own(fresh_feed):
    pass


@pytest.fixture
def secret(alice):
    return make_key(alice, scopes=["package:push", "package:unlist"], glob_patterns=["*"])[1]


def pushed(client, secret, package_id, version="1.0.0", description="A test package.", types=""):
    nuspec = NUSPEC.format(id=package_id, version=version, description=description, types=types)
    response = push(client, secret, nupkg(package_id, version, nuspec=nuspec))
    assert response.status_code == 201, response.content


def found(client, query="", **params):
    response = client.get("/query", {"q": query, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    return [(item["id"], item["version"]) for item in body["data"]], body["totalHits"]


def rows():
    """{(lower-cased id, latest version): the kinds of search it is the latest for}."""
    return {
        (row.normalized_id, row.latest.version): {
            flag for flag in search.KINDS.values() if getattr(row, flag)
        }
        for row in PackageSearch.objects.select_related("latest")
    }


ALL_KINDS = set(search.KINDS.values())


# ----------------------------------------------------------------- queries


@pytest.mark.parametrize("packages", [3, 12])
def test_search_queries_do_not_grow_with_packages_or_versions(
    client, alice, packages, django_assert_num_queries
):
    for n in range(packages):
        registration = PackageRegistrationFactory(package_id=f"Contoso.P{n}", owners=[alice])
        for minor in range(n % 3 + 1):
            add_version(registration, f"1.{minor}.0")
    # A full page: the page of packages, their versions, their owners, the owners'
    # reserved prefixes (verified), their advisories, the count.
    with django_assert_num_queries(6):
        ids, total = found(client, "contoso", take=2)
    assert total == packages and len(ids) == 2
    # The last page tells the count itself.
    with django_assert_num_queries(5):
        ids, total = found(client, "contoso", skip=packages - 1, take=5)
    assert total == packages and len(ids) == 1
    # Past the end: the count alone (no page, so no versions nor owners).
    with django_assert_num_queries(2):
        assert found(client, "contoso", skip=packages + 5) == ([], packages)
    # Nothing found: one query.
    with django_assert_num_queries(1):
        assert found(client, "nowhere") == ([], 0)
    # Autocomplete: the count, the page of ids.
    with django_assert_num_queries(2):
        body = client.get("/autocomplete", {"q": "contoso", "take": 2}).json()
    assert body["totalHits"] == packages and len(body["data"]) == 2


def test_a_refresh_costs_the_same_queries_however_many_versions(alice, django_assert_num_queries):
    for versions in (1, 20):
        registration = PackageRegistrationFactory(owners=[alice])
        PackageVersion.objects.bulk_create(
            PackageVersion(
                registration=registration,
                version=f"1.{n}.0",
                normalized_version=f"1.{n}.0",
                original_version=f"1.{n}.0",
                size=1,
                sha512="x",
                file="x",
            )
            for n in range(versions)
        )
        # The transaction's savepoint and its release, the lock, the versions,
        # the old rows out, the new rows in.
        with django_assert_num_queries(6):
            search.refresh([registration.pk])
        assert PackageSearch.objects.get(registration=registration).latest.version == (
            f"1.{versions - 1}.0"
        )


# ----------------------------------------------------------- kept current


def test_unlisting_drops_a_package_out_of_search_at_once_and_relisting_brings_it_back(
    client, secret
):
    pushed(client, secret, "Contoso.Core", "1.0.0")
    pushed(client, secret, "Contoso.Core", "2.0.0")
    pushed(client, secret, "Contoso.Other", "1.0.0")
    assert found(client, "contoso") == ([("Contoso.Core", "2.0.0"), ("Contoso.Other", "1.0.0")], 2)
    # The latest unlisted: the package stays, shown by its latest listed version.
    assert unlist(client, secret, "Contoso.Core", "2.0.0").status_code == 200
    assert found(client, "contoso.core") == ([("Contoso.Core", "1.0.0")], 1)
    # Its last listed version unlisted: it is gone, from the count too.
    assert unlist(client, secret, "Contoso.Core", "1.0.0").status_code == 200
    assert found(client, "contoso") == ([("Contoso.Other", "1.0.0")], 1)
    assert client.get("/autocomplete?q=contoso").json()["data"] == ["Contoso.Other"]
    assert unlist(client, secret, "Contoso.Core", "1.0.0", method="post").status_code == 200
    assert found(client, "contoso.core") == ([("Contoso.Core", "1.0.0")], 1)
    assert unlist(client, secret, "Contoso.Core", "2.0.0", method="post").status_code == 200
    assert found(client, "contoso.core") == ([("Contoso.Core", "2.0.0")], 1)


def test_unlisting_and_relisting_on_the_manage_page_and_in_the_admin(client, alice):
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    first = add_version(core, "1.0.0")
    add_version(core, "2.0.0")
    assert found(client, "contoso") == ([("Contoso.Core", "2.0.0")], 1)
    # The web page's Manage: a conditional UPDATE, which sends no signal.
    client.force_login(alice)
    shown = list(core.versions.values_list("pk", flat=True))
    response = client.post("/packages/Contoso.Core/Manage", {"shown": shown, "listed": [first.pk]})
    assert response.status_code == 302
    assert found(client, "contoso") == ([("Contoso.Core", "1.0.0")], 1)
    client.post("/packages/Contoso.Core/Manage", {"shown": shown, "listed": []})
    assert found(client, "contoso") == ([], 0)
    client.logout()
    # The admin's actions.
    staff = UserFactory(username="staffer", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_packageversion", "change_packageversion"])
    )
    client.force_login(staff)
    client.post(
        "/admin/packages/packageversion/", {"action": "relist", "_selected_action": [first.pk]}
    )
    assert found(client, "contoso") == ([("Contoso.Core", "1.0.0")], 1)


def test_deleting_for_good_removes_a_version_from_search(client, secret, alice):
    from django.test import RequestFactory

    from packages.lifecycle import Actor, Channel, delete_version

    pushed(client, secret, "Contoso.Core", "1.0.0")
    pushed(client, secret, "Contoso.Core", "2.0.0")
    pushed(client, secret, "Contoso.Gone", "1.0.0")
    request = RequestFactory().post("/admin/")
    request.user = alice
    actor = Actor.of_session(request, Channel.ADMIN)
    delete_version(actor, PackageVersion.objects.get(version="2.0.0"), "Leaked secret")
    assert found(client, "contoso.core") == ([("Contoso.Core", "1.0.0")], 1)
    delete_version(
        actor,
        PackageVersion.objects.get(registration__normalized_id="contoso.gone"),
        "Malware",
    )
    assert found(client, "contoso") == ([("Contoso.Core", "1.0.0")], 1)
    assert rows() == {("contoso.core", "1.0.0"): ALL_KINDS}


def test_a_deleted_package_takes_its_search_rows_with_it(client, secret):
    pushed(client, secret, "Contoso.Core", "1.0.0")
    pushed(client, secret, "Contoso.Core", "2.0.0-beta")
    assert PackageSearch.objects.count() == 2
    PackageRegistration.objects.get().delete()
    assert PackageSearch.objects.count() == 0


def test_flushed_downloads_reorder_ties(client, secret):
    pushed(client, secret, "Contoso.Alpha")
    pushed(client, secret, "Contoso.Beta")
    # Same tier (an id prefix), same relevance, no downloads: by id.
    assert found(client, "contoso")[0] == [("Contoso.Alpha", "1.0.0"), ("Contoso.Beta", "1.0.0")]
    beta = PackageVersion.objects.get(registration__normalized_id="contoso.beta")
    for _ in range(3):
        downloads.count_download(beta)
    assert found(client, "contoso")[0][0] == ("Contoso.Alpha", "1.0.0")  # counted, not flushed
    call_command("flush_download_counts")
    assert found(client, "contoso")[0] == [("Contoso.Beta", "1.0.0"), ("Contoso.Alpha", "1.0.0")]
    item = client.get("/query?q=contoso.beta").json()["data"][0]
    assert item["totalDownloads"] == 3
    assert client.get("/autocomplete?q=contoso").json()["data"] == [
        "Contoso.Beta",
        "Contoso.Alpha",
    ]


# ------------------------------------------------------------ what is shown


def test_one_row_per_latest_version_and_kind_of_search(client, secret):
    pushed(client, secret, "Contoso.Stable", "1.0.0")
    pushed(client, secret, "Contoso.Core", "1.0.0")
    pushed(client, secret, "Contoso.Core", "2.0.0-beta")
    pushed(client, secret, "Contoso.Core", "2.0.0-beta.2")  # SemVer 2.0.0
    pushed(client, secret, "Contoso.Next", "1.0.0-rc.1")  # no stable version at all
    assert rows() == {
        ("contoso.stable", "1.0.0"): ALL_KINDS,
        ("contoso.core", "1.0.0"): {"stable", "stable_semver2"},
        ("contoso.core", "2.0.0-beta"): {"prerelease"},
        ("contoso.core", "2.0.0-beta.2"): {"prerelease_semver2"},
        ("contoso.next", "1.0.0-rc.1"): {"prerelease_semver2"},
    }
    assert found(client, "contoso") == (
        [("Contoso.Core", "1.0.0"), ("Contoso.Stable", "1.0.0")],
        2,
    )
    assert found(client, "contoso", prerelease="true", semVerLevel="2.0.0") == (
        [
            ("Contoso.Core", "2.0.0-beta.2"),
            ("Contoso.Next", "1.0.0-rc.1"),
            ("Contoso.Stable", "1.0.0"),
        ],
        3,
    )
    # A rebuild writes the same rows.
    before = rows()
    call_command("reindex_search", stdout=None)
    assert rows() == before


def test_a_push_of_an_older_version_writes_the_same_rows_again(client, secret):
    # The new rows repeat the old ones (same package, same latest versions): they
    # replace them rather than collide with them.
    pushed(client, secret, "Contoso.Core", "2.0.0")
    pushed(client, secret, "Contoso.Core", "3.0.0-beta")
    before = rows()
    pushed(client, secret, "Contoso.Core", "1.0.0")
    assert (
        rows()
        == before
        == {
            ("contoso.core", "2.0.0"): {"stable", "stable_semver2"},
            ("contoso.core", "3.0.0-beta"): {"prerelease", "prerelease_semver2"},
        }
    )
    assert PackageSearch.objects.count() == 2


def test_search_matches_the_latest_versions_text(client, secret):
    pushed(client, secret, "Contoso.Core", "1.0.0", description="The legacy gizmo.")
    pushed(client, secret, "Contoso.Core", "2.0.0", description="The modern gadget.")
    assert found(client, "gadget") == ([("Contoso.Core", "2.0.0")], 1)
    assert found(client, "gizmo") == ([], 0)
    unlist(client, secret, "Contoso.Core", "2.0.0")
    assert found(client, "gizmo") == ([("Contoso.Core", "1.0.0")], 1)
    assert found(client, "gadget") == ([], 0)


def test_the_package_type_filter_reads_the_latest_version(client, secret):
    tool = '<packageTypes><packageType name="DotnetTool" /></packageTypes>'
    pushed(client, secret, "Acme.Thing", "1.0.0")
    pushed(client, secret, "Acme.Thing", "2.0.0", types=tool)
    assert found(client, "acme", packageType="DotnetTool") == ([("Acme.Thing", "2.0.0")], 1)
    assert found(client, "acme", packageType="Dependency") == ([], 0)
    unlist(client, secret, "Acme.Thing", "2.0.0")
    assert found(client, "acme", packageType="Dependency") == ([("Acme.Thing", "1.0.0")], 1)
    assert found(client, "acme", packageType="DotnetTool") == ([], 0)


def test_a_stored_version_normalised_past_64_characters_is_searched_and_indexed(
    client, secret, alice
):
    """Pushes refuse these now; rows stored before still work everywhere."""
    version = "1.0.0-" + "a" * 62  # 1- and 62 letters, as an older push stored it
    registration = PackageRegistrationFactory(package_id="Contoso.Long", owners=[alice])
    add_version(registration, version, original_version="1-" + "a" * 62)
    assert found(client, "contoso.long", prerelease="true") == (
        [("Contoso.Long", "1.0.0-" + "a" * 62)],
        1,
    )
    assert client.get("/v3/registration/contoso.long/index.json").status_code == 200


def test_a_private_feed_searches_only_what_the_reader_may_read(client, alice, charlie, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    add_version(PackageRegistrationFactory(package_id="Contoso.Mine", owners=[alice]), "1.0.0")
    add_version(PackageRegistrationFactory(package_id="Contoso.Theirs", owners=[charlie]), "1.0.0")
    client.force_login(alice)
    assert found(client, "contoso") == ([("Contoso.Mine", "1.0.0")], 1)
    assert client.get("/autocomplete?q=contoso").json() == {
        "totalHits": 1,
        "data": ["Contoso.Mine"],
    }
