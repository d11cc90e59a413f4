from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from apikeys.notices import send_expiry_notices
from tests.conftest import create_key_on_page, sign_in
from tests.factories import make_key
from tests.helpers import KEY_RE

pytestmark = pytest.mark.django_db

CREATED_AT = "2026-06-01 12:00Z"


def run_at(key, days_before_expiry, hours=0):
    with time_machine.travel(
        key.expires - timedelta(days=days_before_expiry, hours=hours), tick=False
    ):
        return send_expiry_notices()


def test_created_and_regenerated_keys_are_emailed_without_the_secret(client, alice, mailoutbox):
    sign_in(client, alice)
    create_key_on_page(client)
    from apikeys.models import ApiKey

    key = ApiKey.objects.get()
    first_hint = key.hint
    response = client.post(reverse("apikey_regenerate", args=[key.pk]), {"hint": key.hint})
    secret = response.content.decode().split(
        'id="new-key-value" class="secret" type="text" value="'
    )[1][:42]
    subjects = [m.subject for m in mailoutbox]
    assert subjects == ["[Galley] API key “CI” created", "[Galley] API key “CI” regenerated"]
    key.refresh_from_db()
    for mail, hint in zip(mailoutbox, [first_hint, key.hint], strict=True):
        html = mail.alternatives[0][0]
        assert secret not in mail.body and secret not in html
        assert hint in mail.body and hint in html


def test_notices_respect_the_preference_but_security_notices_always_go(client, alice, mailoutbox):
    alice.notify_key_events = False
    alice.save()
    key, _ = make_key(alice)
    assert run_at(key, 1) == 0
    from apikeys import flows

    flows.revoke_key(key, by=None, source="admin", reason="Policy")
    assert [m.subject for m in mailoutbox] == [f"[Galley] API key “{key.name}” revoked"]


def test_the_preference_is_set_on_account_settings(client, alice):
    client.force_login(alice)
    client.post(reverse("account_notifications"), {})
    alice.refresh_from_db()
    assert alice.notify_key_events is False
    client.post(reverse("account_notifications"), {"notify_key_events": "on"})
    alice.refresh_from_db()
    assert alice.notify_key_events is True


def test_expiry_notices_at_11_10_2_1_and_0_days(alice, mailoutbox):
    with time_machine.travel(CREATED_AT, tick=False):
        key, _ = make_key(alice, name="ci", expires_in_days=90)

    expected = {
        11: [],
        10: ["expires in 10 days"],
        2: [],
        1: ["expires in 1 day"],
        0: ["has expired"],
    }
    for days, subjects in expected.items():
        mailoutbox.clear()
        # a few hours past the day mark, as a daily cron would be
        assert run_at(key, days, hours=0 if days == 0 else -3) == len(subjects)
        assert [m.subject.split("” ")[1] for m in mailoutbox] == subjects, days
        mailoutbox.clear()
        assert run_at(key, days, hours=0 if days == 0 else -3) == 0, (
            f"second run at {days} days sent again"
        )
        assert mailoutbox == []


def test_a_late_cron_sends_only_the_nearest_notice(alice, mailoutbox):
    key, _ = make_key(alice, expires_in_days=90)
    assert run_at(key, 0, hours=12) == 1  # cron never ran until half a day before expiry
    assert [m.subject.split("” ")[1] for m in mailoutbox] == ["expires in 1 day"]


def test_regenerating_starts_the_notices_again(alice, mailoutbox):
    key, _ = make_key(alice, expires_in_days=90)
    assert run_at(key, 1, hours=-1) == 1
    key.regenerate()
    key.refresh_from_db()
    assert run_at(key, 1, hours=-1) == 1


def test_revoked_keys_get_no_expiry_notices(alice, mailoutbox):
    key, _ = make_key(alice, expires_in_days=90)
    key.revoke(by=alice, source="holder")
    assert run_at(key, 1) == 0


def test_the_management_command(alice, mailoutbox, capsys):
    key, _ = make_key(alice, expires_in_days=1)
    call_command("send_key_expiry_notices")
    call_command("send_key_expiry_notices")
    assert len(mailoutbox) == 1
    assert "1 expiry notice(s) sent." in capsys.readouterr().out


def test_a_mail_server_failure_does_not_hide_the_new_key(client, alice, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    sign_in(client, alice)
    response = create_key_on_page(client)
    assert response.status_code == 200
    secret = KEY_RE.search(response.content.decode()).group(0)
    from apikeys.models import ApiKey

    assert ApiKey.objects.find(secret) is not None
    assert "could not send the e-mail apikeys/email/created" in caplog.text
    assert secret not in caplog.text
