"""A policy never used (its repository's ids not pinned) stops matching
GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS (7) after its creation, as on nuget.org:
until then it would match a repository of that name created by anyone. Renew
gives it another 7 days; a used, pinned policy keeps matching."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import Membership, User
from apikeys.models import ApiKey
from audit.models import AuditEvent
from tests.conftest import sign_in
from tests.trustedpublishing.conftest import exchange, make_policy
from tests.trustedpublishing.issuer import github_claims
from trustedpublishing.models import Policy, UsedToken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trusted_publishing")]

SEVEN_DAYS = timedelta(days=7)
EXPIRED = (
    "No Trusted Publishing policy of alice matches this token: the policy was not used "
    "within 7 days of its creation or renewal; its creator may renew it on the Trusted "
    "Publishing page."
)


@pytest.fixture
def traveller():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def test_an_unused_policy_matches_until_its_seventh_day(client, alice, issuer, traveller):
    make_policy(alice)
    traveller.shift(SEVEN_DAYS - timedelta(minutes=1))
    assert exchange(client, issuer.token(github_claims())).status_code == 200


def test_an_unused_policy_older_than_seven_days_matches_nothing(client, alice, issuer, traveller):
    policy = make_policy(alice)
    traveller.shift(SEVEN_DAYS)
    response = exchange(client, issuer.token(github_claims()))
    assert response.status_code == 403
    assert response.json() == {"error": EXPIRED}
    assert not ApiKey.objects.exists() and not UsedToken.objects.exists()
    policy.refresh_from_db()
    assert not policy.is_pinned and policy.exchange_count == 0


def test_a_pinned_policy_keeps_matching(client, alice, issuer, traveller):
    make_policy(alice)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    traveller.shift(timedelta(days=90))
    assert exchange(client, issuer.token(github_claims())).status_code == 200


def test_the_number_of_days_is_a_setting(client, alice, issuer, traveller, settings):
    settings.GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS = 2
    make_policy(alice)
    traveller.shift(timedelta(days=2))
    error = exchange(client, issuer.token(github_claims())).json()["error"]
    assert "not used within 2 days" in error


def test_the_page_shows_the_deadline_then_expired_never_used(client, alice, traveller):
    policy = make_policy(alice)
    sign_in(client, alice)
    entry = policy_entry(client, policy)
    assert "A policy must be used within 7 days of its creation or renewal: use it by" in entry
    assert "Expired, never used" not in entry
    assert f"/account/trustedpublishing/{policy.pk}/renew" in entry
    traveller.shift(SEVEN_DAYS)
    sign_in(client, alice)
    entry = policy_entry(client, policy)
    assert "Expired, never used" in entry
    assert "Not used within 7 days of its creation or renewal" in entry
    assert f"/account/trustedpublishing/{policy.pk}/renew" in entry


def test_the_page_shows_no_deadline_for_a_pinned_policy(client, alice, issuer):
    policy = make_policy(alice)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    sign_in(client, alice)
    entry = policy_entry(client, policy)
    assert "Pinned: owner 1001, repository 2002" in entry
    assert "must be used within" not in entry and "/renew" not in entry


def policy_entry(client, policy) -> str:
    page = client.get("/account/trustedpublishing").content.decode()
    return page.split(f'id="policy-{policy.pk}"', 1)[1].split("</li>", 1)[0]


def test_renew_restarts_the_seven_days_and_is_audited_as_an_edit(client, alice, issuer, traveller):
    policy = make_policy(alice)
    traveller.shift(timedelta(days=10))
    assert exchange(client, issuer.token(github_claims())).status_code == 403
    sign_in(client, alice)
    response = client.post(f"/account/trustedpublishing/{policy.pk}/renew")
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.awaiting_first_use_since == timezone.now()
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_EDITED)
    assert event.user == alice and event.details["renewed"] is True
    assert event.details["policy"] == "Release"
    assert "was renewed: use it by" in client.get("/account/trustedpublishing").content.decode()
    assert exchange(client, issuer.token(github_claims())).status_code == 200


def test_renew_moves_only_that_policys_deadline_and_is_audited_with_who_and_where(
    client, alice, dana, traveller
):
    renewed = make_policy(alice)
    other = make_policy(alice, name="Nightly")
    danas = make_policy(dana, name="Dana's release", repository_owner="dana")
    created = timezone.now()
    traveller.shift(timedelta(days=10))
    sign_in(client, alice)
    assert client.post(f"/account/trustedpublishing/{renewed.pk}/renew").status_code == 302
    since = dict(Policy.objects.values_list("pk", "awaiting_first_use_since"))
    assert since == {renewed.pk: timezone.now(), other.pk: created, danas.pk: created}
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_EDITED)
    assert (event.user, event.actor, event.ip_address) == (alice, alice, "127.0.0.1")


def test_a_renewed_policy_left_unused_expires_again(client, alice, issuer, traveller):
    policy = make_policy(alice)
    traveller.shift(timedelta(days=10))
    sign_in(client, alice)
    assert client.post(f"/account/trustedpublishing/{policy.pk}/renew").status_code == 302
    traveller.shift(SEVEN_DAYS)
    assert exchange(client, issuer.token(github_claims())).json() == {"error": EXPIRED}


def test_renewing_a_pinned_policy_changes_nothing(client, alice, issuer):
    policy = make_policy(alice)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    since = Policy.objects.get().awaiting_first_use_since
    sign_in(client, alice)
    assert client.post(f"/account/trustedpublishing/{policy.pk}/renew").status_code == 302
    assert Policy.objects.get().awaiting_first_use_since == since
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_EDITED).exists()


def test_editing_the_repository_starts_the_seven_days_again(client, alice, traveller):
    policy = make_policy(alice)
    traveller.shift(timedelta(days=10))
    sign_in(client, alice)
    response = client.post(
        f"/account/trustedpublishing/{policy.pk}/edit",
        {
            "name": "Release",
            "provider": "github",
            "repository_owner": "contoso",
            "repository": "gadgets",
            "workflow": "release.yml",
        },
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.awaiting_first_use_since == timezone.now()
    assert not policy.is_expired_unused()


def test_renew_is_a_post_for_the_policys_creator_only(client, alice, bob, charlie, traveller):
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=bob)
    policy = make_policy(bob, owner=contoso)
    created = policy.awaiting_first_use_since
    traveller.shift(timedelta(days=10))
    stranger = sign_in(Client(), charlie)
    assert stranger.post(f"/account/trustedpublishing/{policy.pk}/renew").status_code == 404
    sign_in(client, bob)
    assert client.get(f"/account/trustedpublishing/{policy.pk}/renew").status_code == 405
    Membership.objects.filter(member=bob).delete()
    assert client.post(f"/account/trustedpublishing/{policy.pk}/renew").status_code == 403
    assert Policy.objects.get().awaiting_first_use_since == created


def test_renew_needs_a_recent_password(client, alice):
    policy = make_policy(alice)
    client.force_login(alice)
    response = client.post(f"/account/trustedpublishing/{policy.pk}/renew")
    assert response.status_code == 302 and "reauthenticate" in response["Location"]


def test_unconfirmed_account_cannot_renew(client, traveller):
    from tests.factories import UserFactory

    eve = UserFactory(username="eve", verified=False)
    policy = make_policy(eve)
    traveller.shift(timedelta(days=10))
    sign_in(client, eve)
    response = client.post(f"/account/trustedpublishing/{policy.pk}/renew")
    assert response.status_code == 403
    assert "Confirm your e-mail address before using Trusted Publishing" in (
        response.content.decode()
    )
    assert Policy.objects.get().is_expired_unused()


def test_each_policy_change_refuses_an_unconfirmed_creator_by_the_rules_code(rf, traveller):
    """Create, enable and renew answer with the issuing rule's code, in words of their own."""
    from tests.factories import UserFactory
    from trustedpublishing import flows

    eve = UserFactory(username="eve", verified=False)
    policy = make_policy(eve)
    request = rf.post("/")
    request.user = eve
    for refusal in (flows.enable(request, policy), flows.renew(request, policy)):
        assert refusal.code == "unconfirmed"
        assert refusal.message.startswith("Confirm your e-mail address before using Trusted")
