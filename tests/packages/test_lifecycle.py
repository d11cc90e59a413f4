"""packages/lifecycle.py: one owner for every change to a package version.

Whatever the entry point (the publish API, the Manage page, the admin), a change is
recorded once, shown in the Security log of the package's owners (for an
organization, its administrators) and of whoever made it, and bumps the
registration's revision that feed documents are keyed on.
"""

import pathlib
import re
import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, connections

from accounts.models import Membership, User
from audit.models import AuditEvent
from packages import lifecycle
from packages.models import PackageRegistration, PackageVersion
from tests.factories import PackageRegistrationFactory, UserFactory, make_key
from tests.helpers import push, stored_files, unlist
from tests.packages.builders import NUSPEC, add_version, nupkg


def security_log(client, account) -> str:
    client.force_login(account)
    page = client.get("/account/security-log").content.decode()
    client.logout()
    return page


def staff_with(*codenames):
    staff = UserFactory(username="staffer", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return staff


def test_an_administrators_unlist_is_in_the_owners_security_log(client, alice, charlie):
    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    client.force_login(staff_with("view_packageversion", "change_packageversion"))
    client.post(
        "/admin/packages/packageversion/", {"action": "unlist", "_selected_action": [version.pk]}
    )
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PACKAGE_UNLISTED)
    assert event.actor_name == "staffer" and event.details["via"] == "admin"
    assert "Package unlisted" in security_log(client, alice)
    assert "Package unlisted" not in security_log(client, charlie)


def test_an_event_about_an_organizations_package_reaches_its_administrators_only(
    client, alice, bob, charlie
):
    contoso = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(
        organization=contoso, member=bob, role=Membership.Role.COLLABORATOR, accepted=True
    )
    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso]), "1.0.0"
    )
    client.force_login(staff_with("view_packageversion", "change_packageversion"))
    client.post(
        "/admin/packages/packageversion/", {"action": "unlist", "_selected_action": [version.pk]}
    )
    assert "Package unlisted" in security_log(client, alice)
    assert "Package unlisted" not in security_log(client, bob)  # a collaborator
    assert "Package unlisted" not in security_log(client, charlie)


@pytest.mark.parametrize("pushed_by", ["person", "organization"])
def test_a_push_through_the_api_reaches_the_owners_and_the_organizations_administrators(
    client, alice, bob, charlie, dana, package_dir, pushed_by
):
    """The publish API holds the owners it read for the key rules, and when none is an
    organization they are whose logs show the event; an organization's
    administrators are still looked up."""
    if pushed_by == "person":
        owner = alice
    else:
        owner = User.objects.create_organization("Contoso", admin=alice)
        Membership.objects.create(
            organization=owner, member=dana, role=Membership.Role.ADMIN, accepted=True
        )
        Membership.objects.create(
            organization=owner, member=bob, role=Membership.Role.COLLABORATOR, accepted=True
        )
    _, secret = make_key(alice, owner=owner)
    # A new id, then a version of a known one (a person's package has dana as a
    # co-owner by then).
    assert push(client, secret, nupkg("Contoso.Core", "1.0.0")).status_code == 201
    if pushed_by == "person":
        PackageRegistration.objects.get(normalized_id="contoso.core").owners.add(dana)
    assert push(client, secret, nupkg("Contoso.Core", "1.0.1")).status_code == 201
    shown_to = {
        event.package_version: {event.user_id, *event.subjects.values_list("pk", flat=True)}
        for event in AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_PUSHED)
    }
    if pushed_by == "person":
        assert shown_to == {"1.0.0": {alice.pk}, "1.0.1": {alice.pk, dana.pk}}
    else:
        everyone = {owner.pk, alice.pk, dana.pk}
        assert shown_to == {"1.0.0": everyone, "1.0.1": everyone}
    assert "Package pushed" in security_log(client, dana)
    assert "Package pushed" not in security_log(client, charlie)
    assert "Package pushed" not in security_log(client, bob)


