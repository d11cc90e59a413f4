"""Package ownership is offered, not imposed (nuget.org's ownership requests)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from audit.models import AuditEvent
from packages.models import OwnershipRequest
from tests.conftest import sign_in
from tests.factories import PackageRegistrationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def core(alice):
    return PackageRegistrationFactory(package_id="Alice.Core", owners=[alice])


@pytest.fixture
def contoso(bob):
    """bob administers Contoso; dave is one of its collaborators."""
    organization = User.objects.create_organization("Contoso", admin=bob)
    Membership.objects.create(organization=organization, member=UserFactory(username="dave"))
    return organization


def ask(client, owner, package_id="Alice.Core"):
    return client.post(reverse("package_add_owner", args=[package_id]), {"owner": owner})


def answer(user, answer, owner=None, package_id="Alice.Core"):
    client = Client()
    client.force_login(user)
    url = reverse("package_ownership_request", args=[package_id, owner or user.username])
    return client.post(url, {"answer": answer})


def owners(registration) -> set[str]:
    return set(registration.owners.values_list("username", flat=True))


def test_adding_an_owner_asks_them_first(client, alice, bob, core, mailoutbox):
    sign_in(client, alice)
    ask(client, "bob")
    assert owners(core) == {"alice"}
    assert OwnershipRequest.objects.get().new_owner == bob
    assert [m.to for m in mailoutbox] == [["bob@example.com"]]
    assert "alice asks you to become an owner of the package Alice.Core." in mailoutbox[0].body
    link = re.search(r"https?://[^/\s]+(/\S+)", mailoutbox[0].body).group(1)
    assert link == reverse("package_ownership_request", args=["Alice.Core", "bob"])
    assert AuditEvent.objects.filter(kind="package.owner_requested", user=alice).exists()


def test_accepting_makes_an_owner_and_tells_the_owners(client, alice, bob, core, mailoutbox):
    sign_in(client, alice)
    ask(client, "bob")
    mailoutbox.clear()
    bob_client = Client()
    bob_client.force_login(bob)
    url = reverse("package_ownership_request", args=["Alice.Core", "bob"])
    assert "Accept" in bob_client.get(url).content.decode()
    assert bob_client.post(url, {"answer": "accept"}).status_code == 302
    assert owners(core) == {"alice", "bob"}
    assert not OwnershipRequest.objects.exists()
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    assert "bob accepted the ownership request and is now an owner of Alice.Core." in (
        mailoutbox[0].body
    )
    event = AuditEvent.objects.get(kind="package.owner_added")
    assert event.actor == bob and event.package_id == "Alice.Core"


def test_a_request_whose_requester_lost_the_package_cannot_be_accepted(
    client, alice, bob, charlie, core
):
    """An offer stands only while whoever made it may still manage the package."""
    sign_in(client, alice)
    ask(client, "bob")
    core.owners.add(charlie)
    core.owners.remove(alice)  # alice is no longer an owner
    answer(bob, "accept")
    assert owners(core) == {"charlie"}
    assert not OwnershipRequest.objects.exists()
    assert not AuditEvent.objects.filter(kind="package.owner_added").exists()


@pytest.mark.parametrize("how", ["deactivated", "deleted", "organization role removed"])
def test_a_request_whose_requester_could_no_longer_ask_cannot_be_accepted(
    client, alice, bob, charlie, dana, core, mailoutbox, how
):
    """Deactivated, deleted (the request keeps no requester) or demoted in the owning
    organization: the request lapses, and nothing is granted."""
    acme = User.objects.create_organization("Acme", admin=alice)
    Membership.objects.create(organization=acme, member=charlie, role=Membership.Role.ADMIN)
    core.owners.set([acme])  # alice manages the package as Acme's administrator
    sign_in(client, alice)
    ask(client, "bob")
    assert OwnershipRequest.objects.get().requested_by == alice
    if how == "deactivated":
        User.objects.filter(pk=alice.pk).update(is_active=False)
    elif how == "deleted":
        alice.delete()
        assert OwnershipRequest.objects.get().requested_by is None
    else:
        Membership.objects.filter(organization=acme, member=alice).update(
            role=Membership.Role.COLLABORATOR
        )
    mailoutbox.clear()
    response = answer(bob, "accept")
    assert response.status_code == 302
    assert owners(core) == {"Acme"}
    assert not OwnershipRequest.objects.exists()
    assert not AuditEvent.objects.filter(kind="package.owner_added").exists()
    assert not mailoutbox


def test_declining_changes_nothing(client, alice, bob, core):
    sign_in(client, alice)
    ask(client, "bob")
    answer(bob, "decline")
    assert owners(core) == {"alice"}
    assert not OwnershipRequest.objects.exists()
    assert AuditEvent.objects.filter(kind="package.owner_declined").exists()


def test_only_the_invited_account_can_answer(client, alice, bob, charlie, core):
    sign_in(client, alice)
    ask(client, "bob")
    # Not the requester, not a stranger: both get 404.
    for someone in (alice, charlie):
        assert answer(someone, "accept", owner="bob").status_code == 404
    assert owners(core) == {"alice"}


def test_an_organization_is_asked_through_its_administrators(
    client, alice, bob, contoso, core, mailoutbox
):
    sign_in(client, alice)
    ask(client, "Contoso")
    assert [m.to for m in mailoutbox] == [["bob@example.com"]]
    assert "alice asks your organization Contoso to become an owner" in mailoutbox[0].body
    dave = User.objects.get(username="dave")
    assert answer(dave, "accept", owner="Contoso").status_code == 404
    assert owners(core) == {"alice"}
    answer(bob, "accept", owner="Contoso")
    assert owners(core) == {"alice", "Contoso"}


def test_the_requester_cancels(client, alice, bob, charlie, core):
    sign_in(client, alice)
    ask(client, "bob")
    url = reverse("package_cancel_ownership_request", args=["Alice.Core", "bob"])
    stranger = Client()
    stranger.force_login(charlie)
    assert stranger.post(url).status_code == 404
    assert OwnershipRequest.objects.exists()
    assert client.post(url).status_code == 302
    assert not OwnershipRequest.objects.exists()
    assert answer(bob, "accept").status_code == 404
    assert owners(core) == {"alice"}
    assert AuditEvent.objects.filter(kind="package.owner_cancelled").exists()


def test_a_collaborator_of_the_owning_organization_cannot_cancel(bob, charlie, contoso):
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    admin = sign_in(Client(), bob)
    ask(admin, "charlie", package_id="Contoso.Core")
    dave = Client()
    dave.force_login(User.objects.get(username="dave"))
    url = reverse("package_cancel_ownership_request", args=["Contoso.Core", "charlie"])
    assert dave.post(url).status_code == 403
    assert OwnershipRequest.objects.exists()


def test_pending_requests_are_listed_on_manage_packages(client, alice, bob, core):
    sign_in(client, alice)
    ask(client, "bob")
    page = client.get(reverse("packages")).content.decode()
    assert "bob (pending) as an owner of Alice.Core" in page
    assert reverse("package_cancel_ownership_request", args=["Alice.Core", "bob"]) in page
    bob_client = Client()
    bob_client.force_login(bob)
    page = bob_client.get(reverse("packages")).content.decode()
    assert "alice asks you to become an owner of Alice.Core." in page
    assert reverse("package_ownership_request", args=["Alice.Core", "bob"]) in page


def test_an_expired_request_cannot_be_accepted(client, alice, bob, core, settings):
    sign_in(client, alice)
    ask(client, "bob")
    later = timezone.now() + timedelta(days=settings.GALLEY_CONSENT_DAYS, minutes=1)
    with time_machine.travel(later, tick=False):
        assert answer(bob, "accept").status_code == 404
        assert owners(core) == {"alice"}
        alice_client = Client()
        alice_client.force_login(alice)
        assert "(pending)" not in alice_client.get(reverse("packages")).content.decode()


def test_removing_an_owner_tells_every_owner(client, alice, bob, core, mailoutbox):
    core.owners.add(bob)
    sign_in(client, alice)
    client.post(reverse("package_remove_owner", args=["Alice.Core", "bob"]))
    assert owners(core) == {"alice"}
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    assert "alice removed bob as an owner of Alice.Core." in mailoutbox[0].body


def test_nobody_can_be_made_the_sole_owner_of_a_package_without_consent(client, charlie, bob):
    """The trap the issue describes: charlie adds bob, then leaves bob alone with it."""
    PackageRegistrationFactory(package_id="Charlie.Trap", owners=[charlie])
    sign_in(client, charlie)
    ask(client, "bob", package_id="Charlie.Trap")
    client.post(reverse("package_remove_owner", args=["Charlie.Trap", "charlie"]))
    registration = OwnershipRequest.objects.get().registration
    assert owners(registration) == {"charlie"}
    assert not bob.packages.exists()


def test_a_pending_administrator_is_not_asked_or_told_about_ownership(
    client, alice, bob, charlie, contoso, core, mailoutbox
):
    """charlie is invited to administer Contoso and has not accepted: no mail about
    requests to Contoso, nor about the owners of Contoso's packages."""
    Membership.objects.create(
        organization=contoso, member=charlie, role=Membership.Role.ADMIN, accepted=False
    )
    sign_in(client, alice)
    ask(client, "Contoso")
    assert [m.to for m in mailoutbox] == [["bob@example.com"]]
    mailoutbox.clear()
    answer(bob, "accept", owner="Contoso")
    assert owners(core) == {"alice", "Contoso"}
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]
    mailoutbox.clear()
    client.post(reverse("package_remove_owner", args=["Alice.Core", "alice"]))
    assert owners(core) == {"Contoso"}
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "bob@example.com"]


