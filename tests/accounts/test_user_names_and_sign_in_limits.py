"""Sign-in limits count per account, and a user name cannot look like an e-mail address."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

TOO_MANY = b"Too many failed sign-ins"


def _fail(client, login, times):
    for _ in range(times):
        response = client.post(reverse("account_login"), {"login": login, "password": "wrong"})
        assert SESSION_KEY not in client.session
        assert TOO_MANY not in response.content


@pytest.mark.parametrize("last_login", ["alice", "alice@example.com", "ALICE@Example.com"])
def test_failures_split_between_user_name_and_e_mail_lock_the_account(
    client, alice, password, last_login
):
    _fail(client, "alice", 3)
    _fail(client, "Alice@example.com", 2)
    response = client.post(reverse("account_login"), {"login": last_login, "password": password})
    assert SESSION_KEY not in client.session
    assert TOO_MANY in response.content


def test_four_failures_leave_the_account_open(client, alice, password):
    _fail(client, "alice", 2)
    _fail(client, "alice@example.com", 2)
    client.post(reverse("account_login"), {"login": "alice@example.com", "password": password})
    assert client.session[SESSION_KEY] == str(alice.pk)


def test_another_accounts_failures_do_not_count(client, alice, bob, password):
    _fail(client, "bob", 3)
    _fail(client, "bob@example.com", 2)
    client.post(reverse("account_login"), {"login": "alice", "password": password})
    assert client.session[SESSION_KEY] == str(alice.pk)


def test_registering_a_user_name_with_an_at_sign_is_refused(client, bob):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "bob@example.com",
            "email": "mallory@example.com",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    assert response.status_code == 200
    assert "A user name cannot contain @." in response.content.decode()
    assert not User.objects.filter(username__contains="@").exists()


def test_an_organization_name_with_an_at_sign_is_refused(client, alice):
    from tests.conftest import sign_in

    sign_in(client, alice)
    response = client.post(reverse("organizations"), {"name": "bob@example.com"})
    assert "A user name cannot contain @." in response.content.decode()
    assert not User.objects.filter(username__contains="@").exists()


def test_the_admin_refuses_an_at_sign_in_a_user_name(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "bob@example.com",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert "A user name cannot contain @." in response.content.decode()
    assert not User.objects.filter(username__contains="@").exists()
