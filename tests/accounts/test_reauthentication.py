"""A password before every grant: adding a package owner, inviting or promoting a
member, editing a key's patterns or packages and deleting the account ask for the
password again (allauth's reauthentication), unless the person signed in or
confirmed it within ACCOUNT_REAUTHENTICATION_TIMEOUT."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from apikeys.models import ApiKey
from packages.models import OwnershipRequest
from tests.factories import PASSWORD, PackageRegistrationFactory, UserFactory, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice, bob, charlie):
    """alice owns Alice.Core (with dave) and a key, administers Contoso (with dave;
    bob is a collaborator): nothing would stop her deleting her account."""
    dave = UserFactory(username="dave")
    PackageRegistrationFactory(package_id="Alice.Core", owners=[alice, dave])
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=dave, role=Membership.Role.ADMIN)
    Membership.objects.create(organization=contoso, member=bob)
    key, _ = make_key(alice, name="CI", glob_patterns=["Alice.*"])
    return key


# (what it grants, the request, and whether it happened)
GRANTS = {
    "add a package owner": (
        lambda key: (reverse("package_add_owner", args=["Alice.Core"]), {"owner": "charlie"}),
        lambda key: OwnershipRequest.objects.exists(),
    ),
    "invite a member": (
        lambda key: (
            reverse("organization_add_member", args=["Contoso"]),
            {"username": "charlie", "role": "admin"},
        ),
        lambda key: Membership.objects.filter(member__username="charlie").exists(),
    ),
    "promote a member": (
        lambda key: (
            reverse("organization_change_role", args=["Contoso", "bob"]),
            {"role": "admin"},
        ),
        lambda key: Membership.objects.get(member__username="bob").role == "admin",
    ),
    "edit a key's patterns": (
        lambda key: (
            reverse("apikey_edit", args=[key.pk]),
            {f"edit-{key.pk}-glob_patterns": "*"},
        ),
        lambda key: ApiKey.objects.get(pk=key.pk).glob_patterns == ["*"],
    ),
    "delete the account": (
        lambda key: (reverse("delete_account"), {"confirm": "alice"}),
        lambda key: not User.objects.filter(username="alice").exists(),
    ),
}


def signed_in_through_the_form(client=None) -> Client:
    client = client or Client()
    client.post(reverse("account_login"), {"login": "alice", "password": PASSWORD})
    assert SESSION_KEY in client.session
    return client


@pytest.mark.parametrize("grant", GRANTS)
def test_a_session_without_a_recent_password_is_asked_for_it(world, alice, grant):
    request, happened = GRANTS[grant]
    client = Client()
    client.force_login(alice)  # a session that confirmed nothing recently
    url, data = request(world)
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not happened(world)


@pytest.mark.parametrize("grant", GRANTS)
def test_signing_in_counts_as_a_fresh_confirmation(world, grant):
    request, happened = GRANTS[grant]
    client = signed_in_through_the_form()
    url, data = request(world)
    response = client.post(url, data)
    assert not response.get("Location", "").startswith(reverse("account_reauthenticate"))
    assert happened(world)


@pytest.mark.parametrize("grant", GRANTS)
def test_the_confirmation_runs_out(world, grant, settings):
    request, happened = GRANTS[grant]
    client = signed_in_through_the_form()
    later = timezone.now() + timedelta(seconds=settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1)
    with time_machine.travel(later, tick=False):
        url, data = request(world)
        response = client.post(url, data)
        assert response["Location"].startswith(reverse("account_reauthenticate"))
        assert not happened(world)


def test_the_password_confirms_and_the_action_goes_through(world, alice):
    client = Client()
    client.force_login(alice)
    url = reverse("organization_add_member", args=["Contoso"])
    response = client.post(url, {"username": "charlie", "role": "collaborator"})
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    # allauth keeps the POST aside and replays it once the password is confirmed.
    client.post(response["Location"], {"password": PASSWORD})
    invitation = Membership.objects.get(member__username="charlie")
    assert not invitation.accepted and invitation.invited_by == alice


def test_a_wrong_password_at_sign_in_confirms_nothing(world, alice):
    client = Client()
    client.post(reverse("account_login"), {"login": "alice", "password": "wrong"})
    client.force_login(alice)
    url, data = GRANTS["invite a member"][0](world)
    assert client.post(url, data)["Location"].startswith(reverse("account_reauthenticate"))
