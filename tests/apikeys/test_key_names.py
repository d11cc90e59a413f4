"""Key names are unique per holder ignoring case, in the database as well as in the form."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from apikeys.models import ApiKey
from tests.conftest import create_key_on_page, sign_in
from tests.factories import make_key


@pytest.mark.django_db
def test_the_database_refuses_a_name_that_differs_only_in_case(alice, bob):
    make_key(alice, name="CI")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_key(alice, name="ci")
    make_key(bob, name="ci")  # another holder may use it
    assert sorted(ApiKey.objects.values_list("holder__username", "name")) == [
        ("alice", "CI"),
        ("bob", "ci"),
    ]


def _waiting_on_a_lock(pids: set[int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        return bool({row[0] for row in cursor.fetchall()} & pids)


@pytest.mark.django_db(transaction=True)
def test_racing_creates_of_ci_and_ci_leave_one_key_and_a_form_error(client, alice):
    """One create has inserted "CI" and not committed; the page's create of "ci" passes
    the form's check (it cannot see the other row yet) and its insert waits on the
    unique index. When the first commits, the second is refused by the database, and
    the page says so as the form would have."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite runs one writer at a time")
    sign_in(client, alice)
    inserted, commit = threading.Event(), threading.Event()
    pids: set[int] = set()
    responses = []

    def first_create():
        try:
            with transaction.atomic():
                make_key(alice, name="CI")
                inserted.set()
                assert commit.wait(30)
        finally:
            connections.close_all()

    def page_create():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.add(cursor.fetchone()[0])
            responses.append(create_key_on_page(client, name="ci"))
        finally:
            connections.close_all()

    first = threading.Thread(target=first_create)
    first.start()
    assert inserted.wait(30)
    second = threading.Thread(target=page_create)
    second.start()
    # Deterministic: the first commits only once the page's insert is waiting on it.
    for _ in range(3000):
        if _waiting_on_a_lock(pids) or not second.is_alive():
            break
        threading.Event().wait(0.01)
    assert second.is_alive(), "the page's insert did not wait on the first one"
    commit.set()
    first.join(30)
    second.join(30)

    assert responses[0].status_code == 400
    assert "You already have a key with this name." in responses[0].content.decode()
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["CI"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_numbers_names_that_differ_only_in_case(alice):
    executor = MigrationExecutor(connection)
    before = [("apikeys", "0004_apikey_trusted_publishing_policy")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldKey = old_apps.get_model("apikeys", "ApiKey")
    for name, hashed in [("CI", "a"), ("ci", "b"), ("Ci", "c"), ("ci (2)", "d")]:
        OldKey.objects.create(
            holder_id=alice.pk,
            owner_id=alice.pk,
            name=name,
            hint="gly_x",
            hashed_key=hashed * 64,
            expires="2000-01-01T00:00:00Z",
            expires_in_days=1,
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    names = sorted(ApiKey.objects.values_list("name", flat=True))
    assert len({name.lower() for name in names}) == 4, names
    assert "CI" in names and "ci (2)" in names
