"""Organization membership is an invitation (nuget.org's pending members): nothing is
imposed on anyone, and a pending member has no rights at all until they accept."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import access
from accounts.models import Membership, User
from audit.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import PackageRegistrationFactory, make_key
from tests.helpers import push
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


@pytest.fixture
def contoso(alice):
    """alice administers Contoso, which owns Contoso.Core."""
    organization = User.objects.create_organization("Contoso", admin=alice)
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[organization])
    return organization


@pytest.fixture
def fabrikam(charlie):
    """A second, unrelated organization: charlie administers it."""
    return User.objects.create_organization("Fabrikam", admin=charlie)


def invite(client, name="bob", role="collaborator", organization="Contoso"):
    return client.post(
        reverse("organization_add_member", args=[organization]), {"username": name, "role": role}
    )


def link_in(message) -> str:
    """The path of the accept/decline link in an e-mail."""
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_an_invited_member_is_pending_and_mailed_a_link(client, alice, bob, contoso, mailoutbox):
    sign_in(client, alice)
    response = invite(client, role="admin")
    assert response.status_code == 302
    invitation = Membership.objects.get(member=bob)
    assert not invitation.accepted and invitation.invited_by == alice
    assert [m.to for m in mailoutbox] == [["bob@example.com"]]
    assert "alice invited you to join the organization Contoso as administrator." in (
        mailoutbox[0].body
    )
    assert link_in(mailoutbox[0]) == reverse("organization_invitation", args=["Contoso"])
    page = client.get(reverse("organization", args=["Contoso"])).content.decode()
    assert 'bob <span class="muted">(pending)</span>' in page


def test_a_pending_member_has_no_rights(client, alice, bob, contoso):
    sign_in(client, alice)
    invite(client, role="admin")
    assert list(access.owners_for(bob)) == [bob]
    assert access.owner_ids(bob) == {bob.pk}
    assert access.managed_owner_ids(bob) == {bob.pk}
    assert not access.is_member(bob, contoso)
    assert not access.organizations_of(bob).exists()

    bob_client = sign_in(Client(), bob)
    assert bob_client.get(reverse("organization", args=["Contoso"])).status_code == 404
    assert bob_client.get(reverse("organization_keys", args=["Contoso"])).status_code == 404
    assert invite(bob_client, name="charlie").status_code == 404
    assert "Contoso.Core" not in bob_client.get(reverse("packages")).content.decode()
    page = bob_client.get(reverse("apikeys")).content.decode()
    assert '<option value="Contoso">' not in page


def test_an_organization_key_of_a_pending_member_is_refused(client, alice, bob, contoso):
    sign_in(client, alice)
    invite(client)
    # A key made for the organization before the member accepted (the page would
    # not offer it): the publish API refuses it on every request.
    _, secret = make_key(bob, owner=contoso, glob_patterns=["Contoso.*"])
    response = push(Client(), secret, nupkg(version="9.0.0"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "not_a_member"
    bob_client = sign_in(Client(), bob)
    bob_client.post(reverse("organization_invitation", args=["Contoso"]), {"answer": "accept"})
    assert push(Client(), secret, nupkg(version="9.0.0")).status_code == 201


def test_accepting_makes_a_member_and_tells_the_administrators(
    client, alice, bob, contoso, mailoutbox
):
    sign_in(client, alice)
    invite(client)
    mailoutbox.clear()
    bob_client = sign_in(Client(), bob)
    listing = bob_client.get(reverse("organizations")).content.decode()
    assert reverse("organization_invitation", args=["Contoso"]) in listing
    response = bob_client.post(
        reverse("organization_invitation", args=["Contoso"]), {"answer": "accept"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(member=bob).accepted
    assert access.is_member(bob, contoso)
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    assert "bob accepted the invitation and joined Contoso as collaborator." in (mailoutbox[0].body)
    assert AuditEvent.objects.filter(kind="org.member_added", user=bob).exists()


def test_an_invitation_whose_inviter_is_no_longer_an_administrator_is_withdrawn(
    client, alice, bob, charlie, contoso
):
    """The offer stands only while whoever made it still administers the organization."""
    sign_in(client, alice)
    invite(client, role="admin")
    assert Membership.objects.pending().filter(member=bob).exists()
    Membership.objects.create(organization=contoso, member=charlie, role=Membership.Role.ADMIN)
    Membership.objects.filter(organization=contoso, member=alice).update(
        role=Membership.Role.COLLABORATOR
    )
    bob_client = sign_in(Client(), bob)
    bob_client.post(reverse("organization_invitation", args=["Contoso"]), {"answer": "accept"})
    assert not Membership.objects.filter(member=bob).exists()
    assert not access.is_member(bob, contoso)


@pytest.mark.parametrize("how", ["deactivated", "deleted"])
def test_an_invitation_whose_inviter_left_the_site_is_withdrawn(
    client, alice, bob, charlie, contoso, mailoutbox, how
):
    """Deactivated, or deleted (the invitation keeps no inviter): the offer lapses."""
    sign_in(client, alice)
    invite(client, role="admin")
    # Another administrator keeps the organization going (and is not the inviter).
    Membership.objects.create(organization=contoso, member=charlie, role=Membership.Role.ADMIN)
    if how == "deactivated":
        User.objects.filter(pk=alice.pk).update(is_active=False)
    else:
        alice.delete()
        assert Membership.objects.get(member=bob).invited_by is None
    mailoutbox.clear()
    bob_client = sign_in(Client(), bob)
    response = bob_client.post(
        reverse("organization_invitation", args=["Contoso"]), {"answer": "accept"}, follow=True
    )
    assert "the invitation was withdrawn" in response.content.decode()
    assert not Membership.objects.filter(member=bob).exists()
    assert not access.is_member(bob, contoso)
    assert not AuditEvent.objects.filter(kind="org.member_added").exists()
    assert not mailoutbox


def test_declining_makes_the_invitation_disappear(client, alice, bob, contoso):
    sign_in(client, alice)
    invite(client)
    bob_client = sign_in(Client(), bob)
    bob_client.post(reverse("organization_invitation", args=["Contoso"]), {"answer": "decline"})
    assert not Membership.objects.filter(member=bob).exists()
    client.get(reverse("organizations"))  # shows the message about the invitation
    page = client.get(reverse("organization", args=["Contoso"])).content.decode()
    assert "bob" not in page
    assert AuditEvent.objects.filter(kind="org.member_declined", user=bob).exists()


def test_an_expired_invitation_disappears_and_cannot_be_accepted(
    client, alice, bob, contoso, settings
):
    sign_in(client, alice)
    invite(client)
    later = timezone.now() + timedelta(days=settings.GALLEY_CONSENT_DAYS, minutes=1)
    with time_machine.travel(later, tick=False):
        bob_client = Client()
        bob_client.force_login(bob)
        url = reverse("organization_invitation", args=["Contoso"])
        assert bob_client.get(url).status_code == 404
        assert bob_client.post(url, {"answer": "accept"}).status_code == 404
        assert not Membership.objects.get(member=bob).accepted
        alice_client = sign_in(Client(), alice)
        page = alice_client.get(reverse("organization", args=["Contoso"])).content.decode()
        assert "(pending)" not in page
        # A new invitation replaces the expired one.
        invite(alice_client)
        assert Membership.objects.pending().filter(member=bob).exists()


def test_only_the_invited_person_can_answer(client, alice, bob, charlie, contoso, fabrikam):
    sign_in(client, alice)
    invite(client)
    url = reverse("organization_invitation", args=["Contoso"])
    for someone in (charlie, alice):
        other = Client()
        other.force_login(someone)
        assert other.get(url).status_code == 404
        assert other.post(url, {"answer": "accept"}).status_code == 404
    assert not Membership.objects.get(member=bob).accepted


def test_an_administrator_cancels_an_invitation(client, alice, bob, contoso):
    sign_in(client, alice)
    invite(client)
    client.post(reverse("organization_remove_member", args=["Contoso", "bob"]))
    assert not Membership.objects.filter(member=bob).exists()


def test_inviting_twice_says_so(client, alice, bob, contoso):
    sign_in(client, alice)
    invite(client)
    response = client.post(
        reverse("organization_add_member", args=["Contoso"]),
        {"username": "bob", "role": "admin"},
        follow=True,
    )
    assert "bob is already invited to Contoso." in response.content.decode()
    assert Membership.objects.get(member=bob).role == "collaborator"


def test_a_pending_administrator_does_not_count_for_the_last_administrator_rule(
    client, alice, bob, contoso
):
    sign_in(client, alice)
    invite(client, role="admin")
    response = client.post(
        reverse("organization_change_role", args=["Contoso", "alice"]),
        {"role": "collaborator"},
        follow=True,
    )
    assert "Contoso must keep at least one administrator." in response.content.decode()
    assert Membership.objects.get(member=alice).role == "admin"


def test_administrators_are_told_of_role_changes_and_removals(
    client, alice, bob, contoso, mailoutbox
):
    Membership.objects.create(organization=contoso, member=bob)
    sign_in(client, alice)
    client.post(reverse("organization_change_role", args=["Contoso", "bob"]), {"role": "admin"})
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    assert "alice changed the role of bob in Contoso to administrator." in mailoutbox[0].body
    mailoutbox.clear()
    client.post(reverse("organization_remove_member", args=["Contoso", "bob"]))
    subjects = {m.to[0]: m.subject for m in mailoutbox}
    assert subjects["alice@example.com"].endswith("The members of Contoso changed")
    assert subjects["bob@example.com"].endswith("You were removed from Contoso")


def test_a_pending_administrator_is_not_told_of_member_changes(
    client, alice, bob, dana, contoso, fabrikam, mailoutbox
):
    """Invited as an administrator but not yet accepted: no mail about Contoso's members."""
    Membership.objects.create(organization=contoso, member=bob)
    sign_in(client, alice)
    invite(client, name="dana", role="admin")
    mailoutbox.clear()
    client.post(reverse("organization_change_role", args=["Contoso", "bob"]), {"role": "admin"})
    assert Membership.objects.get(member=bob).role == "admin"
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    mailoutbox.clear()
    client.post(reverse("organization_remove_member", args=["Contoso", "bob"]))
    assert not Membership.objects.filter(member=bob).exists()
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]


