"""Who may act for whom, with a second, unrelated organization (Fabrikam, administered by
dana) and a second owner (dana) beside alice's Contoso: each test here fails if the rule
it names is taken out (see the mutation list in issue 14's closing note)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import access
from accounts.models import Membership, User
from apikeys.models import ApiKey
from packages import permissions
from packages.models import PackageRegistration, PackageVersion
from tests.conftest import sign_in
from tests.factories import PackageRegistrationFactory, make_key
from tests.helpers import push, unlist
from tests.packages.builders import add_version, nupkg

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


@pytest.fixture
def packages(contoso, fabrikam, bob, dana):
    """One package for each owner, each with a listed 1.0.0."""
    registrations = {
        "Contoso.Billing": PackageRegistrationFactory(
            package_id="Contoso.Billing", owners=[contoso]
        ),
        "Fabrikam.Core": PackageRegistrationFactory(package_id="Fabrikam.Core", owners=[fabrikam]),
        "Bob.Tools": PackageRegistrationFactory(package_id="Bob.Tools", owners=[bob]),
        "Dana.Tools": PackageRegistrationFactory(package_id="Dana.Tools", owners=[dana]),
    }
    for registration in registrations.values():
        add_version(registration, "1.0.0")
    return registrations


def contoso_key(bob, contoso, scopes=("package:push",)):
    """bob's key for Contoso, with a pattern that matches every id."""
    return make_key(bob, owner=contoso, scopes=scopes, glob_patterns=["*"])[1]


# An organization's key acts for the organization's packages only -------------------------


def test_an_organization_key_pushes_a_version_of_its_organizations_package(bob, contoso, packages):
    response = push(Client(), contoso_key(bob, contoso), nupkg("Contoso.Billing", "2.0.0"))
    assert response.status_code == 201


