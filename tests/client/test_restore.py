"""nuget.exe 5.8 (on mono) restores from Galley: the read side, proved with the real client.

Packages go in through Galley (`nuget push` through /v3/index.json) and come
back out through `nuget install` and `nuget restore` of a packages.config
project, against gunicorn with production settings: the latest version, exact
versions, prereleases, a SemVer 2.0.0 version and an unlisted one; the bytes the
client saved are the bytes pushed. A private feed
(GALLEY_FEED_READ=authenticated) reads with the user name and a "Read packages"
key from NuGet.Config, and refuses the client without them.

`nuget search` (SearchQueryService) finds the latest listed version. `nuget
list` is not here: nuget.exe 5.8 lists through a V2 feed only; against
/v3/index.json it prints "WARNING: This version of nuget.exe does not support
listing packages from package source …" and "No packages found." (it looks for
the service index's LegacyGallery resource, a V2 feed, which Galley does not serve).
"""

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from packages.models import PackageVersion
from tests.factories import make_key
from tests.packages.builders import DLL

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]

WIDGETS = "Contoso.Widgets"
# Listed releases, one to unlist, a SemVer 1.0.0 prerelease and a SemVer 2.0.0 one.
WIDGET_VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0-rc1", "2.0.0-beta.1+build.5")
UNLISTED = "1.2.0"


def index(server) -> str:
    return f"{server.url}/v3/index.json"


def said(result) -> str:
    """What the client printed, on either stream."""
    return result.stdout + result.stderr


def explain(result, server) -> str:
    return f"exit {result.returncode}\n{said(result)}\n--- server log ---\n{server.log_tail()}"


def pack_all(nuget58, package_id: str, versions, outgoing: Path) -> dict[str, Path]:
    """Pack each version into one folder, for a single `nuget push <folder>/*.nupkg`."""
    outgoing.mkdir(exist_ok=True)
    packages = {}
    for version in versions:
        packed = nuget58.pack(package_id, version)
        packages[version] = packed.rename(outgoing / packed.name)
    return packages


def push_all(nuget58, outgoing: Path, source: str, secret: str, server):
    result = nuget58.run("push", str(outgoing / "*.nupkg"), "-Source", source, "-ApiKey", secret)
    assert result.returncode == 0, explain(result, server)
    return result


def unlist(server, secret: str, package_id: str, version: str) -> None:
    request = urllib.request.Request(
        f"{server.url}/api/v2/package/{package_id}/{version}",
        method="DELETE",
        headers={"X-NuGet-ApiKey": secret},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200


def install(nuget58, source: str, out: Path, *options: str, package_id: str = WIDGETS):
    """`nuget install`, fetching from `source` even what an earlier install cached
    (-NoCache: not from the global packages folder, not from the HTTP cache)."""
    return nuget58.run(
        "install", package_id, "-Source", source, "-OutputDirectory", str(out), "-NoCache", *options
    )


def search(nuget58, *terms_and_options: str) -> subprocess.CompletedProcess:
    """`nuget search`, run as NuGet58.run does but without -ConfigFile, which this
    one command of nuget.exe 5.8 refuses; with -Source it asks only Galley."""
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


def installed(out: Path) -> list[str]:
    """The folders the client made in its output directory."""
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


def fetch(url: str, auth: tuple[str, str] | None = None):
    """(status, headers, body) of a GET, errors included."""
    headers = {}
    if auth is not None:
        token = base64.b64encode(":".join(auth).encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def nuspec_inside(package: Path) -> bytes:
    with zipfile.ZipFile(package) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".nuspec") and "/" not in n]
        return archive.read(name)


def downloaded(server, package_id: str, version: str) -> str:
    """The line nuget.exe prints when it has fetched a .nupkg from Galley."""
    lower = package_id.lower()
    return f"OK {server.url}/v3-flatcontainer/{lower}/{version}/{lower}.{version}.nupkg"


