"""Administering the upstream cache: the admin's list, block and refresh actions,
allowances (audited), the prune command, and a private feed's readers."""

import base64

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditEvent
from packages.models import PackageVersion
from packages.upstreams.models import BlockedUpstreamVersion, UpstreamAllowance, UpstreamMetadata
from tests.factories import UserFactory, make_key
from tests.helpers import push, stored_files
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/packages/cachedupstreamversion/"
NUPKG = "/v3-flatcontainer/serilog/3.1.1/serilog.3.1.1.nupkg"


def staff(*codenames):
    user = UserFactory(username="staffer", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def cached(client, upstream):
    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    assert client.get(NUPKG).status_code == 200
    return PackageVersion.objects.get()


def test_the_admin_lists_cached_versions_only(client, cached, alice):
    _key, secret = make_key(alice)
    client.force_login(staff("view_packageversion", "view_cachedupstreamversion"))
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "Serilog" in page.content.decode() and cached.upstream in page.content.decode()


def test_blocking_from_the_admin_removes_the_files_and_is_audited(client, cached, package_dir):
    client.force_login(staff("view_cachedupstreamversion", "delete_packageversion"))
    response = client.post(CHANGELIST, {"action": "block", "_selected_action": [cached.pk]})
    assert response.status_code == 302
    assert not PackageVersion.objects.exists()
    assert stored_files(package_dir) == []
    assert BlockedUpstreamVersion.objects.get().normalized_version == "3.1.1"
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.UPSTREAM_BLOCKED)
    assert event.actor.username == "staffer"
    assert client.get(NUPKG).status_code == 404


def test_blocking_needs_the_delete_permission(client, cached):
    client.force_login(staff("view_cachedupstreamversion"))
    client.post(CHANGELIST, {"action": "block", "_selected_action": [cached.pk]})
    assert PackageVersion.objects.exists()
    assert not BlockedUpstreamVersion.objects.exists()


def test_refreshing_reads_the_metadata_again(client, cached, upstream):
    upstream.add("Serilog", "4.0.0", nupkg("Serilog", "4.0.0"))
    assert client.get("/v3-flatcontainer/serilog/index.json").json()["versions"] == ["3.1.1"]
    client.force_login(staff("view_cachedupstreamversion", "change_cachedupstreamversion"))
    client.post(CHANGELIST, {"action": "refresh", "_selected_action": [cached.pk]})
    assert [e["version"] for e in UpstreamMetadata.objects.get().entries] == ["3.1.1", "4.0.0"]
    assert client.get("/v3-flatcontainer/serilog/index.json").json()["versions"] == [
        "3.1.1",
        "4.0.0",
    ]


def test_an_allowance_made_in_the_admin_is_audited(client):
    admin = staff("add_upstreamallowance", "view_upstreamallowance")
    client.force_login(admin)
    response = client.post(
        "/admin/packages/upstreamallowance/add/",
        {"package_id": "Contoso.Core", "reason": "we moved it to nuget.org"},
    )
    assert response.status_code == 302
    allowance = UpstreamAllowance.objects.get()
    assert (allowance.normalized_id, allowance.created_by) == ("contoso.core", admin)
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.UPSTREAM_ALLOWED)
    assert event.package_id == "Contoso.Core"


def test_prune_deletes_cached_versions_unused_for_n_days(client, upstream, package_dir):
    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    upstream.add("Polly", "8.0.0", nupkg("Polly", "8.0.0"))
    with time_machine.travel("2026-01-01 10:00", tick=False):
        client.get(NUPKG)
        client.get("/v3-flatcontainer/polly/8.0.0/polly.8.0.0.nupkg")
    with time_machine.travel("2026-01-20 10:00", tick=False):
        client.get(NUPKG)  # Serilog is still used
    with time_machine.travel("2026-01-25 10:00", tick=False):
        call_command("prune_upstream_cache", "--days", "10")
    assert list(PackageVersion.objects.values_list("version", flat=True)) == ["3.1.1"]
    assert [name for name in stored_files(package_dir) if "polly" in name] == []


# ------------------------------------------------------------------- private feed


def basic(username, secret):
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_a_private_feed_serves_upstream_packages_to_any_read_key(client, alice, upstream, settings):
    settings.GALLEY_FEED_READ = "authenticated"
    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    # Glob patterns narrow only owners' packages, not the upstream's.
    _key, secret = make_key(alice, scopes=["package:read"], glob_patterns=["Contoso.*"])

    assert client.get("/v3-flatcontainer/serilog/index.json").status_code == 401
    assert client.get(NUPKG).status_code == 401
    headers = basic("alice", secret)
    assert client.get("/v3-flatcontainer/serilog/index.json", headers=headers).status_code == 200
    assert client.get(NUPKG, headers=headers).status_code == 200
    assert client.get(NUPKG, headers=headers).status_code == 200  # now from the cache
    assert client.get(NUPKG).status_code == 401
    found = client.get("/query", {"q": "serilog"}, headers=headers).json()["data"]
    assert [d["id"] for d in found] == ["Serilog"]
    _push, push_only = make_key(alice, scopes=["package:push"])
    assert client.get(NUPKG, headers=basic("alice", push_only)).status_code == 403