def test_a_request_is_answered_only_at_its_own_package_and_account(
    client, alice, bob, dana, contoso, core
):
    """bob administers Contoso, which alice asked; nothing was asked of bob himself, nor
    of anyone about dana's package: those addresses are 404 and change nothing."""
    dana_tools = PackageRegistrationFactory(package_id="Dana.Tools", owners=[dana])
    sign_in(client, alice)
    ask(client, "Contoso")
    assert answer(bob, "accept", owner="bob").status_code == 404
    assert answer(bob, "accept", owner="Contoso", package_id="Dana.Tools").status_code == 404
    assert owners(core) == {"alice"} and owners(dana_tools) == {"dana"}
    assert OwnershipRequest.objects.get().new_owner == contoso
    answer(bob, "accept", owner="Contoso")
    assert owners(core) == {"alice", "Contoso"}


def test_a_manager_cancels_only_the_request_named_on_their_own_package(
    client, alice, bob, charlie, dana, core
):
    dana_tools = PackageRegistrationFactory(package_id="Dana.Tools", owners=[dana])
    OwnershipRequest.objects.create(registration=core, new_owner=bob, requested_by=alice)
    OwnershipRequest.objects.create(registration=dana_tools, new_owner=charlie, requested_by=dana)
    sign_in(client, alice)
    for name in ("charlie", "dana"):  # asked on dana's package, or not at all
        url = reverse("package_cancel_ownership_request", args=["Alice.Core", name])
        assert client.post(url).status_code == 404
    assert OwnershipRequest.objects.count() == 2
    url = reverse("package_cancel_ownership_request", args=["Alice.Core", "bob"])
    assert client.post(url).status_code == 302
    assert list(OwnershipRequest.objects.values_list("new_owner__username", flat=True)) == [
        "charlie"
    ]