def assert_unpacked(out: Path, package_id: str, version: str, package: Path):
    """`<out>/<Id>.<version>` holds the pushed .nupkg, byte for byte, and its library."""
    folder = out / f"{package_id}.{version}"
    saved = folder / f"{package_id}.{version}.nupkg"
    assert saved.read_bytes() == package.read_bytes(), f"{saved} differs from {package}"
    dll = folder / "lib" / "netstandard2.0" / f"{package_id}.dll"
    assert dll.read_bytes() == DLL  # the real assembly the test packs


def assert_installed(result, server, out: Path, version: str, package: Path):
    """The client fetched WIDGETS `version` from Galley, said so, and unpacked the pushed bytes."""
    assert result.returncode == 0, explain(result, server)
    assert f"Successfully installed '{WIDGETS} {version}'" in said(result), explain(result, server)
    assert downloaded(server, WIDGETS, version) in said(result), said(result)
    assert installed(out) == [f"{WIDGETS}.{version}"], said(result)
    assert_unpacked(out, WIDGETS, version, package)


def test_install_latest_exact_prerelease_semver2_and_unlisted(nuget58, galley_server, alice):
    server = galley_server
    packages = pack_all(nuget58, WIDGETS, WIDGET_VERSIONS, nuget58.home / "outgoing")
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    pushed = push_all(nuget58, nuget58.home / "outgoing", index(server), secret, server)
    assert said(pushed).count("Your package was pushed.") == len(WIDGET_VERSIONS), said(pushed)
    unlist(server, secret, WIDGETS, UNLISTED)
    assert not PackageVersion.objects.get(version=UNLISTED).listed
    source = index(server)

    # The latest, without -Prerelease: no prerelease. Galley's registration marks
    # 1.2.0 unlisted as nuget.org does (listed false, published in 1900), and its
    # search shows 1.1.0 as the latest; but nuget.exe 5.8's `install <id>` asks
    # for unlisted versions too and takes the highest, 1.2.0, from nuget.org
    # just the same (NuGet/Home#7466, fixed in later clients). This pins the
    # client's choice, so that a fixed client shows up here as 1.1.0.
    out = nuget58.home / "latest"
    result = install(nuget58, source, out)
    assert "/v3/registration/contoso.widgets/index.json" in said(result), said(result)
    assert_installed(result, server, out, UNLISTED, packages[UNLISTED])
    status, _, body = fetch(f"{server.url}/v3/registration/contoso.widgets/index.json")
    assert status == 200
    entries = {
        leaf["catalogEntry"]["version"]: leaf["catalogEntry"]
        for page in json.loads(body)["items"]
        for leaf in page["items"]
    }
    assert [v for v, entry in entries.items() if not entry["listed"]] == [UNLISTED]
    assert entries[UNLISTED]["published"].startswith("1900-01-01")
    status, _, body = fetch(f"{server.url}/query?q={WIDGETS}")
    assert status == 200
    assert [(hit["id"], hit["version"]) for hit in json.loads(body)["data"]] == [(WIDGETS, "1.1.0")]

    # The client's own search: the latest listed version, and with -PreRelease the
    # SemVer 2.0.0 one (asked for with semVerLevel=2.0.0); never the unlisted 1.2.0.
    found = search(nuget58, WIDGETS, "-Source", source, "-NonInteractive")
    assert found.returncode == 0, explain(found, server)
    assert f"> {WIDGETS} | 1.1.0 | Downloads: " in said(found), explain(found, server)
    assert said(found).count(" | Downloads: ") == 1, said(found)
    found = search(nuget58, WIDGETS, "-Source", source, "-PreRelease", "-NonInteractive")
    assert found.returncode == 0, explain(found, server)
    assert f"> {WIDGETS} | 2.0.0-beta.1 | Downloads: " in said(found), explain(found, server)
    assert said(found).count(" | Downloads: ") == 1, said(found)

    out = nuget58.home / "exact"
    result = install(nuget58, source, out, "-Version", "1.0.0")
    assert_installed(result, server, out, "1.0.0", packages["1.0.0"])

    # With -Prerelease the latest is the SemVer 2.0.0 version; the client names
    # its folder by the normalised version, without the build metadata.
    semver2 = packages["2.0.0-beta.1+build.5"]
    out = nuget58.home / "prerelease"
    result = install(nuget58, source, out, "-Prerelease")
    assert_installed(result, server, out, "2.0.0-beta.1", semver2)

    out = nuget58.home / "exact-prerelease"
    result = install(nuget58, source, out, "-Version", "1.3.0-rc1")
    assert_installed(result, server, out, "1.3.0-rc1", packages["1.3.0-rc1"])

    # The SemVer 2.0.0 version asked for as it was pushed, build metadata and all.
    out = nuget58.home / "exact-semver2"
    result = install(nuget58, source, out, "-Version", "2.0.0-beta.1+build.5")
    assert_installed(result, server, out, "2.0.0-beta.1", semver2)

    # Unlisted is not deleted: the exact version still installs.
    out = nuget58.home / "exact-unlisted"
    result = install(nuget58, source, out, "-Version", UNLISTED)
    assert_installed(result, server, out, UNLISTED, packages[UNLISTED])

    # The .nuspec at the flat-container URL is the one inside each package.
    base = f"{server.url}/v3-flatcontainer/{WIDGETS.lower()}"
    for version, package in packages.items():
        normalised = version.split("+")[0].lower()
        url = f"{base}/{normalised}/{WIDGETS.lower()}.nuspec"  # the documented address
        status, _, body = fetch(url)
        assert status == 200, url
        assert body == nuspec_inside(package), url
    assert secret not in "".join(said(r) for r in (pushed, result))


