"""The last-administrator rule holds under concurrency: two administrators who demote
each other at the same moment cannot leave the organization without one.

Deterministic: the first demotion is held open (its transaction has locked the
administrators' rows and not committed) until PostgreSQL reports the second one
waiting on that lock; only then does the first commit. Without the row lock
(select_for_update in accounts/flows.py) the second would read two administrators
and both demotions would succeed.
"""

import threading

import pytest
from django.db import connection, connections, transaction
from django.test import RequestFactory

from accounts import flows
from accounts.models import Membership, User

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_on_a_lock() -> int:
    """How many other sessions of this database wait on a row lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def as_request(user):
    request = RequestFactory().post("/")
    request.user = user
    return request


def test_two_administrators_demoting_each_other_leave_one(alice, bob):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=contoso, member=bob, role=Membership.Role.ADMIN)
    alice_membership = Membership.objects.get(member=alice)
    bob_membership = Membership.objects.get(member=bob)

    first_holds_the_lock = threading.Event()
    let_first_commit = threading.Event()
    outcome: dict[str, str] = {}

    def first():  # bob demotes alice, and its transaction stays open
        try:
            with transaction.atomic():
                flows.change_role(as_request(bob), alice_membership, "collaborator")
                first_holds_the_lock.set()
                let_first_commit.wait(30)
            outcome["first"] = "demoted"
        except flows.OrganizationError as error:
            outcome["first"] = str(error)
        finally:
            first_holds_the_lock.set()
            connections.close_all()

    def second():  # alice demotes bob while the first is still open
        first_holds_the_lock.wait(30)
        try:
            flows.change_role(as_request(alice), bob_membership, "collaborator")
            outcome["second"] = "demoted"
        except flows.OrganizationError as error:
            outcome["second"] = str(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_holds_the_lock.wait(30)
    # The second demotion must be blocked on the first's row lock before the first
    # commits: otherwise this test would not show what the lock does.
    blocked = False
    for _ in range(3000):
        if waiting_on_a_lock():
            blocked = True
            break
        threading.Event().wait(0.01)
    let_first_commit.set()
    for thread in threads:
        thread.join(30)

    assert blocked, "the second demotion never waited on the first's lock"
    assert outcome == {
        "first": "demoted",
        "second": "Contoso must keep at least one administrator.",
    }
    admins = Membership.objects.filter(organization=contoso, role=Membership.Role.ADMIN)
    assert list(admins.values_list("member__username", flat=True)) == ["bob"]
