"""One rule decides who may be given a key (apikeys/issuing.py), whichever path
asks: the API Keys form and Regenerate here, the Trusted Publishing exchange in
tests/trustedpublishing/test_issuing.py. Each refusal writes nothing, sends no
mail and leaves no audit event."""

import pytest
from allauth.account.models import EmailAddress
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import Membership, User
from apikeys import flows, issuing
from apikeys.forms import CreateApiKeyForm
from apikeys.models import ApiKey, RevocationSource
from apikeys.scopes import Refusal
from audit.models import AuditEvent
from tests.conftest import create_key_on_page, sign_in
from tests.factories import UserFactory, make_key
from tests.helpers import KEY_RE, push

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


def unconfirm(user):
    EmailAddress.objects.filter(user=user).update(verified=False)


def regenerate(client, key):
    return client.post(reverse("apikey_regenerate", args=[key.pk]), {"hint": key.hint})


def nothing_issued(mailoutbox, kinds=("key.created", "key.regenerated")):
    assert not mailoutbox
    assert not AuditEvent.objects.filter(kind__in=kinds).exists()


def valid_form(holder, owner) -> CreateApiKeyForm:
    form = CreateApiKeyForm(
        {
            "name": "CI",
            "expires_in": "90",
            "owner": owner.get_username(),
            "push": "on",
            "push_scope": "package:push",
            "glob_patterns": "*",
        },
        holder=holder,
    )
    assert form.is_valid(), form.errors
    return form


# The rule itself -------------------------------------------------------------------


def test_a_confirmed_active_person_may_be_given_keys_for_themselves_and_their_organization(
    alice, bob, contoso
):
    assert issuing.refusal(alice, alice) is None
    assert issuing.refusal(bob, contoso) is None


CONFIRM = (
    "Confirm your e-mail address before getting an API key: follow the link in the "
    "confirmation e-mail, or send it again from Account Settings."
)
LEFT = "bob is no longer a member of Contoso: no key can act for it."


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("unconfirmed", "unconfirmed", CONFIRM),
        (
            "holder_inactive",
            "holder_inactive",
            "The account bob is deactivated: it cannot be given API keys.",
        ),
        (
            "owner_inactive",
            "owner_inactive",
            "The package owner Contoso is deactivated: no key can act for it.",
        ),
        ("not_a_member", "not_a_member", LEFT),
        ("pending_member", "not_a_member", LEFT),
    ],
)
def test_each_refusal_of_the_rule_in_its_words(bob, contoso, case, code, message):
    if case == "unconfirmed":
        unconfirm(bob)
    elif case == "holder_inactive":
        User.objects.filter(pk=bob.pk).update(is_active=False)
    elif case == "owner_inactive":
        User.objects.filter(pk=contoso.pk).update(is_active=False)
    elif case == "not_a_member":
        Membership.objects.filter(member=bob).delete()
    else:  # an invitation not accepted gives no rights
        Membership.objects.filter(member=bob).update(accepted=False)
    bob.refresh_from_db()
    contoso.refresh_from_db()
    refusal = issuing.refusal(bob, contoso)
    assert isinstance(refusal, Refusal)
    assert (refusal.code, refusal.status) == (code, 403)
    assert refusal.message == message


def test_another_organization_is_refused_too(bob, fabrikam):
    refusal = issuing.refusal(bob, fabrikam)
    assert refusal.code == "not_a_member"
    assert refusal.message == "bob is no longer a member of Fabrikam: no key can act for it."


def test_a_refusal_does_not_mint(alice):
    unconfirm(alice)
    minted = []
    assert isinstance(issuing.issue(alice, alice, lambda: minted.append(1)), Refusal)
    assert minted == []


def test_refusals_are_translated(bob, contoso):
    from django.utils import translation

    unconfirm(bob)
    with translation.override("fr"):
        message = issuing.refusal(bob, contoso).message
    assert message.startswith("Confirmez votre adresse e-mail")


# The API Keys form -------------------------------------------------------------------


def test_unconfirmed_account_is_refused_by_the_form_with_the_reason(client, mailoutbox):
    # Registered with someone else's address, never confirmed.
    eve = UserFactory(username="eve", verified=False)
    sign_in(client, eve)
    response = create_key_on_page(client, owner="eve")
    assert response.status_code == 403
    assert "Confirm your e-mail address before getting an API key" in response.content.decode()
    assert response.context["form"].non_field_errors()
    assert not KEY_RE.search(response.content.decode())
    assert not ApiKey.objects.exists()
    nothing_issued(mailoutbox)


def test_form_refuses_a_deactivated_organization_as_package_owner(
    client, alice, contoso, mailoutbox
):
    User.objects.filter(pk=contoso.pk).update(is_active=False)
    sign_in(client, alice)
    response = create_key_on_page(client, owner="Contoso")
    assert response.status_code == 403
    errors = response.context["form"].non_field_errors()
    assert errors == ["The package owner Contoso is deactivated: no key can act for it."]
    assert "The package owner Contoso is deactivated" in response.content.decode()
    assert not ApiKey.objects.exists()
    nothing_issued(mailoutbox)


