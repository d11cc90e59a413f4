"""Galley as the one source: upstream packages through its own resources, cached
for good, shadowed by Galley's own ids (packages/upstreams/)."""

import logging
from contextlib import contextmanager

import pytest
import time_machine
from django.core.cache import cache as shared_cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory

from audit.models import AuditEvent
from packages import lifecycle
from packages.models import PackageRegistration, PackageVersion, ReservedPrefix
from packages.storage import package_storage
from packages.upstreams.models import BlockedUpstreamVersion, UpstreamAllowance
from tests.factories import make_key
from tests.helpers import push
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db

FLAT = "/v3-flatcontainer"


def nupkg_url(package_id, version):
    lower = package_id.lower()
    return f"{FLAT}/{lower}/{version}/{lower}.{version}.nupkg"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@contextmanager
def served():
    """Around a view called directly, what a server does around a request: the
    response's after-response work runs on leaving (core/after_response.py). The
    database connection stays open, as Django's test client keeps it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
        try:
            yield
        finally:
            request_finished.send(sender=None)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_an_upstream_only_package_is_served_and_cached_for_good(client, upstream):
    data = nupkg("Newtonsoft.Json", "13.0.3")
    upstream.add(
        "Newtonsoft.Json",
        "13.0.3",
        data,
        deprecation={"reasons": ["Legacy"], "message": "Use System.Text.Json"},
        vulnerabilities=[{"advisoryUrl": "https://example.com/a", "severity": "2"}],
    )
    upstream.add("Newtonsoft.Json", "12.0.1", nupkg("Newtonsoft.Json", "12.0.1"))

    versions = client.get(f"{FLAT}/newtonsoft.json/index.json")
    assert versions.status_code == 200
    assert versions.json() == {"versions": ["12.0.1", "13.0.3"]}
    index = client.get("/v3/registration/newtonsoft.json/index.json").json()
    leaves = index["items"][0]["items"]
    entry = leaves[1]["catalogEntry"]
    assert entry["deprecation"] == {"reasons": ["Legacy"], "message": "Use System.Text.Json"}
    assert entry["vulnerabilities"][0]["severity"] == "2"
    assert entry["packageContent"] == "http://testserver" + nupkg_url("Newtonsoft.Json", "13.0.3")
    assert entry["@id"] == "http://testserver/v3/registration/newtonsoft.json/13.0.3.json"
    assert not PackageVersion.objects.exists()  # metadata alone stores no package

    response = client.get(nupkg_url("Newtonsoft.Json", "13.0.3"))
    assert response.status_code == 200
    assert body(response) == data
    version = PackageVersion.objects.get()
    assert version.upstream == upstream.index and version.listed
    assert list(version.registration.owners.all()) == []
    with package_storage().open(version.file.name) as stored:
        assert stored.read() == data
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.UPSTREAM_CACHED)
    assert event.package_id == "Newtonsoft.Json"

    upstream.stop()  # served from storage from now on, and from the kept metadata
    again = client.get(nupkg_url("Newtonsoft.Json", "13.0.3"))
    assert again.status_code == 200 and body(again) == data
    nuspec = client.get(f"{FLAT}/newtonsoft.json/13.0.3/newtonsoft.json.nuspec")
    assert nuspec.status_code == 200 and b"<id>Newtonsoft.Json</id>" in body(nuspec)


def test_a_locally_pushed_id_shadows_every_upstream_version(client, alice, upstream):
    _key, secret = make_key(alice, glob_patterns=["Contoso.*"])
    local = nupkg("Contoso.Core", "1.0.0")
    assert push(client, secret, local).status_code == 201
    upstream.add("Contoso.Core", "1.0.0", nupkg("Contoso.Core", "1.0.0", extra={"evil": "x"}))
    upstream.add("Contoso.Core", "9.0.0", nupkg("Contoso.Core", "9.0.0"))
    upstream.requests.clear()

    assert client.get(f"{FLAT}/contoso.core/index.json").json() == {"versions": ["1.0.0"]}
    assert client.get(nupkg_url("Contoso.Core", "9.0.0")).status_code == 404
    assert body(client.get(nupkg_url("Contoso.Core", "1.0.0"))) == local
    index = client.get("/v3/registration/contoso.core/index.json").json()
    assert [leaf["catalogEntry"]["version"] for leaf in index["items"][0]["items"]] == ["1.0.0"]
    assert upstream.requests == []  # never even asked
    assert not PackageVersion.objects.exclude(upstream="").exists()


def test_an_owned_id_whose_versions_were_all_deleted_stays_its_owners(
    client, alice, charlie, upstream, settings
):
    """Deleting every version for good leaves the id with its owners (as nuget.org):
    it never takes upstream versions, nor becomes readable by every reader."""
    _key, secret = make_key(alice, glob_patterns=["Contoso.*"])
    assert push(client, secret, nupkg("Contoso.Core", "1.0.0")).status_code == 201
    actor = lifecycle.Actor(user=alice, channel=lifecycle.Channel.ADMIN)
    lifecycle.delete_version(actor, PackageVersion.objects.get(), "leaked secret")
    upstream.add("Contoso.Core", "9.0.0", nupkg("Contoso.Core", "9.0.0"))
    upstream.requests.clear()

    assert client.get(f"{FLAT}/contoso.core/index.json").status_code == 404
    assert client.get(nupkg_url("Contoso.Core", "9.0.0")).status_code == 404
    assert upstream.requests == []  # never even asked
    assert not PackageVersion.objects.exists()
    # Had a version been cached into it anyway, a private feed keeps it alice's.
    settings.GALLEY_FEED_READ = "authenticated"
    registration = PackageRegistration.objects.get(normalized_id="contoso.core")
    lifecycle.touch([registration.pk])
    PackageVersion.objects.create(
        registration=registration,
        version="9.0.0",
        normalized_version="9.0.0",
        original_version="9.0.0",
        size=1,
        sha512="x" * 88,
        file="contoso.core/9.0.0.nupkg",
        upstream=upstream.index,
    )
    client.force_login(charlie)
    assert client.get("/v3/registration/contoso.core/index.json").status_code == 404


def test_a_reserved_prefix_shadows_the_upstream(client, alice, upstream):
    ReservedPrefix.objects.create(prefix="Contoso.*", owner=alice)
    upstream.add("Contoso.Secret", "1.0.0", nupkg("Contoso.Secret", "1.0.0"))

    assert client.get(f"{FLAT}/contoso.secret/index.json").status_code == 404
    assert client.get(nupkg_url("Contoso.Secret", "1.0.0")).status_code == 404
    assert client.get("/v3/registration/contoso.secret/index.json").status_code == 404
    assert upstream.requests == [] and not PackageVersion.objects.exists()


def test_an_allowance_lets_a_shadowed_id_take_upstream_versions(client, alice, upstream):
    _key, secret = make_key(alice, glob_patterns=["Contoso.*"])
    local = nupkg("Contoso.Core", "1.0.0")
    push(client, secret, local)
    upstream.add("Contoso.Core", "1.0.0", nupkg("Contoso.Core", "1.0.0", extra={"evil": "x"}))
    upstream.add("Contoso.Core", "2.0.0", nupkg("Contoso.Core", "2.0.0"))
    UpstreamAllowance.objects.create(package_id="Contoso.Core")

    assert client.get(f"{FLAT}/contoso.core/index.json").json() == {"versions": ["1.0.0", "2.0.0"]}
    # The version pushed here wins over the upstream's of the same number.
    assert body(client.get(nupkg_url("Contoso.Core", "1.0.0"))) == local
    assert (
        body(client.get(nupkg_url("Contoso.Core", "2.0.0")))
        == upstream.packages[("contoso.core", "2.0.0")]
    )


def test_an_unknown_id_is_a_404_remembered_for_the_ttl(client, upstream):
    assert client.get(f"{FLAT}/nobody.has.it/index.json").status_code == 404
    asked = len(upstream.requests)
    assert client.get(f"{FLAT}/nobody.has.it/index.json").status_code == 404
    assert len(upstream.requests) == asked  # the negative cache answered


def test_stale_metadata_is_served_when_the_upstream_fails(client, upstream, caplog):
    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    with time_machine.travel("2026-01-01 10:00", tick=False):
        assert client.get(f"{FLAT}/serilog/index.json").json() == {"versions": ["3.1.1"]}
    upstream.faults["/v3/registration/"] = "500"
    with (
        time_machine.travel("2026-01-01 12:00", tick=False),
        caplog.at_level(logging.WARNING, "galley.upstreams"),
    ):
        response = client.get(f"{FLAT}/serilog/index.json")
    assert response.status_code == 200 and response.json() == {"versions": ["3.1.1"]}
    assert "serving metadata of" in caplog.text


def test_a_never_fetched_package_fails_cleanly_with_the_upstream_down(client, upstream):
    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    upstream.stop()
    response = client.get(f"{FLAT}/serilog/index.json")
    assert response.status_code == 502
    assert "did not answer" in response.json()["error"]
    assert client.get(nupkg_url("Serilog", "3.1.1")).status_code == 502
    assert not PackageVersion.objects.exists()


def test_an_unlisted_upstream_version_restores_by_exact_version_and_stays_out_of_search(
    client, upstream
):
    upstream.add("Polly", "8.0.0", nupkg("Polly", "8.0.0"), listed=False)
    upstream.add("Polly", "7.0.0", nupkg("Polly", "7.0.0"))
    index = client.get("/v3/registration/polly/index.json").json()
    listed = {
        leaf["catalogEntry"]["version"]: leaf["catalogEntry"]["listed"]
        for leaf in index["items"][0]["items"]
    }
    assert listed == {"7.0.0": True, "8.0.0": False}
    assert client.get(nupkg_url("Polly", "8.0.0")).status_code == 200
    assert client.get(nupkg_url("Polly", "7.0.0")).status_code == 200
    assert PackageVersion.objects.get(version="8.0.0").listed is False
    found = client.get("/query", {"q": "Polly"}).json()["data"]
    assert [(d["id"], d["version"]) for d in found] == [("Polly", "7.0.0")]
    assert client.get("/v3/registration/polly/8.0.0.json").json()["listed"] is False


def test_the_first_local_push_of_a_cached_id_needs_an_allowance(client, alice, upstream):
    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    client.get(nupkg_url("Serilog", "3.1.1"))
    _key, secret = make_key(alice)

    refused = push(client, secret, nupkg("Serilog", "4.0.0"))
    assert refused.status_code == 403
    assert "Ask an administrator to allow local versions" in refused.content.decode()
    assert PackageVersion.objects.count() == 1

    UpstreamAllowance.objects.create(package_id="Serilog")
    assert push(client, secret, nupkg("Serilog", "4.0.0")).status_code == 201
    registration = PackageRegistration.objects.get(normalized_id="serilog")
    assert list(registration.owners.all()) == [alice]


def test_a_blocked_version_is_never_served_again(client, admin_user, upstream):
    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    client.get(nupkg_url("Serilog", "3.1.1"))
    version = PackageVersion.objects.get()
    name = version.file.name
    actor = lifecycle.Actor(user=admin_user, channel=lifecycle.Channel.ADMIN)

    assert lifecycle.block_upstream_version(actor, version, "malware")
    assert not package_storage().exists(name)
    assert BlockedUpstreamVersion.objects.filter(normalized_id="serilog").exists()
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.UPSTREAM_BLOCKED).exists()
    assert client.get(nupkg_url("Serilog", "3.1.1")).status_code == 404
    assert client.get(f"{FLAT}/serilog/index.json").status_code == 404
    assert not PackageVersion.objects.exists()


def test_hits_misses_and_errors_are_logged_and_counted(client, upstream, caplog):
    from packages.upstreams.client import STATS

    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    before = dict(STATS)
    with caplog.at_level(logging.INFO, "galley.upstreams"):
        client.get(nupkg_url("Serilog", "3.1.1"))  # metadata miss, package miss
        client.get(nupkg_url("Serilog", "3.1.1"))  # package hit (no metadata read)
        client.get(f"{FLAT}/serilog/index.json")  # metadata hit
        upstream.faults["/v3/registration/"] = "500"
        client.get(f"{FLAT}/other.package/index.json")  # an upstream error
    gained = {name: STATS.get(name, 0) - before.get(name, 0) for name in STATS}
    assert gained["metadata_misses"] == 2 and gained["metadata_hits"] == 1
    assert gained["package_misses"] == 1 and gained["package_hits"] == 1
    assert gained["errors"] == 1 and gained["seconds"] > 0
    assert "cached serilog 3.1.1 from" in caplog.text
    assert "upstream GET" in caplog.text and "answered 500" in caplog.text


def test_a_fetched_package_is_measured_as_it_arrives_and_its_manifest_copied_after(
    client, upstream, monkeypatch
):
    """The size and SHA-512 recorded are the upstream's bytes', and the manifest's copy
    waits until the client has its package (the feed reads it out of the package)."""
    import base64
    import hashlib

    data = nupkg("Serilog", "3.1.1", extra={"content/noise.bin": bytes(range(256)) * 1000})
    upstream.add("Serilog", "3.1.1", data)
    deferred = []
    monkeypatch.setattr(lifecycle, "after_response", deferred.append)

    assert body(client.get(nupkg_url("Serilog", "3.1.1"))) == data
    version = PackageVersion.objects.get()
    assert version.size == len(data)
    assert version.sha512 == base64.b64encode(hashlib.sha512(data).digest()).decode()
    assert len(deferred) == 1
    assert not package_storage().exists(lifecycle.manifest_name(version))
    nuspec = client.get(f"{FLAT}/serilog/3.1.1/serilog.nuspec")
    assert nuspec.status_code == 200 and b"<id>Serilog</id>" in body(nuspec)
    deferred[0]()
    with package_storage().open(lifecycle.manifest_name(version)) as copy:
        assert copy.read() == body(nuspec)


def test_upstream_documents_are_kept_until_the_metadata_or_the_versions_change(
    client, upstream, monkeypatch, settings
):
    """A warm read is answered from the feed's memo: the kept entries are neither read
    nor parsed again until the TTL brings new ones or a version changes here."""
    from packages.upstreams import cache

    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    urls = [f"{FLAT}/serilog/index.json", "/v3/registration/serilog/index.json"]
    urls.append("/v3/registration/serilog/3.1.1.json")
    with time_machine.travel("2026-01-01 10:00", tick=False):
        first = [client.get(url).json() for url in urls]

    def parsed_again(self):
        raise AssertionError("the entries were parsed again")

    monkeypatch.setattr(cache.Metadata, "by_identity", parsed_again)
    with time_machine.travel("2026-01-01 10:05", tick=False):
        assert [client.get(url).json() for url in urls] == first
    monkeypatch.undo()

    upstream.add("Serilog", "4.0.0", nupkg("Serilog", "4.0.0"))
    with time_machine.travel("2026-01-01 10:09", tick=False):  # within the TTL (600 s)
        assert client.get(urls[0]).json() == {"versions": ["3.1.1"]}
    with time_machine.travel("2026-01-01 10:11", tick=False):  # past it: read again
        assert client.get(urls[0]).json() == {"versions": ["3.1.1", "4.0.0"]}
        BlockedUpstreamVersion.objects.create(normalized_id="serilog", normalized_version="4.0.0")
        assert client.get(urls[0]).json() == {"versions": ["3.1.1"]}


def test_a_first_download_is_answered_then_stored_whole(upstream):
    """A restore's first download of a small package is answered from its bytes as
    fetched, and the package stored (file, rows, audit) once the answer is sent,
    byte for byte: a package larger than any read buffer, its manifest first (as
    `nuget pack` writes it), incompressible content; the answer and every later one
    are those bytes, with the hash measured as they arrived, the download counted once."""
    import base64
    import hashlib
    import os as _os

    from packages import downloads
    from packages.feed_views import package_content

    data = nupkg("Serilog", "3.1.1", extra={"lib/net8.0/Serilog.bin": _os.urandom(300_000)})
    upstream.add("Serilog", "3.1.1", data)
    with served():
        response = package_content(
            RequestFactory().get(nupkg_url("Serilog", "3.1.1")),
            "Serilog",
            "3.1.1",
            "serilog.3.1.1.nupkg",
        )
        assert response.status_code == 200
        assert body(response) == data
        assert not PackageVersion.objects.exists()  # answered before it is stored
    version = PackageVersion.objects.get()
    with package_storage().open(version.file.name) as stored:
        assert stored.read() == data
    assert version.size == len(data)
    assert base64.b64decode(version.sha512) == hashlib.sha512(data).digest()
    assert response["ETag"] == f'"{version.sha512}"'
    assert response["Content-Disposition"] == 'attachment; filename="serilog.3.1.1.nupkg"'
    assert downloads.pending_downloads([version]) == {version.pk: 1}
    assert body(Client().get(nupkg_url("Serilog", "3.1.1"))) == data
    assert upstream.requests.count("/v3-flatcontainer/serilog/3.1.1/serilog.3.1.1.nupkg") == 1


def test_a_package_that_could_not_be_stored_after_its_answer_is_fetched_again(
    upstream, monkeypatch, caplog
):
    """Should storing fail once the answer has gone, the client has the package,
    nothing is kept (no file, no row) and the fetch lock is free: the next download
    fetches it again and stores it."""
    data = nupkg("Serilog", "3.1.1")
    upstream.add("Serilog", "3.1.1", data)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(lifecycle, "cache_upstream_version", broken)
        with caplog.at_level(logging.WARNING, logger="galley.upstreams"):
            assert body(Client().get(nupkg_url("Serilog", "3.1.1"))) == data
    assert "could not be stored" in caplog.text
    assert not PackageVersion.objects.exists()
    assert shared_cache.get("galley:upstream-fetch:serilog:3.1.1") is None
    assert body(Client().get(nupkg_url("Serilog", "3.1.1"))) == data
    assert PackageVersion.objects.get().upstream == upstream.index
    assert upstream.requests.count("/v3-flatcontainer/serilog/3.1.1/serilog.3.1.1.nupkg") == 2


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_RANGE": "bytes=0-99"}, {"HTTP_IF_NONE_MATCH": '"other"'}, "large", "head"],
    ids=["range", "conditional", "over-the-limit", "head"],
)
def test_other_first_downloads_are_answered_once_stored(upstream, monkeypatch, headers):
    """A ranged or conditional download, a HEAD, and a package over the limit for
    holding it in memory are stored first, then answered from storage."""
    from packages.feed_views import package_content
    from packages.upstreams import cache as upstream_cache

    data = nupkg("Serilog", "3.1.1")
    upstream.add("Serilog", "3.1.1", data)
    factory, url = RequestFactory(), nupkg_url("Serilog", "3.1.1")
    if headers == "large":
        monkeypatch.setattr(upstream_cache, "ANSWER_FIRST_LIMIT", len(data) - 1)
        request = factory.get(url)
    elif headers == "head":
        request = factory.head(url)
    else:
        request = factory.get(url, **headers)
    with served():
        response = package_content(request, "Serilog", "3.1.1", "serilog.3.1.1.nupkg")
        assert response.status_code in (200, 206)
        assert PackageVersion.objects.filter(upstream=upstream.index).exists()  # stored first
    response.close()


def test_metadata_read_for_an_answer_is_kept_once_it_is_sent(client, upstream, monkeypatch):
    """A feed read does not wait for the metadata's write; an administrator's refresh
    keeps it at once."""
    from packages.upstreams import cache
    from packages.upstreams.models import UpstreamMetadata

    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    deferred = []
    monkeypatch.setattr(cache, "after_response", deferred.append)
    assert client.get(f"{FLAT}/serilog/index.json").json() == {"versions": ["3.1.1"]}
    assert not UpstreamMetadata.objects.exists() and len(deferred) == 1
    deferred[0]()
    assert UpstreamMetadata.objects.get().entries[0]["version"] == "3.1.1"
    UpstreamMetadata.objects.all().delete()
    assert cache.refresh("serilog") and UpstreamMetadata.objects.exists()