def test_an_expired_invitation_cannot_be_changed_or_removed(
    client, alice, bob, charlie, contoso, fabrikam, settings
):
    sign_in(client, alice)
    invite(client)
    later = timezone.now() + timedelta(days=settings.GALLEY_CONSENT_DAYS, minutes=1)
    with time_machine.travel(later, tick=False):
        alice_client = sign_in(Client(), alice)  # role changes ask for the password again
        change = reverse("organization_change_role", args=["Contoso", "bob"])
        remove = reverse("organization_remove_member", args=["Contoso", "bob"])
        assert alice_client.post(change, {"role": "admin"}).status_code == 404
        assert alice_client.post(remove).status_code == 404
        # Nor can the administrator of another organization reach it.
        charlie_client = sign_in(Client(), charlie)
        assert charlie_client.post(change, {"role": "admin"}).status_code == 404
    invitation = Membership.objects.get(member=bob)
    assert invitation.role == "collaborator" and not invitation.accepted
    assert not AuditEvent.objects.filter(
        kind__in=["org.role_changed", "org.member_removed"]
    ).exists()


def test_a_deactivated_administrator_is_not_told_of_member_changes(
    client, alice, bob, dana, contoso, mailoutbox
):
    """An administrator whose account was deactivated no longer administers: no mail."""
    Membership.objects.create(organization=contoso, member=bob)
    Membership.objects.create(organization=contoso, member=dana, role="admin")
    User.objects.filter(pk=dana.pk).update(is_active=False)
    sign_in(client, alice)
    client.post(reverse("organization_change_role", args=["Contoso", "bob"]), {"role": "admin"})
    assert Membership.objects.get(member=bob).role == "admin"
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]


def test_membership_of_one_organization_is_not_membership_of_another(bob, contoso, fabrikam):
    """bob, a member of Contoso, is no member of Fabrikam: nothing may be done for it."""
    Membership.objects.create(organization=contoso, member=bob)
    assert access.is_member(bob, contoso)
    assert not access.is_member(bob, fabrikam)
    assert not access.is_member(bob.pk, fabrikam.pk)
