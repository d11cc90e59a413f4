"""The "Read packages" scope on the API Keys page: offered when the feed is private."""

import pytest

from apikeys.models import ApiKey
from tests.conftest import create_key_on_page, sign_in

pytestmark = pytest.mark.django_db


def test_private_feed_offers_read_packages_and_stores_the_scope(client, alice, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    sign_in(client, alice)
    page = client.get("/account/apikeys").content.decode()
    assert 'name="read"' in page and "Read packages" in page
    response = create_key_on_page(client, name="restore", push=None, push_scope=None, read="on")
    assert response.status_code == 200, response.content
    assert ApiKey.objects.get(name="restore").scopes == ["package:read"]


def test_read_packages_alone_is_a_scope(client, alice, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    sign_in(client, alice)
    create_key_on_page(client, name="push-and-read", read="on")
    assert ApiKey.objects.get(name="push-and-read").scopes == ["package:push", "package:read"]


def test_public_feed_does_not_offer_read_packages(client, alice, settings):
    settings.GALLEY_FEED_READ = "public"
    sign_in(client, alice)
    assert 'name="read"' not in client.get("/account/apikeys").content.decode()
    create_key_on_page(client, name="ci", read="on")
    assert ApiKey.objects.get(name="ci").scopes == ["package:push"]
    response = create_key_on_page(client, name="only-read", push=None, push_scope=None, read="on")
    assert "Select at least one scope." in response.content.decode()
    assert not ApiKey.objects.filter(name="only-read").exists()


def test_read_packages_in_french(client, alice, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    sign_in(client, alice)
    page = client.get("/account/apikeys", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Lire les paquets" in page
