import threading

import pytest
from django.db import connection, connections

from apikeys.models import ApiKey, KeyConflict
from tests.factories import make_key


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_regenerates_leave_exactly_one_working_secret(alice):
    if connection.vendor != "postgresql":
        # SQLite runs one writer at a time, so there is no race to show; CI's
        # second pass runs the suite on PostgreSQL.
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    key, original = make_key(alice)
    # Both requests loaded the key before either wrote, as two tabs would.
    copies = [ApiKey.objects.get(pk=key.pk) for _ in range(2)]
    start = threading.Barrier(2)
    results = [None, None]

    def regenerate(index):
        try:
            start.wait()
            results[index] = copies[index].regenerate()
        except KeyConflict:
            results[index] = "conflict"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=regenerate, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    secrets = [r for r in results if r not in (None, "conflict")]
    assert len(secrets) == 1, results
    assert results.count("conflict") == 1
    assert ApiKey.objects.find(secrets[0]).pk == key.pk
    assert ApiKey.objects.find(original) is None
    stored = ApiKey.objects.get(pk=key.pk)
    assert secrets[0].startswith(stored.hint)
