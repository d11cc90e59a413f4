"""A second Galley as the upstream, nuget.exe 5.8 restoring through the first.

The upstream Galley runs under gunicorn with its own SQLite database file and
package folder on a free loopback port, seeded through its publish API with a
key made by `manage.py shell -c`. The downstream Galley (the suite's PostgreSQL
test database) lists it in GALLEY_UPSTREAMS and is the client's only source.
"""

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from packages.models import PackageVersion, ReservedPrefix
from tests.factories import make_key
from tests.servers import ROOT, Instance

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]

SEED_KEY = """
from tests.factories import UserFactory, make_key
user = UserFactory(username="upstreamer")
_key, secret = make_key(user, scopes=["package:push", "package:unlist"])
print(secret)
"""


class UpstreamGalley:
    def __init__(self, folder: Path):
        folder.mkdir()
        self.env = {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GALLEY_HTTPS": "0",
            "DATABASE_URL": f"sqlite:///{folder / 'upstream.sqlite3'}",
            "GALLEY_DATA_DIR": str(folder / "data"),
            "GALLEY_PACKAGES_DIR": str(folder / "packages"),
            "GALLEY_EMAIL_BACKEND": "file",
            "GALLEY_EMAIL_FILE_PATH": str(folder / "mail"),
        }
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("createcachetable")
        self.secret = self.manage("shell", "-c", SEED_KEY).strip().splitlines()[-1]
        self.server = Instance(
            "upstream-galley", self.env, config="config/gunicorn_dev.py", workers=None
        )
        self.index = f"{self.server.url}/v3/index.json"

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def unlist(self, package_id: str, version: str) -> None:
        request = urllib.request.Request(
            f"{self.server.url}/api/v2/package/{package_id}/{version}",
            method="DELETE",
            headers={"X-NuGet-ApiKey": self.secret},
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.status in (200, 204)


@pytest.fixture
def upstream_galley(tmp_path):
    galley = UpstreamGalley(tmp_path / "upstream")
    yield galley
    galley.server.stop()


def said(result) -> str:
    return result.stdout + result.stderr


def pack(nuget58, package_id, version, outgoing: Path) -> Path:
    outgoing.mkdir(exist_ok=True)
    packed = nuget58.pack(package_id, version)
    moved = packed.rename(outgoing / f"{package_id}.{version}.nupkg")
    shutil.rmtree(nuget58.home / f"{package_id}.{version}")  # the same id may be packed again
    return moved


def push(nuget58, package: Path, source: str, secret: str):
    result = nuget58.run("push", str(package), "-Source", source, "-ApiKey", secret)
    assert result.returncode == 0, said(result)


def install(nuget58, source, out: Path, package_id, *options):
    return nuget58.run(
        "install",
        package_id,
        "-Source",
        source,
        "-OutputDirectory",
        str(out),
        "-NoCache",
        *options,
    )


def installed_bytes(out: Path, package_id: str, version: str) -> bytes:
    folder = out / f"{package_id}.{version}"
    return (folder / f"{package_id}.{version}.nupkg").read_bytes()


def http(url: str, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_nuget_restores_through_galley_from_a_second_galley(
    nuget58, start_galley, upstream_galley, alice, tmp_path
):
    up = upstream_galley
    outgoing = tmp_path / "outgoing"
    logging = {v: pack(nuget58, "Fabrikam.Logging", v, outgoing) for v in ("1.0.0", "2.0.0")}
    extra = pack(nuget58, "Fabrikam.Extra", "1.0.0", outgoing)
    theirs = pack(nuget58, "Contoso.Core", "1.0.0", outgoing / "theirs")
    later = pack(nuget58, "Contoso.Core", "3.0.0", outgoing / "theirs")
    reserved = pack(nuget58, "Northwind.Data", "1.0.0", outgoing)
    for package in (*logging.values(), extra, theirs, later, reserved):
        push(nuget58, package, up.index, up.secret)
    up.unlist("Fabrikam.Logging", "2.0.0")

    upstreams = {"GALLEY_UPSTREAMS": up.index, "GALLEY_UPSTREAM_METADATA_TTL": "0"}
    galley = start_galley(**upstreams)
    private = start_galley(GALLEY_FEED_READ="authenticated", **upstreams)
    source = f"{galley.url}/v3/index.json"

    # An upstream-only package installs, byte for byte the upstream's.
    out = tmp_path / "out"
    result = install(nuget58, source, out, "Fabrikam.Logging", "-Version", "1.0.0")
    assert result.returncode == 0, said(result) + galley.log_tail()
    assert installed_bytes(out, "Fabrikam.Logging", "1.0.0") == logging["1.0.0"].read_bytes()
    # The unlisted one restores by exact version and stays out of search.
    result = install(nuget58, source, out, "Fabrikam.Logging", "-Version", "2.0.0")
    assert result.returncode == 0, said(result) + galley.log_tail()
    assert PackageVersion.objects.get(version="2.0.0").listed is False
    _status, found = http(f"{galley.url}/query?q=Fabrikam.Logging&prerelease=true")
    assert [(d["id"], d["version"]) for d in json.loads(found)["data"]] == [
        ("Fabrikam.Logging", "1.0.0")
    ]

    # A locally pushed id shadows the upstream's versions, the same one included.
    _key, secret = make_key(alice, glob_patterns=["Contoso.*"])
    ours = pack(nuget58, "Contoso.Core", "1.0.0", outgoing / "ours")
    push(nuget58, ours, source, secret)
    result = install(nuget58, source, out, "Contoso.Core")
    assert result.returncode == 0, said(result)
    assert installed_bytes(out, "Contoso.Core", "1.0.0") == ours.read_bytes()
    assert install(nuget58, source, out, "Contoso.Core", "-Version", "3.0.0").returncode != 0
    # So does a reserved prefix.
    ReservedPrefix.objects.create(prefix="Northwind.*", owner=alice)
    assert install(nuget58, source, out, "Northwind.Data", "-Version", "1.0.0").returncode != 0
    assert not PackageVersion.objects.filter(registration__normalized_id="northwind.data")

    # A private downstream serves upstream packages to a read key, not to anyone.
    _key, read = make_key(alice, scopes=["package:read"], glob_patterns=["Contoso.*"])
    url = f"{private.url}/v3-flatcontainer/fabrikam.extra/index.json"
    assert http(url)[0] == 401
    token = base64.b64encode(f"alice:{read}".encode()).decode()
    assert http(url, {"Authorization": f"Basic {token}"}) == (200, b'{"versions":["1.0.0"]}')

    # With the upstream stopped, a cached package still installs; a never-fetched
    # one fails cleanly.
    up.server.stop()
    again = tmp_path / "again"
    result = install(nuget58, source, again, "Fabrikam.Logging", "-Version", "1.0.0")
    assert result.returncode == 0, said(result) + galley.log_tail()
    assert installed_bytes(again, "Fabrikam.Logging", "1.0.0") == logging["1.0.0"].read_bytes()
    result = install(nuget58, source, again, "Fabrikam.Extra", "-Version", "1.0.0")
    assert result.returncode != 0
    status, _body = http(
        f"{galley.url}/v3-flatcontainer/fabrikam.extra/1.0.0/fabrikam.extra.1.0.0.nupkg"
    )
    assert status == 502
    # No answer was a 5xx other than the 502s above (the access log's status column;
    # a 200 of 500 bytes is "200 500").
    statuses = re.findall(r'HTTP/1\.1" (\d{3}) ', galley.log_tail(20000))
    assert "500" not in statuses, statuses
