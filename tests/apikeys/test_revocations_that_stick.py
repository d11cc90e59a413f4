"""A revocation by an administrator or an organization administrator sticks: the
holder cannot regenerate the key back to life. Revocations by the holder, or as
leaked, may be regenerated (the new secret replaces the leaked one). Deactivating
an organization stops its keys."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, User
from apikeys import flows
from apikeys.models import ApiKey, KeyConflict, RevocationSource, RevokedForGood
from tests.conftest import sign_in
from tests.factories import UserFactory, make_key
from tests.helpers import KEY_RE, push
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


@pytest.fixture
def contoso(alice, bob):
    """alice administers Contoso; bob is a collaborator."""
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=organization, member=bob)
    return organization


def regenerate(client, key):
    return client.post(reverse("apikey_regenerate", args=[key.pk]), {"hint": key.hint})


def key_entry(page: str, key) -> str:
    return page.split(f'id="key-{key.pk}"', 1)[1].split("</li>", 1)[0]


def test_a_key_revoked_by_an_administrator_cannot_be_regenerated(client, bob):
    staff = UserFactory(username="root", is_staff=True)
    key, secret = make_key(bob, name="CI")
    flows.revoke_key(key, by=staff, source=RevocationSource.ADMIN, reason="Seen in a paste.")
    sign_in(client, bob)
    entry = key_entry(client.get(reverse("apikeys")).content.decode(), key)
    assert reverse("apikey_regenerate", args=[key.pk]) not in entry
    assert "An administrator (root)" in entry and "Seen in a paste." in entry
    assert "it cannot be regenerated" in entry

    response = regenerate(client, key)
    assert response.status_code == 403
    assert not KEY_RE.search(response.content.decode())
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.is_revoked and stored.hashed_key == key.hashed_key
    assert push(Client(), secret).status_code == 403


def test_a_key_revoked_by_an_organization_administrator_cannot_be_regenerated(
    client, alice, bob, contoso
):
    key, _ = make_key(bob, owner=contoso, name="CI")
    admin = sign_in(Client(), alice)
    admin.post(reverse("organization_revoke_key", args=["Contoso", key.pk]))
    sign_in(client, bob)
    entry = key_entry(client.get(reverse("apikeys")).content.decode(), key)
    assert reverse("apikey_regenerate", args=[key.pk]) not in entry
    assert "An organization administrator (alice)" in entry
    assert "Revoked by alice, an administrator of Contoso." in entry
    assert regenerate(client, key).status_code == 403
    assert ApiKey.objects.get(pk=key.pk).is_revoked


def test_the_holder_may_create_a_new_key_after_an_administrators_revocation(client, bob):
    staff = UserFactory(username="root", is_staff=True)
    key, _ = make_key(bob, name="CI")
    flows.revoke_key(key, by=staff, source=RevocationSource.ADMIN)
    sign_in(client, bob)
    response = client.post(
        reverse("apikeys"),
        {
            "name": "CI again",
            "expires_in": "90",
            "owner": "bob",
            "push": "on",
            "push_scope": "package:push",
            "glob_patterns": "*",
        },
    )
    assert response.status_code == 200
    secret = KEY_RE.search(response.content.decode()).group(0)
    assert push(Client(), secret).status_code == 201


@pytest.mark.parametrize(
    "source", [RevocationSource.HOLDER, RevocationSource.LEAK, RevocationSource.ENDPOINT]
)
def test_a_key_revoked_by_its_holder_or_as_leaked_may_be_regenerated(client, bob, source):
    key, _ = make_key(bob, name="CI")
    flows.revoke_key(key, by=bob if source == RevocationSource.HOLDER else None, source=source)
    sign_in(client, bob)
    entry = key_entry(client.get(reverse("apikeys")).content.decode(), key)
    assert reverse("apikey_regenerate", args=[key.pk]) in entry
    key.refresh_from_db()
    response = regenerate(client, key)
    assert response.status_code == 200
    secret = KEY_RE.search(response.content.decode()).group(0)
    assert not ApiKey.objects.get(pk=key.pk).is_revoked
    assert push(Client(), secret).status_code == 201


def test_an_administrators_revocation_that_lands_first_wins_over_a_regenerate(bob):
    key, _ = make_key(bob)
    loaded = ApiKey.objects.get(pk=key.pk)  # as the Regenerate request loaded it
    staff = UserFactory(username="root", is_staff=True)
    flows.revoke_key(key, by=staff, source=RevocationSource.ADMIN)
    with pytest.raises(KeyConflict):
        loaded.regenerate()
    assert ApiKey.objects.get(pk=key.pk).is_revoked
    with pytest.raises(RevokedForGood):
        ApiKey.objects.get(pk=key.pk).regenerate()


def test_deactivating_an_organization_stops_its_keys(bob, contoso):
    _, secret = make_key(bob, owner=contoso, glob_patterns=["Contoso.*"])
    assert push(Client(), secret, nupkg(version="1.0.0")).status_code == 201
    User.objects.filter(pk=contoso.pk).update(is_active=False)
    response = push(Client(), secret, nupkg(version="2.0.0"))
    assert response.status_code == 403
    assert response["X-Galley-Reason"] == "owner_inactive"
    assert response.content.decode().strip() == "The package owner Contoso is deactivated."
    unlist = Client().delete(
        "/api/v2/package/Contoso.Core/1.0.0", headers={"X-NuGet-ApiKey": secret}
    )
    assert unlist.status_code == 403 and unlist["X-Galley-Reason"] == "owner_inactive"