@pytest.mark.parametrize("package_id", ["Fabrikam.Core", "Dana.Tools"])
def test_an_organization_key_cannot_push_to_a_package_of_another_owner_its_patterns_match(
    bob, contoso, packages, package_id
):
    response = push(Client(), contoso_key(bob, contoso), nupkg(package_id, "2.0.0"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "not_owner"
    assert not PackageVersion.objects.filter(version="2.0.0").exists()


def test_an_organization_key_cannot_push_to_its_holders_personal_packages(bob, contoso, packages):
    response = push(Client(), contoso_key(bob, contoso), nupkg("Bob.Tools", "2.0.0"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "not_owner"
    assert "'Contoso' does not own the package 'Bob.Tools'" in response.content.decode()
    assert not PackageVersion.objects.filter(version="2.0.0").exists()


@pytest.mark.parametrize("package_id", ["Fabrikam.Core", "Dana.Tools", "Bob.Tools"])
def test_an_organization_key_cannot_unlist_a_package_of_another_owner(
    bob, contoso, packages, package_id
):
    secret = contoso_key(bob, contoso, scopes=("package:unlist",))
    response = unlist(Client(), secret, package_id, "1.0.0")
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "not_owner"
    assert PackageVersion.objects.get(registration__package_id=package_id).listed


def test_a_personal_key_cannot_push_to_its_holders_organizations_package(bob, contoso, packages):
    _, secret = make_key(bob, glob_patterns=["*"])
    response = push(Client(), secret, nupkg("Contoso.Billing", "2.0.0"))
    assert response.status_code == 403 and response["X-Galley-Reason"] == "not_owner"


# An organization's members, keys and packages are its members' to see ------------------


@pytest.mark.parametrize("who", ["charlie", "dana"])
@pytest.mark.parametrize("url_name", ["organization", "organization_keys"])
@pytest.mark.parametrize("name", ["Contoso", "contoso"])
def test_an_organizations_pages_are_404_to_anyone_signed_in_who_is_not_a_member(
    client, contoso, packages, charlie, dana, who, url_name, name
):
    make_key(User.objects.get(username="bob"), owner=contoso, name="bob-contoso-ci")
    client.force_login(User.objects.get(username=who))
    response = client.get(reverse(url_name, args=[name]))
    assert response.status_code == 404
    assert b"bob-contoso-ci" not in response.content


@pytest.mark.parametrize("who", ["charlie", "dana"])
def test_an_organizations_packages_and_name_are_not_listed_to_others(
    client, contoso, packages, charlie, dana, who
):
    client.force_login(User.objects.get(username=who))
    for url_name in ["packages", "organizations", "apikeys"]:
        content = client.get(reverse(url_name)).content.decode()
        assert reverse("organization", args=["Contoso"]) not in content, url_name
        assert 'value="Contoso"' not in content, url_name  # a key's package owner
        for package_id in ["Contoso.Billing", "Bob.Tools"]:
            assert package_id not in content, url_name


def test_members_see_the_member_list_and_administrators_the_keys(
    client, alice, bob, contoso, fabrikam, dana
):
    make_key(bob, owner=contoso, name="bob-contoso-ci")
    make_key(dana, owner=fabrikam, name="dana-fabrikam-ci")
    make_key(bob, name="bob-personal-ci")
    client.force_login(bob)
    page = client.get(reverse("organization", args=["Contoso"])).content.decode()
    assert "alice" in page and "bob" in page
    assert client.get(reverse("organization_keys", args=["Contoso"])).status_code == 403
    client.force_login(alice)
    keys = client.get(reverse("organization_keys", args=["Contoso"])).content.decode()
    assert "bob-contoso-ci" in keys
    assert "dana-fabrikam-ci" not in keys and "bob-personal-ci" not in keys
    assert "dana" not in page


# An administrator of one organization cannot change another -----------------------------


def _memberships():
    return set(Membership.objects.values_list("organization__username", "member__username", "role"))


BEFORE = {
    ("Contoso", "alice", "admin"),
    ("Contoso", "bob", "collaborator"),
    ("Fabrikam", "dana", "admin"),
}


@pytest.mark.parametrize(
    "url_name, args, data",
    [
        # Through the organization dana administers, naming Contoso's members.
        ("organization_remove_member", ["Fabrikam", "alice"], {}),
        ("organization_remove_member", ["Fabrikam", "bob"], {}),
        ("organization_change_role", ["Fabrikam", "bob"], {"role": "admin"}),
        ("organization_change_role", ["Fabrikam", "alice"], {"role": "collaborator"}),
        # Through Contoso's own URLs.
        ("organization_remove_member", ["Contoso", "alice"], {}),
        ("organization_change_role", ["Contoso", "bob"], {"role": "admin"}),
        ("organization_add_member", ["Contoso"], {"username": "charlie", "role": "admin"}),
        ("organization_add_member", ["Contoso"], {"username": "dana", "role": "admin"}),
    ],
)
def test_an_administrator_of_one_organization_cannot_change_the_members_of_another(
    client, contoso, fabrikam, dana, charlie, url_name, args, data
):
    assert _memberships() == BEFORE
    sign_in(client, dana)  # adding and promoting ask for the password: it is given
    response = client.post(reverse(url_name, args=args), data)
    assert response.status_code == 404
    assert _memberships() == BEFORE


def test_an_administrator_of_one_organization_cannot_revoke_the_keys_of_another(
    client, alice, contoso, fabrikam, dana
):
    key, _ = make_key(dana, owner=fabrikam, name="fabrikam-ci")
    sign_in(client, alice)
    for name in ["Contoso", "Fabrikam"]:
        response = client.post(reverse("organization_revoke_key", args=[name, key.pk]))
        assert response.status_code == 404
    key.refresh_from_db()
    assert not key.is_revoked
    assert ApiKey.objects.filter(owner=fabrikam).count() == 1


# Rules pinned by the mutation pass (make mutants) ----------------------------------------


def test_a_person_acts_for_themselves_first_then_their_organizations_by_name(bob, contoso, dana):
    aardvark = User.objects.create_organization("Aardvark", admin=dana)  # created after Contoso
    Membership.objects.create(organization=aardvark, member=bob)
    User.objects.create_organization("Zeta", admin=dana)  # not bob's
    assert list(access.owners_for(bob)) == [bob, aardvark, contoso]


def test_an_organization_key_stops_when_its_holder_leaves_though_they_belong_to_another(
    bob, contoso, fabrikam, packages
):
    secret = contoso_key(bob, contoso)
    Membership.objects.create(organization=fabrikam, member=bob)
    Membership.objects.filter(organization=contoso, member=bob).delete()
    response = push(Client(), secret, nupkg("Contoso.Billing", "2.0.0"))
    assert response.status_code == 403 and response["X-Galley-Reason"] == "not_a_member"
    assert not PackageVersion.objects.filter(version="2.0.0").exists()


def test_the_organization_key_list_marks_the_keys_of_former_members(
    client, alice, bob, charlie, contoso, fabrikam, dana
):
    make_key(bob, owner=contoso, name="bob-ci")
    make_key(charlie, owner=contoso, name="charlie-ci")  # made while charlie was a member
    Membership.objects.create(organization=fabrikam, member=charlie)  # of another organization
    # bob's membership is renewed, so that its row's id is not bob's own id.
    Membership.objects.filter(organization=contoso, member=bob).delete()
    Membership.objects.create(organization=contoso, member=bob)
    client.force_login(alice)
    page = client.get(reverse("organization_keys", args=["Contoso"])).content.decode()
    assert '<td data-label="Holder">bob</td>' in page
    assert (
        '<td data-label="Holder">charlie <span class="badge badge-warn">no longer a member</span></td>'
        in page
    )


def test_deactivated_people_are_not_told_about_members_or_owners(
    client, alice, bob, charlie, contoso, fabrikam, dana, mailoutbox
):
    """charlie administers Contoso and co-owns its package, but is deactivated; dana
    administers Fabrikam, which has nothing to do with it: neither is mailed."""
    Membership.objects.create(organization=contoso, member=charlie, role=Membership.Role.ADMIN)
    User.objects.filter(pk=charlie.pk).update(is_active=False)
    PackageRegistrationFactory(package_id="Contoso.Billing", owners=[contoso, charlie, alice])
    sign_in(client, alice)
    client.post(reverse("organization_change_role", args=["Contoso", "bob"]), {"role": "admin"})
    assert Membership.objects.get(member=bob).role == "admin"
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    mailoutbox.clear()
    client.post(reverse("package_remove_owner", args=["Contoso.Billing", "alice"]))
    assert {owner.username for owner in packages_of_name("Contoso.Billing")} == {
        "Contoso",
        "charlie",
    }
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]


def packages_of_name(package_id):
    from packages.models import PackageRegistration

    return PackageRegistration.objects.get(package_id=package_id).owners.all()


def test_a_collaborator_is_not_the_last_administrator_of_their_organization(
    client, alice, bob, contoso
):
    sign_in(client, bob)
    response = client.post(reverse("delete_account"), {"confirm": "bob"}, follow=True)
    assert "only administrator" not in response.content.decode()
    assert not User.objects.filter(username="bob").exists()
    assert list(access.administrators_of(contoso)) == [alice]


def test_a_pending_administrator_does_not_relieve_the_last_one(client, alice, charlie, contoso):
    Membership.objects.create(
        organization=contoso, member=charlie, role=Membership.Role.ADMIN, accepted=False
    )
    sign_in(client, alice)
    response = client.post(reverse("delete_account"), {"confirm": "alice"}, follow=True)
    assert "You are the only administrator of Contoso." in response.content.decode()
    assert User.objects.filter(username="alice").exists()


def test_asking_about_many_packages_reuses_the_accounts_given(
    alice, bob, contoso, packages, django_assert_num_queries
):
    registrations = list(
        PackageRegistration.objects.prefetch_related("owners").order_by("package_id")
    )
    owned, managed = access.owner_ids(bob), access.managed_owner_ids(bob)
    with django_assert_num_queries(0):
        mine = [r.package_id for r in registrations if permissions.is_owner(bob, r, owned)]
        managing = [r.package_id for r in registrations if permissions.can_manage(bob, r, managed)]
    assert mine == ["Bob.Tools", "Contoso.Billing"]
    assert managing == ["Bob.Tools"]


def test_an_invitation_from_a_deactivated_administrator_is_withdrawn(
    client, alice, bob, charlie, contoso
):
    Membership.objects.filter(organization=contoso, member=bob).delete()
    Membership.objects.create(organization=contoso, member=charlie, role=Membership.Role.ADMIN)
    Membership.objects.create(organization=contoso, member=bob, accepted=False, invited_by=alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    bob_client = sign_in(Client(), bob)
    bob_client.post(reverse("organization_invitation", args=["Contoso"]), {"answer": "accept"})
    assert not Membership.objects.filter(member=bob).exists()
    assert not access.is_member(bob, contoso)
