import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from tests.conftest import sign_in, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    # One fixed 30-second TOTP window, so a code cannot roll over mid-test.
    with time_machine.travel("2026-11-26 10:00:05Z", tick=False) as traveller:
        yield traveller


def activate_totp(client) -> str:
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302
    return secret


def sign_in_with_password(client, password):
    return client.post(reverse("account_login"), {"login": "alice", "password": password})


def test_enabling_totp_makes_sign_in_ask_for_a_code(client, alice, password, frozen):
    sign_in(client, alice)
    secret = activate_totp(client)
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()
    client.post(reverse("log_off"))

    response = sign_in_with_password(client, password)
    assert response["Location"] == reverse("mfa_authenticate")
    assert SESSION_KEY not in client.session  # the password alone is not enough

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(alice.pk)


def test_wrong_code_is_refused(client, alice, password, frozen):
    sign_in(client, alice)
    activate_totp(client)
    client.post(reverse("log_off"))
    sign_in_with_password(client, password)
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert b"This code is not correct" in response.content
    assert SESSION_KEY not in client.session


def test_a_used_code_is_refused_the_second_time(client, alice, password, frozen):
    sign_in(client, alice)
    secret = activate_totp(client)
    client.post(reverse("log_off"))
    code = totp_code(secret)

    sign_in_with_password(client, password)
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.session[SESSION_KEY] == str(alice.pk)
    client.post(reverse("log_off"))

    sign_in_with_password(client, password)
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert b"This code is not correct" in response.content
    assert SESSION_KEY not in client.session


def test_account_settings_show_two_factor_state(client, alice, frozen):
    sign_in(client, alice)
    assert b"Protect your account" in client.get(reverse("account_settings")).content
    activate_totp(client)
    assert b"asks for a code" in client.get(reverse("account_settings")).content
