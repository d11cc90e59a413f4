import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def confirmation_link(mail) -> str:
    match = re.search(r"http://testserver(/accounts/confirm-email/[^\s/]+/)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_register_confirm_sign_in_and_sign_out(client, mailoutbox):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "dana",
            "email": "dana@example.com",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    assert response.status_code == 302
    assert User.objects.filter(username="dana", is_active=True).exists()
    # Issue 15: as on nuget.org, the new account is signed in at once; what
    # needs a confirmed address (keys, owners, organizations) waits for it.
    assert client.session[SESSION_KEY] == str(User.objects.get(username="dana").pk)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dana@example.com"]
    link = confirmation_link(mailoutbox[0])
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    assert User.objects.get(username="dana").emailaddress_set.get().verified
    client.post(reverse("log_off"))

    response = client.post(
        reverse("log_on") + "?returnUrl=%2Faccount",
        {"login": "dana", "password": "a-long-enough-passphrase", "next": "/account"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert b"dana@example.com" in page.content

    assert client.post(reverse("log_off")).status_code == 302
    assert SESSION_KEY not in client.session
    assert client.get("/account").status_code == 302


def test_sign_in_by_email_address(client, alice, password):
    response = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": password}
    )
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(alice.pk)


def test_wrong_password_is_refused(client, alice):
    response = client.post(
        reverse("account_login"), {"login": "alice", "password": "not-the-password"}
    )
    assert response.status_code == 200
    assert b"not correct" in response.content
    assert SESSION_KEY not in client.session


def test_unconfirmed_user_signs_in_and_is_told_to_confirm(client, mailoutbox, password):
    """Issue 15 changed this: nuget.org lets an unconfirmed account sign in, and
    its API Keys page says what to do; Galley used to refuse the sign-in."""
    from tests.factories import UserFactory

    eve = UserFactory(username="eve", verified=False)
    response = client.post(
        reverse("account_login"), {"login": "eve", "password": password}, follow=True
    )
    assert client.session[SESSION_KEY] == str(eve.pk)
    assert response.status_code == 200
    client.post(reverse("account_reauthenticate"), {"password": password})
    page = client.get(reverse("apikeys"))
    assert b"To get an API Key you will need to confirm your account." in page.content
    assert not mailoutbox
    response = client.post(
        reverse("resend_confirmation"), {"next": reverse("apikeys")}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("apikeys")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [eve.email]
    assert client.get(confirmation_link(mailoutbox[0])).status_code == 200


def _fail_sign_ins(client, username, times):
    for _ in range(times):
        client.post(reverse("account_login"), {"login": username, "password": "wrong-password"})


def test_sign_in_is_blocked_after_repeated_failures(client, alice, password):
    _fail_sign_ins(client, "alice", 5)
    response = client.post(reverse("account_login"), {"login": "alice", "password": password})
    assert SESSION_KEY not in client.session
    assert response.status_code in (200, 429)
    assert b"Too many failed sign-ins" in response.content


def test_other_users_are_not_blocked_by_someone_elses_failures(client, alice, bob, password):
    _fail_sign_ins(client, "alice", 5)
    client.post(reverse("account_login"), {"login": "bob", "password": password})
    assert client.session[SESSION_KEY] == str(bob.pk)


def test_sign_in_limits_are_shared_through_redis(redis_cache, alice, password):
    """Two clients (think: two app processes) share one count of failures in Redis."""
    from django.test import Client

    _fail_sign_ins(Client(), "alice", 3)
    _fail_sign_ins(Client(), "alice", 2)
    assert any(key.startswith(b"galley-test") for key in redis_cache.keys("*"))
    third = Client()
    response = third.post(reverse("account_login"), {"login": "alice", "password": password})
    assert SESSION_KEY not in third.session
    assert b"Too many failed sign-ins" in response.content
