"""The key and publish tests hold with the clock three years ahead.

time-machine moves only Python's clock; Debian's faketime (libfaketime) moves the whole
process's, so a test that compares the real clock with a year written into it (a key
"expires by 2028") fails here years before it would fail in CI's calendar.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import required
from tests.servers import ROOT

AHEAD = "+1095d"
# Keys (expiry, notices, scopes) and pushes (expired-key refusals): where dates matter,
# and cheap enough to run in every pass (about half a minute).
SUBSET = [
    "tests/apikeys",
    "tests/packages/test_publish_api.py",
    "tests/packages/test_push_bodies.py",
]


@pytest.fixture
def faketime():
    path = shutil.which("faketime")
    if path is None:
        if required("faketime"):
            pytest.fail("no faketime (CI installs Debian's faketime package)")
        pytest.skip("no faketime: install Debian's faketime to run the tests three years ahead")
    if "FAKETIME" in os.environ:
        pytest.skip("the whole run is under faketime already")
    return path


def test_the_key_and_publish_tests_pass_three_years_ahead(faketime):
    # On the suite's SQLite (an in-memory test database), never on the database the
    # running suite uses: a second test database of the same name would clash with it.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTEST_ADDOPTS")}
    ahead = float(
        subprocess.run(
            [faketime, "-f", AHEAD, sys.executable, "-c", "import time; print(time.time())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert 1094 < (ahead - time.time()) / 86400 < 1096  # faketime does move the clock

    result = subprocess.run(
        [
            faketime,
            "-f",
            AHEAD,
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-m",
            "not browser and not client and not scale",
            *SUBSET,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
