"""A faulty upstream: every fault is a clean answer (502: the upstream, not the
client, is at fault, and NuGet reports it and retries rather than taking the id
for missing), nothing is stored, nothing answers 500."""

import logging

import pytest
from django.core.cache import cache as shared_cache

from packages.models import PackageVersion
from packages.upstreams import cache
from tests.helpers import stored_files
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db

NUPKG = "/v3-flatcontainer/serilog/3.1.1/serilog.3.1.1.nupkg"


@pytest.fixture
def serilog(upstream):
    upstream.add("Serilog", "3.1.1", nupkg("Serilog", "3.1.1"))
    upstream.add("Contoso.Core", "3.1.1", nupkg("Contoso.Core", "3.1.1"))
    return upstream


def refused_cleanly(response, package_dir):
    assert response.status_code == 502, response.content
    assert response.json()["error"]
    assert response["Cache-Control"] == "no-store"
    assert not PackageVersion.objects.exists()
    assert stored_files(package_dir) == [] if package_dir.exists() else True


@pytest.mark.parametrize("fault", ["500", "slow", "truncated", "huge"])
def test_a_faulty_package_download_is_a_502_and_stores_nothing(
    client, serilog, package_dir, settings, fault, caplog
):
    settings.GALLEY_MAX_PACKAGE_SIZE = 1024 * 1024  # "huge" sends 4 MiB
    serilog.faults["/v3-flatcontainer/"] = fault
    with caplog.at_level(logging.INFO, "galley.upstreams"):
        refused_cleanly(client.get(NUPKG), package_dir)
    reason = {
        "500": "answered 500",
        "slow": "ReadTimeout",
        "truncated": "RemoteProtocolError",
        "huge": "is over 1048576 bytes",
    }[fault]
    assert reason in caplog.text


@pytest.mark.parametrize("fault", ["500", "slow", "truncated", "huge"])
def test_faulty_metadata_with_nothing_cached_is_a_502(client, serilog, package_dir, fault):
    serilog.faults["/v3/registration/"] = fault
    response = client.get("/v3-flatcontainer/serilog/index.json")
    refused_cleanly(response, package_dir)
    registration = client.get("/v3/registration/serilog/index.json")
    assert registration.status_code == 502


def test_an_oversized_package_is_refused_by_its_declared_length(
    client, serilog, package_dir, settings, caplog
):
    settings.GALLEY_MAX_PACKAGE_SIZE = 100
    with caplog.at_level(logging.INFO, "galley.upstreams"):
        refused_cleanly(client.get(NUPKG), package_dir)
    assert "bytes, over 100" in caplog.text


def test_a_package_claiming_another_id_is_refused(client, serilog, package_dir):
    serilog.faults["/v3-flatcontainer/serilog/"] = "serve:contoso.core/3.1.1"
    refused_cleanly(client.get(NUPKG), package_dir)


def test_a_package_that_is_not_a_zip_is_refused(client, serilog, package_dir):
    serilog.packages[("serilog", "3.1.1")] = b"not a zip at all"
    refused_cleanly(client.get(NUPKG), package_dir)


def test_a_version_the_upstream_lacks_is_a_404(client, serilog):
    response = client.get("/v3-flatcontainer/serilog/9.9.9/serilog.9.9.9.nupkg")
    assert response.status_code == 404


def test_a_request_waits_for_the_fetch_under_way_instead_of_fetching_again(serilog, monkeypatch):
    """Concurrent first requests fetch a file once: the second finds the lock of the
    first and waits for its version instead of asking the upstream."""
    lock = "galley:upstream-fetch:serilog:3.1.1"
    shared_cache.add(lock, 1)
    entry = {"version": "3.1.1", "listed": True}

    waited = []

    def the_first_request_finishes(_seconds):
        waited.append(True)
        shared_cache.delete(lock)
        cache.fetch_package("serilog", "3.1.1", entry, serilog.index)

    monkeypatch.setattr(cache.time, "sleep", the_first_request_finishes)
    version = cache.fetch_package("serilog", "3.1.1", entry, serilog.index)
    assert waited == [True]
    fetches = [path for path in serilog.requests if path.endswith(".nupkg")]
    assert fetches == ["/v3-flatcontainer/serilog/3.1.1/serilog.3.1.1.nupkg"]
    assert version == PackageVersion.objects.get()
