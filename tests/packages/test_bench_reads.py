"""The queries of each read `make bench` times (bench/feed.py count_reads), pinned: the
same reads as the benchmark's report, on a package with more versions than an index
shows inline, for everyone and for a read key, first (the document is built), again
(the process's copy) and revalidated (304)."""

import base64

import pytest
import time_machine

from bench.feed import MANY, VERSIONS, count_reads, many_versions, version_row
from packages import lifecycle
from packages.models import PackageRegistration, PackageVersion
from tests.factories import make_key

pytestmark = pytest.mark.django_db

# name: (first, again, 304); None: not answered 304 (search and autocomplete)
PUBLIC = {
    "service index": (0, 0, 0),
    f"registration index ({VERSIONS} versions, paged)": (2, 1, 1),
    "registration page": (3, 1, 1),
    "registration leaf": (2, 1, 1),
    "versions index": (2, 1, 1),
    "search (take=20)": (5, 5, 5),
    "autocomplete": (2, 2, 2),
}
# A read key that selects no package by name: a document costs what it costs
# everyone (the key is found with the registration and what the rules read, in one
# statement); the service index asks for the key; search and autocomplete also ask
# which organizations the key's owner belongs to, and the packages it may read. The
# key's packages selected by name are never asked: it selects none.
PRIVATE = {
    "service index": (1, 1, 1),
    f"registration index ({VERSIONS} versions, paged)": (2, 1, 1),
    "registration page": (3, 1, 1),
    "registration leaf": (2, 1, 1),
    "versions index": (2, 1, 1),
    "search (take=20)": (8, 8, 8),
    "autocomplete": (5, 5, 5),
}


@pytest.fixture
def many(alice):
    """MANY with its VERSIONS versions, and a package search finds, as the benchmark
    seeds them."""
    registration = PackageRegistration.objects.create(package_id=MANY)
    registration.owners.add(alice)
    found = PackageRegistration.objects.create(package_id="Json.Logging1")
    found.owners.add(alice)
    PackageVersion.objects.bulk_create(
        [*many_versions(registration), version_row(found, "1.0.0", tags="json logging")]
    )
    lifecycle.touch([registration.pk, found.pk])
    return registration


def _figures(counts: dict, audience: str) -> dict:
    return {
        name.removeprefix(f"{audience}: "): (row["first"], row["again"], row["not_modified"])
        for name, row in counts.items()
        if name.startswith(f"{audience}: ")
    }


@time_machine.travel("2026-03-01 12:00:00", tick=False)
def test_each_read_of_the_benchmark_costs_its_pinned_queries(client, alice, many, settings):
    _key, secret = make_key(alice, scopes=["package:read"])
    token = base64.b64encode(f"alice:{secret}".encode()).decode()
    credentials = {"Authorization": f"Basic {token}"}
    settings.GALLEY_FEED_READ = "authenticated"
    client.get("/v3/index.json", headers=credentials)  # the key's first use is written
    counts = count_reads(client, "testserver", credentials)
    assert {row["status"] for row in counts.values()} == {200}
    assert _figures(counts, "public") == PUBLIC
    assert _figures(counts, "private") == PRIVATE
