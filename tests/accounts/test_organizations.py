import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, User
from apikeys.models import ApiKey
from audit.models import AuditEvent
from packages.models import PackageRegistration
from tests.conftest import create_key_on_page, sign_in
from tests.factories import PackageRegistrationFactory, UserFactory, make_key
from tests.helpers import KEY_RE, push
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


@pytest.fixture
def contoso(alice, bob):
    """alice administers Contoso; bob is a collaborator."""
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(
        organization=organization, member=bob, role=Membership.Role.COLLABORATOR
    )
    return organization


def create_key(client, owner, **extra):
    response = create_key_on_page(
        client, name="contoso-ci", owner=owner, glob_patterns="Contoso.*", **extra
    )
    match = KEY_RE.search(response.content.decode())
    return response, match.group(0) if match else None


def test_member_creates_an_organization_key_and_pushes_a_new_package_for_it(client, bob, contoso):
    sign_in(client, bob)
    page = client.get(reverse("apikeys")).content.decode()
    assert '<option value="Contoso">Contoso (organization)</option>' in page
    _, secret = create_key(client, "Contoso")
    key = ApiKey.objects.get()
    assert key.holder == bob and key.owner == contoso
    assert push(Client(), secret).status_code == 201
    registration = PackageRegistration.objects.get()
    assert list(registration.owners.all()) == [contoso]


def test_organization_key_pushes_a_version_of_an_organization_package(bob, contoso):
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    _, secret = make_key(
        bob, owner=contoso, scopes=["package:pushversion"], glob_patterns=["Contoso.*"]
    )
    assert push(Client(), secret).status_code == 201


def test_personal_key_cannot_push_to_an_organization_package(bob, contoso):
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    _, secret = make_key(bob, glob_patterns=["*"])
    response = push(Client(), secret)
    assert response.status_code == 403 and response["X-Galley-Reason"] == "not_owner"


def test_outsider_cannot_pick_the_organization_as_owner(client, charlie, contoso):
    sign_in(client, charlie)
    assert b'<option value="Contoso"' not in client.get(reverse("apikeys")).content
    response, secret = create_key(client, "Contoso")
    assert response.status_code == 400 and secret is None
    assert "Select a valid choice" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_admin_sees_and_revokes_a_members_key_and_the_next_push_fails(
    client, alice, bob, contoso, mailoutbox
):
    key, secret = make_key(bob, owner=contoso, name="bob-contoso", glob_patterns=["Contoso.*"])
    make_key(alice, name="alice-personal")
    sign_in(client, alice)
    page = client.get(reverse("organization_keys", args=["Contoso"])).content.decode()
    assert "bob-contoso" in page and "alice-personal" not in page
    assert secret not in page and key.hashed_key not in page

    client.post(reverse("organization_revoke_key", args=["Contoso", key.pk]))
    key.refresh_from_db()
    assert key.revocation_source == "organization" and key.revoked_by == alice
    response = push(Client(), secret)
    assert response.status_code == 403 and response["X-Galley-Reason"] == "revoked"
    assert [m.to for m in mailoutbox] == [["bob@example.com"]]
    assert "administrator of Contoso" in mailoutbox[0].body


def test_admin_cannot_revoke_keys_of_another_owner(client, alice, bob, contoso):
    personal, _ = make_key(bob, name="bob-personal")
    sign_in(client, alice)
    assert (
        client.post(reverse("organization_revoke_key", args=["Contoso", personal.pk])).status_code
        == 404
    )
    personal.refresh_from_db()
    assert personal.revoked_at is None


