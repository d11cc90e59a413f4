"""A cached upstream version follows the upstream's listing when its metadata is read
again (the TTL, or an administrator's refresh), through the lifecycle as the system,
audited; a listing decision made here is kept (lifecycle.set_listed)."""

import pytest
import time_machine

from audit.models import AuditEvent
from packages import lifecycle
from packages.models import PackageVersion
from packages.upstreams import cache
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db

FLAT = "/v3-flatcontainer"
VERSIONS = f"{FLAT}/serilog/index.json"
INDEX = "/v3/registration/serilog/index.json"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def listed_in_index(client) -> dict:
    items = client.get(INDEX).json()["items"][0]["items"]
    return {leaf["catalogEntry"]["version"]: leaf["catalogEntry"]["listed"] for leaf in items}


def in_search(client) -> list[str]:
    return [d["version"] for d in client.get("/query", {"q": "Serilog"}).json()["data"]]


def set_upstream_listed(upstream, version: str, listed: bool) -> None:
    for entry in upstream.entries["serilog"]:
        if entry["version"] == version:
            entry["listed"] = listed


@pytest.fixture
def cached(client, upstream):
    """Serilog 3.1.1 and 4.0.0 cached at 10:00, listed upstream; the TTL is 600 s."""
    for version in ("3.1.1", "4.0.0"):
        upstream.add("Serilog", version, nupkg("Serilog", version))
    with time_machine.travel("2026-01-01 10:00", tick=False):
        for version in ("3.1.1", "4.0.0"):
            url = f"{FLAT}/serilog/{version}/serilog.{version}.nupkg"
            assert body(client.get(url)) == upstream.packages[("serilog", version)]
    return upstream


def test_a_version_unlisted_then_relisted_upstream_follows_at_the_ttl(client, cached):
    set_upstream_listed(cached, "4.0.0", False)
    with time_machine.travel("2026-01-01 10:05", tick=False):  # within the TTL
        assert listed_in_index(client) == {"3.1.1": True, "4.0.0": True}
    with time_machine.travel("2026-01-01 10:11", tick=False):  # past it
        assert client.get(VERSIONS).json() == {"versions": ["3.1.1", "4.0.0"]}
        assert PackageVersion.objects.get(version="4.0.0").listed is False
        assert listed_in_index(client) == {"3.1.1": True, "4.0.0": False}
        assert in_search(client) == ["3.1.1"]
        assert client.get("/v3/registration/serilog/4.0.0.json").json()["listed"] is False
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PACKAGE_UNLISTED)
    assert (event.package_id, event.package_version) == ("Serilog", "4.0.0")
    assert event.actor is None and event.details == {"via": "system", "upstream": cached.index}

    set_upstream_listed(cached, "4.0.0", True)
    with time_machine.travel("2026-01-01 10:22", tick=False):
        assert listed_in_index(client) == {"3.1.1": True, "4.0.0": True}
        assert in_search(client) == ["4.0.0"]
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_RELISTED).count() == 1
    assert PackageVersion.objects.get(version="4.0.0").listed is True


def test_an_administrators_refresh_applies_the_upstreams_listing_at_once(
    client, cached, admin_user
):
    set_upstream_listed(cached, "3.1.1", False)
    client.force_login(admin_user)
    with time_machine.travel("2026-01-01 10:01", tick=False):  # well within the TTL
        response = client.post(
            "/admin/packages/cachedupstreamversion/",
            {
                "action": "refresh",
                "_selected_action": [PackageVersion.objects.get(version="3.1.1").pk],
            },
        )
    assert response.status_code == 302
    assert PackageVersion.objects.get(version="3.1.1").listed is False
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_UNLISTED).count() == 1


def test_a_listing_decided_here_is_kept_whatever_the_upstream_does(client, cached, admin_user):
    actor = lifecycle.Actor(user=admin_user, channel=lifecycle.Channel.ADMIN)
    # Unlisted here while the upstream lists it; relisted here after the upstream
    # unlisted it (and Galley followed).
    assert lifecycle.set_listed(actor, PackageVersion.objects.get(version="3.1.1"), False)
    set_upstream_listed(cached, "4.0.0", False)
    with time_machine.travel("2026-01-01 10:11", tick=False):
        assert cache.refresh("serilog")
    assert PackageVersion.objects.get(version="4.0.0").listed is False
    assert lifecycle.set_listed(actor, PackageVersion.objects.get(version="4.0.0"), True)

    set_upstream_listed(cached, "3.1.1", True)  # it never stopped listing it
    for at in ("2026-01-01 10:22", "2026-01-01 10:33"):
        with time_machine.travel(at, tick=False):
            assert listed_in_index(client) == {"3.1.1": False, "4.0.0": True}
            assert in_search(client) == ["4.0.0"]
        set_upstream_listed(cached, "3.1.1", False)  # and later does; neither changes
        set_upstream_listed(cached, "4.0.0", True)
    by_kind = {
        kind: sorted(AuditEvent.objects.filter(kind=kind).values_list("details__via", flat=True))
        for kind in (AuditEvent.Kind.PACKAGE_UNLISTED, AuditEvent.Kind.PACKAGE_RELISTED)
    }
    assert by_kind == {
        AuditEvent.Kind.PACKAGE_UNLISTED: ["admin", "system"],
        AuditEvent.Kind.PACKAGE_RELISTED: ["admin"],
    }
    # Only the system's events name the upstream it followed.
    for event in AuditEvent.objects.filter(kind__in=by_kind):
        assert ("upstream" in event.details) is (event.details["via"] == "system"), event.details


def test_the_system_never_undoes_a_listing_decided_here(cached, admin_user):
    """The rule lives in lifecycle.set_listed, whoever calls it as the system."""
    version = PackageVersion.objects.get(version="3.1.1")
    admin = lifecycle.Actor(user=admin_user, channel=lifecycle.Channel.ADMIN)
    assert lifecycle.set_listed(admin, version, False) and version.listing_set_here
    assert not lifecycle.set_listed(cache.SYSTEM, version, True)
    assert PackageVersion.objects.get(pk=version.pk).listed is False
    # A version nobody here touched follows the system.
    other = PackageVersion.objects.get(version="4.0.0")
    assert lifecycle.set_listed(cache.SYSTEM, other, False) and other.listing_set_here is False
