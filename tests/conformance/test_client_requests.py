"""The real client's requests, each checked against the documented shapes: nuget.exe 5.8
(on mono) pushes with symbols, installs, searches and deletes against Galley under
gunicorn, and every request it made (gunicorn's access log, config/gunicorn.py) is one
the docs describe, answered with a documented status.

Runs on PostgreSQL only, once in CI (the `client` mark; tests/client/conftest.py).
"""

import os
import re
import subprocess

import pytest

from packages.models import PackageVersion, SymbolPackage
from tests.factories import make_key

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]

PACKAGE = "Contoso.Conformance"
LOWER = PACKAGE.lower()
# gunicorn's access line: '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
ACCESS = re.compile(r'^\S+ "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.[01]" (?P<status>\d{3}) ')

# (name, method, path and query, documented statuses), from docs/api/*.md.
ID = r"[a-z0-9._-]+"  # LOWER_ID: "The package ID, lowercased"
VERSION = r"[0-9a-z.+-]+"  # LOWER_VERSION: normalized and lowercased
DOCUMENTED = [
    ("service index", "GET", r"/v3/index\.json", {200}),
    ("versions index", "GET", rf"/v3-flatcontainer/(?P<id>{ID})/index\.json", {200, 404}),
    (
        ".nupkg",
        "GET",
        rf"/v3-flatcontainer/(?P<id>{ID})/(?P<v>{VERSION})/(?P=id)\.(?P=v)\.nupkg",
        {200, 404},
    ),
    ("registration index", "GET", rf"/v3/registration/(?P<id>{ID})/index\.json", {200, 404}),
    ("registration leaf", "GET", rf"/v3/registration/(?P<id>{ID})/(?P<v>{VERSION})\.json", {200}),
    ("search", "GET", r"/query\?(q|skip|take|prerelease|semVerLevel|packageType)=.*", {200}),
    ("autocomplete", "GET", r"/autocomplete\?.*", {200}),
    ("push", "PUT", r"/api/v2/package/?", {201, 202, 400, 409}),
    ("symbol push", "PUT", r"/api/v2/symbolpackage/?", {201}),
    ("delete", "DELETE", r"/api/v2/package/[^/?]+/[^/?]+", {200, 204, 404}),
]


def documented(method: str, target: str, status: int) -> str | None:
    """The name of the documented request this is, or None."""
    for name, expected_method, pattern, statuses in DOCUMENTED:
        if method == expected_method and re.fullmatch(pattern, target) and status in statuses:
            return name
    return None


def requests_in(server) -> list[tuple[str, str, int]]:
    """(method, target, status) of every request in the server's access log but the
    test's own health checks."""
    found = []
    for line in server.log.read_text(errors="replace").splitlines():
        match = ACCESS.match(line)
        if match and match["target"] != "/healthz":
            found.append((match["method"], match["target"], int(match["status"])))
    return found


def search(nuget58, *terms_and_options):
    """`nuget search` refuses -ConfigFile in nuget.exe 5.8 (see tests/client/test_restore.py)."""
    env = {
        "HOME": str(nuget58.home),
        "PATH": os.environ["PATH"],
        "LANG": "en_US.UTF-8",
        "NUGET_HTTP_CACHE_PATH": str(nuget58.home / "http-cache"),
    }
    return subprocess.run(
        [nuget58.mono, str(nuget58.executable), "search", *terms_and_options],
        cwd=nuget58.home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_nuget_exe_makes_only_documented_requests(nuget58, galley_server, alice):
    """Push with symbols, install, search and delete with nuget.exe 5.8: every request the
    client made is a documented one, with a documented status, and lowercased where the
    docs say so (LOWER_ID, LOWER_VERSION); each resource was used."""
    server = galley_server
    source = f"{server.url}/v3/index.json"
    secret = make_key(alice, scopes=["package:push", "package:unlist"])[1]
    package = nuget58.pack(PACKAGE, "1.2.0-Beta+build.9", symbols=True)

    pushed = nuget58.run("push", str(package), "-Source", source, "-ApiKey", secret)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr + server.log_tail()
    version = PackageVersion.objects.get(registration__normalized_id=LOWER)
    assert SymbolPackage.objects.filter(version=version).exists()

    out = nuget58.home / "installed"
    installed = nuget58.run(
        "install",
        PACKAGE,
        "-Version",
        "1.2.0-beta",
        "-Source",
        source,
        "-OutputDirectory",
        str(out),
        "-NoCache",
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr + server.log_tail()
    # The folder takes the version as the registration writes it (1.2.0-Beta).
    (saved,) = out.glob(f"{PACKAGE}.1.2.0-Beta/*.nupkg")
    assert saved.read_bytes() == package.read_bytes()

    found = search(nuget58, "conformance", "-Source", source, "-PreRelease", "-NonInteractive")
    assert found.returncode == 0 and PACKAGE in found.stdout, found.stdout + found.stderr

    deleted = nuget58.run("delete", PACKAGE, "1.2.0-beta", "-Source", source, "-ApiKey", secret)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr + server.log_tail()
    version.refresh_from_db()
    assert version.listed is False

    requests = requests_in(server)
    undocumented = [r for r in requests if documented(*r) is None]
    assert not undocumented, f"not as documented: {undocumented}\n{requests}"
    used = {documented(*r) for r in requests}
    assert {"service index", "push", "symbol push", ".nupkg", "search", "delete"} <= used, used
    assert used & {"versions index", "registration index"}, used
    # LOWER_ID and LOWER_VERSION are lowercased in every read URL the client built.
    for _method, target, _status in requests:
        if target.startswith(("/v3-flatcontainer/", "/v3/registration/")):
            assert target == target.lower(), target
    # The delete names the version as pushed, and answered as Galley documents (200).
    assert ("DELETE", f"/api/v2/package/{PACKAGE}/1.2.0-beta", 200) in requests
