"""Two exchanges at once for a policy's first use: the pin is re-checked under the lock."""

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client

from apikeys.models import ApiKey
from tests.trustedpublishing.conftest import make_policy
from tests.trustedpublishing.issuer import github_claims
from trustedpublishing import flows


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("trusted_publishing")
def test_two_first_exchanges_from_different_repositories_pin_exactly_one(
    alice, issuer, monkeypatch
):
    if connection.vendor != "postgresql":
        # SQLite runs one writer at a time, so there is no race to show; CI's
        # second pass runs the suite on PostgreSQL.
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    policy = make_policy(alice)
    # The repository was deleted and re-created between two runs that started
    # together: the same name, another id.
    tokens = [
        issuer.token(github_claims(repository_id="2002")),
        issuer.token(github_claims(repository_id="9999")),
    ]
    # Both requests match the policy while it is still unpinned, then race to pin it.
    both_matched = threading.Barrier(2, timeout=10)
    match = flows._match

    def match_then_wait(*args):
        matched = match(*args)
        both_matched.wait()
        return matched

    monkeypatch.setattr(flows, "_match", match_then_wait)
    responses = [None, None]

    def exchange(index):
        try:
            responses[index] = Client().post(
                "/api/v2/token",
                json.dumps({"username": "alice", "tokenType": "ApiKey"}),
                content_type="application/json",
                headers={"Authorization": f"Bearer {tokens[index]}"},
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=exchange, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 403], [r.content for r in responses]
    winner, loser = sorted(range(2), key=lambda i: responses[i].status_code)
    assert "another id" in responses[loser].json()["error"]
    policy.refresh_from_db()
    assert policy.pinned_repository_id == ("2002", "9999")[winner]
    assert policy.exchange_count == 1
    assert ApiKey.objects.get().trusted_publishing_policy == policy