def test_removing_a_member_stops_their_organization_keys_at_once(
    client, alice, bob, contoso, mailoutbox
):
    _, first = make_key(bob, owner=contoso, name="one", glob_patterns=["Contoso.*"])
    _, second = make_key(
        bob, owner=contoso, name="two", glob_patterns=["Contoso.*"], scopes=["package:unlist"]
    )
    _, personal = make_key(bob, name="mine", glob_patterns=["Bob.*"])
    assert push(Client(), first).status_code == 201

    sign_in(client, alice)
    client.post(reverse("organization_remove_member", args=["Contoso", "bob"]))
    assert not Membership.objects.filter(member=bob).exists()

    response = push(Client(), first, nupkg(version="2.0.0"))
    assert response.status_code == 403
    assert response.content.decode().strip() == "bob is no longer a member of Contoso."
    unlist = Client().delete(
        "/api/v2/package/Contoso.Core/1.0.0", headers={"X-NuGet-ApiKey": second}
    )
    assert unlist.status_code == 403 and unlist["X-Galley-Reason"] == "not_a_member"
    assert push(Client(), personal, nupkg(package_id="Bob.Tools")).status_code == 201
    # Contoso's administrator is told; bob is told his keys for Contoso stopped.
    assert sorted(m.to for m in mailoutbox) == [["alice@example.com"], ["bob@example.com"]]
    assert "alice removed bob from Contoso." in mailoutbox[0].body

    bob_client = sign_in(Client(), bob)
    page = bob_client.get(reverse("apikeys")).content.decode()
    assert page.count("You are no longer a member of Contoso") == 2


def test_lowering_a_role_keeps_push_and_unlist(client, alice, bob, contoso):
    """Both of nuget.org's roles may push; demoting an administrator keeps their keys working."""
    Membership.objects.filter(member=bob).update(role=Membership.Role.ADMIN)
    _, secret = make_key(bob, owner=contoso, glob_patterns=["Contoso.*"])
    sign_in(client, alice)
    client.post(
        reverse("organization_change_role", args=["Contoso", "bob"]), {"role": "collaborator"}
    )
    assert Membership.objects.get(member=bob).role == "collaborator"
    assert push(Client(), secret).status_code == 201


@pytest.mark.parametrize(
    "url_name, args",
    [
        ("organization", ["Contoso"]),
        ("organization_keys", ["Contoso"]),
    ],
)
def test_an_outsider_gets_404_on_organization_pages(client, charlie, contoso, url_name, args):
    client.force_login(charlie)
    assert client.get(reverse(url_name, args=args)).status_code == 404


@pytest.mark.parametrize(
    "url_name, args, data",
    [
        ("organization_add_member", ["Contoso"], {"username": "charlie", "role": "admin"}),
        ("organization_remove_member", ["Contoso", "alice"], {}),
        ("organization_change_role", ["Contoso", "alice"], {"role": "collaborator"}),
        ("organization_leave", ["Contoso"], {}),
    ],
)
def test_an_outsider_gets_404_on_organization_actions(
    client, charlie, contoso, url_name, args, data
):
    sign_in(client, charlie)  # adding and promoting ask for the password first
    assert client.post(reverse(url_name, args=args), data).status_code == 404
    assert Membership.objects.filter(organization=contoso).count() == 2


@pytest.mark.parametrize(
    "url_name, args, data",
    [
        ("organization_add_member", ["Contoso"], {"username": "charlie", "role": "admin"}),
        ("organization_remove_member", ["Contoso", "alice"], {}),
        ("organization_change_role", ["Contoso", "bob"], {"role": "admin"}),
    ],
)
def test_a_collaborator_gets_403_on_member_management(
    client, bob, charlie, contoso, url_name, args, data
):
    sign_in(client, bob)
    assert client.post(reverse(url_name, args=args), data).status_code == 403
    assert set(Membership.objects.values_list("member__username", "role")) == {
        ("alice", "admin"),
        ("bob", "collaborator"),
    }


def test_a_collaborator_gets_403_on_the_organization_key_list(client, bob, contoso):
    client.force_login(bob)
    assert client.get(reverse("organization_keys", args=["Contoso"])).status_code == 403
    assert client.get(reverse("organization", args=["Contoso"])).status_code == 200


def test_admin_adds_a_member(client, alice, charlie, contoso):
    sign_in(client, alice)
    client.post(
        reverse("organization_add_member", args=["Contoso"]),
        {"username": "Charlie", "role": "collaborator"},
    )
    invitation = Membership.objects.get(member=charlie)
    assert invitation.role == "collaborator" and not invitation.accepted
    event = AuditEvent.objects.get(kind="org.member_invited")
    assert event.user == charlie and event.actor == alice

    charlie_client = sign_in(Client(), charlie)
    charlie_client.post(reverse("organization_invitation", args=["Contoso"]), {"answer": "accept"})
    assert Membership.objects.get(member=charlie).accepted
    event = AuditEvent.objects.get(kind="org.member_added")
    assert event.user == charlie and event.actor == charlie