PACKAGES_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<packages>
  <package id="Contoso.Widgets" version="1.2.0" targetFramework="net472" />
  <package id="Contoso.Gadgets" version="2.0.0-beta.1" targetFramework="net472" />
</packages>
"""


def test_restore_a_packages_config_project(nuget58, galley_server, alice):
    """`nuget restore` of a packages.config project into its solution's packages folder:
    an unlisted version and a SemVer 2.0.0 prerelease, as a project pins them."""
    server = galley_server
    outgoing = nuget58.home / "outgoing"
    widgets = pack_all(nuget58, WIDGETS, ("1.0.0", UNLISTED), outgoing)
    gadgets = pack_all(nuget58, "Contoso.Gadgets", ("2.0.0-beta.1+build.5",), outgoing)
    _, secret = make_key(alice, scopes=["package:push", "package:unlist"])
    pushed = push_all(nuget58, outgoing, index(server), secret, server)
    assert said(pushed).count("Your package was pushed.") == 3, said(pushed)
    unlist(server, secret, WIDGETS, UNLISTED)

    solution = nuget58.home / "Solution"
    project = solution / "App"
    project.mkdir(parents=True)
    (project / "packages.config").write_text(PACKAGES_CONFIG)
    packages_dir = solution / "packages"
    result = nuget58.run(
        "restore", str(project / "packages.config"),
        "-PackagesDirectory", str(packages_dir), "-Source", index(server),
    )  # fmt: skip
    assert result.returncode == 0, explain(result, server)
    for package_id, version in ((WIDGETS, UNLISTED), ("Contoso.Gadgets", "2.0.0-beta.1")):
        assert f"Adding package '{package_id}.{version}' to folder '{packages_dir}'" in said(
            result
        ), explain(result, server)
        assert downloaded(server, package_id, version) in said(result), said(result)
    assert installed(packages_dir) == ["Contoso.Gadgets.2.0.0-beta.1", f"{WIDGETS}.{UNLISTED}"]
    assert_unpacked(packages_dir, WIDGETS, UNLISTED, widgets[UNLISTED])
    assert_unpacked(
        packages_dir, "Contoso.Gadgets", "2.0.0-beta.1", gadgets["2.0.0-beta.1+build.5"]
    )

    # Restoring again finds everything in place and asks Galley for nothing.
    again = nuget58.run(
        "restore", str(project / "packages.config"),
        "-PackagesDirectory", str(packages_dir), "-Source", index(server),
    )  # fmt: skip
    assert again.returncode == 0, explain(again, server)
    assert "All packages listed in packages.config are already installed." in said(again), said(
        again
    )
    assert server.url not in said(again)


CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="galley" value="{source}" />
  </packageSources>
  <config><add key="globalPackagesFolder" value="{packages}" /></config>
  {credentials}
</configuration>
"""

