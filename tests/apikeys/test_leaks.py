import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apikeys.models import ApiKey
from apikeys.tokens import generate
from tests.factories import UserFactory, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(username="staffer", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_apikey", "change_apikey"])
    )
    client.force_login(user)
    return client


def test_mixed_paste_is_checked_then_exactly_the_right_keys_are_revoked(
    admin_client, alice, bob, mailoutbox
):
    live, live_secret = make_key(alice, name="alice-ci")
    other, other_secret = make_key(bob, name="bob-ci")
    revoked, revoked_secret = make_key(alice, name="old")
    revoked.revoke(by=alice, source="holder")
    untouched, _ = make_key(alice, name="not-pasted")
    paste = "\n".join(
        [live_secret, revoked_secret, generate(), "garbage!", "", "x" * 10_000, other_secret]
    )
    url = reverse("admin:apikeys_apikey_revoke_leaked")

    check = admin_client.post(url, {"keys": paste, "check": "1"})
    assert check.status_code == 200
    rows = [(f.status, f.key.name if f.key else None) for f in check.context["findings"]]
    assert rows == [
        ("will_revoke", "alice-ci"),
        ("already_revoked", "old"),
        ("not_found", None),
        ("not_galley_key", None),
        ("not_galley_key", None),
        ("will_revoke", "bob-ci"),
    ]
    content = check.content.decode()
    assert live_secret not in content and "x" * 100 not in content
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 1  # checking changes nothing

    done = admin_client.post(
        url,
        {
            "keys": [live.pk, other.pk],
            "url": "https://gist.example/leak",
            "reason": "Leaked",
            "revoke": "1",
        },
    )
    assert done.status_code == 200
    for key in (live, other):
        key.refresh_from_db()
        assert key.revocation_source == "leak" and key.revocation_url == "https://gist.example/leak"
    untouched.refresh_from_db()
    assert untouched.revoked_at is None
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]


def test_an_empty_or_whitespace_paste_is_a_form_error(admin_client):
    response = admin_client.post(
        reverse("admin:apikeys_apikey_revoke_leaked"), {"keys": " \n \n", "check": "1"}
    )
    assert response.status_code == 200
    assert "findings" not in response.context
