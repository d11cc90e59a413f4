"""Sending the confirmation link again (accounts/confirmation.py), through allauth's
public API only: one mail per rate-limit window, a link that confirms."""

from allauth.account.models import EmailAddress
from django.urls import reverse

from tests.accounts.test_sign_in import confirmation_link
from tests.factories import UserFactory


def _resend(client):
    return client.post(reverse("resend_confirmation"), {"next": reverse("apikeys")}, follow=True)


def test_resending_twice_at_once_sends_one_link_that_confirms(client, db, mailoutbox):
    eve = UserFactory(username="eve", verified=False)
    client.force_login(eve)
    first = _resend(client)
    assert first.redirect_chain[-1][0] == reverse("apikeys")
    assert f"A confirmation e-mail is on its way to {eve.email}." in first.content.decode()
    second = _resend(client)
    assert "A confirmation link was sent a moment ago" in second.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [eve.email]
    assert client.post(confirmation_link(mailoutbox[0])).status_code == 302
    assert EmailAddress.objects.get(user=eve).verified


def test_an_account_made_outside_allauth_gets_its_address_and_a_link(client, db, mailoutbox):
    """createsuperuser and the admin make accounts with an e-mail but no address row."""
    frank = UserFactory.build(username="frank", email="frank@example.com")
    frank.save()
    assert not EmailAddress.objects.filter(user=frank).exists()
    client.force_login(frank)
    _resend(client)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["frank@example.com"]
    client.post(confirmation_link(mailoutbox[0]))
    assert EmailAddress.objects.get(user=frank, email="frank@example.com").verified


def test_a_confirmed_account_is_told_so_and_gets_no_mail(client, alice, mailoutbox):
    client.force_login(alice)
    response = _resend(client)
    assert "Your e-mail address is confirmed already." in response.content.decode()
    assert mailoutbox == []


def test_someone_elses_unconfirmed_address_is_not_mailed(client, alice, mailoutbox):
    """The link goes to the signed-in account's own address only."""
    UserFactory(username="eve", verified=False)
    client.force_login(alice)
    _resend(client)
    assert mailoutbox == []
