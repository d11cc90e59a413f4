"""make bench, pages section: the API Keys page stays light with many keys.

An owner with 200 packages and 50 keys, against the same owner with one key:
the HTML size of each page and its server time (rendered in process through
Django's test client on the production configuration, best of REPEAT). Goals
(issue 15): at most 150 KB, and at most 3 times the time of the page with one key.

    python -m bench.pages OUT.json   (run by bench.run in its own interpreter)
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGES = 200
KEYS = 50
REPEAT = 20
SIZE_GOAL = 150 * 1024
TIME_GOAL = 3.0
ROOT = Path(__file__).resolve().parents[1]


def _measure(client) -> tuple[int, float]:
    client.get("/account/apikeys")  # warm: templates, translations, the connection
    times, size = [], 0
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get("/account/apikeys")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        size = len(response.content)
    # The best of REPEAT, as bench.inprocess does: other load on the machine only adds.
    return size, min(times) * 1000


def measure() -> dict:
    """In the child interpreter: seed, sign in, time the two pages."""
    import django

    django.setup()
    from django.conf import settings

    # Static names without the collectstatic manifest: the page is timed, not its assets.
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    from allauth.account.models import EmailAddress
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from apikeys.models import ApiKey
    from packages.models import PackageRegistration

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("bench", "bench@example.com", "not-used-for-signing-in")
    EmailAddress.objects.create(user=owner, email=owner.email, primary=True, verified=True)
    packages = []
    for i in range(PACKAGES):
        registration = PackageRegistration.objects.create(
            package_id=f"Contoso.Package{i:03}", normalized_id=f"contoso.package{i:03}"
        )
        registration.owners.add(owner)
        packages.append(registration)

    def add_key(i):
        ApiKey.objects.create_key(
            holder=owner,
            owner=owner,
            name=f"CI {i}",
            scopes=["package:push"],
            glob_patterns=["Contoso.*"],
            packages=packages[i : i + 5],
            expires_in_days=365,
        )

    client = Client()
    client.force_login(owner)
    add_key(0)
    one_size, one_ms = _measure(client)
    for i in range(1, KEYS):
        add_key(i)
    many_size, many_ms = _measure(client)
    return {
        "packages": PACKAGES,
        "keys": KEYS,
        "one": {"bytes": one_size, "ms": one_ms},
        "many": {"bytes": many_size, "ms": many_ms},
    }


def run(say) -> dict:
    """From bench.run: a child interpreter on a throw-away SQLite database."""
    say(f"API Keys page: {KEYS} keys of an owner with {PACKAGES} packages")
    with tempfile.TemporaryDirectory(prefix="galley-bench-pages-") as tmp:
        out = Path(tmp) / "pages.json"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "GALLEY_KEY_HASH_SECRET": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "GALLEY_HTTPS": "0",
            "GALLEY_DATA_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/pages.sqlite3",
        }
        env.pop("REDIS_URL", None)
        subprocess.run(  # noqa: S603 - our own module
            [sys.executable, "-m", "bench.pages", str(out)], cwd=ROOT, env=env, check=True
        )
        return json.loads(out.read_text())


def goal_lines(result: dict) -> list[str]:
    ratio = result["many"]["ms"] / result["one"]["ms"]
    kb = result["many"]["bytes"] / 1024
    return [
        f"API Keys page, {result['keys']} keys x {result['packages']} packages: "
        f"{kb:.0f} KB (goal <= {SIZE_GOAL // 1024} KB: "
        f"{'met' if result['many']['bytes'] <= SIZE_GOAL else 'NOT met'}), "
        f"{ratio:.1f}x the page with one key (goal <= {TIME_GOAL:g}x: "
        f"{'met' if ratio <= TIME_GOAL else 'NOT met'})"
    ]


def markdown(result: dict) -> str:
    one, many = result["one"], result["many"]
    rows = [
        ("1 key", one["bytes"], one["ms"], 1.0),
        (f"{result['keys']} keys", many["bytes"], many["ms"], many["ms"] / one["ms"]),
    ]
    lines = [
        f"## API Keys page: {result['keys']} keys of an owner with {result['packages']} packages",
        "",
        "Rendered in process (production settings, SQLite), best of "
        f"{REPEAT} requests. Each package is listed once (the create form); a key's Edit "
        "form is loaded when it is opened.",
        "",
        "| page | HTML | server time | against one key |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {size / 1024:.0f} KB | {ms:.1f} ms | {x:.1f}x |"
            for name, size, ms, x in rows
        ),
        "",
        *(f"- {line}" for line in goal_lines(result)),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(measure()))
