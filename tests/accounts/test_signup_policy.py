"""GALLEY_SIGNUP: who may have an account (open, closed with invitations, or e-mail domains)."""

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, User
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.helpers import manage

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"
INVITE = "/admin/accounts/user/invite/"


def register(client, email, username="newcomer"):
    return client.post(
        SIGNUP,
        {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def staff(*codenames):
    user = UserFactory(username="staffer", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


# Open


def test_open_signup_registers_and_links_to_registration(client, settings, mailoutbox):
    settings.GALLEY_SIGNUP = "open"
    assert reverse("account_signup") in client.get("/users/account/LogOn").content.decode()
    response = register(client, "newcomer@anywhere.test")
    assert response.status_code == 302
    assert User.objects.filter(username="newcomer").exists()
    assert mailoutbox[0].to == ["newcomer@anywhere.test"]  # the confirmation e-mail


# Closed


def test_closed_signup_page_is_gone_and_creates_no_account(client, settings, mailoutbox):
    settings.GALLEY_SIGNUP = "closed"
    response = client.get(SIGNUP)
    assert b"Registration Closed" in response.content
    assert b'name="password1"' not in response.content
    register(client, "newcomer@anywhere.test")
    assert not User.objects.filter(username="newcomer").exists()
    assert not mailoutbox


@pytest.mark.parametrize("url", ["/users/account/LogOn?returnUrl=%2F", "/"])
def test_closed_signup_pages_do_not_link_to_registration(client, settings, url):
    settings.GALLEY_SIGNUP = "closed"
    content = client.get(url).content.decode()
    assert reverse("account_signup") not in content
    assert "Register" not in content and "sign up" not in content


def test_a_private_feed_is_closed_unless_told_otherwise():
    show = "from django.conf import settings; print(settings.GALLEY_SIGNUP)"
    private = manage("shell", "-c", show, DJANGO_DEBUG="1", GALLEY_FEED_READ="authenticated")
    assert private.stdout.split()[-1] == "closed", private.stderr
    public = manage("shell", "-c", show, DJANGO_DEBUG="1")
    assert public.stdout.split()[-1] == "open", public.stderr
    chosen = manage(
        "shell", "-c", show, DJANGO_DEBUG="1", GALLEY_FEED_READ="authenticated",
        GALLEY_SIGNUP="domains:example.com",
    )  # fmt: skip
    assert chosen.stdout.split()[-1] == "domains:example.com", chosen.stderr


@pytest.mark.parametrize("value", ["maybe", "domains:", "domains: , "])
def test_a_bad_signup_setting_refuses_to_start(value):
    result = manage("check", DJANGO_DEBUG="1", GALLEY_SIGNUP=value)
    assert result.returncode != 0
    assert "GALLEY_SIGNUP must be open, closed or domains:" in result.stderr


# Domains


@pytest.mark.parametrize(
    "email",
    ["eve@evil.test", "eve@evilexample.com", "eve@example.com.evil.test", "eve@sub.example.com"],
)
def test_domains_refuse_registration_outside_the_list(client, settings, email, mailoutbox):
    settings.GALLEY_SIGNUP = "domains:example.com, Example.ORG"
    response = register(client, email)
    assert response.status_code == 200
    assert (
        "Registration is limited to addresses at example.com, example.org."
        in response.content.decode()
    )
    assert not User.objects.filter(username="newcomer").exists()
    assert not mailoutbox


@pytest.mark.parametrize(
    "email",
    [
        "eve@mail.kontoso.com",  # a subdomain
        "eve@MAIL.KONTOSO.COM",
        "eve@Kontoso.Com.Evil.Test",  # upper case around another domain
        "eve@KONTOSO.COM.",  # a trailing dot
        "eve@kontoso.\u212a",  # the Kelvin sign (U+212A), which lower-cases to "k"
        "eve@\u212aontoso.com.evil.test",
    ],
)
def test_domain_tricks_are_refused(client, settings, email, mailoutbox):
    settings.GALLEY_SIGNUP = "domains:kontoso.com"
    response = register(client, email)
    assert response.status_code == 200
    assert not User.objects.filter(username="newcomer").exists()
    assert not EmailAddress.objects.exists() and not mailoutbox


@pytest.mark.parametrize("email", ["eve@\u212aontoso.com", "eve@\u212aONTOSO.COM"])
def test_the_kelvin_sign_leads_only_to_the_listed_domain(client, settings, email, mailoutbox):
    """A Kelvin sign lower-cases to "k": the address kept, and the mail that would
    confirm it, are at kontoso.com itself, never at a look-alike domain."""
    settings.GALLEY_SIGNUP = "domains:kontoso.com"
    register(client, email)
    assert list(EmailAddress.objects.values_list("email", "verified")) == [
        ("eve@kontoso.com", False)
    ]
    assert list(User.objects.filter(username="newcomer").values_list("email", flat=True)) == [
        "eve@kontoso.com"
    ]
    assert [m.to for m in mailoutbox] == [["eve@kontoso.com"]]


def test_a_look_alike_address_cannot_be_added_later(client, settings, alice):
    settings.GALLEY_SIGNUP = "domains:kontoso.com"
    client.force_login(alice)
    for email in ("alice@mail.kontoso.com", "alice@kontoso.\u212a", "alice@KONTOSO.COM."):
        response = client.post("/accounts/email/", {"action_add": "", "email": email})
        assert response.status_code == 200
    assert list(EmailAddress.objects.filter(user=alice).values_list("email", flat=True)) == [
        "alice@example.com"
    ]


@pytest.mark.parametrize("email", ["dana@kontoso.com", "dana@KONTOSO.COM"])
def test_the_listed_domain_in_any_case_is_admitted(client, settings, email):
    settings.GALLEY_SIGNUP = "domains:kontoso.com"
    assert register(client, email).status_code == 302
    assert User.objects.filter(username="newcomer").exists()


@pytest.mark.parametrize("email", ["dana@example.com", "dana@EXAMPLE.org"])
def test_domains_admit_registration_inside_the_list(client, settings, email):
    settings.GALLEY_SIGNUP = "domains:example.com,example.org"
    assert register(client, email).status_code == 302
    address = EmailAddress.objects.get(user__username="newcomer")
    assert address.verified is False  # still to be confirmed, as every registration


def test_domains_message_in_french(client, settings):
    settings.GALLEY_SIGNUP = "domains:example.com"
    client.cookies["django_language"] = "fr"
    response = register(client, "eve@evil.test")
    assert "L’inscription est réservée aux adresses de example.com." in response.content.decode()


def test_domains_refuse_adding_an_address_outside_the_list(client, settings, alice):
    settings.GALLEY_SIGNUP = "domains:example.com"
    client.force_login(alice)
    response = client.post("/accounts/email/", {"action_add": "", "email": "alice@evil.test"})
    assert "Registration is limited to addresses at example.com." in response.content.decode()
    assert not EmailAddress.objects.filter(email="alice@evil.test").exists()
    client.post("/accounts/email/", {"action_add": "", "email": "alice.two@example.com"})
    assert EmailAddress.objects.filter(email="alice.two@example.com", user=alice).exists()


def test_domains_do_not_block_a_password_reset(client, settings, mailoutbox):
    UserFactory(username="old", email="old@elsewhere.test")
    settings.GALLEY_SIGNUP = "domains:example.com"
    response = client.post("/accounts/password/reset/", {"email": "old@elsewhere.test"})
    assert response.status_code == 302
    assert mailoutbox[0].to == ["old@elsewhere.test"]


# Invitations


def invite(client, email="dana@example.com"):
    return client.post(INVITE, {"email": email})


def invitation_link(mail) -> str:
    return re.search(r"http://testserver(/account/invitation/\S+)", mail.body).group(1)


def test_the_users_changelist_links_to_invite_a_user(client):
    client.force_login(staff("view_user", "add_user"))
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 200
    assert f'<a href="{INVITE}">Invite a user</a>' in response.content.decode()


def test_staff_invite_by_e_mail_and_the_link_creates_a_confirmed_account(
    client, settings, mailoutbox
):
    settings.GALLEY_SIGNUP = "closed"
    inviter = staff("view_user", "add_user")
    client.force_login(inviter)
    response = invite(client)
    assert response.status_code == 302
    assert mailoutbox[0].to == ["dana@example.com"]
    assert "staffer invited you" in mailoutbox[0].body
    link = invitation_link(mailoutbox[0])
    assert link in mailoutbox[0].alternatives[0][0]
    invitation = Invitation.objects.get()
    token = link.rsplit("/", 1)[1]
    assert invitation.token_hash != token and token not in invitation.token_hash
    assert AuditEvent.objects.get(kind=AuditEvent.Kind.USER_INVITED).actor == inviter

    client.logout()
    form = client.get(link)
    assert form.status_code == 200 and "dana@example.com" in form.content.decode()
    response = client.post(link, {"username": "dana", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    dana = User.objects.get(username="dana")
    assert dana.email == "dana@example.com" and dana.check_password(PASSWORD)
    assert EmailAddress.objects.get(user=dana).verified is True
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.user == dana
    accepted = AuditEvent.objects.get(kind=AuditEvent.Kind.INVITATION_ACCEPTED)
    assert accepted.user == dana and accepted.details == {"invited_by": "staffer"}
    # Confirmed already: the new account signs in at once.
    signed_in = client.post(reverse("account_login"), {"login": "dana", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(dana.pk)


def test_an_invitation_link_works_once(client, mailoutbox):
    client.force_login(staff("view_user", "add_user"))
    invite(client)
    link = invitation_link(mailoutbox[0])
    client.logout()
    client.post(link, {"username": "dana", "password1": PASSWORD, "password2": PASSWORD})
    again = client.post(link, {"username": "dana2", "password1": PASSWORD, "password2": PASSWORD})
    assert again.status_code == 404
    assert "not valid or was already used" in again.content.decode()
    assert not User.objects.filter(username="dana2").exists()
    assert client.get(link).status_code == 404


def test_an_invitation_link_expires(client, settings, mailoutbox):
    settings.GALLEY_INVITATION_DAYS = 7
    client.force_login(staff("view_user", "add_user"))
    invite(client)
    link = invitation_link(mailoutbox[0])
    client.logout()
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        response = client.post(
            link, {"username": "dana", "password1": PASSWORD, "password2": PASSWORD}
        )
    assert response.status_code == 404 and "has expired" in response.content.decode()
    assert not User.objects.filter(username="dana").exists()


def _lose_the_right_to_invite(inviter, how):
    if how == "deactivated":
        User.objects.filter(pk=inviter.pk).update(is_active=False)
    elif how == "permission removed":
        inviter.user_permissions.remove(Permission.objects.get(codename="add_user"))
    elif how == "no longer staff":
        User.objects.filter(pk=inviter.pk).update(is_staff=False)
    else:  # deleted: the invitation keeps no inviter (SET_NULL)
        inviter.delete()


@pytest.mark.parametrize("how", ["deactivated", "permission removed", "no longer staff", "deleted"])
def test_an_invitation_lapses_when_its_inviter_could_no_longer_invite(
    client, settings, mailoutbox, how
):
    """An invitation is valid only while its inviter could still make it."""
    settings.GALLEY_SIGNUP = "closed"
    inviter = staff("view_user", "add_user")
    client.force_login(inviter)
    invite(client)
    link = invitation_link(mailoutbox[0])
    client.logout()
    _lose_the_right_to_invite(inviter, how)

    page = client.get(link)
    assert page.status_code == 404
    assert "Whoever invited you can no longer invite people" in page.content.decode()
    response = client.post(link, {"username": "dana", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 404
    assert not User.objects.filter(username="dana").exists()
    assert Invitation.objects.get().accepted_at is None
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.INVITATION_ACCEPTED).exists()


def test_an_invitation_from_a_superuser_stands_without_the_explicit_permission(
    client, settings, mailoutbox
):
    settings.GALLEY_SIGNUP = "closed"
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    invite(client)
    client.logout()
    link = invitation_link(mailoutbox[0])
    response = client.post(link, {"username": "dana", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert User.objects.filter(username="dana").exists()


def test_a_made_up_link_is_404(client):
    response = client.get("/account/invitation/not-a-real-token")
    assert response.status_code == 404


def test_the_invited_person_must_choose_a_free_name_and_a_good_password(client, alice, mailoutbox):
    client.force_login(staff("view_user", "add_user"))
    invite(client)
    link = invitation_link(mailoutbox[0])
    client.logout()
    taken = client.post(link, {"username": "alice", "password1": PASSWORD, "password2": PASSWORD})
    assert taken.status_code == 200 and "already" in taken.content.decode()
    weak = client.post(link, {"username": "dana", "password1": "123", "password2": "123"})
    assert weak.status_code == 200
    assert not User.objects.filter(username="dana").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_address_with_an_account_is_not_invited(client, alice, mailoutbox):
    client.force_login(staff("view_user", "add_user"))
    response = invite(client, "ALICE@example.com")
    assert response.status_code == 200
    assert "An account with this address already exists." in response.content.decode()
    assert not Invitation.objects.exists() and not mailoutbox


def test_staff_without_the_add_user_permission_cannot_invite(client, mailoutbox):
    client.force_login(staff("view_user"))
    assert invite(client).status_code == 403
    assert not Invitation.objects.exists() and not mailoutbox


def test_people_who_are_not_staff_cannot_invite(client, alice, mailoutbox):
    client.force_login(alice)
    response = invite(client)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not Invitation.objects.exists() and not mailoutbox


@pytest.mark.parametrize("policy, offers_signup", [("open", True), ("closed", False)])
def test_the_unknown_address_e_mail_offers_registration_only_when_open(
    client, settings, mailoutbox, policy, offers_signup
):
    settings.GALLEY_SIGNUP = policy
    client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    body = mailoutbox[0].body
    assert ("/accounts/signup/" in body) is offers_signup
    assert ("ask an administrator to invite you" in body) is not offers_signup
