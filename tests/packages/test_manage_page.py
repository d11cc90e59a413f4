import pytest
from django.urls import reverse

from tests.factories import PackageRegistrationFactory, make_key
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def contoso(alice, bob):
    """alice administers Contoso; bob is a collaborator."""
    from accounts.models import Membership, User

    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(
        organization=organization, member=bob, role=Membership.Role.COLLABORATOR
    )
    return organization


def sections(client, query="") -> tuple[str, str]:
    """(Published, Unlisted) parts of Manage packages."""
    response = client.get(reverse("packages") + query)
    assert response.status_code == 200
    content = response.content.decode()
    published = content.split('id="published-heading"')[1].split('id="unlisted-heading"')[0]
    unlisted = content.split('id="unlisted-heading"')[1].split("</section>")[0]
    return published, unlisted


def row(section: str, package_id: str) -> str:
    """The table row of `package_id` in a section ("" when it is not there); the id
    is written with a line-break opportunity after each dot."""
    for part in section.split("<tr ")[1:]:
        if f">{package_id.replace('.', '.<wbr>')}</a>" in part:
            return part.split("</tr>")[0]
    return ""


def test_a_package_with_no_listed_version_is_under_unlisted(client, alice):
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    add_version(core, "1.0.0")
    add_version(core, "1.1.0", listed=False)
    old = PackageRegistrationFactory(package_id="Contoso.Old", owners=[alice])
    add_version(old, "0.9.0", listed=False)
    client.force_login(alice)
    published, unlisted = sections(client)
    assert row(published, "Contoso.Core") and not row(unlisted, "Contoso.Core")
    assert row(unlisted, "Contoso.Old") and not row(published, "Contoso.Old")
    assert "1 package<" in published and "1 package<" in unlisted


def test_latest_version_is_the_one_the_package_page_shows(client, alice):
    """The latest listed stable version in NuGet's order; for an unlisted package,
    the latest of all."""
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    for version, listed in [("1.9.0", True), ("1.10.0", True), ("2.0.0-beta", True)]:
        add_version(core, version, listed=listed)
    add_version(core, "3.0.0", listed=False)
    old = PackageRegistrationFactory(package_id="Contoso.Old", owners=[alice])
    add_version(old, "0.9.0", listed=False)
    add_version(old, "0.10.0", listed=False)
    client.force_login(alice)
    published, unlisted = sections(client)
    assert ">1.10.0</a>" in row(published, "Contoso.Core")
    assert "1.9.0" not in row(published, "Contoso.Core")
    assert ">0.10.0</a>" in row(unlisted, "Contoso.Old")


def test_downloads_are_summed_over_versions(client, alice):
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    add_version(core, "1.0.0").__class__.objects.filter(version="1.0.0").update(download_count=40)
    add_version(core, "1.1.0").__class__.objects.filter(version="1.1.0").update(download_count=2)
    client.force_login(alice)
    published, _ = sections(client)
    assert '<td class="number" data-label="Downloads">42</td>' in row(published, "Contoso.Core")


def test_owner_filter_shows_one_owners_packages(client, alice, contoso):
    add_version(PackageRegistrationFactory(package_id="Alice.Own", owners=[alice]), "1.0.0")
    add_version(PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso]), "1.0.0")
    client.force_login(alice)
    everything, _ = sections(client)
    assert row(everything, "Alice.Own") and row(everything, "Contoso.Core")
    # Any case, as user names are matched everywhere else.
    only_contoso, _ = sections(client, "?owner=contoso")
    assert row(only_contoso, "Contoso.Core") and not row(only_contoso, "Alice.Own")
    only_alice, _ = sections(client, "?owner=alice")
    assert row(only_alice, "Alice.Own") and not row(only_alice, "Contoso.Core")
    page = client.get(reverse("packages") + "?owner=contoso").content.decode()
    assert '<option value="Contoso" selected>Contoso</option>' in page
    assert '<option value="alice">alice (you)</option>' in page


def test_owner_filter_never_reaches_another_owner(client, alice, contoso, fabrikam):
    add_version(PackageRegistrationFactory(package_id="Alice.Own", owners=[alice]), "1.0.0")
    add_version(PackageRegistrationFactory(package_id="Fabrikam.Core", owners=[fabrikam]), "1.0.0")
    client.force_login(alice)
    published, _ = sections(client, "?owner=Fabrikam")
    assert not row(published, "Fabrikam.Core") and row(published, "Alice.Own")
    page = client.get(reverse("packages") + "?owner=Fabrikam").content.decode()
    assert "Fabrikam.Core" not in page and '<option value="Fabrikam"' not in page
    assert '<option value="" selected' not in page  # "All Owners" is the unselected first option
    assert '<option value="">All Owners</option>' in page


