"""Staff set up their first second factor only with more than the password: a link
mailed to their confirmed primary address (or printed by manage.py), opened signed in,
once, before it expires. Until then the admin stays closed."""

import re
from io import StringIO

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.conftest import sign_in, totp_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STAFF_PAGE = "/account/two-factor/staff"


@pytest.fixture
def frozen():
    # One fixed 30-second TOTP window, so a code cannot roll over mid-test.
    with time_machine.travel("2026-11-26 10:00:05Z", tick=False) as traveller:
        yield traveller


@pytest.fixture
def staffer(db):
    user = UserFactory(username="staffer", is_staff=True, two_factor=False)
    user.user_permissions.add(*Permission.objects.filter(codename="view_apikey"))
    return user


def try_to_activate_totp(client):
    """What the TOTP page would take: (its answer to GET, to a valid code)."""
    page = client.get(reverse("mfa_activate_totp"))
    if page.status_code != 200:
        return page, client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    secret = page.context["form"].secret
    return page, client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})


def mailed_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/account/two-factor/staff/\S+)", message.body).group(1)


def has_two_factor(user) -> bool:
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def test_the_password_alone_does_not_set_up_two_factor_nor_open_the_admin(
    client, staffer, frozen, mailoutbox
):
    sign_in(client, staffer)
    assert client.get("/admin/")["Location"] == STAFF_PAGE
    page, answer = try_to_activate_totp(client)
    assert page.status_code == answer.status_code == 302
    assert page["Location"] == answer["Location"] == STAFF_PAGE
    assert client.get(reverse("mfa_add_webauthn"))["Location"] == STAFF_PAGE
    assert not has_two_factor(staffer)
    assert client.get("/admin/")["Location"] == STAFF_PAGE
    assert "Your password alone is not enough" in client.get(STAFF_PAGE).content.decode()
    assert not mailoutbox


def test_the_mailed_link_lets_staff_set_up_two_factor_and_open_the_admin(
    client, staffer, frozen, mailoutbox
):
    sign_in(client, staffer)
    response = client.post(STAFF_PAGE, follow=True)
    assert "A link was sent to your primary e-mail address" in response.content.decode()
    assert [m.to for m in mailoutbox] == [["staffer@example.com"]]
    link = mailed_link(mailoutbox[0])

    assert "Confirm" in client.get(link).content.decode()  # GET uses nothing up
    assert client.get(reverse("mfa_activate_totp"))["Location"] == STAFF_PAGE
    assert client.post(link)["Location"] == reverse("mfa_index")
    page, answer = try_to_activate_totp(client)
    assert page.status_code == 200 and answer.status_code == 302
    assert has_two_factor(staffer)
    assert client.get("/admin/").status_code == 200


def test_the_link_works_once_for_its_staff_member_only(client, staffer, dana, frozen, mailoutbox):
    sign_in(client, staffer)
    client.post(STAFF_PAGE)
    link = mailed_link(mailoutbox[0])

    # Someone else signed in (even staff) cannot use it.
    other = UserFactory(username="other", is_staff=True, two_factor=False)
    for user in (dana, other):
        stranger = Client()
        stranger.force_login(user)
        assert stranger.post(link).status_code == 400
    # Nor anyone signed out: they are asked to sign in first.
    assert Client().post(link)["Location"].startswith(reverse("log_on"))

    assert client.post(link).status_code == 302
    again = Client()
    again.force_login(staffer)
    response = again.post(link)
    assert response.status_code == 400
    assert "not valid, or was used already" in response.content.decode()
    assert again.get(reverse("mfa_activate_totp"))["Location"] == STAFF_PAGE


def test_the_link_expires(client, staffer, frozen, mailoutbox):
    sign_in(client, staffer)
    client.post(STAFF_PAGE)
    link = mailed_link(mailoutbox[0])
    frozen.shift(31 * 60)
    client.force_login(staffer)
    response = client.post(link)
    assert response.status_code == 400 and "has expired" in response.content.decode()
    assert client.get(reverse("mfa_activate_totp"))["Location"] == STAFF_PAGE


def test_the_link_is_refused_once_its_address_is_no_longer_confirmed(
    client, staffer, frozen, mailoutbox
):
    sign_in(client, staffer)
    client.post(STAFF_PAGE)
    link = mailed_link(mailoutbox[0])
    EmailAddress.objects.filter(user=staffer).update(verified=False)
    assert client.post(link).status_code == 400
    assert client.get(reverse("mfa_activate_totp"))["Location"] == STAFF_PAGE


def test_no_link_without_a_confirmed_primary_address(client, frozen, mailoutbox):
    unconfirmed = UserFactory(username="newstaff", is_staff=True, two_factor=False, verified=False)
    sign_in(client, unconfirmed)
    response = client.post(STAFF_PAGE, follow=True)
    assert "Your primary e-mail address is not confirmed" in response.content.decode()
    assert not mailoutbox


def test_one_mail_a_minute_at_most(client, staffer, frozen, mailoutbox):
    sign_in(client, staffer)
    client.post(STAFF_PAGE)
    response = client.post(STAFF_PAGE, follow=True)
    assert "less than a minute ago" in response.content.decode()
    assert len(mailoutbox) == 1
    frozen.shift(61)
    client.post(STAFF_PAGE)
    assert len(mailoutbox) == 2


def test_the_first_administrator_gets_a_link_from_the_command_line(client, frozen):
    call_command("createsuperuser", username="root", email="root@example.com", interactive=False)
    from accounts.models import User

    root = User.objects.get(username="root")
    root.set_password("a-long-enough-passphrase")
    root.save()
    out = StringIO()
    call_command(
        "staff_enrolment_link", "root", "--base-url", "https://nuget.example.com/", stdout=out
    )
    link = re.search(r"https://nuget\.example\.com(/account/two-factor/staff/\S+)", out.getvalue())
    sign_in(client, root, "a-long-enough-passphrase")
    assert client.get("/admin/")["Location"] == STAFF_PAGE
    assert client.post(link.group(1))["Location"] == reverse("mfa_index")
    try_to_activate_totp(client)
    assert has_two_factor(root)
    assert client.get("/admin/").status_code == 200


def test_the_command_refuses_people_who_are_not_staff(alice):
    with pytest.raises(CommandError, match="no active staff member"):
        call_command("staff_enrolment_link", "alice")


def test_people_who_are_not_staff_set_up_two_factor_as_before(client, alice, frozen):
    sign_in(client, alice)
    page, answer = try_to_activate_totp(client)
    assert page.status_code == 200 and answer.status_code == 302
    assert has_two_factor(alice)