def test_an_organization_cannot_be_added_as_a_member(client, alice, contoso):
    User.objects.create_organization("Fabrikam", admin=alice)
    sign_in(client, alice)
    response = client.post(
        reverse("organization_add_member", args=["Contoso"]),
        {"username": "Fabrikam", "role": "admin"},
        follow=True,
    )
    assert "There is no user named" in response.content.decode()


@pytest.mark.parametrize(
    "url_name, args, data",
    [
        pytest.param("organization_remove_member", ["Contoso", "alice"], {}, id="removed"),
        pytest.param(
            "organization_change_role",
            ["Contoso", "alice"],
            {"role": "collaborator"},
            id="demoted",
        ),
        pytest.param("organization_leave", ["Contoso"], {}, id="leaving"),
    ],
)
def test_the_last_administrator_stays(client, alice, contoso, url_name, args, data):
    sign_in(client, alice)  # changing a role asks for the password again
    response = client.post(reverse(url_name, args=args), data, follow=True)
    assert "Contoso must keep at least one administrator." in response.content.decode()
    assert Membership.objects.get(member=alice).role == "admin"


def test_a_collaborator_can_leave(client, bob, contoso):
    client.force_login(bob)
    client.post(reverse("organization_leave", args=["Contoso"]))
    assert not Membership.objects.filter(member=bob).exists()


def test_creating_an_organization(client, alice):
    client.force_login(alice)
    response = client.post(reverse("organizations"), {"name": "Fabrikam"})
    assert response.status_code == 302
    fabrikam = User.objects.get(username="Fabrikam")
    assert fabrikam.is_organization and not fabrikam.has_usable_password()
    assert Membership.objects.get(organization=fabrikam).member == alice


@pytest.mark.parametrize(
    "name, error",
    [
        ("bob", "This name is taken."),
        ("BOB", "This name is taken."),
        ("a b", "Enter a valid username"),
        ("", "This field is required."),
    ],
)
def test_organization_names_share_the_user_namespace(client, alice, bob, name, error):
    client.force_login(alice)
    response = client.post(reverse("organizations"), {"name": name})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not User.objects.filter(is_organization=True).exists()


def test_nobody_can_sign_in_as_an_organization(client, alice, contoso):
    for password in ["", "correct-horse-battery-staple", "!"]:
        client.post(reverse("account_login"), {"login": "Contoso", "password": password})
        assert SESSION_KEY not in client.session


def test_organization_key_list_query_count_is_constant(
    client, alice, contoso, django_assert_num_queries
):
    make_key(alice, owner=contoso, name="k0")
    client.force_login(alice)
    # session, user, membership, keys with holder and owner, their packages, member ids
    with django_assert_num_queries(6):
        client.get(reverse("organization_keys", args=["Contoso"]))
    for i in range(10):
        member = UserFactory(username=f"member{i}")
        Membership.objects.create(organization=contoso, member=member)
        package = PackageRegistrationFactory(package_id=f"Contoso.P{i}", owners=[contoso])
        make_key(member, owner=contoso, name=f"k{i + 1}", packages=[package])
    with django_assert_num_queries(6):
        response = client.get(reverse("organization_keys", args=["Contoso"]))
    assert response.content.decode().count("<code>gly_") == 11


def test_packages_page_groups_organization_packages(
    client, alice, bob, contoso, django_assert_num_queries
):
    PackageRegistrationFactory(package_id="Alice.Own", owners=[alice])
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    client.force_login(bob)
    content = client.get(reverse("packages")).content.decode()
    assert (
        '<option value="Contoso">Contoso</option>' in content
        and ">Contoso.<wbr>Core</a>" in content
        and "Alice.Own" not in content
    )
    # session, user, memberships, registrations, their owners, their versions
    # (none: no cache read for their downloads), ownership requests asked of
    # the user, those waiting on their packages
    with django_assert_num_queries(8):
        client.get(reverse("packages"))
    for i in range(10):
        PackageRegistrationFactory(package_id=f"Contoso.More{i}", owners=[contoso])
        Membership.objects.create(organization=contoso, member=UserFactory(username=f"m{i}"))
    with django_assert_num_queries(8):
        client.get(reverse("packages"))


