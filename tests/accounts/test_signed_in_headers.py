"""Signed-in pages are not stored by caches; the language cookie is Secure under HTTPS."""

import pytest
from django.urls import reverse

from tests.conftest import sign_in
from tests.helpers import PRODUCTION, manage

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["home", "account_settings", "organizations", "packages"])
def test_signed_in_pages_are_not_stored(client, alice, name):
    sign_in(client, alice)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_the_same_page_for_a_stranger_says_nothing_about_caching(client):
    assert not client.get(reverse("home")).has_header("Cache-Control")


def test_a_page_that_says_how_to_cache_itself_keeps_its_header(client, alice, package_dir):
    sign_in(client, alice)
    response = client.get("/v3/index.json")
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]


def test_the_language_cookie_is_http_only_and_same_site(client):
    response = client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    cookie = response.cookies["django_language"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_the_language_cookie_is_secure_under_https():
    shown = (
        "from django.conf import settings as s; "
        "print(s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_HTTPONLY, s.LANGUAGE_COOKIE_SAMESITE)"
    )
    result = manage("shell", "--no-imports", "-c", shown, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "Lax"]
    result = manage("shell", "--no-imports", "-c", shown, **PRODUCTION, GALLEY_HTTPS="0")
    assert result.stdout.split()[0] == "False"
