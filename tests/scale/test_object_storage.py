# ruff: noqa: F401, F811  (fixtures imported from tests/s3server.py and tests/client/conftest.py)
"""Two instances on PostgreSQL, Redis and one S3 bucket (moto on loopback): the whole feed.

A package pushed to one instance restores from the other through the real client, an
unlist or a revocation on one is seen by the other at once, and a bounded mixed load
(GALLEY_LOAD_SECONDS, 60 s by default) ends with no error and nothing lost.
"""

import hashlib
import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from packages.models import PackageVersion
from tests.client.conftest import nuget58
from tests.factories import PASSWORD, make_key
from tests.packages.builders import nupkg
from tests.s3server import s3_server
from tests.scale.conftest import person
from tests.scale.http import Browser, get, push
from tests.servers import ROOT

pytestmark = pytest.mark.scale
LOAD_SECONDS = float(os.environ.get("GALLEY_LOAD_SECONDS", "60"))


@pytest.fixture
def bucket(s3_server):
    return s3_server.new_bucket()


@pytest.fixture
def cluster_env(s3_server, bucket):
    """Both instances write to and read from the same bucket, under a prefix."""
    return {**s3_server.env(), "GALLEY_PACKAGE_STORAGE": f"s3://{bucket}/galley"}


def download(base: str, package_id: str, version: str) -> tuple[int, bytes, str]:
    """GET the .nupkg from the flat container, following the redirect to the bucket."""
    lower = package_id.lower()
    path = f"/v3-flatcontainer/{lower}/{version}/{lower}.{version}.nupkg"
    redirects = []

    class Recorder(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, request, fp, code, message, headers, new_url):
            redirects.append((code, new_url))
            return super().redirect_request(request, fp, code, message, headers, new_url)

    opener = urllib.request.build_opener(Recorder())
    try:
        with opener.open(base + path, timeout=20) as response:
            where = redirects[0][1] if redirects else ""
            return response.status, response.read(), where
    except urllib.error.HTTPError as error:
        return error.code, error.read(), ""


def search(base: str, query: str) -> dict:
    status, body = get(base, "/query?" + urllib.parse.urlencode({"q": query, "prerelease": "true"}))
    assert status == 200, body
    return json.loads(body)


