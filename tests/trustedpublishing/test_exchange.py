"""POST /api/v2/token: every rule of the exchange, against a local OIDC issuer."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Membership, User
from apikeys.models import ApiKey
from audit.models import AuditEvent
from packages.models import PackageRegistration
from tests.helpers import push, unlist
from tests.packages.builders import nupkg
from tests.trustedpublishing.conftest import AUDIENCE, exchange, make_gitlab_policy, make_policy
from tests.trustedpublishing.issuer import github_claims, gitlab_claims
from trustedpublishing import oidc
from trustedpublishing.models import Policy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trusted_publishing")]


def refused(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error"}
    return response.json()["error"]


# Success ------------------------------------------------------------------------


def test_matching_token_gets_a_one_hour_push_and_unlist_key(client, alice, issuer):
    policy = make_policy(alice)
    before = timezone.now()
    response = exchange(client, issuer.token(github_claims()))
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert set(body) == {"apiKey", "expires"}
    assert body["apiKey"].startswith("gly_")
    key = ApiKey.objects.find(body["apiKey"])
    assert key.trusted_publishing_policy == policy
    assert key.holder == alice and key.owner == alice
    assert key.scopes == ["package:push", "package:unlist"]
    assert key.glob_patterns == ["*"]
    assert timedelta(minutes=59) < key.expires - before <= timedelta(hours=1, seconds=5)
    assert body["expires"] == key.expires.isoformat()
    # Only the hash is stored.
    assert body["apiKey"] not in key.hashed_key
    policy.refresh_from_db()
    assert policy.exchange_count == 1 and policy.last_exchange is not None
    assert (policy.pinned_owner_id, policy.pinned_repository_id) == ("1001", "2002")


def test_exchange_is_audited_with_the_claims_that_earned_the_key(client, alice, issuer):
    make_policy(alice)
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_EXCHANGED)
    assert event.user == alice
    assert event.details["claims"]["workflow_ref"].endswith("release.yml@refs/heads/main")
    assert event.details["claims"]["run_id"] == "987654321"
    assert event.details["claims"]["actor"] == "alice-gh"
    assert event.details["claims"]["repository"] == "contoso/widgets"
    assert event.key_hint == ApiKey.objects.find(secret).hint
    assert secret not in json.dumps(event.details)


def test_returned_key_pushes_and_unlists_the_owners_packages(client, alice, issuer, package_dir):
    make_policy(alice)
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    response = push(client, secret)
    assert response.status_code == 201, response.content
    registration = PackageRegistration.objects.get(package_id="Contoso.Core")
    assert list(registration.owners.all()) == [alice]
    assert unlist(client, secret).status_code == 200


def test_key_cannot_push_a_package_of_another_owner(client, alice, charlie, issuer, package_dir):
    registration = PackageRegistration.objects.create(
        package_id="Charlie.Lib", normalized_id="charlie.lib"
    )
    registration.owners.set([charlie])
    make_policy(alice)
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    response = push(client, secret, nupkg("Charlie.Lib"))
    assert response.status_code == 403
    assert b"does not own" in response.content


def test_organization_policy_key_belongs_to_the_organization(client, alice, bob, issuer):
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=bob)
    make_policy(bob, owner=contoso)
    secret = exchange(client, issuer.token(github_claims()), username="bob").json()["apiKey"]
    key = ApiKey.objects.find(secret)
    assert key.owner == contoso and key.holder == bob


def test_gitlab_token_matches_a_gitlab_policy(client, alice, gitlab_issuer):
    policy = make_gitlab_policy(alice, ref_type="tag", ref="v1.0.0", environment="production")
    token = gitlab_issuer.token(gitlab_claims())
    response = exchange(client, token)
    assert response.status_code == 200, response.content
    policy.refresh_from_db()
    assert (policy.pinned_owner_id, policy.pinned_repository_id) == ("4004", "3003")


def test_key_older_than_one_hour_is_refused(client, alice, issuer, package_dir):
    make_policy(alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
        traveller.shift(timedelta(minutes=59))
        assert push(client, secret, nupkg("Contoso.A")).status_code == 201
        traveller.shift(timedelta(minutes=2))
        response = push(client, secret, nupkg("Contoso.B"))
    assert response.status_code == 403
    assert b"expired" in response.content


# Refusals, each with its reason -------------------------------------------------


def test_wrong_repository_is_refused(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims(repository="contoso/gadgets"))
    error = refused(exchange(client, token), 403)
    assert "the repository differs (the token's is contoso/gadgets)" in error
    # The policy's own values and name stay with its owner: a token holder may be anyone.
    assert "contoso/widgets" not in error
    assert not ApiKey.objects.exists()


def test_wrong_workflow_is_refused(client, alice, issuer):
    make_policy(alice)
    claims = github_claims(
        workflow_ref="contoso/widgets/.github/workflows/build.yml@refs/heads/main"
    )
    error = refused(exchange(client, issuer.token(claims)), 403)
    assert "the workflow differs (the token's is build.yml)" in error
    assert "release.yml" not in error


def test_workflow_of_another_repository_is_refused(client, alice, issuer):
    # A reusable workflow called from elsewhere: workflow_ref names the caller.
    make_policy(alice)
    claims = github_claims(workflow_ref="evil/fork/.github/workflows/release.yml@refs/heads/main")
    refused(exchange(client, issuer.token(claims)), 403)


def test_wrong_environment_is_refused(client, alice, issuer):
    make_policy(alice, environment="release")
    error = refused(exchange(client, issuer.token(github_claims(environment="staging"))), 403)
    assert "the environment differs (the token's is staging)" in error
    error = refused(exchange(client, issuer.token(github_claims(environment=None))), 403)
    assert "the environment differs (the token's is none)" in error and "release" not in error


def test_wrong_gitlab_ref_is_refused(client, alice, gitlab_issuer):
    make_gitlab_policy(alice, ref_type="tag", ref="v1.0.0")
    token = gitlab_issuer.token(gitlab_claims(ref="main", ref_type="branch"))
    error = refused(exchange(client, token), 403)
    assert "the ref type differs (the token's is branch)" in error
    assert "tag" not in error.replace("(the token's", "")


def test_wrong_audience_is_refused(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims(aud="https://www.nuget.org"))
    error = refused(exchange(client, token), 401)
    assert AUDIENCE in error and "audience" in error


def test_unknown_issuer_is_refused(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims(iss="https://token.actions.example.com"))
    error = refused(exchange(client, token), 401)
    assert "issuer" in error


def test_bad_signature_is_refused(client, alice, issuer):
    make_policy(alice)
    forged = issuer.token(github_claims(), key=oidc_forger_key())
    error = refused(exchange(client, forged), 401)
    assert "signature" in error
    assert not ApiKey.objects.exists()


def oidc_forger_key():
    from tests.trustedpublishing.issuer import new_rsa_key

    return new_rsa_key()


def test_expired_token_is_refused(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims())
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        error = refused(exchange(client, token), 401)
    assert "expired" in error


def test_token_from_the_future_is_refused(client, alice, issuer):
    make_policy(alice)
    later = int((timezone.now() + timedelta(minutes=10)).timestamp())
    token = issuer.token(github_claims(iat=later, nbf=later, exp=later + 300))
    error = refused(exchange(client, token), 401)
    assert "not valid yet" in error or "future" in error


def test_replayed_token_is_refused(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims())
    assert exchange(client, token).status_code == 200
    error = refused(exchange(client, token), 401)
    assert "used already" in error
    assert ApiKey.objects.count() == 1


def test_recreated_repository_is_refused_after_the_first_exchange(client, alice, issuer):
    policy = make_policy(alice)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    # Deleted and re-created under the same name: GitHub gives it a new id.
    token = issuer.token(github_claims(repository_id="9999"))
    error = refused(exchange(client, token), 403)
    assert "another id" in error
    # So is a new owner account of the same name.
    error = refused(exchange(client, issuer.token(github_claims(repository_owner_id="7"))), 403)
    assert "another id" in error
    policy.refresh_from_db()
    assert policy.pinned_repository_id == "2002" and policy.exchange_count == 1


def test_disabled_policy_is_refused(client, alice, issuer):
    make_policy(alice, enabled=False, disabled_reason="creator")
    error = refused(exchange(client, issuer.token(github_claims())), 403)
    assert "disabled" in error


def test_user_without_policies_is_refused(client, alice, issuer):
    error = refused(exchange(client, issuer.token(github_claims())), 403)
    assert "no Trusted Publishing policy" in error


def test_policy_of_another_user_does_not_match(client, alice, charlie, issuer):
    make_policy(alice)
    error = refused(exchange(client, issuer.token(github_claims()), username="charlie"), 403)
    assert "charlie" in error
    assert not ApiKey.objects.exists()


def test_organization_name_instead_of_the_creator_is_refused(client, alice, issuer):
    contoso = User.objects.create_organization("Contoso", admin=alice)
    make_policy(alice, owner=contoso)
    error = refused(exchange(client, issuer.token(github_claims()), username="Contoso"), 403)
    assert "organization" in error


def test_former_member_policy_is_disabled_and_refused(client, alice, bob, issuer):
    contoso = User.objects.create_organization("Contoso", admin=alice)
    membership = Membership.objects.create(organization=contoso, member=bob)
    policy = make_policy(bob, owner=contoso)
    secret = exchange(client, issuer.token(github_claims()), username="bob").json()["apiKey"]
    membership.delete()
    policy.refresh_from_db()
    assert not policy.enabled and policy.disabled_reason == "creator_left"
    assert ApiKey.objects.find(secret).is_revoked
    error = refused(exchange(client, issuer.token(github_claims()), username="bob"), 403)
    assert "disabled" in error


@pytest.mark.parametrize(
    ("headers", "body", "status", "words"),
    [
        ({}, {"username": "alice", "tokenType": "ApiKey"}, 401, "Authorization header"),
        (
            {"Authorization": "Basic abc"},
            {"username": "alice", "tokenType": "ApiKey"},
            401,
            "Bearer",
        ),
        (
            {"Authorization": "Bearer x.y.z"},
            {"username": "alice", "tokenType": "ApiKey"},
            401,
            "JWT",
        ),
        ({"Authorization": "Bearer abc"}, {"tokenType": "ApiKey"}, 400, "username"),
        ({"Authorization": "Bearer abc"}, {"username": "alice"}, 400, "tokenType"),
        ({"Authorization": "Bearer abc"}, ["alice"], 400, "JSON object"),
    ],
)
def test_bad_requests_get_a_clear_error(client, alice, headers, body, status, words):
    response = client.post(
        "/api/v2/token", json.dumps(body), content_type="application/json", headers=headers
    )
    assert words in refused(response, status)


def test_body_that_is_not_json_is_refused(client):
    response = client.post(
        "/api/v2/token",
        b"{nope",
        content_type="application/json",
        headers={"Authorization": "Bearer a"},
    )
    assert "JSON" in refused(response, 400)
    response = client.post(
        "/api/v2/token",
        b"username=alice",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": "Bearer a"},
    )
    assert "application/json" in refused(response, 415)


def test_get_is_not_allowed(client):
    assert client.get("/api/v2/token").status_code == 405


def test_exchange_is_off_without_an_audience(client, alice, issuer, settings):
    settings.GALLEY_OIDC_AUDIENCE = None
    make_policy(alice)
    error = refused(exchange(client, issuer.token(github_claims())), 404)
    assert "not enabled" in error


# Keys of the issuer -------------------------------------------------------------


def test_keys_are_fetched_once_and_refreshed_for_a_new_kid(client, alice, issuer):
    make_policy(alice)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    assert issuer.requests.count("/.well-known/jwks") == 1
    # The issuer rotates its key: the unknown kid triggers one refresh...
    issuer.add_key("key-2")
    oidc_cool_down_passed()
    assert exchange(client, issuer.token(github_claims(), kid="key-2")).status_code == 200
    assert issuer.requests.count("/.well-known/jwks") == 2


def oidc_cool_down_passed():
    """Age the cached key sets past the cool-down (monotonic time, not the calendar)."""
    for key_set in oidc.key_cache._sets.values():
        key_set.fetched -= oidc.REFRESH_COOL_DOWN_SECONDS + 1


def test_unknown_kids_cannot_make_galley_hammer_the_issuer(client, alice, issuer):
    make_policy(alice)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    for attempt in range(5):
        issuer.keys[f"made-up-{attempt}"] = oidc_forger_key()
        token = issuer.token(github_claims(), kid=f"made-up-{attempt}")
        error = refused(exchange(client, token), 401)
        assert "does not publish" in error
    # Within the cool-down, no refresh at all.
    assert issuer.requests.count("/.well-known/jwks") == 1


def test_an_issuer_down_at_a_refresh_leaves_its_known_keys_in_use_and_is_logged(
    client, alice, issuer, caplog
):
    make_policy(alice)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    issuer.add_key("key-2")
    rotated = issuer.token(github_claims(), kid="key-2")
    known = issuer.token(github_claims())
    issuer.stop()
    oidc_cool_down_passed()
    with caplog.at_level("WARNING", logger="galley.trustedpublishing"):
        for _ in range(2):  # the second waits for the cool-down: no second attempt
            assert "does not publish" in refused(exchange(client, rotated), 401)
    warned = [
        record
        for record in caplog.records
        if record.getMessage() == f"could not refresh the keys of {issuer.url.rstrip('/')}"
    ]
    assert len(warned) == 1 and warned[0].exc_info  # with its traceback
    assert exchange(client, known).status_code == 200


def test_unreachable_issuer_is_a_clear_error(client, alice, issuer, settings, caplog):
    make_policy(alice)
    token = issuer.token(github_claims())
    issuer.stop()
    with caplog.at_level("WARNING", logger="galley.trustedpublishing"):
        error = refused(exchange(client, token), 503)
    assert "could not be reached" in error
    warned = [
        record
        for record in caplog.records
        if record.getMessage() == f"issuer unavailable: {issuer.url.rstrip('/')}"
    ]
    assert len(warned) == 1 and warned[0].exc_info  # with its traceback
    assert "token exchange refused: status=503 rule=issuer_unavailable\n" in caplog.text


def test_a_jti_of_the_longest_length_and_an_audience_list_are_accepted(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims(jti="j" * 255, aud=[AUDIENCE, "https://other.example"]))
    assert exchange(client, token).status_code == 200


def test_http_issuer_off_loopback_is_never_fetched():
    assert oidc.is_allowed_issuer_url("http://127.0.0.1:8000")
    assert oidc.is_allowed_issuer_url("https://token.actions.githubusercontent.com")
    assert not oidc.is_allowed_issuer_url("http://token.actions.githubusercontent.com")
    assert not oidc.is_allowed_issuer_url("file:///etc/passwd")


def test_purge_deletes_expired_trusted_publishing_keys_only(client, alice, issuer):
    from tests.factories import make_key

    make_policy(alice)
    exchange(client, issuer.token(github_claims()))
    manual, _secret = make_key(alice, expires_in_days=1)
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        call_command("purge_trusted_publishing_keys")
    assert list(ApiKey.objects.all()) == [manual]


def test_secrets_never_reach_the_log(client, alice, issuer, caplog):
    make_policy(alice)
    token = issuer.token(github_claims())
    with caplog.at_level("DEBUG"):
        secret = exchange(client, token).json()["apiKey"]
        exchange(client, token)  # replayed: refused and logged
    assert "token exchange refused" in caplog.text
    assert token not in caplog.text and secret not in caplog.text


# Rules pinned by the mutation pass (make mutants) ---------------------------------


def test_a_used_token_is_remembered_until_it_expires(client, alice, issuer):
    """The jti is kept for the token's remaining life plus the leeway, not a moment."""
    make_policy(alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        token = issuer.token(github_claims(), lifetime=300)
        assert exchange(client, token).status_code == 200
        traveller.shift(timedelta(minutes=2))
        error = refused(exchange(client, token), 401)
        assert "used already" in error
        traveller.shift(timedelta(minutes=3, seconds=30))  # expired, still inside the leeway
        error = refused(exchange(client, token), 401)
        assert "used already" in error
    assert ApiKey.objects.count() == 1


def test_gitlab_policy_checks_the_ref_itself(client, alice, gitlab_issuer):
    # The same ref type, so that only the ref differs.
    make_gitlab_policy(alice, ref_type="tag", ref="v1.0.0")
    token = gitlab_issuer.token(gitlab_claims(ref="v6.6.6", ref_type="tag"))
    error = refused(exchange(client, token), 403)
    assert "the ref differs (the token's is v6.6.6)" in error
    assert "v1.0.0" not in error
    assert not ApiKey.objects.exists()


def test_a_token_claiming_too_long_a_life_is_refused(client, alice, issuer):
    make_policy(alice)
    with time_machine.travel(timezone.now(), tick=False):
        now = int(timezone.now().timestamp())
        longest = oidc.MAX_TOKEN_LIFETIME_SECONDS
        token = issuer.token(github_claims(iat=now, nbf=now, exp=now + longest + 1))
        error = refused(exchange(client, token), 401)
        assert "too long a life" in error
        assert not ApiKey.objects.exists()
        # Exactly the longest life is accepted.
        token = issuer.token(github_claims(iat=now, nbf=now, exp=now + longest))
        assert exchange(client, token).status_code == 200


def test_a_creator_who_is_no_longer_a_member_of_the_owner_cannot_exchange(
    client, alice, bob, dana, fabrikam, issuer
):
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=bob)
    policy = make_policy(bob, owner=contoso)
    # bob's membership moves to Fabrikam without a delete, so no signal disables
    # the policy first: the exchange's own rule is what refuses.
    Membership.objects.filter(organization=contoso, member=bob).update(organization=fabrikam)
    error = refused(exchange(client, issuer.token(github_claims()), username="bob"), 403)
    assert error == "bob is no longer a member of Contoso: no key can act for it."
    assert not ApiKey.objects.exists()
    policy.refresh_from_db()
    assert not policy.enabled and policy.disabled_reason == "creator_left"
    assert policy.exchange_count == 0


