import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

from tests.conftest import required
from tests.packages.builders import DLL, PDB
from tests.servers import ROOT, Instance, database_url

NUSPEC = """<?xml version="1.0"?>
<package xmlns="http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>alice</authors>
    <description>Pushed by Galley's client tests.</description>
  </metadata>
  <files><file src="readme.txt" target="content" /></files>
</package>
"""


class MonoCrashed(Exception):
    """mono aborted inside its own runtime (SIGABRT and its "Native Crash Reporting"),
    as a race between its threads at exit does, rarely, after the command's work is
    done: the client crashed, Galley did not answer wrongly. tests/conftest.py runs a
    test that raises this once more, and only then."""


def ran(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """The client's result, unless mono itself crashed (MonoCrashed)."""
    aborted = result.returncode in (-signal.SIGABRT, 128 + signal.SIGABRT)
    if aborted and "Native Crash Reporting" in result.stdout + result.stderr:
        raise MonoCrashed(f"mono itself crashed: {result.args[:3]}\n{result.stdout}{result.stderr}")
    return result


class NuGet:
    """Debian's NuGet 2.8.7 command-line client, with a home of its own."""

    def __init__(self, executable: str, home: Path):
        self.executable = executable
        self.home = home

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = {"HOME": str(self.home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
        return ran(
            subprocess.run(
                [self.executable, *args, "-NonInteractive"],
                cwd=self.home,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        )

    def pack(self, package_id: str, version: str) -> Path:
        work = self.home / f"{package_id}.{version}"
        work.mkdir()
        (work / "readme.txt").write_text("hello\n")
        nuspec = work / f"{package_id}.nuspec"
        nuspec.write_text(NUSPEC.format(id=package_id, version=version))
        # Paths relative to the client's home: on mono, NuGet 2.8.7 takes a
        # leading "/" for an option switch.
        relative = work.relative_to(self.home)
        result = self.run(
            "pack",
            f"{relative}/{nuspec.name}",
            "-OutputDirectory",
            str(relative),
            "-BasePath",
            str(relative),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        (package,) = work.glob("*.nupkg")
        return package.relative_to(self.home)


@pytest.fixture
def nuget(tmp_path):
    executable = shutil.which("nuget")
    if executable is None:
        if required("nuget"):
            pytest.fail("the NuGet client is missing (CI installs Debian's nuget package)")
        pytest.skip("the NuGet client is not installed: apt-get install nuget")
    home = tmp_path / "nuget-home"
    home.mkdir()
    return NuGet(executable, home)


NUGET_EXE = ROOT / "node_modules" / "nuget-exe" / "nuget-5.8.0.exe"

# The nuspec of nuget.exe 5.8's packages: a library and its symbols, so that
# `pack -Symbols -SymbolPackageFormat snupkg` has a .pdb to put in the .snupkg.
NUSPEC_LIBRARY = """<?xml version="1.0"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <authors>alice</authors>
    <description>Pushed by Galley's client tests.</description>
    <dependencies><group targetFramework="netstandard2.0" /></dependencies>
  </metadata>
  <files>
    <file src="lib/{id}.dll" target="lib/netstandard2.0" />
    <file src="lib/{id}.pdb" target="lib/netstandard2.0" />
  </files>
</package>
"""

NUGET_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><clear /></packageSources>
  <config><add key="globalPackagesFolder" value="{packages}" /></config>
</configuration>
"""


class NuGet58:
    """nuget.exe 5.8 (npm's nuget-exe) on mono: the current client CI can install.

    It has a home, a NuGet.Config (no nuget.org source) and caches of its own,
    and runs in the language each call asks for, as a person's terminal would.
    """

    def __init__(self, mono: str, executable: Path, home: Path):
        self.mono = mono
        self.executable = executable
        self.home = home
        self.config = home / "NuGet.Config"
        self.config.write_text(NUGET_CONFIG.format(packages=home / "global-packages"))

    def run(self, *args: str, lang: str = "en_US.UTF-8") -> subprocess.CompletedProcess:
        env = {
            "HOME": str(self.home),
            "PATH": os.environ["PATH"],
            "LANG": lang,
            "NUGET_PACKAGES": str(self.home / "global-packages"),
            "NUGET_HTTP_CACHE_PATH": str(self.home / "http-cache"),
            "NUGET_PLUGINS_CACHE_PATH": str(self.home / "plugins-cache"),
        }
        return ran(
            subprocess.run(
                [
                    self.mono,
                    str(self.executable),
                    *args,
                    "-NonInteractive",
                    "-ConfigFile",
                    str(self.config),
                ],
                cwd=self.home,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        )

    def pack(
        self,
        package_id: str,
        version: str,
        *,
        symbols: bool = False,
        dll: bytes = DLL,
        pdb: bytes = PDB,
    ) -> Path:
        """Pack a library; with `symbols`, also `<id>.<version>.snupkg` beside the .nupkg.

        The library is a real assembly and its portable PDB (tests/data/symbols), so
        that the symbol package passes the checks a push makes (or `pdb` another)."""
        work = self.home / f"{package_id}.{version}"
        (work / "lib").mkdir(parents=True)
        (work / "lib" / f"{package_id}.dll").write_bytes(dll)
        (work / "lib" / f"{package_id}.pdb").write_bytes(pdb)
        nuspec = work / f"{package_id}.nuspec"
        nuspec.write_text(NUSPEC_LIBRARY.format(id=package_id, version=version))
        options = ["-Symbols", "-SymbolPackageFormat", "snupkg"] if symbols else []
        result = self.run(
            "pack", str(nuspec), "-OutputDirectory", str(work), "-BasePath", str(work), *options
        )
        assert result.returncode == 0, result.stdout + result.stderr
        (package,) = work.glob("*.nupkg")
        return package


@pytest.fixture
def nuget58(tmp_path):
    mono = shutil.which("mono")
    if mono is None or not NUGET_EXE.exists():
        if required("nuget"):
            pytest.fail(
                "nuget.exe 5.8 cannot run: CI installs mono-complete (apt) and nuget-exe (npm ci)"
            )
        pytest.skip("nuget.exe 5.8 needs mono-complete (apt) and nuget-exe (npm ci)")
    home = tmp_path / "nuget58-home"
    home.mkdir()
    return NuGet58(mono, NUGET_EXE, home)


def _server_env(tmp_path: Path, *, debug: bool, extra: dict) -> dict:
    from django.conf import settings

    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1" if debug else "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # The keys the tests create are hashed by this process: same secret.
        "GALLEY_KEY_HASH_SECRET": settings.GALLEY_KEY_HASH_SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GALLEY_HTTPS": "0",
        "DATABASE_URL": database_url(connection.settings_dict),
        "GALLEY_DATA_DIR": str(tmp_path / "data"),
        "GALLEY_PACKAGES_DIR": str(tmp_path / "packages"),
        "GALLEY_EMAIL_BACKEND": "file",
        "GALLEY_EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "GALLEY_LOG_LEVEL": "INFO",
        # Small, so that a test that stops sending is cut quickly; the clients'
        # packages are a few kilobytes and arrive well within the grace window.
        "GALLEY_BODY_IDLE_TIMEOUT": "5",
        "GALLEY_BODY_MIN_RATE": "1024",
        "GALLEY_BODY_GRACE_SECONDS": "5",
        **extra,
    }


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """Production settings serve hashed static files: collect them once per run."""
    root = tmp_path_factory.mktemp("static")
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "GALLEY_KEY_HASH_SECRET": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "GALLEY_STATIC_ROOT": str(root),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return root


@pytest.fixture
def start_galley(transactional_db, tmp_path, request):
    """Start Galley under gunicorn on the suite's test database: `start_galley(dev=…, **env)`.

    dev=False is production (config/gunicorn.py, DEBUG off, as `make serve`);
    dev=True is what `make run` starts (config/gunicorn_dev.py, DEBUG on).
    The server's packages folder is `server.packages_dir`.
    """
    if connection.vendor != "postgresql":
        pytest.skip(
            "gunicorn must read the test database from another process: runs on "
            "PostgreSQL only (CI's DATABASE_URL pass), once"
        )
    # The cache is a table of the test database (no REDIS_URL): rate limits and
    # last-used marks must not carry over from the previous test.
    cache.clear()
    started = []

    def start(*, dev: bool = False, workers: int | None = 2, **extra):
        folder = tmp_path / f"server-{len(started)}"
        folder.mkdir()
        env = _server_env(folder, debug=dev, extra=extra)
        # A log per test (test-artifacts/gunicorn-client-<test>.log), kept for CI.
        name = "client-" + re.sub(r"[^\w.-]+", "_", request.node.name) + f"-{len(started)}"
        if dev:
            server = Instance(name, env, config="config/gunicorn_dev.py", workers=None)
        else:
            env["GALLEY_STATIC_ROOT"] = str(request.getfixturevalue("collected_static"))
            # workers=None: as many as config/gunicorn.py says, as `make serve` runs.
            server = Instance(name, env, workers=workers)
        server.packages_dir = folder / "packages"
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def galley_server(start_galley):
    """Galley with production settings under gunicorn, as `make serve` runs it."""
    return start_galley()


@pytest.fixture
def galley_dev_server(start_galley):
    """Galley as `make run` serves it: gunicorn with config/gunicorn_dev.py, DEBUG on."""
    return start_galley(dev=True)


def stored_files(server) -> list[str]:
    """The files in a server's packages folder, relative to it."""
    folder = server.packages_dir
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