def test_manage_link_only_where_the_user_may_manage(client, alice, bob, contoso):
    add_version(PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso]), "1.0.0")
    add_version(PackageRegistrationFactory(package_id="Bob.Tools", owners=[bob]), "1.0.0")
    manage = reverse("package_manage", args=["Contoso.Core"])
    client.force_login(alice)  # Contoso's administrator
    published, _ = sections(client)
    assert f'href="{manage}"' in row(published, "Contoso.Core")
    client.force_login(bob)  # a collaborator: pushes and unlists with keys, manages nothing
    published, _ = sections(client)
    assert row(published, "Contoso.Core") and f'href="{manage}"' not in published
    own = reverse("package_manage", args=["Bob.Tools"])
    assert f'href="{own}"' in row(published, "Bob.Tools")
    assert client.get(manage).status_code == 403


def test_package_manage_page_shows_the_key_each_version_was_pushed_with(client, alice):
    key, _ = make_key(alice, name="release-ci")
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    add_version(core, "1.0.0", key)
    client.force_login(alice)
    content = client.get(reverse("package_manage", args=["Contoso.Core"])).content.decode()
    assert f"release-ci <code>{key.hint}…</code>" in content


def test_newcomer_is_pointed_to_api_keys(client, charlie):
    client.force_login(charlie)
    content = client.get(reverse("packages")).content.decode()
    assert "You do not own any packages yet." in content
    assert 'id="published-heading"' not in content


def test_others_packages_are_not_shown(client, alice, charlie):
    PackageRegistrationFactory(package_id="Charlie.Only", owners=[charlie])
    client.force_login(alice)
    assert b"Charlie.Only" not in client.get(reverse("packages")).content


def test_sign_in_is_needed(client):
    assert client.get(reverse("packages")).status_code == 302


def test_query_count_does_not_grow_with_packages(client, alice, contoso, django_assert_num_queries):
    client.force_login(alice)
    add_version(PackageRegistrationFactory(owners=[alice]), "1.0.0")
    # session, user, memberships (the accounts alice acts for), registrations,
    # their owners, their versions, downloads counted since the last flush (one
    # cache read), ownership requests asked of alice, those waiting on her packages
    with django_assert_num_queries(9):
        client.get(reverse("packages"))
    for number in range(20):
        registration = PackageRegistrationFactory(owners=[contoso if number % 2 else alice])
        for minor in range(3):
            add_version(registration, f"1.{minor}.0", listed=minor != 2 or number % 3 != 0)
    with django_assert_num_queries(9):
        response = client.get(reverse("packages"))
    assert response.content.count(b'<tr id="package-') == 21
    with django_assert_num_queries(9):
        response = client.get(reverse("packages") + "?owner=Contoso")
    assert response.content.count(b'<tr id="package-') == 10


def test_staff_unlist_and_relist_in_the_admin_with_an_audit_trail(client, alice):
    from django.contrib.auth.models import Permission

    from audit.models import AuditEvent
    from tests.factories import UserFactory

    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    staff = UserFactory(username="staffer", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_packageversion", "change_packageversion"])
    )
    client.force_login(staff)
    url = "/admin/packages/packageversion/"
    client.post(url, {"action": "unlist", "_selected_action": [version.pk]})
    version.refresh_from_db()
    assert not version.listed
    client.post(url, {"action": "relist", "_selected_action": [version.pk]})
    version.refresh_from_db()
    assert version.listed
    kinds = list(
        AuditEvent.objects.order_by("pk").values_list("kind", "actor__username", "package_id")
    )
    assert kinds == [
        ("package.unlisted", "staffer", "Contoso.Core"),
        ("package.relisted", "staffer", "Contoso.Core"),
    ]


def test_staff_without_change_permission_cannot_unlist(client, alice):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    staff = UserFactory(username="viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_packageversion"))
    client.force_login(staff)
    client.post(
        "/admin/packages/packageversion/", {"action": "unlist", "_selected_action": [version.pk]}
    )
    version.refresh_from_db()
    assert version.listed