def test_a_co_owners_unlist_is_in_every_owners_log_with_only_the_actors_address(
    client, alice, dana, charlie
):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice, dana])
    add_version(registration, "1.0.0")
    _, secret = make_key(dana, scopes=["package:unlist"])
    response = client.delete(
        "/api/v2/package/Contoso.Core/1.0.0",
        headers={"X-NuGet-ApiKey": secret},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 200
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_UNLISTED).count() == 1
    alices = security_log(client, alice)
    assert "Package unlisted" in alices and "203.0.113.9" not in alices
    assert "203.0.113.9" in security_log(client, dana)
    assert "Package unlisted" not in security_log(client, charlie)


def test_a_deletion_for_good_is_in_the_owners_security_log(client, alice, charlie):
    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    client.force_login(staff_with("view_packageversion", "delete_packageversion"))
    client.post(
        "/admin/packages/packageversion/",
        {
            "action": "delete_for_good",
            "_selected_action": [version.pk],
            "apply": "1",
            "reason": "Malware",
        },
    )
    assert not PackageVersion.objects.exists()
    assert "Package version deleted" in security_log(client, alice)
    assert "Package version deleted" not in security_log(client, charlie)


def test_every_change_bumps_the_revision(client, alice, package_dir):
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    assert push(client, secret).status_code == 201
    registration = PackageRegistration.objects.get()
    assert registration.revision == 1
    assert unlist(client, secret).status_code == 200
    assert unlist(client, secret).status_code == 200  # again: nothing changes
    registration.refresh_from_db()
    assert registration.revision == 2
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_UNLISTED).count() == 1


def test_the_registration_index_follows_an_unlist_at_once(client, alice, package_dir):
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    push(client, secret)
    url = "/v3/registration/contoso.core/index.json"

    def listed():
        entry = client.get(url).json()["items"][0]["items"][0]["catalogEntry"]
        return entry["listed"]

    assert listed() is True
    unlist(client, secret)
    assert listed() is False


@pytest.mark.parametrize(
    "dependency, reason",
    [
        ('id="a/b" version="1.0"', "Package id 'a/b' is not valid"),
        ('id="" version="1.0"', "Package id must not be empty"),
        ('id="Contoso.Other" version="[1.0"', "Version range '[1.0' is not valid"),
        ('id="Contoso.Other" version="[2.0, 1.0]"', "Version range '[2.0, 1.0]' is not valid"),
        ('id="Contoso.Other" version="(1.0)"', "Version range '(1.0)' is not valid"),
        ('id="Contoso.Other" version="1.0.0.0.0"', "more than 4 numeric parts"),
    ],
)
def test_a_bad_dependency_is_refused_at_push_with_its_reason(
    client, alice, package_dir, dependency, reason
):
    nuspec = NUSPEC.replace(
        "</metadata>", f"<dependencies><dependency {dependency} /></dependencies></metadata>"
    ).format(id="Contoso.Core", version="1.0.0")
    _, secret = make_key(alice)
    response = push(client, secret, nupkg(nuspec=nuspec))
    assert response.status_code == 400
    body = response.content.decode()
    assert body.startswith("A dependency is not valid:") and reason in body
    assert not PackageRegistration.objects.exists()
    assert stored_files(package_dir) == []


def test_good_dependency_ranges_are_stored_as_nuget_writes_them(client, alice, package_dir):
    ranges = {"A": "1.0", "B": "[1.0]", "C": "(1.0, 2.0]", "D": "[1.0, )", "E": "", "F": "(, 2.0)"}
    dependencies = "".join(f'<dependency id="{i}" version="{r}" />' for i, r in ranges.items())
    nuspec = NUSPEC.replace(
        "</metadata>", f"<dependencies>{dependencies}</dependencies></metadata>"
    ).format(id="Contoso.Core", version="1.0.0")
    _, secret = make_key(alice)
    assert push(client, secret, nupkg(nuspec=nuspec)).status_code == 201
    stored = PackageVersion.objects.get().dependency_groups[0]["dependencies"]
    assert [d["range"] for d in stored] == [
        "[1.0.0, )",
        "[1.0.0]",
        "(1.0.0, 2.0.0]",
        "[1.0.0, )",
        "(, )",
        "(, 2.0.0)",
    ]
    assert client.get("/packages/Contoso.Core").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_racing_unlists_record_one_event(alice):
    if connection.vendor != "postgresql":
        # SQLite runs one writer at a time: there is no race to show. CI's second
        # pass runs the suite on PostgreSQL.
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    # Both requests loaded the version before either wrote, as two clients would.
    copies = [PackageVersion.objects.get(pk=version.pk) for _ in range(4)]
    start = threading.Barrier(len(copies))
    results = [None] * len(copies)

    def unlist_copy(index):
        try:
            start.wait()
            actor = lifecycle.Actor(user=alice, channel=lifecycle.Channel.API)
            results[index] = lifecycle.set_listed(actor, copies[index], listed=False)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=unlist_copy, args=(i,)) for i in range(len(copies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False, False, False, True]
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_UNLISTED).count() == 1
    assert PackageRegistration.objects.get().revision == 2  # the version's row, the unlist