def test_organization_admin_adds_and_removes_package_owners(client, alice, charlie, contoso):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    sign_in(client, alice)
    client.post(reverse("package_add_owner", args=["contoso.core"]), {"owner": "charlie"})
    assert list(registration.owners.values_list("username", flat=True)) == ["Contoso"]
    sign_in(Client(), charlie).post(
        reverse("package_ownership_request", args=["Contoso.Core", "charlie"]),
        {"answer": "accept"},
    )
    assert set(registration.owners.values_list("username", flat=True)) == {"Contoso", "charlie"}
    client.post(reverse("package_remove_owner", args=["Contoso.Core", "charlie"]))
    assert list(registration.owners.values_list("username", flat=True)) == ["Contoso"]
    assert AuditEvent.objects.filter(kind="package.owner_added").count() == 1
    assert AuditEvent.objects.filter(kind="package.owner_removed").count() == 1


def test_an_organization_admin_cannot_remove_the_last_package_owner(client, alice, contoso):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    sign_in(client, alice)
    response = client.post(
        reverse("package_remove_owner", args=["Contoso.Core", "Contoso"]), follow=True
    )
    assert "must keep at least one owner" in response.content.decode()
    assert list(registration.owners.values_list("username", flat=True)) == ["Contoso"]


def test_an_organization_becomes_an_owner_only_when_its_administrator_accepts(
    client, alice, bob, contoso
):
    registration = PackageRegistrationFactory(package_id="Bob.Tools", owners=[bob])
    sign_in(client, bob)  # a collaborator of Contoso
    client.post(reverse("package_add_owner", args=["Bob.Tools"]), {"owner": "Contoso"})
    assert list(registration.owners.all()) == [bob]
    # A collaborator of the organization cannot answer for it; its administrator can.
    url = reverse("package_ownership_request", args=["Bob.Tools", "Contoso"])
    assert client.post(url, {"answer": "accept"}).status_code == 404
    assert list(registration.owners.all()) == [bob]
    sign_in(Client(), alice).post(url, {"answer": "accept"})
    assert set(registration.owners.all()) == {bob, contoso}


def test_a_collaborator_cannot_manage_organization_package_owners(client, bob, contoso):
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    sign_in(client, bob)
    assert (
        client.post(
            reverse("package_add_owner", args=["Contoso.Core"]), {"owner": "bob"}
        ).status_code
        == 403
    )


def test_a_stranger_gets_404_on_package_owner_management(client, charlie, contoso):
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    sign_in(client, charlie)
    assert (
        client.post(
            reverse("package_add_owner", args=["Contoso.Core"]), {"owner": "charlie"}
        ).status_code
        == 404
    )


def test_an_ex_member_sees_no_organization_packages_and_cannot_edit_the_key(
    client, alice, bob, contoso
):
    PackageRegistrationFactory(package_id="Contoso.Secret", owners=[contoso])
    key, _ = make_key(bob, owner=contoso, glob_patterns=["Contoso.*"])
    Membership.objects.filter(member=bob).delete()
    sign_in(client, bob)
    page = client.get(reverse("apikeys")).content.decode()
    assert "Contoso.Secret" not in page
    response = client.post(
        reverse("apikey_edit", args=[key.pk]), {f"edit-{key.pk}-glob_patterns": "*"}
    )
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.glob_patterns == ["Contoso.*"]


def test_the_only_owner_or_administrator_cannot_delete_the_account(client, alice, contoso):
    PackageRegistrationFactory(package_id="Alice.Only", owners=[alice])
    sign_in(client, alice)
    response = client.post(reverse("delete_account"), {"confirm": "alice"}, follow=True)
    content = response.content.decode()
    assert "You are the only owner of Alice.Only." in content
    assert "You are the only administrator of Contoso." in content
    assert User.objects.filter(username="alice").exists()
