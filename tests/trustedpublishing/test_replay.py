"""Each CI token is accepted once: its id (jti) is stored in the database, in the
transaction that mints its key, until the token could no longer verify anyway."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey
from tests.trustedpublishing.conftest import exchange, make_policy
from tests.trustedpublishing.issuer import github_claims
from trustedpublishing import flows, oidc
from trustedpublishing.models import Policy, UsedToken

pytestmark = pytest.mark.usefixtures("trusted_publishing")

REPLAYED = "This token was used already: each token is accepted once."


def replay_refused(response):
    assert response.status_code == 401, response.content
    assert response.json() == {"error": REPLAYED}


@pytest.mark.django_db
def test_the_used_token_is_stored_until_it_could_no_longer_verify(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims(jti="run-1"))
    assert exchange(client, token).status_code == 200
    used = UsedToken.objects.get()
    claims = oidc.verify(token)
    assert (used.issuer, used.jti) == (issuer.url, "run-1")
    assert used.expires == datetime.fromtimestamp(claims["exp"] + oidc.LEEWAY_SECONDS, tz=UTC)


@pytest.mark.django_db
def test_a_replay_two_minutes_later_is_refused(client, alice, issuer):
    make_policy(alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        token = issuer.token(github_claims(), lifetime=300)
        assert exchange(client, token).status_code == 200
        traveller.shift(timedelta(minutes=2))
        replay_refused(exchange(client, token))
    assert ApiKey.objects.count() == 1


@pytest.mark.django_db
def test_a_replay_is_refused_whatever_happens_to_the_cache(client, alice, issuer):
    make_policy(alice)
    token = issuer.token(github_claims())
    assert exchange(client, token).status_code == 200
    # The default test cache (the database cache, 300 entries) culls old entries
    # long before this: a jti kept there would be forgotten.
    for number in range(5000):
        cache.set(f"unrelated-{number}", number)
    replay_refused(exchange(client, token))
    cache.clear()
    replay_refused(exchange(client, token))
    assert ApiKey.objects.count() == 1
    assert Policy.objects.get().exchange_count == 1


@pytest.mark.django_db
def test_the_same_jti_from_another_issuer_is_another_token(client, alice, issuer, gitlab_issuer):
    from tests.trustedpublishing.conftest import make_gitlab_policy
    from tests.trustedpublishing.issuer import gitlab_claims

    make_policy(alice)
    make_gitlab_policy(alice)
    assert exchange(client, issuer.token(github_claims(jti="same"))).status_code == 200
    assert exchange(client, gitlab_issuer.token(gitlab_claims(jti="same"))).status_code == 200
    assert UsedToken.objects.count() == 2


@pytest.mark.django_db
def test_used_tokens_are_pruned_an_hour_after_they_expire(client, alice, issuer):
    make_policy(alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        response = exchange(client, issuer.token(github_claims(jti="old"), lifetime=300))
        assert response.status_code == 200
        old = UsedToken.objects.get(jti="old")
        traveller.move_to(old.expires + flows.USED_TOKEN_PRUNE_MARGIN - timedelta(seconds=1))
        assert exchange(client, issuer.token(github_claims(jti="recent"))).status_code == 200
        assert set(UsedToken.objects.values_list("jti", flat=True)) == {"old", "recent"}
        traveller.shift(timedelta(seconds=2))
        assert exchange(client, issuer.token(github_claims(jti="new"))).status_code == 200
    assert set(UsedToken.objects.values_list("jti", flat=True)) == {"recent", "new"}


@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_exchanges_of_one_token_give_one_key(alice, issuer):
    if connection.vendor != "postgresql":
        # SQLite runs one writer at a time, so there is no race to show; CI's
        # second pass runs the suite on PostgreSQL.
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    policy = make_policy(alice)
    token = issuer.token(github_claims())
    oidc.key_cache.key(issuer.url, "key-1")  # the issuer's keys, fetched once beforehand
    copies = 16
    start = threading.Barrier(copies)
    responses = [None] * copies

    def send(index):
        try:
            start.wait()
            responses[index] = exchange(Client(), token)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [401] * (copies - 1), statuses
    for response in responses:
        if response.status_code == 401:
            assert response.json() == {"error": REPLAYED}
    winner = next(response for response in responses if response.status_code == 200)
    assert ApiKey.objects.get() == ApiKey.objects.find(winner.json()["apiKey"])
    assert UsedToken.objects.count() == 1
    policy.refresh_from_db()
    assert policy.exchange_count == 1


@pytest.mark.django_db
def test_the_purge_command_forgets_used_tokens_too(client, alice, issuer):
    from django.core.management import call_command

    make_policy(alice)
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    expires = UsedToken.objects.get().expires
    with time_machine.travel(expires + flows.USED_TOKEN_PRUNE_MARGIN, tick=False):
        call_command("purge_trusted_publishing_keys")
        assert UsedToken.objects.exists()  # not yet past the margin
    with time_machine.travel(expires + flows.USED_TOKEN_PRUNE_MARGIN + timedelta(seconds=1)):
        call_command("purge_trusted_publishing_keys")
    assert not UsedToken.objects.exists() and not ApiKey.objects.exists()


@pytest.mark.django_db
def test_a_replay_is_refused_as_such_before_the_policy_is_asked(client, alice, issuer):
    """A used token is answered 'used already' even when its policy would refuse it
    now, and its replay writes nothing to the creator's security log."""
    from audit.models import AuditEvent

    make_policy(alice)
    token = issuer.token(github_claims())
    assert exchange(client, token).status_code == 200
    Policy.objects.update(enabled=False)
    replay_refused(exchange(client, token))
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_REFUSED).exists()
