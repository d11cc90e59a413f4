"""An organization's pages as nuget.org shows them: role descriptions, "(that's
you)", a package count, role changes from the select, confirmations before Remove
and Leave, and a contact address confirmed by an e-mailed link."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from tests.conftest import sign_in
from tests.factories import PackageRegistrationFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_TEXT = "An administrator can manage the organization's memberships and its packages."
COLLABORATOR_TEXT = "A collaborator can push and unlist the organization's packages but cannot manage its memberships or its packages' owners."


@pytest.fixture
def contoso(alice, bob):
    """alice administers Contoso; bob is a collaborator."""
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(
        organization=organization, member=bob, role=Membership.Role.COLLABORATOR
    )
    return organization


def page(client, name="Contoso") -> str:
    response = client.get(reverse("organization", args=[name]))
    assert response.status_code == 200
    return response.content.decode()


def member_row(content: str, username: str) -> str:
    return content.split(f'<tr id="member-{username}">')[1].split("</tr>")[0]


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


# The page ---------------------------------------------------------------------------


def test_members_see_the_role_descriptions(client, bob, contoso):
    client.force_login(bob)
    content = page(client)
    assert ADMIN_TEXT in content and COLLABORATOR_TEXT in content
    assert "You are a collaborator of this organization." in content


def test_thats_you_is_next_to_the_signed_in_member_only(client, alice, bob, contoso):
    client.force_login(bob)
    content = page(client)
    assert "(that's you)" in member_row(content, "bob")
    assert "(that's you)" not in member_row(content, "alice")


def test_role_select_submits_itself_and_keeps_a_change_button(client, alice, contoso):
    client.force_login(alice)
    row = member_row(page(client), "bob")
    assert 'name="role" data-auto-submit' in row
    assert "data-auto-submit-button>Change" in row
    assert 'src="/static/js/autosubmit.js"' in page(client)


def test_a_collaborator_sees_roles_as_text_and_no_remove(client, bob, contoso):
    client.force_login(bob)
    row = member_row(page(client), "alice")
    assert "<select" not in row and "Administrator" in row
    assert "Remove" not in row


def test_remove_asks_first_then_removes_and_mails(client, alice, bob, contoso, mailoutbox):
    sign_in(client, alice)
    row = member_row(page(client), "bob")
    # The first click opens the confirmation (a <details>, no JavaScript needed);
    # only its button posts.
    assert '<details class="action"><summary class="button button-small">Remove</summary>' in row
    assert "bob loses access to the packages of Contoso" in row
    action = reverse("organization_remove_member", args=["Contoso", "bob"])
    assert f'<form method="post" action="{action}" class="action-body">' in row
    assert ">Remove bob</button>" in row
    response = client.post(action)
    assert response.status_code == 302
    assert not Membership.objects.filter(organization=contoso, member=bob).exists()
    assert ["bob@example.com"] in [message.to for message in mailoutbox]


def test_leave_asks_first_on_both_pages(client, alice, bob, contoso):
    client.force_login(bob)
    leave = reverse("organization_leave", args=["Contoso"])
    row = member_row(page(client), "bob")
    assert '<summary class="button button-small">Leave</summary>' in row
    assert f'action="{leave}" class="action-body"' in row
    listing = client.get(reverse("organizations")).content.decode()
    assert f'action="{leave}" class="action-body"' in listing
    assert "You lose access to the packages of Contoso" in listing
    client.post(leave)
    assert not Membership.objects.filter(organization=contoso, member=bob).exists()


def test_organizations_list_counts_members_and_packages(
    client, alice, bob, contoso, django_assert_num_queries
):
    for number in range(3):
        PackageRegistrationFactory(package_id=f"Contoso.P{number}", owners=[contoso])
    PackageRegistrationFactory(package_id="Alice.Own", owners=[alice])
    Membership.objects.create(organization=contoso, member=UserFactory(), accepted=False)
    client.force_login(alice)
    content = client.get(reverse("organizations")).content.decode()
    row = content.split(">Contoso</a></td>")[1].split("</tr>")[0]
    # 2 accepted members (the pending one is not counted), 3 packages.
    assert re.findall(r'<td class="number"[^>]*>(\d+)</td>', row) == ["2", "3"]
    assert '<th scope="col" class="number">Packages</th>' in content
    fabrikam = User.objects.create_organization("Fabrikam", admin=alice)
    PackageRegistrationFactory(owners=[fabrikam])
    # session, user, the memberships with both counts, invitations; the e-mail
    # confirmation check for the create form
    with django_assert_num_queries(5):
        client.get(reverse("organizations"))


# The contact address ------------------------------------------------------------------


def create(client, name="Fabrikam", contact_email="ops@fabrikam.example"):
    return client.post(reverse("organizations"), {"name": name, "contact_email": contact_email})


def test_contact_address_given_at_creation_is_mailed_a_link_and_unconfirmed(
    client, alice, mailoutbox
):
    sign_in(client, alice)
    response = create(client)
    assert response.status_code == 302
    organization = User.objects.get(username="Fabrikam")
    assert organization.contact_email == "ops@fabrikam.example"
    assert not organization.contact_email_confirmed
    assert [message.to for message in mailoutbox] == [["ops@fabrikam.example"]]
    assert "Confirm the contact address of Fabrikam" in mailoutbox[0].subject
    assert "alice entered this address as the contact address" in mailoutbox[0].body
    content = page(client, "Fabrikam")
    assert "ops@fabrikam.example" in content and "Not confirmed" in content


def test_an_organization_may_be_created_without_a_contact_address(client, alice, mailoutbox):
    sign_in(client, alice)
    assert create(client, contact_email="").status_code == 302
    assert User.objects.get(username="Fabrikam").contact_email == ""
    assert mailoutbox == []
    assert "This organization has no contact address yet." in page(client, "Fabrikam")


def test_the_link_confirms_the_address_once(client, alice, contoso, mailoutbox):
    client.force_login(alice)
    client.post(reverse("organization_email", args=["Contoso"]), {"contact_email": "a@c.example"})
    link = link_in(mailoutbox[0])
    # Opening the link asks; a mail scanner following it confirms nothing.
    response = client.get(link)
    assert response.status_code == 200
    assert "Confirm a@c.example as the contact address of Contoso?" in response.content.decode()
    contoso.refresh_from_db()
    assert not contoso.contact_email_confirmed
    response = client.post(link, follow=True)
    contoso.refresh_from_db()
    assert contoso.contact_email_confirmed
    content = response.content.decode()
    assert "The contact address a@c.example of Contoso is confirmed." in content
    assert '<span class="badge badge-ok">Confirmed</span>' in content
    # Twice: refused, and nothing changes.
    response = client.post(link, follow=True)
    assert "This confirmation link was used already" in response.content.decode()
    contoso.refresh_from_db()
    assert contoso.contact_email_confirmed


def test_a_new_address_is_unconfirmed_and_an_old_link_no_longer_works(
    client, alice, contoso, mailoutbox
):
    client.force_login(alice)
    url = reverse("organization_email", args=["Contoso"])
    client.post(url, {"contact_email": "old@c.example"})
    old_link = link_in(mailoutbox[0])
    client.post(url, {"contact_email": "new@c.example"})
    assert mailoutbox[1].to == ["new@c.example"]
    client.post(old_link)
    contoso.refresh_from_db()
    assert contoso.contact_email == "new@c.example" and not contoso.contact_email_confirmed
    client.post(link_in(mailoutbox[1]))
    contoso.refresh_from_db()
    assert contoso.contact_email_confirmed
    # The same, confirmed address again: nothing to send.
    response = client.post(url, {"contact_email": "new@c.example"}, follow=True)
    assert "This address is confirmed already." in response.content.decode()
    assert len(mailoutbox) == 2
    # Another address: unconfirmed again.
    client.post(url, {"contact_email": "other@c.example"})
    contoso.refresh_from_db()
    assert contoso.contact_email == "other@c.example" and not contoso.contact_email_confirmed


def test_the_link_can_be_sent_again(client, alice, contoso, mailoutbox):
    client.force_login(alice)
    url = reverse("organization_email", args=["Contoso"])
    client.post(url, {"contact_email": "a@c.example"})
    assert "Send the Confirmation Link Again" in page(client)
    response = client.post(url, {"contact_email": "a@c.example"}, follow=True)
    assert "A confirmation link was sent to a@c.example." in response.content.decode()
    assert [message.to for message in mailoutbox] == [["a@c.example"], ["a@c.example"]]


def test_an_expired_link_is_refused(client, alice, contoso, mailoutbox):
    client.force_login(alice)
    # The link was sent four days ago; allauth's links last three.
    with time_machine.travel(timezone.now() - timedelta(days=4), tick=False):
        client.post(
            reverse("organization_email", args=["Contoso"]), {"contact_email": "a@c.example"}
        )
    response = client.post(link_in(mailoutbox[0]), follow=True)
    assert "This confirmation link has expired." in response.content.decode()
    contoso.refresh_from_db()
    assert not contoso.contact_email_confirmed


def test_a_link_for_another_organization_or_tampered_is_refused(client, alice, contoso, mailoutbox):
    other = User.objects.create_organization("Northwind", admin=alice)
    client.force_login(alice)
    for name in ("Contoso", "Northwind"):
        client.post(reverse("organization_email", args=[name]), {"contact_email": "a@c.example"})
    contoso_token = link_in(mailoutbox[0]).rsplit("/", 1)[1]
    response = client.post(
        reverse("organization_confirm_email", args=["Northwind", contoso_token]), follow=True
    )
    assert "This confirmation link was used already" in response.content.decode()
    response = client.post(
        reverse("organization_confirm_email", args=["Contoso", contoso_token + "x"]), follow=True
    )
    assert "This confirmation link is not valid." in response.content.decode()
    other.refresh_from_db()
    contoso.refresh_from_db()
    assert not other.contact_email_confirmed and not contoso.contact_email_confirmed


def test_an_invalid_address_is_refused(client, alice, contoso, mailoutbox):
    client.force_login(alice)
    response = client.post(
        reverse("organization_email", args=["Contoso"]),
        {"contact_email": "not an address"},
        follow=True,
    )
    assert "Enter a valid email address." in response.content.decode()
    contoso.refresh_from_db()
    assert contoso.contact_email == "" and mailoutbox == []


def test_stranger_gets_404_and_collaborator_403(client, alice, bob, charlie, contoso, mailoutbox):
    client.force_login(alice)
    client.post(reverse("organization_email", args=["Contoso"]), {"contact_email": "a@c.example"})
    link = link_in(mailoutbox[0])
    set_url = reverse("organization_email", args=["Contoso"])
    for person, status in ((charlie, 404), (bob, 403)):
        client.force_login(person)
        assert client.post(set_url, {"contact_email": "x@evil.example"}).status_code == status
        assert client.get(link).status_code == status
        assert client.post(link).status_code == status
    contoso.refresh_from_db()
    assert contoso.contact_email == "a@c.example" and not contoso.contact_email_confirmed
    assert len(mailoutbox) == 1


def test_the_link_needs_sign_in(client, alice, contoso, mailoutbox):
    client.force_login(alice)
    client.post(reverse("organization_email", args=["Contoso"]), {"contact_email": "a@c.example"})
    client.logout()
    response = client.post(link_in(mailoutbox[0]))
    assert response.status_code == 302 and "LogOn" in response["Location"]
    contoso.refresh_from_db()
    assert not contoso.contact_email_confirmed


def test_collaborators_see_the_state_but_no_form(client, alice, bob, contoso):
    User.objects.filter(pk=contoso.pk).update(
        contact_email="a@c.example", contact_email_confirmed=True
    )
    client.force_login(bob)
    content = page(client)
    assert "a@c.example" in content and "Confirmed" in content
    assert reverse("organization_email", args=["Contoso"]) not in content


def test_the_mail_is_in_the_language_of_the_administrator(client, alice, contoso, mailoutbox):
    User.objects.filter(pk=alice.pk).update(language="fr")
    client.force_login(alice)
    client.post(reverse("organization_email", args=["Contoso"]), {"contact_email": "a@c.example"})
    assert "Confirmez l’adresse de contact de Contoso" in mailoutbox[0].subject


def test_french_page(client, alice, contoso):
    client.force_login(alice)
    content = client.get(
        reverse("organization", args=["Contoso"]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "Un administrateur peut gérer les appartenances de l’organisation et ses packages." in (
        content
    )
    assert "(c’est vous)" in member_row(content, "alice")


def queries_for(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_members_and_invitations_cost_the_same_queries_however_many(
    client, alice, bob, charlie, contoso, fabrikam, dana
):
    """The member list, the pending invitations and a person's own invitations each
    bring their accounts in their one query."""
    Membership.objects.create(organization=contoso, member=charlie, accepted=False)
    Membership.objects.create(organization=fabrikam, member=alice, accepted=False)
    client.force_login(alice)
    organization_page = queries_for(client, reverse("organization", args=["Contoso"]))
    organizations_page = queries_for(client, reverse("organizations"))
    for number in range(3):
        Membership.objects.create(organization=contoso, member=UserFactory(username=f"m{number}"))
        invited = UserFactory(username=f"i{number}")
        Membership.objects.create(organization=contoso, member=invited, accepted=False)
        other = User.objects.create_organization(f"Other{number}", admin=dana)
        Membership.objects.create(organization=other, member=alice, accepted=False)
    content = page(client)
    assert content.count('<tr id="member-') == 5 and content.count('<tr class="pending">') == 4
    listing = client.get(reverse("organizations")).content.decode()
    assert listing.count("invites you as") == 4
    assert queries_for(client, reverse("organization", args=["Contoso"])) == organization_page
    assert queries_for(client, reverse("organizations")) == organizations_page
