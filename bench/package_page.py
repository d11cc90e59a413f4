"""make bench, package page section: the page of a package with 200 versions, each
with 50 dependencies, against the page of a package with one version.

Rendered in process through Django's test client on the production configuration
(best of REPEAT), with the number of SQL queries each page makes: the queries must
not grow with the versions (the goal), and the time stays within TIME_GOAL times.

    python -m bench.package_page OUT.json   (run by bench.run in its own interpreter)
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERSIONS = 200
DEPENDENCIES = 50
REPEAT = 10
TIME_GOAL = 5.0
ROOT = Path(__file__).resolve().parents[1]


def _measure(client, url) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm: templates, translations, the connection
    times, size = [], 0
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        size = len(response.content)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return {"bytes": size, "ms": min(times) * 1000, "queries": len(queries)}


def _package(package_id: str, owner, versions: int, dependencies: int) -> None:
    from packages import lifecycle
    from packages.models import PackageRegistration, PackageVersion

    registration = PackageRegistration.objects.create(package_id=package_id)
    registration.owners.add(owner)
    groups = [
        {
            "targetFramework": "net8.0",
            "dependencies": [
                {"id": f"Dependency.N{d:02}", "range": "[1.0.0, )"} for d in range(dependencies)
            ],
        }
    ]
    PackageVersion.objects.bulk_create(
        PackageVersion(
            registration=registration,
            version=f"1.{i}.0",
            normalized_version=f"1.{i}.0",
            original_version=f"1.{i}.0",
            size=1024,
            sha512="x" * 88,
            file=f"{registration.normalized_id}/1.{i}.0.nupkg",
            description="A package for the benchmark.",
            readme="# Bench\n\nSome text, a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
            dependency_groups=groups,
            download_count=i,
        )
        for i in range(versions)
    )
    lifecycle.touch([registration.pk])


def measure() -> dict:
    """In the child interpreter: seed the two packages, time their pages."""
    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("bench", "bench@example.com", "not-used-for-signing-in")
    _package("Bench.One", owner, 1, 0)
    _package("Bench.Many", owner, VERSIONS, DEPENDENCIES)
    client = Client()
    return {
        "versions": VERSIONS,
        "dependencies": DEPENDENCIES,
        "one": _measure(client, "/packages/Bench.One"),
        "many": _measure(client, "/packages/Bench.Many"),
    }


def run(say) -> dict:
    """From bench.run: a child interpreter on a throw-away SQLite database."""
    say(f"Package page: {VERSIONS} versions with {DEPENDENCIES} dependencies against one")
    with tempfile.TemporaryDirectory(prefix="galley-bench-package-page-") as tmp:
        out = Path(tmp) / "package_page.json"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "GALLEY_KEY_HASH_SECRET": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "GALLEY_HTTPS": "0",
            "GALLEY_DATA_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/package_page.sqlite3",
        }
        env.pop("REDIS_URL", None)
        subprocess.run(  # noqa: S603 - our own module
            [sys.executable, "-m", "bench.package_page", str(out)], cwd=ROOT, env=env, check=True
        )
        return json.loads(out.read_text())


def goal_lines(result: dict) -> list[str]:
    one, many = result["one"], result["many"]
    ratio = many["ms"] / one["ms"]
    return [
        f"Package page, {result['versions']} versions x {result['dependencies']} dependencies: "
        f"{ratio:.1f}x the page with one version (goal <= {TIME_GOAL:g}x: "
        f"{'met' if ratio <= TIME_GOAL else 'NOT met'}); queries {one['queries']} and "
        f"{many['queries']} (goal: the same: {'met' if one['queries'] == many['queries'] else 'NOT met'})"
    ]


def markdown(result: dict) -> str:
    one, many = result["one"], result["many"]
    rows = [
        ("1 version", one, 1.0),
        (f"{result['versions']} versions", many, many["ms"] / one["ms"]),
    ]
    lines = [
        f"## Package page: {result['versions']} versions with {result['dependencies']} "
        "dependencies each",
        "",
        f"Rendered in process (production settings, SQLite), best of {REPEAT} requests, "
        "signed out.",
        "",
        "| page | HTML | server time | queries | against one version |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {r['bytes'] / 1024:.0f} KB | {r['ms']:.1f} ms | {r['queries']} | {x:.1f}x |"
            for name, r, x in rows
        ),
        "",
        *(f"- {line}" for line in goal_lines(result)),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(measure()))