def test_only_the_lifecycle_module_writes_package_versions():
    """Every write of PackageVersion rows goes through packages/lifecycle.py: a second
    copy of a version change elsewhere would miss its audit record or its revision."""
    root = pathlib.Path(__file__).resolve().parents[2]
    writes = re.compile(
        r"PackageVersion\.objects\.(create|bulk_create|update|get_or_create|update_or_create)"
        r"|SymbolPackage\.objects\.(create|update_or_create)"
        r"|SymbolFile\.objects\.(create|bulk_create|get_or_create|update_or_create)"
        r"|\.update\(listed=|\.save\(update_fields=\[\"listed\"\]"
    )
    offenders = [
        str(path.relative_to(root))
        for app in ("accounts", "apikeys", "audit", "config", "packages", "trustedpublishing")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts
        and path.name != "lifecycle.py"
        and writes.search(path.read_text())
    ]
    assert offenders == []


def test_pruning_removes_only_cached_upstream_versions_and_says_why(alice, package_dir):
    """prune_upstream_cache chooses cached versions; the lifecycle refuses any other."""
    local = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    cached = add_version(PackageRegistrationFactory(package_id="Serilog", owners=[]), "3.1.1")
    PackageVersion.objects.filter(pk=cached.pk).update(upstream="https://api.nuget.org/v3")
    actor = lifecycle.Actor(user=None, channel=lifecycle.Channel.SYSTEM)
    assert lifecycle.prune_upstream_version(actor, local) is False
    assert lifecycle.prune_upstream_version(actor, PackageVersion.objects.get(pk=cached.pk))
    assert list(PackageVersion.objects.all()) == [local]
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PACKAGE_DELETED)
    assert (event.package_id, event.details["reason"]) == (
        "Serilog",
        "unused cached upstream version",
    )


def test_a_deletion_for_good_happens_once_and_forgets_the_pending_downloads(
    alice, package_dir, redis_cache
):
    """The second of two deletions finds nothing to do; the version's downloads counted
    in Redis and not yet flushed go with it, another version's stay."""
    from packages import downloads

    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    kept = add_version(PackageRegistration.objects.get(), "2.0.0")
    downloads.count_download(version)
    downloads.count_download(kept)
    actor = lifecycle.Actor(user=alice, channel=lifecycle.Channel.ADMIN)
    assert lifecycle.delete_version(actor, version, "leaked secret") is True
    assert lifecycle.delete_version(actor, version, "leaked secret") is False
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DELETED).count() == 1
    client, name = downloads._redis()
    assert client.hgetall(name) == {str(kept.pk).encode(): b"1"}


def test_the_callers_version_follows_a_listing_change_made_or_already_made(alice):
    version = add_version(
        PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice]), "1.0.0"
    )
    actor = lifecycle.Actor(user=alice, channel=lifecycle.Channel.WEB)
    stale = PackageVersion.objects.get(pk=version.pk)
    assert lifecycle.set_listed(actor, version, listed=False) is True
    assert version.listed is False
    assert lifecycle.set_listed(actor, stale, listed=False) is False  # done meanwhile
    assert stale.listed is False
    assert lifecycle.set_listed(actor, version, listed=True) is True
    assert version.listed is True
