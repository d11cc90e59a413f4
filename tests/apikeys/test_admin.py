import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apikeys.models import ApiKey
from tests.factories import UserFactory, make_key
from tests.helpers import push

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/apikeys/apikey/"


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


def staff(*codenames):
    user = UserFactory(username="staffer", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_admin_revoke_action_stops_the_next_push_and_emails_the_holder(client, alice, mailoutbox):
    key, secret = make_key(alice, name="ci")
    client.force_login(staff("view_apikey", "change_apikey"))
    data = {"action": "revoke_selected", "_selected_action": [key.pk]}
    confirm = client.post(CHANGELIST, data)
    assert confirm.status_code == 200 and b"Reason" in confirm.content
    assert ApiKey.objects.get().revoked_at is None  # nothing happens before the reason is given

    response = client.post(CHANGELIST, {**data, "apply": "1", "reason": "Seen in a public gist"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert (
        key.revoked_at and key.revocation_source == "admin" and key.revoked_by.username == "staffer"
    )

    refused = push(client, secret)
    assert refused.status_code == 403 and refused["X-Galley-Reason"] == "revoked"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@example.com"]
    assert "Seen in a public gist" in mailoutbox[0].body
    assert secret not in mailoutbox[0].body and secret not in mailoutbox[0].alternatives[0][0]


def test_staff_without_change_permission_cannot_revoke(client, alice):
    key, _ = make_key(alice)
    client.force_login(staff("view_apikey"))
    client.post(
        CHANGELIST,
        {"action": "revoke_selected", "_selected_action": [key.pk], "apply": "1", "reason": "x"},
    )
    key.refresh_from_db()
    assert key.revoked_at is None
    assert client.get(reverse("admin:apikeys_apikey_revoke_leaked")).status_code == 403


def test_the_admin_shows_the_hint_not_the_stored_hash_and_cannot_edit_either(client, alice):
    key, secret = make_key(alice)
    client.force_login(staff("view_apikey", "change_apikey"))
    page = client.get(f"{CHANGELIST}{key.pk}/change/")
    assert page.status_code == 200
    assert f"{key.hint}…".encode() in page.content
    assert key.hashed_key.encode() not in page.content
    assert b'name="hashed_key"' not in page.content
    client.post(f"{CHANGELIST}{key.pk}/change/", {"hashed_key": "0" * 64, "name": "hacked"})
    key.refresh_from_db()
    assert ApiKey.objects.find(secret) == key and key.name != "hacked"


def test_admin_cannot_add_keys(client):
    client.force_login(staff("add_apikey", "view_apikey"))
    assert client.get(f"{CHANGELIST}add/").status_code == 403


@pytest.mark.parametrize(
    "status, expected",
    [("active", {"fresh", "soon"}), ("expiring", {"soon"}), ("revoked", {"gone"})],
)
def test_status_filter(client, alice, status, expected):
    make_key(alice, name="fresh", expires_in_days=365)
    make_key(alice, name="soon", expires_in_days=1)
    gone, _ = make_key(alice, name="gone")
    gone.revoke(by=alice, source="holder")
    client.force_login(staff("view_apikey"))
    response = client.get(CHANGELIST, {"status": status})
    names = {key.name for key in response.context["cl"].result_list}
    assert names == expected


def test_search_by_hint_with_its_ellipsis(client, alice):
    key, _ = make_key(alice, name="needle")
    make_key(alice, name="hay")
    client.force_login(staff("view_apikey"))
    response = client.get(CHANGELIST, {"q": f"{key.hint}…"})
    assert [k.name for k in response.context["cl"].result_list] == ["needle"]


def test_deactivating_a_user_stops_all_their_keys(client, alice):
    _, first = make_key(alice)
    _, second = make_key(alice)
    alice.is_active = False
    alice.save()
    for secret in (first, second):
        assert push(client, secret)["X-Galley-Reason"] == "holder_inactive"
