"""make bench, read section: what restore and search cost, each against a baseline.

- The registration index of a package with 200 versions, and its flat-container
  versions index, under gunicorn and wrk, against the bare one-SELECT view.
- Search over 10,000 packages: p50/p99 of sequential queries (the goal, p99
  under 50 ms, is for PostgreSQL).
- A 10 MB .nupkg download's throughput against the same file served as a static
  file by nginx on loopback (skipped when nginx is not installed).

`python -m bench.feed seed FOLDER` runs in the benchmark's environment (its
database, its package folder) and writes the rows straight through the ORM:
pushing 10,000 packages through the API would time the push, not the read.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import client, nupkgs, wrk

VERSIONS = 200
SEARCH_PACKAGES = 10_000
SEARCH_QUERIES = 400
LARGE_DOWNLOAD = 10 * 1024 * 1024
MANY = "Contoso.Many"
BIG = "Contoso.Big"
WORDS = [
    "json",
    "logging",
    "http",
    "client",
    "grpc",
    "widget",
    "chart",
    "async",
    "cache",
    "retry",
    "parser",
    "yaml",
    "xml",
    "crypto",
    "azure",
    "aws",
    "test",
    "mock",
    "sql",
    "orm",
    "graph",
    "image",
    "pdf",
    "excel",
    "csv",
    "queue",
    "metrics",
    "trace",
    "config",
]


# ------------------------------------------------------------------ seeding


def _seed(folder: Path) -> dict:
    import django

    django.setup()
    from django.core.files.base import File

    from accounts.models import User
    from packages.models import PackageRegistration, PackageVersion
    from packages.storage import package_storage

    owner = User.objects.create(username="bench-feed", email="feed@example.com")
    rng = random.Random(13)

    def version_row(registration, text, **extra):
        return PackageVersion(
            registration=registration,
            version=text,
            normalized_version=text.lower(),
            original_version=text,
            size=1,
            sha512="x" * 88,
            file=f"{registration.normalized_id}/{text}.nupkg",
            authors="Bench",
            is_prerelease="-" in text,
            **extra,
        )

    many = PackageRegistration.objects.create(package_id=MANY)
    many.owners.add(owner)
    PackageVersion.objects.bulk_create(
        version_row(
            many,
            f"{n // 50}.{n % 50}.0",
            description="A package with many versions.",
            dependency_groups=[
                {
                    "targetFramework": "net8.0",
                    "dependencies": [{"id": "Newtonsoft.Json", "range": "[13.0.1, )"}],
                }
            ],
            tags="bench versions",
        )
        for n in range(VERSIONS)
    )

    names = [
        f"{rng.choice(WORDS).title()}.{rng.choice(WORDS).title()}{n}"
        for n in range(SEARCH_PACKAGES)
    ]
    # bulk_create skips save(), which sets the lower-cased id.
    registrations = PackageRegistration.objects.bulk_create(
        PackageRegistration(package_id=name, normalized_id=name.lower()) for name in names
    )
    PackageRegistration.owners.through.objects.bulk_create(
        PackageRegistration.owners.through(packageregistration=r, user=owner) for r in registrations
    )
    PackageVersion.objects.bulk_create(
        version_row(
            registration,
            "1.0.0",
            title=registration.package_id.replace(".", " "),
            description=" ".join(rng.choice(WORDS) for _ in range(12)),
            tags=" ".join(rng.sample(WORDS, 3)),
            download_count=rng.randrange(100_000),
        )
        for registration in registrations
    )

    from packages.search import rows as search

    search.rebuild()  # bulk_create skips what a push does
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # as autovacuum would after a bulk load
            cursor.execute("ANALYZE")
    big = PackageRegistration.objects.create(package_id=BIG)
    big.owners.add(owner)
    path = folder / "big.nupkg"
    size = nupkgs.write_large(path, BIG, "1.0.0", LARGE_DOWNLOAD)
    with open(path, "rb") as package:
        name = package_storage().save(f"{big.normalized_id}/1.0.0.nupkg", File(package))
    PackageVersion.objects.create(
        registration=big,
        version="1.0.0",
        normalized_version="1.0.0",
        original_version="1.0.0",
        size=size,
        sha512="y" * 88,
        file=name,
    )
    return {"big_file": str(path), "big_size": size}


def seed(backend) -> dict:
    out = backend.folder / "feed-seed.json"
    with open(backend.log("feed-seed"), "wb") as log:
        subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "bench.feed", "seed", str(backend.folder), str(out)],
            cwd=Path(__file__).resolve().parent.parent,
            env=backend.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=True,
        )
    return json.loads(out.read_text())


# ---------------------------------------------------------------- measuring


def _expect_ok(port: int, path: str) -> client.Response:
    answer = client.request(port, "GET", path)
    if answer.status != 200:
        raise RuntimeError(f"GET {path}: {answer.status} {answer.body[:300]!r}")
    return answer


def indexes(backend, server, duration: int, rounds: int) -> dict:
    """Rates of the two indexes of a 200-version package and of the bare view, in turns."""
    paths = {
        "select": "/bench/select",
        "registration": f"/v3/registration/{MANY.lower()}/index.json",
        "versions": f"/v3-flatcontainer/{MANY.lower()}/index.json",
    }
    for path in paths.values():
        for _ in range(4):
            _expect_ok(server.port, path)
    base = f"http://{client.HOST}:{server.port}"
    script = wrk.write_script(backend.folder / "get.lua", "GET", {})
    seconds = max(1, round(duration / rounds))
    runs = {name: [] for name in paths}
    for _ in range(rounds):
        for name, path in paths.items():
            runs[name].append(wrk.run(base + path, script, duration=seconds))
    registration = json.loads(_expect_ok(server.port, paths["registration"]).body)
    result = {name: wrk.combine(kind_runs) for name, kind_runs in runs.items()}
    result["versions_listed"] = sum(page["count"] for page in registration["items"])
    return result


def search(server) -> dict:
    rng = random.Random(7)
    queries = [rng.choice(WORDS) for _ in range(SEARCH_QUERIES)]
    queries += [f"{rng.choice(WORDS)} {rng.choice(WORDS)}" for _ in range(SEARCH_QUERIES // 4)]
    for query in queries[:10]:
        _expect_ok(server.port, f"/query?q={query.replace(' ', '+')}")
    seconds = []
    hits = []
    for query in queries:
        answer = _expect_ok(server.port, f"/query?q={query.replace(' ', '+')}&take=20")
        seconds.append(answer.seconds)
        hits.append(json.loads(answer.body)["totalHits"])
    ordered = sorted(seconds)
    return {
        "n": len(seconds),
        "packages": SEARCH_PACKAGES,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
        "median_hits": sorted(hits)[len(hits) // 2],
    }


NGINX_CONF = """
{user}
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  sendfile on;
  client_body_temp_path {folder}/nginx-tmp;
  proxy_temp_path {folder}/nginx-tmp;
  fastcgi_temp_path {folder}/nginx-tmp;
  uwsgi_temp_path {folder}/nginx-tmp;
  scgi_temp_path {folder}/nginx-tmp;
  server {{
    listen 127.0.0.1:{port};
    root {root};
  }}
}}
"""


def download(backend, server, seeded: dict, duration: int) -> dict:
    """Throughput of the 10 MB .nupkg from Galley and, as a static file, from nginx."""
    galley_path = f"/v3-flatcontainer/{BIG.lower()}/1.0.0/{BIG.lower()}.1.0.0.nupkg"
    answer = _expect_ok(server.port, galley_path)
    if len(answer.body) != seeded["big_size"]:
        raise RuntimeError("the download is not the whole package")
    base = f"http://{client.HOST}:{server.port}"
    script = wrk.write_script(backend.folder / "download.lua", "GET", {})
    result = {"bytes": seeded["big_size"]}
    result["galley"] = wrk.run(base + galley_path, script, duration=duration, connections=4)
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else ""
    )
    if not nginx:
        result["nginx"] = None
        return result
    from bench.server import free_port

    root = backend.folder / "static"
    root.mkdir(exist_ok=True)
    shutil.copy(seeded["big_file"], root / "big.nupkg")
    (backend.folder / "nginx-tmp").mkdir(exist_ok=True)
    port = free_port()
    conf = backend.folder / "nginx.conf"
    # Started as root, nginx's workers would run as nobody, who cannot enter the
    # benchmark's private temporary folder.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(user=user, folder=backend.folder, port=port, root=root))
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [nginx, "-c", str(conf), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.request(port, "GET", "/big.nupkg").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not start")
            time.sleep(0.1)
        url = f"http://{client.HOST}:{port}/big.nupkg"
        result["nginx"] = wrk.run(url, script, duration=duration, connections=4)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return result


def run(backend, server, seeded: dict, duration: int, rounds: int, *, with_download: bool):
    result = {"indexes": indexes(backend, server, duration, rounds), "search": search(server)}
    if with_download:
        result["download"] = download(backend, server, seeded, max(2, duration // 2))
    return result


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        Path(sys.argv[3]).write_text(json.dumps(_seed(Path(sys.argv[2]))))
