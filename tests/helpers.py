"""Helpers that several test modules share: what a key looks like, the publish API as a
client calls it, the files a push leaves, and `manage.py` in a subprocess.

Test modules import from here (or from tests/packages/builders.py), never from each other.
"""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from tests.packages.builders import nupkg
from tests.servers import ROOT

# The environment of a production start-up that passes `check --deploy`.
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k3y-" + "Zq8vN2xP7rT1wY4uB6mC9dF0gH5jL3s" * 2,
    "GALLEY_KEY_HASH_SECRET": "h4sh-" + "Pw9eR2tY5uI8oA1sD4fG7hJ0kL3zX6c" * 2,
    "DJANGO_ALLOWED_HOSTS": "nuget.example.com",
    "DATABASE_URL": "sqlite:////tmp/galley-check.sqlite3",
    "GALLEY_TRUSTED_PROXY_COUNT": "1",
}

# A key as the API Keys page shows it once (GALLEY_KEY_PREFIX "gly_" and 38 characters).
KEY_RE = re.compile(r"gly_[0-9A-Za-z]{38}")


def push(client, secret, data=None, **extra):
    """PUT a package to the publish API as `nuget push` does (multipart, key in a header)."""
    body = {"package": io.BytesIO(data if data is not None else nupkg())}
    headers = {"X-NuGet-ApiKey": secret} if secret is not None else {}
    # Django's test client only encodes multipart for POST; build it and PUT.
    return client.put(
        "/api/v2/package",
        encode_multipart(BOUNDARY, body),
        content_type=MULTIPART_CONTENT,
        headers=headers,
        **extra,
    )


def push_symbols(client, secret, data):
    """PUT a symbol package (.snupkg) as `nuget push` does."""
    return client.put(
        "/api/v2/symbolpackage",
        encode_multipart(BOUNDARY, {"package": io.BytesIO(data)}),
        content_type=MULTIPART_CONTENT,
        headers={"X-NuGet-ApiKey": secret},
    )


def unlist(client, secret, package_id="Contoso.Core", version="1.0.0", method="delete"):
    """DELETE unlists a version; POST (method="post") relists it."""
    return getattr(client, method)(
        f"/api/v2/package/{package_id}/{version}", headers={"X-NuGet-ApiKey": secret}
    )


def stored_files(folder: Path) -> list[str]:
    """The files under a packages folder, relative to it."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def manage(*args, **env):
    """Run manage.py in a fresh process with only the given DJANGO_/GALLEY_ settings."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "GALLEY_", "DATABASE_", "REDIS_URL"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def python_steps(function, *args, budget: int | None = None, **kwargs):
    """Call function; return (its result, the number of Python lines it ran, callees included).

    Work counted in steps rather than seconds: the figure is the same on any machine and
    under any load, and it grows with the algorithm (a backtracking matcher explodes).
    Past `budget` steps the call is stopped with an AssertionError instead of running on.
    """
    steps = 0

    def trace(frame, event, arg):
        nonlocal steps
        if event == "line":
            steps += 1
            if budget is not None and steps > budget:
                raise AssertionError(f"{function.__name__} took more than {budget} steps")
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        result = function(*args, **kwargs)
    finally:
        sys.settrace(previous)
    return result, steps
