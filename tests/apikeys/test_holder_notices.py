"""Issue 15: nuget.org mails the holder when they delete or revoke their own key."""

import pytest
from django.urls import reverse

from tests.conftest import sign_in
from tests.factories import make_key

pytestmark = pytest.mark.django_db


def test_revoking_ones_own_key_sends_a_text_and_html_notice(client, alice, mailoutbox):
    key, _ = make_key(alice, name="CI")
    sign_in(client, alice)
    client.post(reverse("apikey_revoke", args=[key.pk]))
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [alice.email]
    assert "API key “CI” revoked" in mail.subject
    assert "You revoked it on the API Keys page." in mail.body
    html = mail.alternatives[0][0]
    assert "You revoked it on the API Keys page." in html and key.hint in html


def test_deleting_ones_own_key_sends_a_notice_even_with_key_mails_off(client, alice, mailoutbox):
    alice.notify_key_events = False
    alice.save()
    key, secret = make_key(alice, name="CI")
    sign_in(client, alice)
    client.post(reverse("apikey_delete", args=[key.pk]))
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert "API key “CI” deleted" in mail.subject
    assert "was deleted and no longer works" in mail.body
    assert secret not in mail.body and secret not in mail.alternatives[0][0]


def test_the_notice_is_in_the_holders_language(client, alice, mailoutbox):
    alice.language = "fr"
    alice.save()
    key, _ = make_key(alice, name="CI")
    sign_in(client, alice)
    client.post(reverse("apikey_delete", args=[key.pk]))
    # French typography: no-break spaces inside « ».
    assert "Clé API «\u00a0CI\u00a0» supprimée" in mailoutbox[0].subject