def unlist(base: str, secret: str, package_id: str, version: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/v2/package/{package_id}/{version}",
        method="DELETE",
        headers={"X-NuGet-ApiKey": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_package_pushed_to_a_restores_from_b_through_the_client(
    cluster, nuget58, s3_server, bucket
):
    a, b = cluster["a"], cluster["b"]
    alice = person("alice")
    _, secret = make_key(alice, glob_patterns=["Contoso.*"])
    package = nuget58.pack("Contoso.Shared", "1.2.3")
    result = nuget58.run(
        "push", str(package), "-Source", f"{a.url}/v3/index.json", "-ApiKey", secret
    )
    assert result.returncode == 0, result.stdout + result.stderr + a.log_tail()
    version = PackageVersion.objects.get()
    assert f"galley/{version.file.name}" in s3_server.keys(bucket)  # not on A's disk

    out = nuget58.home / "restored"
    result = nuget58.run(
        "install", "Contoso.Shared", "-Version", "1.2.3",
        "-Source", f"{b.url}/v3/index.json", "-OutputDirectory", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr + b.log_tail()
    restored = out / "Contoso.Shared.1.2.3" / "Contoso.Shared.1.2.3.nupkg"
    assert restored.read_bytes() == package.read_bytes()
    assert (out / "Contoso.Shared.1.2.3" / "lib" / "netstandard2.0" / "Contoso.Shared.dll").exists()
    # B sent the client to the bucket: the bytes did not go through Python.
    status, body, where = download(b.url, "Contoso.Shared", "1.2.3")
    assert status == 200 and body == package.read_bytes()
    assert where.startswith(f"{s3_server.endpoint}/{bucket}/galley/contoso.shared/1.2.3.")
    assert "X-Amz-Expires=300" in where


def test_a_version_unlisted_on_b_leaves_a_s_search_at_once(cluster):
    a, b = cluster["a"], cluster["b"]
    alice = person("alice")
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    for version in ("1.0.0", "2.0.0"):
        assert push(a.url, secret, nupkg("Contoso.Listed", version))[0] == 201
    found = search(a.url, "Contoso.Listed")["data"]
    assert [v["version"] for v in found[0]["versions"]] == ["1.0.0", "2.0.0"]

    assert unlist(b.url, secret, "Contoso.Listed", "2.0.0") == 200
    found = search(a.url, "Contoso.Listed")["data"]
    assert found[0]["version"] == "1.0.0"
    assert [v["version"] for v in found[0]["versions"]] == ["1.0.0"]
    # Unlisted is not deleted: an exact restore still finds it, on either instance.
    assert download(a.url, "Contoso.Listed", "2.0.0")[0] == 200


def test_a_key_revoked_on_a_is_refused_on_b(cluster):
    a, b = cluster["a"], cluster["b"]
    alice = person("alice")
    key, secret = make_key(alice)
    assert push(b.url, secret, nupkg("Contoso.Revoked"))[0] == 201
    browser = Browser(a.url)
    assert browser.sign_in("alice", PASSWORD)[0] == 302
    assert browser.post_form(f"/account/apikeys/{key.pk}/revoke", {})[0] == 302
    status, _, headers = push(b.url, secret, nupkg("Contoso.Revoked", "2.0.0"))
    assert status == 403 and headers["X-Galley-Reason"] == "revoked"


class Load:
    """Pushes, downloads, searches and refused pushes against both instances, bounded in time."""

    def __init__(self, bases, secret, refused_secret, stop_at):
        self.bases, self.secret, self.refused_secret = bases, secret, refused_secret
        self.stop_at = stop_at
        self.numbers = itertools.count()
        self.accepted: dict[str, str] = {}  # version -> sha256 of the bytes pushed
        self.lock = threading.Lock()
        self.counts = Counter()
        self.errors: list[str] = []

    def run(self, seed: int):
        chance = random.Random(seed)  # noqa: S311 - picks actions, not secrets
        while time.monotonic() < self.stop_at:
            base = chance.choice(self.bases)
            action = chance.choice(["push", "push", "download", "download", "search", "refused"])
            try:
                getattr(self, action)(base, chance)
            except Exception as error:  # every failure is counted and shown
                self.errors.append(f"{action} {base}: {error!r}")

    def expect(self, what: str, status: int, wanted: int, detail=""):
        with self.lock:
            self.counts[(what, status)] += 1
        if status != wanted:
            self.errors.append(f"{what}: {status} instead of {wanted} {str(detail)[:200]}")

    def push(self, base, chance):
        version = f"1.0.{next(self.numbers)}"
        data = nupkg("Contoso.Load", version)
        status, body, _ = push(base, self.secret, data)
        self.expect("push", status, 201, body)
        if status == 201:
            with self.lock:
                self.accepted[version] = hashlib.sha256(data).hexdigest()

    def download(self, base, chance):
        with self.lock:
            if not self.accepted:
                return
            version, digest = chance.choice(sorted(self.accepted.items()))
        status, body, where = download(base, "Contoso.Load", version)
        self.expect("download", status, 200, where)
        if hashlib.sha256(body).hexdigest() != digest:
            self.errors.append(f"download {version} from {base}: other bytes")

    def search(self, base, chance):
        status, body = get(base, "/query?q=Contoso.Load")
        self.expect("search", status, 200, body)
        if status == 200 and json.loads(body)["totalHits"] > 1:
            self.errors.append("search: Contoso.Load counted more than once")

    def refused(self, base, chance):
        status, body, headers = push(base, self.refused_secret, nupkg("Contoso.Load", "9.9.9"))
        self.expect("refused", status, 403, body)
        if headers.get("X-Galley-Reason") != "package_not_selected":
            self.errors.append(f"refused: {headers.get('X-Galley-Reason')}")


def test_a_mixed_load_on_both_instances_loses_nothing(cluster, s3_server, bucket, cluster_env):
    a, b = cluster["a"], cluster["b"]
    alice = person("alice")
    _, secret = make_key(alice, glob_patterns=["Contoso.*"])
    _, refused_secret = make_key(alice, glob_patterns=["Fabrikam.*"])
    load = Load([a.url, b.url], secret, refused_secret, time.monotonic() + LOAD_SECONDS)
    # The package exists before the load: two first pushes of a new id at the same moment
    # answer 409 "push again" by design (one registration wins), which is not this test.
    load.push(a.url, random.Random(0))
    assert load.accepted and not load.errors, load.errors
    threads = [threading.Thread(target=load.run, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(LOAD_SECONDS + 60)
    assert not any(thread.is_alive() for thread in threads)
    assert not load.errors, load.errors[:10]
    kinds = Counter(what for what, _ in load.counts.elements())
    assert all(kinds[what] > 0 for what in ("push", "download", "search", "refused")), kinds
    print(f"mixed load over {LOAD_SECONDS:.0f} s: {dict(kinds)}")

    # Nothing lost: every accepted push is listed and downloadable, whole, from both.
    assert PackageVersion.objects.filter(registration__normalized_id="contoso.load").count() == len(
        load.accepted
    )
    for base in (a.url, b.url):
        status, body = get(base, "/v3-flatcontainer/contoso.load/index.json")
        assert status == 200
        assert set(json.loads(body)["versions"]) == set(load.accepted)
        for version, digest in load.accepted.items():
            status, data, where = download(base, "Contoso.Load", version)
            assert status == 200 and where.startswith(s3_server.endpoint)
            assert hashlib.sha256(data).hexdigest() == digest, version
    # Each accepted push left its package and its manifest in the bucket, and nothing else.
    assert len(s3_server.keys(bucket, "galley/contoso.load/")) == 2 * len(load.accepted)
    result = subprocess.run(
        [sys.executable, "manage.py", "packages_orphans", "--min-age", "0"],
        cwd=ROOT,
        env={**_instance_env(cluster_env)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("0 orphaned files found."), result.stdout


def _instance_env(extra: dict) -> dict:
    """Enough of an instance's environment for a management command on the same bucket."""
    from django.db import connection

    from tests.servers import database_url

    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url(connection.settings_dict),
        **extra,
    }