def test_the_requests_a_manager_may_cancel_are_those_on_their_packages(alice, bob, dana, core):
    from packages import permissions as access

    dana_tools = PackageRegistrationFactory(package_id="Dana.Tools", owners=[dana])
    mine = OwnershipRequest.objects.create(registration=core, new_owner=bob, requested_by=alice)
    OwnershipRequest.objects.create(registration=dana_tools, new_owner=bob, requested_by=dana)
    assert list(access.ownership_requests_by(alice)) == [mine]
    asked_of_bob = access.ownership_requests_for(bob)
    assert {ownership.registration.package_id for ownership in asked_of_bob} == {
        "Alice.Core",
        "Dana.Tools",
    }


def queries_for(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_ownership_requests_on_manage_packages_cost_the_same_queries_however_many(
    client, alice, bob, charlie, contoso, core
):
    """Each list (asked of alice or of her organizations; waiting on her packages)
    brings its packages and accounts in its one query."""
    contoso_core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    Membership.objects.filter(organization=contoso, member=bob).update(role="collaborator")
    Membership.objects.create(organization=contoso, member=alice, role=Membership.Role.ADMIN)
    OwnershipRequest.objects.create(registration=core, new_owner=bob, requested_by=alice)
    OwnershipRequest.objects.create(registration=contoso_core, new_owner=charlie, requested_by=bob)
    client.force_login(alice)
    few = queries_for(client, reverse("packages"))
    for number in range(3):
        theirs = PackageRegistrationFactory(package_id=f"Other.P{number}", owners=[charlie])
        OwnershipRequest.objects.create(registration=theirs, new_owner=alice, requested_by=charlie)
        mine = PackageRegistrationFactory(package_id=f"Alice.P{number}", owners=[alice])
        someone = UserFactory(username=f"someone{number}")
        OwnershipRequest.objects.create(registration=mine, new_owner=someone, requested_by=alice)
    page = client.get(reverse("packages")).content.decode()
    assert page.count("asks you to become an owner") == 3 and page.count("(pending)") == 5
    assert queries_for(client, reverse("packages")) == few
