import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from audit.events import client_ip
from audit.models import AppendOnly, AuditEvent
from tests.conftest import create_key_on_page, sign_in, totp_code
from tests.factories import enable_totp, make_key
from tests.helpers import KEY_RE, push, unlist

pytestmark = pytest.mark.django_db
Kind = AuditEvent.Kind


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


def events(kind):
    return list(AuditEvent.objects.filter(kind=kind))


def test_key_lifecycle_is_recorded_once_each_with_the_actor(client, alice):
    sign_in(client, alice)
    response = create_key_on_page(client, extra={"HTTP_USER_AGENT": "Firefox/140"})
    secret = KEY_RE.search(response.content.decode()).group(0)
    (created,) = events(Kind.KEY_CREATED)
    assert created.user == alice and created.actor == alice and created.key_name == "CI"
    assert created.ip_address == "127.0.0.1" and created.user_agent == "Firefox/140"

    from apikeys.models import ApiKey

    key = ApiKey.objects.get()
    client.post(
        reverse("apikey_edit", args=[key.pk]), {f"edit-{key.pk}-glob_patterns": "Contoso.*"}
    )
    client.post(reverse("apikey_regenerate", args=[key.pk]), {"hint": key.hint})
    client.post(reverse("apikey_revoke", args=[key.pk]))
    client.post(reverse("apikey_delete", args=[key.pk]))
    for kind in [Kind.KEY_EDITED, Kind.KEY_REGENERATED, Kind.KEY_REVOKED, Kind.KEY_DELETED]:
        (event,) = events(kind)
        assert event.actor == alice and event.user == alice and event.key_name == "CI"
    assert events(Kind.KEY_REVOKED)[0].details["source"] == "holder"
    assert not any(secret in repr(row) for row in AuditEvent.objects.values_list())


def test_publish_events_are_recorded(client, alice):
    key, secret = make_key(
        alice, scopes=["package:push", "package:unlist"], glob_patterns=["Contoso.*"]
    )
    push(client, secret)
    unlist(client, secret)
    unlist(client, secret, method="post")
    from tests.packages.builders import nupkg

    push(client, secret, nupkg(package_id="Fabrikam.Core"))
    (pushed,) = events(Kind.PACKAGE_PUSHED)
    assert (pushed.package_id, pushed.package_version, pushed.key_hint, pushed.actor) == (
        "Contoso.Core",
        "1.0.0",
        key.hint,
        alice,
    )
    assert len(events(Kind.PACKAGE_UNLISTED)) == 1 and len(events(Kind.PACKAGE_RELISTED)) == 1
    (refused,) = events(Kind.PUBLISH_REFUSED)
    assert (
        refused.details["rule"] == "package_not_selected" and refused.package_id == "Fabrikam.Core"
    )
    assert refused.user == alice


def test_unknown_keys_do_not_write_rows(client):
    from apikeys.tokens import generate

    push(client, generate())
    push(client, "junk")
    assert not AuditEvent.objects.filter(kind=Kind.PUBLISH_REFUSED).exists()


def test_sign_in_success_and_failure(client, alice, password):
    client.post(reverse("account_login"), {"login": "alice", "password": "wrong"})
    client.post(reverse("account_login"), {"login": "alice", "password": password})
    (failed,) = events(Kind.SIGN_IN_FAILED)
    assert failed.user == alice and failed.actor is None and failed.details == {"login": "alice"}
    assert "wrong" not in repr(AuditEvent.objects.values_list())
    (succeeded,) = events(Kind.SIGN_IN)
    assert succeeded.user == alice and succeeded.actor == alice


def test_two_factor_enabled_and_disabled(client, alice, django_capture_on_commit_callbacks):
    sign_in(client, alice)
    page = client.get(reverse("mfa_activate_totp"))
    # allauth signals these after the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_activate_totp"), {"code": totp_code(page.context["form"].secret)})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_deactivate_totp"))
    assert len(events(Kind.MFA_ENABLED)) == 1
    assert len(events(Kind.MFA_DISABLED)) == 1


def test_the_log_is_append_only(alice):
    event = AuditEvent.objects.create(kind=Kind.SIGN_IN, user=alice)
    event.kind = Kind.KEY_DELETED
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().update(kind="x")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()


def test_deleting_a_user_keeps_their_trail(client, alice):
    make_key(alice)
    AuditEvent.objects.create(kind=Kind.SIGN_IN, user=alice, actor=alice, actor_name="alice")
    alice.delete()
    event = AuditEvent.objects.get()
    assert event.user is None and event.actor_name == "alice"


def test_users_see_their_own_events_only(client, alice, charlie):
    AuditEvent.objects.create(kind=Kind.KEY_CREATED, user=alice, key_name="alice-private-key")
    AuditEvent.objects.create(kind=Kind.KEY_CREATED, user=charlie, key_name="charlies-key")
    client.force_login(charlie)
    content = client.get(reverse("security_log")).content.decode()
    assert "charlies-key" in content
    assert "alice-private-key" not in content


def test_staff_read_everything_in_the_admin_but_cannot_change_it(client, alice, charlie):
    from django.contrib.auth.models import Permission

    AuditEvent.objects.create(kind=Kind.KEY_CREATED, user=alice, key_name="alice-private-key")
    charlie.is_staff = True
    charlie.save()
    enable_totp(charlie)  # the admin opens only for staff with two-factor authentication
    charlie.user_permissions.add(*Permission.objects.filter(codename__endswith="_auditevent"))
    client.force_login(charlie)
    assert b"alice-private-key" in client.get("/admin/audit/auditevent/").content
    event = AuditEvent.objects.get()
    assert (
        client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_no_secret_in_any_audit_row(client, alice):
    sign_in(client, alice)
    response = create_key_on_page(client, glob_patterns="Contoso.*")
    secret = KEY_RE.search(response.content.decode()).group(0)
    push(Client(), secret)
    from tests.packages.builders import nupkg

    push(Client(), secret, nupkg(package_id="Other.Pkg"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM audit_auditevent")
        rows = cursor.fetchall()
    assert len(rows) >= 4
    assert not any(secret in repr(row) or secret[4:] in repr(row) for row in rows)


@pytest.mark.parametrize(
    "proxies, remote, forwarded, expected",
    [
        (0, "10.0.0.5", "6.6.6.6", "10.0.0.5"),  # no proxy declared: the header is ignored
        (
            1,
            "10.0.0.5",
            "6.6.6.6, 203.0.113.9",
            "203.0.113.9",
        ),  # the proxy's hop, not the client's claim
        (2, "10.0.0.5", "6.6.6.6, 203.0.113.9, 10.0.0.4", "203.0.113.9"),
        (1, "10.0.0.5", "", "10.0.0.5"),
        (1, "10.0.0.5", "not-an-ip", None),
    ],
)
def test_client_ip_trusts_only_the_declared_proxies(settings, proxies, remote, forwarded, expected):
    settings.GALLEY_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_repeated_refusals_of_one_key_are_audited_once_a_minute(client, alice, caplog):
    import time_machine

    key, secret = make_key(alice)
    key.revoke(by=alice, source="holder")
    with caplog.at_level("WARNING"), time_machine.travel("2026-05-01 10:00Z") as clock:
        for _ in range(5):
            assert push(client, secret).status_code == 403
        assert AuditEvent.objects.filter(kind=Kind.PUBLISH_REFUSED).count() == 1
        assert caplog.text.count("publish refused") == 5  # every attempt is still logged
        clock.shift(61)
        push(client, secret)
    assert AuditEvent.objects.filter(kind=Kind.PUBLISH_REFUSED).count() == 2