CREDENTIALS = """<packageSourceCredentials>
    <galley>
      <add key="Username" value="{username}" />
      <add key="ClearTextPassword" value="{password}" />
    </galley>
  </packageSourceCredentials>"""


def use_config(nuget58, name: str, server, credentials: tuple[str, str] | None = None) -> None:
    """Give the client a NuGet.Config with the source `galley`, and these credentials for it."""
    written = ""
    if credentials is not None:
        username, password = credentials
        written = CREDENTIALS.format(username=username, password=password)
    config = nuget58.home / f"{name}.NuGet.Config"
    config.write_text(
        CONFIG.format(
            source=index(server), packages=nuget58.home / "global-packages", credentials=written
        )
    )
    nuget58.config = config


def test_a_private_feed_reads_with_nuget_config_credentials(nuget58, start_galley, alice):
    server = start_galley(GALLEY_FEED_READ="authenticated", GALLEY_SIGNUP="closed")
    _, push_secret = make_key(alice, scopes=["package:push"], name="CI push")
    _, read_secret = make_key(alice, scopes=["package:read"], name="Restore")
    package = nuget58.pack(WIDGETS, "1.0.0")

    # A push-only key in NuGet.Config still reads the service index, so the
    # client finds the push resource and pushes by the source's name.
    use_config(nuget58, "push-only", server, ("alice", push_secret))
    pushed = nuget58.run("push", str(package), "-Source", "galley", "-ApiKey", push_secret)
    assert pushed.returncode == 0, explain(pushed, server)
    assert "Your package was pushed." in said(pushed), explain(pushed, server)
    assert PackageVersion.objects.get().version == "1.0.0"

    # Without credentials: the client stops at the service index, which answered 401.
    use_config(nuget58, "anonymous", server)
    out = nuget58.home / "anonymous"
    result = install(nuget58, "galley", out)
    assert result.returncode != 0, explain(result, server)
    assert "401 (Unauthorized)" in said(result), explain(result, server)
    assert installed(out) == []
    base = f"{server.url}/v3-flatcontainer/contoso.widgets"
    for url in (index(server), f"{base}/index.json", f"{base}/1.0.0/contoso.widgets.1.0.0.nupkg"):
        status, headers, _ = fetch(url)
        assert status == 401, url
        assert headers["WWW-Authenticate"].startswith("Basic "), url

    # The push-only key reads the service index but no package: 403.
    use_config(nuget58, "push-only", server, ("alice", push_secret))
    out = nuget58.home / "push-only"
    result = install(nuget58, "galley", out)
    assert result.returncode != 0, explain(result, server)
    assert "403 (Forbidden)" in said(result), explain(result, server)
    assert installed(out) == []
    status, _, body = fetch(f"{base}/index.json", auth=("alice", push_secret))
    assert status == 403
    assert body == b"The API key's scopes do not allow reading packages.\n"

    # The read key, under its holder's name: the same install as on a public feed.
    use_config(nuget58, "read", server, ("alice", read_secret))
    out = nuget58.home / "read"
    result = install(nuget58, "galley", out)
    assert_installed(result, server, out, "1.0.0", package)
    status, headers, body = fetch(
        f"{base}/1.0.0/contoso.widgets.1.0.0.nuspec", auth=("alice", read_secret)
    )
    assert status == 200 and body == nuspec_inside(package)
    assert headers["Cache-Control"].startswith("private")

    for secret in (push_secret, read_secret):
        assert secret not in server.log.read_text(errors="replace")