def test_a_deactivated_creator_cannot_exchange(client, alice, issuer):
    policy = make_policy(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    error = refused(exchange(client, issuer.token(github_claims())), 403)
    assert error == "The account alice is deactivated: it cannot be given API keys."
    assert not ApiKey.objects.exists()
    policy.refresh_from_db()
    assert policy.exchange_count == 0 and not policy.is_pinned


def test_a_token_without_jti_is_refused_by_name(client, alice, issuer):
    make_policy(alice)
    error = refused(exchange(client, issuer.token(github_claims(jti=None))), 401)
    assert error == "The token has no jti claim."
    assert not ApiKey.objects.exists()


def test_gitlab_refusals_name_the_claim_and_the_tokens_value_cut_short(
    client, alice, gitlab_issuer
):
    make_gitlab_policy(alice, ref_type="tag", ref="v1.0.0", environment="production")
    cases = [
        ({"project_path": "evil/" + "p" * 300}, "the project differs", "evil/" + "p" * 195),
        ({"ref_type": "t" * 80}, "the ref type differs", "t" * 50),
        ({"ref": "v" * 300}, "the ref differs", "v" * 200),
        ({"environment": "e" * 300}, "the environment differs", "e" * 200),
    ]
    for claims, words, actual in cases:
        token = gitlab_issuer.token(gitlab_claims(**claims))
        error = refused(exchange(client, token), 403)
        assert error == (
            f"No Trusted Publishing policy of alice matches this token: "
            f"{words} (the token's is {actual})."
        )
    assert not ApiKey.objects.exists()


def test_the_first_exchange_pins_the_ids_the_token_has(client, alice, bob, issuer, gitlab_issuer):
    policy = make_policy(alice)
    # A token without ids (a CI system that does not send them) pins nothing.
    token = issuer.token(github_claims(repository_owner_id=None, repository_id=None))
    assert exchange(client, token).status_code == 200
    policy.refresh_from_db()
    assert (policy.pinned_owner_id, policy.pinned_repository_id) == ("", "")
    # Without the owner's id, the repository's is pinned alone.
    assert (
        exchange(client, issuer.token(github_claims(repository_owner_id=None))).status_code == 200
    )
    policy.refresh_from_db()
    assert (policy.pinned_owner_id, policy.pinned_repository_id) == ("", "2002")
    gitlab = make_gitlab_policy(bob)
    token = gitlab_issuer.token(gitlab_claims(namespace_id=None, project_id=None))
    assert exchange(client, token, username="bob").status_code == 200
    token = gitlab_issuer.token(gitlab_claims(namespace_id=None))
    assert exchange(client, token, username="bob").status_code == 200
    gitlab.refresh_from_db()
    assert (gitlab.pinned_owner_id, gitlab.pinned_repository_id) == ("", "3003")


def test_a_recreated_repository_is_told_what_to_do(client, alice, issuer):
    make_policy(alice, pinned_owner_id="1001", pinned_repository_id="2002")
    error = refused(exchange(client, issuer.token(github_claims(repository_id="9999"))), 403)
    assert error == (
        "No Trusted Publishing policy of alice matches this token: the repository has another "
        "id than at this policy's first use: it was deleted and re-created, or renamed. Delete "
        "the policy and create a new one if this repository is the right one."
    )


def test_each_exchange_is_counted_and_names_its_key(client, alice, issuer):
    from tests.factories import make_key

    policy = make_policy(alice)
    for _ in range(2):
        assert exchange(client, issuer.token(github_claims())).status_code == 200
    make_key(alice, name="Release #3")  # alice named a key of her own like the next one
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    policy.refresh_from_db()
    assert policy.exchange_count == 3
    names = list(policy.api_keys.order_by("created", "pk").values_list("name", flat=True))
    assert names[:2] == ["Release #1", "Release #2"]
    assert re.fullmatch(r"Release #3 [0-9a-f]{6}", names[2])
    key = ApiKey.objects.find(secret)
    assert key.name == names[2] and key.trusted_publishing_policy == policy
    assert timedelta(minutes=59) < key.expires - timezone.now() <= timedelta(hours=1)


def test_refusals_are_in_the_named_users_log_once_a_minute_per_rule(client, alice, bob, issuer):
    make_policy(alice)

    def logged():
        return list(
            AuditEvent.objects.filter(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_REFUSED)
            .order_by("pk")
            .values_list("user__username", "details__rule")
        )

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        wrong_repository = github_claims(repository="contoso/gadgets")
        for _ in range(2):
            exchange(client, issuer.token(wrong_repository))
        assert logged() == [("alice", "no_matching_policy")]
        event = AuditEvent.objects.get()
        assert event.actor is None and event.ip_address == "127.0.0.1"
        assert event.user_agent == "nuget/login-action"
        assert event.details["reason"].startswith("No Trusted Publishing policy of alice")
        assert event.details["claims"]["repository"] == "contoso/gadgets"
        exchange(client, issuer.token(github_claims()), username="bob")  # another user
        exchange(client, issuer.token(github_claims(environment="x")))  # the same rule
        contoso = User.objects.create_organization("Contoso", admin=bob)
        make_policy(alice, name="Contoso", owner=contoso, repository="tools")
        tools = github_claims(
            repository="contoso/tools",
            workflow_ref="contoso/tools/.github/workflows/release.yml@refs/heads/main",
        )
        exchange(client, issuer.token(tools))  # another rule
        assert logged() == [
            ("alice", "no_matching_policy"),
            ("bob", "no_policy"),
            ("alice", "not_a_member"),
        ]
        traveller.shift(timedelta(seconds=61))
        exchange(client, issuer.token(wrong_repository))
    assert logged()[-1] == ("alice", "no_matching_policy") and len(logged()) == 4


def test_each_refusal_has_its_rule_in_the_log_and_its_words_in_the_answer(
    client, alice, issuer, caplog
):
    contoso = User.objects.create_organization("Contoso", admin=alice)
    make_policy(alice, environment="release")
    long_name = "n" * 200
    workflow = "contoso/widgets/.github/workflows/" + "w" * 250 + ".yml@refs/heads/main"
    used = issuer.token(github_claims())
    assert exchange(client, used).status_code == 200
    cases = [
        (
            used,
            "alice",
            401,
            "replayed",
            "This token was used already: each token is accepted once.",
        ),
        (
            issuer.token(github_claims()),
            long_name,
            403,
            "unknown_user",
            f"There is no active user named {long_name[:150]}.",
        ),
        (
            issuer.token(github_claims()),
            "contoso",
            403,
            "organization_user",
            "Contoso is an organization: send the user name of the person who created the "
            "policy, not the package owner's.",
        ),
        (
            issuer.token(github_claims(repository="c/" + "r" * 300)),
            "alice",
            403,
            "no_matching_policy",
            "No Trusted Publishing policy of alice matches this token: the repository differs "
            f"(the token's is c/{'r' * 198}).",
        ),
        (
            issuer.token(github_claims(workflow_ref=workflow)),
            "alice",
            403,
            "no_matching_policy",
            "No Trusted Publishing policy of alice matches this token: the workflow differs "
            f"(the token's is {('w' * 250 + '.yml')[:200]}).",
        ),
        (
            issuer.token(github_claims(workflow_ref=None)),
            "alice",
            403,
            "no_matching_policy",
            "No Trusted Publishing policy of alice matches this token: the workflow differs "
            "(the token's is -).",
        ),
        (
            issuer.token(github_claims(environment="e" * 300)),
            "alice",
            403,
            "no_matching_policy",
            "No Trusted Publishing policy of alice matches this token: the environment differs "
            f"(the token's is {'e' * 200}).",
        ),
        (
            issuer.token(github_claims()),
            "contoso-fan",
            403,
            "unknown_user",
            "There is no active user named contoso-fan.",
        ),
        (
            issuer.token(github_claims()),
            "ali\x00ce",
            400,
            "bad_username",
            "The username property may not hold a NUL character.",
        ),
    ]
    for token, username, status, rule, words in cases:
        caplog.clear()
        with caplog.at_level("WARNING", logger="galley.trustedpublishing"):
            error = refused(exchange(client, token, username=username), status)
        assert error == words
        assert f"token exchange refused: status={status} rule={rule}" in caplog.text
    Policy.objects.update(enabled=False)
    make_policy(alice, name="Other", provider="gitlab", project_path="x/y")
    caplog.clear()
    with caplog.at_level("WARNING", logger="galley.trustedpublishing"):
        error = refused(exchange(client, issuer.token(github_claims())), 403)
    assert error == (
        "No Trusted Publishing policy of alice matches this token: the policy is disabled."
    )
    Policy.objects.all().delete()
    caplog.clear()
    with caplog.at_level("WARNING", logger="galley.trustedpublishing"):
        error = refused(exchange(client, issuer.token(github_claims())), 403)
    assert error == "alice has no Trusted Publishing policy for GitHub Actions."
    assert "rule=no_policy" in caplog.text
    assert contoso.is_organization


def test_the_oldest_matching_policy_is_used_and_five_reasons_at_most_are_given(
    client, alice, issuer
):
    from datetime import UTC, datetime

    newer = make_policy(alice, name="Newer")
    older = make_policy(alice, name="Older")
    Policy.objects.filter(pk=older.pk).update(created=datetime(2026, 1, 1, tzinfo=UTC))
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    assert ApiKey.objects.find(secret).trusted_publishing_policy == older
    assert newer.pk < older.pk  # the order of creation, not of the rows
    # Created at the same moment: the first row.
    Policy.objects.update(created=datetime(2026, 1, 1, tzinfo=UTC))
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    assert ApiKey.objects.find(secret).trusted_publishing_policy == newer
    for number in range(6):
        make_policy(alice, name=f"P{number}", repository=f"r{number}")
    Policy.objects.filter(name__in=["Newer", "Older"]).delete()
    error = refused(exchange(client, issuer.token(github_claims())), 403)
    reasons = error.removeprefix("No Trusted Publishing policy of alice matches this token: ")
    assert (
        reasons.removesuffix(".").split("; ")
        == ["the repository differs (the token's is contoso/widgets)"] * 5
    )


def test_an_issuer_named_with_a_trailing_slash_is_the_same_issuer(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims(iss=issuer.url + "/"))
    assert exchange(client, token).status_code == 200


def test_an_issuer_configured_with_a_trailing_slash_is_the_same_issuer(
    client, alice, issuer, gitlab_issuer, settings
):
    settings.GALLEY_OIDC_GITHUB_ISSUER = issuer.url + "/"
    settings.GALLEY_OIDC_GITLAB_ISSUER = gitlab_issuer.url + "/"
    make_policy(alice)
    make_gitlab_policy(alice, ref_type="tag", ref="v1.0.0", environment="production")
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    assert exchange(client, gitlab_issuer.token(gitlab_claims())).status_code == 200


def test_an_exchange_is_audited_with_every_claim_that_earned_it(
    client, alice, issuer, gitlab_issuer
):
    make_policy(alice)
    make_gitlab_policy(alice)
    exchange(client, issuer.token(github_claims(sha="s" * 400, environment="")))
    exchange(client, gitlab_issuer.token(gitlab_claims()))
    github, gitlab = AuditEvent.objects.filter(
        kind=AuditEvent.Kind.TRUSTED_PUBLISHING_EXCHANGED
    ).order_by("pk")
    for event in (github, gitlab):
        assert (event.user, event.actor, event.ip_address) == (alice, alice, "127.0.0.1")
        assert event.details["owner"] == "alice"
    assert (github.details["policy"], github.details["provider"]) == ("Release", "github")
    assert github.details["claims"] == {
        "repository": "contoso/widgets",
        "workflow_ref": "contoso/widgets/.github/workflows/release.yml@refs/heads/main",
        "run_id": "987654321",
        "run_attempt": "1",
        "actor": "alice-gh",
        "ref": "refs/heads/main",
        "sha": "s" * 300,
    }
    assert (gitlab.details["policy"], gitlab.details["provider"]) == ("GitLab release", "gitlab")
    assert gitlab.details["claims"] == {
        "project_path": "contoso/widgets",
        "ref": "v1.0.0",
        "environment": "production",
        "pipeline_id": "555",
        "job_id": "666",
        "user_login": "alice-gl",
    }


# The verifier's refusals, each in words -------------------------------------------------


def test_each_verifier_refusal_is_401_in_words_with_its_rule_in_the_log(
    client, alice, issuer, gitlab_issuer, caplog
):
    import jwt

    make_policy(alice)
    now = int(timezone.now().timestamp())
    trusted = f"{issuer.url}, {gitlab_issuer.url}"
    hs256 = jwt.encode(
        {**github_claims(), "iss": issuer.url}, "s" * 32, algorithm="HS256", headers={"kid": "k"}
    )
    issuer.keys["made-up"] = oidc_forger_key()
    issuer.keys["k" * 150] = oidc_forger_key()
    cases = [
        ("x.y.z", "malformed_token", "The bearer token is not a valid JWT."),
        (
            issuer.token(github_claims(iss="https://elsewhere.example")),
            "wrong_issuer",
            f"The token's issuer https://elsewhere.example is not one this server trusts "
            f"({trusted}).",
        ),
        (
            issuer.token(github_claims(iss="https://" + "e" * 300)),
            "wrong_issuer",
            f"The token's issuer https://{'e' * 192} is not one this server trusts ({trusted}).",
        ),
        (hs256, "wrong_algorithm", "The token is signed with HS256; only RS256 is accepted."),
        (
            issuer.token(github_claims(), kid="", key=issuer.keys["key-1"]),
            "no_key_id",
            "The token's header names no signing key (kid).",
        ),
        (
            issuer.token(github_claims(), kid="made-up"),
            "unknown_key",
            "The token is signed with a key (made-up) that its issuer does not publish.",
        ),
        (
            issuer.token(github_claims(), kid="k" * 150),
            "unknown_key",
            f"The token is signed with a key ({'k' * 100}) that its issuer does not publish.",
        ),
        (
            issuer.token(github_claims(aud="https://www.nuget.org")),
            "wrong_audience",
            f"The token's audience is not {AUDIENCE}: ask your CI for a token with it.",
        ),
        (issuer.token(github_claims(exp=now - 120)), "expired", "The token has expired."),
        (
            issuer.token(github_claims(nbf=now + 600)),
            "not_yet_valid",
            "The token is not valid yet.",
        ),
        (
            issuer.token(github_claims(iat=now + 600)),
            "not_yet_valid",
            "The token is not valid yet.",
        ),
        (issuer.token(github_claims(exp=None)), "missing_claim", "The token has no exp claim."),
        (
            issuer.token(github_claims(iat=str(now))),
            "invalid_token",
            "The token's iat claim is not a time.",
        ),
        (
            issuer.token(github_claims(iat=True)),
            "invalid_token",
            "The token's iat claim is not a time.",
        ),
        (
            issuer.token(github_claims(iat=now, exp=now + 6 * 3600 + 1)),
            "too_long_lived",
            "The token claims too long a life.",
        ),
        (
            issuer.token(github_claims(), key=oidc_forger_key()),
            "bad_signature",
            "The token's signature does not verify with its issuer's key.",
        ),
        (issuer.token(github_claims(iat="soon")), "invalid_token", "The token is not valid."),
        (
            issuer.token(github_claims(jti="j" * 256)),
            "invalid_token",
            "The token's jti claim must be a text of at most 255 characters.",
        ),
    ]
    for token, rule, words in cases:
        caplog.clear()
        with caplog.at_level("WARNING", logger="galley.trustedpublishing"):
            assert refused(exchange(client, token), 401) == words
        assert f"token exchange refused: status=401 rule={rule}\n" in caplog.text + "\n", rule
    assert not ApiKey.objects.exists()


def test_an_issuer_whose_discovery_is_wrong_is_unavailable_with_the_reason_logged(
    client, alice, issuer, monkeypatch, caplog
):
    make_policy(alice)
    words = "The token's issuer could not be reached to fetch its keys; try again later."
    jwks = f"{issuer.url}/.well-known/jwks"
    documents = [
        (
            {"issuer": "https://impostor.example", "jwks_uri": jwks},
            f"{issuer.url}: the discovery document names another issuer",
        ),
        ({"jwks_uri": jwks}, f"{issuer.url}: the discovery document names another issuer"),
        ({"issuer": issuer.url}, f"{issuer.url}: the discovery document has no jwks_uri"),
        (["not", "an", "object"], "not a JSON object"),
    ]
    for document, reason in documents:
        oidc.key_cache.clear()
        monkeypatch.setattr(issuer, "configuration", lambda document=document: document)
        caplog.clear()
        with caplog.at_level("WARNING", logger="galley.trustedpublishing"):
            assert refused(exchange(client, issuer.token(github_claims())), 503) == words
        assert reason in caplog.text
    assert not ApiKey.objects.exists()
    # The document may name the issuer with a trailing slash: the same issuer.
    oidc.key_cache.clear()
    document = {"issuer": issuer.url + "/", "jwks_uri": jwks}
    monkeypatch.setattr(issuer, "configuration", lambda: document)
    assert exchange(client, issuer.token(github_claims())).status_code == 200


def test_keys_without_an_id_or_of_another_type_are_passed_over(client, alice, issuer, monkeypatch):
    make_policy(alice)
    jwks = issuer.jwks()
    unusable = [{"kty": "RSA"}, "not a key", {"kid": "odd", "kty": "nope"}]
    monkeypatch.setattr(issuer, "jwks", lambda: {"keys": [*unusable, *jwks["keys"]]})
    assert exchange(client, issuer.token(github_claims())).status_code == 200


def test_issuers_are_https_or_loopback_http():
    assert oidc.is_allowed_issuer_url("http://localhost:8000")
    assert oidc.is_allowed_issuer_url("http://[::1]:8000")
    assert not oidc.is_allowed_issuer_url("http://10.0.0.1")
    assert not oidc.is_allowed_issuer_url("https://")
    assert not oidc.is_allowed_issuer_url("ftp://127.0.0.1")
