import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def test_sign_out_by_get_changes_nothing(client, alice):
    client.force_login(alice)
    response = client.get(reverse("log_off"))
    assert response.status_code == 200  # a page asking to confirm with a POST
    assert client.session[SESSION_KEY] == str(alice.pk)


def test_sign_out_needs_the_csrf_token(csrf_client, alice):
    csrf_client.force_login(alice)
    assert csrf_client.post(reverse("log_off")).status_code == 403
    assert csrf_client.session[SESSION_KEY] == str(alice.pk)


def test_sign_in_needs_the_csrf_token(csrf_client, alice, password):
    response = csrf_client.post(reverse("account_login"), {"login": "alice", "password": password})
    assert response.status_code == 403
    assert SESSION_KEY not in csrf_client.session


def test_delete_account_needs_the_csrf_token(csrf_client, alice):
    csrf_client.force_login(alice)
    assert csrf_client.post(reverse("delete_account"), {"confirm": "alice"}).status_code == 403
    assert User.objects.filter(username="alice").exists()


@pytest.mark.parametrize("name", ["account_settings", "account_email", "mfa_index"])
def test_pages_that_need_sign_in_redirect_to_it(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("log_on") + "?next=")


def test_delete_account_by_get_is_not_allowed(client, alice):
    client.force_login(alice)
    assert client.get(reverse("delete_account")).status_code == 405
    assert User.objects.filter(username="alice").exists()


def test_delete_account_asks_for_reauthentication(client, alice):
    client.force_login(alice)  # signed in, but not recently with a password
    response = client.post(reverse("delete_account"), {"confirm": "alice"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert User.objects.filter(username="alice").exists()


def test_delete_account_asks_for_the_user_name(client, alice):
    sign_in(client, alice)
    response = client.post(reverse("delete_account"), {"confirm": "someone"}, follow=True)
    assert b"does not match" in response.content
    assert User.objects.filter(username="alice").exists()


def test_delete_account_removes_the_user(client, alice):
    sign_in(client, alice)
    response = client.post(reverse("delete_account"), {"confirm": "alice"})
    assert response.status_code == 302
    assert not User.objects.filter(username="alice").exists()
    assert SESSION_KEY not in client.session


def test_deleting_the_account_leaves_an_audit_record(client, alice):
    from audit.models import AuditEvent

    sign_in(client, alice)
    client.post(reverse("delete_account"), {"confirm": "alice"})
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.ACCOUNT_DELETED)
    assert (event.actor_name, event.details["account"]) == ("alice", "alice")
    assert event.actor is None  # the account is gone; its name stays in the trail


def test_an_account_that_cannot_be_deleted_leaves_no_deletion_record(client, alice, bob):
    from audit.models import AuditEvent
    from tests.factories import PackageRegistrationFactory

    PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    sign_in(client, alice)
    client.post(reverse("delete_account"), {"confirm": "alice"})
    assert User.objects.filter(username="alice").exists()
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.ACCOUNT_DELETED).exists()


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("log_on"))


def test_admin_refuses_signed_in_non_staff(client, alice):
    client.force_login(alice)
    assert client.get("/admin/login/").status_code == 403