def test_a_private_feed_shows_a_cached_upstream_package_page_to_anyone_signed_in(
    client, bob, cached, settings
):
    settings.GALLEY_FEED_READ = "authenticated"
    page = reverse("package_detail", args=["Serilog"])
    client.force_login(bob)  # owns nothing: the package has no owner to share
    response = client.get(page)
    assert response.status_code == 200
    assert "Serilog" in response.content.decode()


def test_only_a_package_every_version_of_which_came_from_upstream_is_everyones(
    client, alice, charlie, cached, settings
):
    """On a private feed with upstreams, a cached package is every reader's; an owned
    one stays its owners'; one left without owners that holds a pushed version is no
    upstream's and no one's: by id, on its page and in search, for a key or a session."""
    from packages import lifecycle
    from packages.models import PackageRegistration

    settings.GALLEY_FEED_READ = "authenticated"
    pusher = make_key(alice)[1]
    assert push(client, pusher, nupkg("Alice.Tools", "1.0.0")).status_code == 201
    assert push(client, pusher, nupkg("Contoso.Core", "1.0.0")).status_code == 201
    orphan = PackageRegistration.objects.get(normalized_id="contoso.core")
    orphan.owners.clear()
    lifecycle.touch([orphan.pk])
    index = "/v3-flatcontainer/{}/index.json"
    for reader, readable in ((alice, ["Alice.Tools", "Serilog"]), (charlie, ["Serilog"])):
        key = basic(reader.username, make_key(reader, scopes=["package:read"])[1])
        for headers in (key, {}):
            client.logout()
            if not headers:
                client.force_login(reader)
            for package_id in ("Alice.Tools", "Contoso.Core", "Serilog"):
                status = 200 if package_id in readable else 404
                url = index.format(package_id.lower())
                assert client.get(url, headers=headers).status_code == status, (reader, url)
                page = reverse("package_detail", args=[package_id])
                if not headers:
                    assert client.get(page).status_code == status, (reader, page)
            found = client.get("/query", headers=headers).json()["data"]
            assert sorted(d["id"] for d in found) == readable, reader


def test_a_private_version_is_never_served_as_the_upstream_s_of_the_same_number(
    client, alice, charlie, upstream, settings
):
    """An id with an allowance takes upstream versions on a private feed; where alice
    pushed a version of the same number, that version is hers: charlie's key, which may
    read upstream packages but not alice's, never gets her bytes by asking for the
    upstream's, and learns nothing of them."""
    settings.GALLEY_FEED_READ = "authenticated"
    mine = nupkg("Contoso.Core", "1.0.0", extra={"lib/net8.0/private.txt": "alice's code"})
    assert push(client, make_key(alice)[1], mine).status_code == 201
    upstream.add("Contoso.Core", "1.0.0", nupkg("Contoso.Core", "1.0.0"))
    upstream.add("Contoso.Core", "2.0.0", nupkg("Contoso.Core", "2.0.0"))
    UpstreamAllowance.objects.create(package_id="Contoso.Core")
    url = "/v3-flatcontainer/contoso.core/{0}/contoso.core.{0}.nupkg"
    charlie_reads = basic("charlie", make_key(charlie, scopes=["package:read"])[1])
    alice_reads = basic("alice", make_key(alice, scopes=["package:read"])[1])

    index = "/v3-flatcontainer/contoso.core/index.json"
    assert client.get(index, headers=charlie_reads).json() == {"versions": ["2.0.0"]}
    assert client.get(index, headers=alice_reads).json() == {"versions": ["1.0.0", "2.0.0"]}
    leaf = "/v3/registration/contoso.core/1.0.0.json"
    assert client.get(leaf, headers=charlie_reads).status_code == 404
    refused = client.get(url.format("1.0.0"), headers=charlie_reads)
    assert refused.status_code == 404
    assert b"alice's code" not in refused.content
    taken = client.get(url.format("2.0.0"), headers=charlie_reads)
    assert taken.status_code == 200  # the upstream's own versions still are his
    hers = client.get(url.format("1.0.0"), headers=alice_reads)
    assert hers.status_code == 200
    assert b"".join(hers.streaming_content) == mine


def test_a_fetch_never_hands_out_a_version_pushed_here_in_the_upstream_s_place(
    client, alice, upstream
):
    """The fetch's own check, for a version pushed while another request fetched its
    number: the pushed version is never what the fetch answers."""
    from packages.upstreams import cache

    assert push(client, make_key(alice)[1], nupkg("Contoso.Core", "1.0.0")).status_code == 201
    upstream.add("Contoso.Core", "1.0.0", nupkg("Contoso.Core", "1.0.0"))
    with pytest.raises(cache.Unavailable):
        cache.fetch_package("contoso.core", "1.0.0", {}, upstream.index)
    assert PackageVersion.objects.get().upstream == ""
