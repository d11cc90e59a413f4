"""The exchange, and creating or enabling a policy, go through the one issuing rule
(apikeys/issuing.py): an account registered with someone else's address, never
confirmed, cannot publish through Trusted Publishing."""

import pytest
from allauth.account.models import EmailAddress

from accounts.models import Membership, User
from apikeys.models import ApiKey
from audit.models import AuditEvent
from tests.conftest import sign_in
from tests.factories import UserFactory
from tests.helpers import push
from tests.trustedpublishing.conftest import exchange, make_policy
from tests.trustedpublishing.issuer import github_claims
from trustedpublishing.models import Policy, UsedToken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trusted_publishing")]

GITHUB_FORM = {
    "name": "Release",
    "owner": "eve",
    "provider": "github",
    "repository_owner": "contoso",
    "repository": "widgets",
    "workflow": "release.yml",
}


@pytest.fixture
def eve(db):
    """Registered with an address that is not hers, and never confirmed it."""
    return UserFactory(username="eve", email="alice@example.com", verified=False)


@pytest.fixture
def contoso(alice, bob):
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=organization, member=bob)
    return organization


def refused(response, words, status=403):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert words in error
    return error


# The exchange ------------------------------------------------------------------------


def test_unconfirmed_account_cannot_exchange_and_its_token_stays_unused(
    client, eve, issuer, mailoutbox, package_dir
):
    # A policy made before this rule existed (or by any other path).
    policy = make_policy(eve)
    token = issuer.token(github_claims())
    refused(exchange(client, token, "eve"), "Confirm your e-mail address before getting an API key")
    assert not ApiKey.objects.exists() and not UsedToken.objects.exists()
    policy.refresh_from_db()
    assert not policy.is_pinned and policy.exchange_count == 0
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_REFUSED)
    assert event.user == eve and event.details["rule"] == "unconfirmed"
    assert not mailoutbox
    # A key is what uses a token up: once the address is confirmed, the same token works.
    EmailAddress.objects.filter(user=eve).update(verified=True)
    response = exchange(client, token, "eve")
    assert response.status_code == 200, response.content
    assert push(client, response.json()["apiKey"]).status_code == 201
    assert UsedToken.objects.count() == 1


def test_deactivated_account_cannot_exchange(client, alice, issuer):
    make_policy(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    refused(
        exchange(client, issuer.token(github_claims()), "alice"),
        "The account alice is deactivated: it cannot be given API keys.",
    )
    assert not ApiKey.objects.exists() and not UsedToken.objects.exists()


def test_deactivated_organization_cannot_be_published_to(client, bob, contoso, issuer):
    make_policy(bob, owner=contoso)
    User.objects.filter(pk=contoso.pk).update(is_active=False)
    refused(
        exchange(client, issuer.token(github_claims()), "bob"),
        "The package owner Contoso is deactivated: no key can act for it.",
    )
    assert not ApiKey.objects.exists() and not UsedToken.objects.exists()


def test_creator_no_longer_a_member_is_refused_and_the_policy_disabled(
    client, bob, contoso, issuer
):
    policy = make_policy(bob, owner=contoso)
    # Their membership stops counting without the removal's signal having run
    # (an invitation back to pending, a removal racing with the exchange).
    Membership.objects.filter(member=bob).update(accepted=False)
    refused(
        exchange(client, issuer.token(github_claims()), "bob"),
        "bob is no longer a member of Contoso: no key can act for it.",
    )
    assert not ApiKey.objects.exists() and not UsedToken.objects.exists()
    policy.refresh_from_db()
    assert not policy.enabled and policy.disabled_reason == "creator_left"


def test_unknown_user_is_refused(client, issuer):
    refused(exchange(client, issuer.token(github_claims()), "nobody"), "no active user")


# Creating and enabling a policy --------------------------------------------------------


def test_unconfirmed_account_cannot_create_a_policy(client, eve, mailoutbox):
    sign_in(client, eve)
    page = client.get("/account/trustedpublishing").content.decode()
    assert "wait for a confirmed e-mail address" in page
    response = client.post("/account/trustedpublishing", GITHUB_FORM)
    assert response.status_code == 403
    assert response.context["form"].non_field_errors() == [
        "Confirm your e-mail address before using Trusted Publishing: follow the link in the "
        "confirmation e-mail, or send it again from Account Settings."
    ]
    assert "Confirm your e-mail address before using Trusted Publishing" in (
        response.content.decode()
    )
    assert not Policy.objects.exists()
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_CREATED).exists()


def test_confirmed_account_creates_a_policy(client, alice):
    sign_in(client, alice)
    assert "wait for a confirmed" not in client.get("/account/trustedpublishing").content.decode()
    response = client.post("/account/trustedpublishing", {**GITHUB_FORM, "owner": "alice"})
    assert response.status_code == 302
    assert Policy.objects.get().creator == alice


def test_deactivated_organization_cannot_get_a_policy(client, alice, contoso):
    User.objects.filter(pk=contoso.pk).update(is_active=False)
    sign_in(client, alice)
    response = client.post("/account/trustedpublishing", {**GITHUB_FORM, "owner": "Contoso"})
    assert response.status_code == 403
    assert "The package owner Contoso is deactivated" in response.content.decode()
    assert not Policy.objects.exists()


def test_unconfirmed_account_cannot_enable_a_policy(client, eve):
    policy = make_policy(eve, enabled=False, disabled_reason="creator")
    sign_in(client, eve)
    response = client.post(f"/account/trustedpublishing/{policy.pk}/enable")
    assert response.status_code == 403
    assert "Confirm your e-mail address before using Trusted Publishing" in (
        response.content.decode()
    )
    policy.refresh_from_db()
    assert not policy.enabled
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_ENABLED).exists()


def test_confirmed_account_enables_a_policy(client, alice):
    policy = make_policy(alice, enabled=False, disabled_reason="creator")
    sign_in(client, alice)
    assert client.post(f"/account/trustedpublishing/{policy.pk}/enable").status_code == 302
    policy.refresh_from_db()
    assert policy.enabled
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_ENABLED).exists()
