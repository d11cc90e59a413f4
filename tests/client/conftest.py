import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import required

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


class NuGet:
    """Debian's NuGet 2.8.7 command-line client, with a home of its own."""

    def __init__(self, executable: str, home: Path):
        self.executable = executable
        self.home = home

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = {"HOME": str(self.home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
        return subprocess.run(
            [self.executable, *args, "-NonInteractive"],
            cwd=self.home,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
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


@pytest.fixture
def package_dir(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "packages": {
            "BACKEND": "packages.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": tmp_path / "packages"},
        },
    }
    return tmp_path / "packages"