def test_form_still_issues_for_an_active_organization(client, bob, contoso, mailoutbox):
    sign_in(client, bob)
    response = create_key_on_page(client, owner="Contoso")
    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert (key.holder, key.owner) == (bob, contoso)
    assert len(mailoutbox) == 1
    assert AuditEvent.objects.filter(kind="key.created").count() == 1


def test_form_refuses_a_member_who_left_after_the_form_was_checked(bob, contoso, mailoutbox):
    # The race the form's owner list cannot see: the flow checks again.
    form = valid_form(bob, contoso)
    Membership.objects.filter(member=bob).delete()
    refusal = flows.create_key(RequestFactory().post("/"), form)
    assert isinstance(refusal, Refusal) and refusal.code == "not_a_member"
    assert not ApiKey.objects.exists()
    nothing_issued(mailoutbox)


def test_form_refuses_a_deactivated_holder(bob, mailoutbox):
    # A deactivated account cannot sign in; a request already under way is refused.
    form = valid_form(bob, bob)
    User.objects.filter(pk=bob.pk).update(is_active=False)
    bob.refresh_from_db()
    refusal = flows.create_key(RequestFactory().post("/"), form)
    assert isinstance(refusal, Refusal) and refusal.code == "holder_inactive"
    assert not ApiKey.objects.exists()
    nothing_issued(mailoutbox)


# Regenerate ----------------------------------------------------------------------------


def regenerate_refused(client, key, words):
    response = regenerate(client, key)
    assert response.status_code == 403
    page = response.content.decode()
    assert words in page
    assert not KEY_RE.search(page)
    stored = ApiKey.objects.get(pk=key.pk)
    assert (stored.hashed_key, stored.expires) == (key.hashed_key, key.expires)
    return stored


def test_regenerate_refuses_an_account_whose_address_is_no_longer_confirmed(
    client, bob, mailoutbox
):
    key, _ = make_key(bob, name="CI")
    sign_in(client, bob)
    unconfirm(bob)
    regenerate_refused(client, key, "Confirm your e-mail address before getting an API key")
    nothing_issued(mailoutbox)


def test_regenerate_refuses_a_key_of_a_deactivated_organization(client, bob, contoso, mailoutbox):
    key, _ = make_key(bob, owner=contoso, name="CI")
    User.objects.filter(pk=contoso.pk).update(is_active=False)
    sign_in(client, bob)
    regenerate_refused(client, key, "The package owner Contoso is deactivated")
    nothing_issued(mailoutbox)


def test_regenerate_refuses_a_former_member(client, bob, contoso, mailoutbox):
    key, _ = make_key(bob, owner=contoso, name="CI")
    Membership.objects.filter(member=bob).delete()
    sign_in(client, bob)
    regenerate_refused(client, key, "bob is no longer a member of Contoso")
    nothing_issued(mailoutbox)


def test_regenerate_refuses_a_key_revoked_by_an_administrator(client, bob, mailoutbox):
    staff = UserFactory(username="root", is_staff=True)
    key, secret = make_key(bob, name="CI")
    flows.revoke_key(key, by=staff, source=RevocationSource.ADMIN, reason="Seen in a paste.")
    key.refresh_from_db()
    mailoutbox.clear()
    sign_in(client, bob)
    stored = regenerate_refused(
        client, key, "An administrator revoked this key: create a new key instead."
    )
    assert stored.is_revoked
    assert push(Client(), secret).status_code == 403
    nothing_issued(mailoutbox)


def test_regenerate_refuses_a_deactivated_holder(bob, mailoutbox):
    key, _ = make_key(bob, name="CI")
    User.objects.filter(pk=bob.pk).update(is_active=False)
    refusal = flows.regenerate_key(RequestFactory().post("/"), ApiKey.objects.get(pk=key.pk))
    assert isinstance(refusal, Refusal) and refusal.code == "holder_inactive"
    assert ApiKey.objects.get(pk=key.pk).hashed_key == key.hashed_key
    nothing_issued(mailoutbox)


def test_regenerate_still_works_for_a_member(client, bob, contoso, mailoutbox):
    key, old = make_key(bob, owner=contoso, name="CI")
    sign_in(client, bob)
    response = regenerate(client, key)
    assert response.status_code == 200
    secret = KEY_RE.search(response.content.decode()).group(0)
    assert ApiKey.objects.find(secret).pk == key.pk
    assert ApiKey.objects.find(old) is None
    assert AuditEvent.objects.filter(kind="key.regenerated").count() == 1


def test_regenerate_flow_returns_the_refusal_for_an_administrators_revocation(bob, mailoutbox):
    staff = UserFactory(username="root", is_staff=True)
    key, _ = make_key(bob, name="CI")
    flows.revoke_key(key, by=staff, source=RevocationSource.ADMIN)
    mailoutbox.clear()
    revoked = ApiKey.objects.get(pk=key.pk)
    refused = issuing.refusal(bob, bob, replacing=revoked)
    assert refused.code == "revoked_for_good"
    assert refused.message == "An administrator revoked this key: create a new key instead."
    refusal = flows.regenerate_key(RequestFactory().post("/"), revoked)
    assert isinstance(refusal, Refusal) and refusal.code == "revoked_for_good"
    assert ApiKey.objects.get(pk=key.pk).hashed_key == key.hashed_key
    nothing_issued(mailoutbox)
