"""make bench, read section: what restore and search cost, each against a baseline.

- The registration index of a package with 200 versions, and its flat-container
  versions index, under gunicorn and wrk, against the bare one-SELECT view.
- Search over 10,000 packages: p50/p99 of sequential queries (the goal, p99
  under 50 ms, is for PostgreSQL).
- The same index answered 304 to a client that holds it, a private feed's read
  (Basic with a read key, a second gunicorn with GALLEY_FEED_READ=authenticated)
  against the public read, and a 128-version index (inline) gzipped against the
  uncompressed answer, with the bytes each sends.
- The queries each read makes (`python -m bench.feed queries`, Django's test
  client in the benchmark's environment).
- A 10 MB .nupkg download's throughput against the same file served as a static
  file by nginx on loopback (skipped when nginx is not installed).
- The deployed layout (docs/deploy.md): nginx in front of gunicorn, public packages
  sent by nginx from GALLEY_PUBLIC_FILES (its downloads counted from nginx's log
  afterwards), other downloads handed to nginx by X-Accel-Redirect; the download
  both ways and the feed documents through it, against nginx serving the same bytes
  as static files.

`python -m bench.feed seed FOLDER` runs in the benchmark's environment (its
database, its package folder) and writes the rows straight through the ORM:
pushing 10,000 packages through the API would time the push, not the read.
"""

import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import client, nupkgs, wrk

VERSIONS = 200
INLINE_VERSIONS = 128
SEARCH_PACKAGES = 10_000
SEARCH_QUERIES = 400
LARGE_DOWNLOAD = 10 * 1024 * 1024
MANY = "Contoso.Many"
INLINE = "Contoso.Inline"
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


def version_row(registration, text, **extra):
    """A version's row as the benchmark writes it, straight through the ORM."""
    from packages.models import PackageVersion

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


def many_versions(
    registration, count: int = VERSIONS, description: str = "A package with many versions."
) -> list:
    """Rows of versions 0.0.0, 0.1.0, ... (MANY's 200: more than an index shows inline)."""
    return [
        version_row(
            registration,
            f"{n // 50}.{n % 50}.0",
            description=description,
            dependency_groups=[
                {
                    "targetFramework": "net8.0",
                    "dependencies": [{"id": "Newtonsoft.Json", "range": "[13.0.1, )"}],
                }
            ],
            tags="bench versions",
        )
        for n in range(count)
    ]


def _seed(folder: Path) -> dict:
    import django

    django.setup()
    from django.core.files.base import File

    from accounts.models import User
    from packages.models import PackageRegistration, PackageVersion
    from packages.storage import package_storage

    owner = User.objects.create(username="bench-feed", email="feed@example.com")
    rng = random.Random(13)

    many = PackageRegistration.objects.create(package_id=MANY)
    many.owners.add(owner)
    PackageVersion.objects.bulk_create(many_versions(many))

    inline = PackageRegistration.objects.create(package_id=INLINE)
    inline.owners.add(owner)
    PackageVersion.objects.bulk_create(
        many_versions(
            inline,
            INLINE_VERSIONS,
            "A package with as many versions as an index shows inline.",
        )
    )
    from apikeys.models import ApiKey, Scope

    _read_key, read_secret = ApiKey.objects.create_key(
        holder=owner,
        owner=owner,
        name="bench-read",
        scopes=[Scope.READ],
        glob_patterns=["*"],
        packages=[],
        expires_in_days=365,
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
    return {
        "big_file": str(path),
        "big_size": size,
        "reader": owner.username,
        "read_secret": read_secret,
    }


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


def _basic(username: str, secret: str) -> dict:
    token = base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def indexes(backend, server, private, seeded: dict, duration: int, rounds: int) -> dict:
    """Rates of a 200-version package's indexes, its 304, a private read, a 128-version
    index with and without gzip, and of the bare view, in rounds that take turns."""
    registration = f"/v3/registration/{MANY.lower()}/index.json"
    inline = f"/v3/registration/{INLINE.lower()}/index.json"
    etag = _expect_ok(server.port, registration).headers["etag"]
    credentials = _basic(seeded["reader"], seeded["read_secret"])
    gzip_headers = {"Accept-Encoding": "gzip"}
    # name: (port, path, headers, expected status)
    kinds = {
        "select": (server.port, "/bench/select", {}, 200),
        "registration": (server.port, registration, {}, 200),
        "versions": (server.port, f"/v3-flatcontainer/{MANY.lower()}/index.json", {}, 200),
        "not_modified": (server.port, registration, {"If-None-Match": etag}, 304),
        "private_registration": (private.port, registration, credentials, 200),
        "inline": (server.port, inline, {}, 200),
        "inline_gzip": (server.port, inline, gzip_headers, 200),
    }
    runs = {name: [] for name in kinds}
    scripts = {}
    for name, (port, path, headers, status) in kinds.items():
        for _ in range(4):
            answer = client.request(port, "GET", path, headers=headers)
            if answer.status != status:
                raise RuntimeError(f"GET {path} ({name}): {answer.status} {answer.body[:300]!r}")
        scripts[name] = wrk.write_script(backend.folder / f"feed-{name}.lua", "GET", headers)
    seconds = max(1, round(duration / rounds))
    for _ in range(rounds):
        for name, (port, path, _headers, _status) in kinds.items():
            url = f"http://{client.HOST}:{port}{path}"
            runs[name].append(wrk.run(url, scripts[name], duration=seconds))
    document = json.loads(_expect_ok(server.port, registration).body)
    result = {name: wrk.combine(kind_runs) for name, kind_runs in runs.items()}
    result["expected"] = {name: kind[3] for name, kind in kinds.items()}
    result["versions_listed"] = sum(page["count"] for page in document["items"])
    plain = client.request(server.port, "GET", inline)
    packed = client.request(server.port, "GET", inline, headers=gzip_headers)
    if packed.headers.get("content-encoding") != "gzip":
        raise RuntimeError(f"GET {inline} with Accept-Encoding: gzip was not gzipped")
    result["inline_bytes"] = len(plain.body)
    result["inline_gzip_bytes"] = len(packed.body)
    result["inline_versions"] = len(json.loads(plain.body)["items"][0]["items"])
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
    nginx = nginx_executable()
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


# ------------------------------------------------------------ query counts


def _count_queries(seeded: dict) -> dict:
    """Queries per read, through Django's test client in this environment."""
    import django

    django.setup()
    from django.test import Client

    return count_reads(
        Client(HTTP_HOST=client.HOST), client.HOST, _basic(seeded["reader"], seeded["read_secret"])
    )


def count_reads(browser, host: str, credentials: dict) -> dict:
    """The queries of each read the benchmark times, for everyone (a public feed) and
    for a read key (a private feed, `credentials`): the first request for a revision
    (memo miss), the next (hit) and a revalidation (304). The package MANY, with more
    versions than an index shows inline, must exist; tests/packages/test_bench_reads.py
    pins the figures."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from packages import feed

    many = MANY.lower()
    index = f"/v3/registration/{many}/index.json"
    reads = {
        "service index": "/v3/index.json",
        f"registration index ({VERSIONS} versions, paged)": index,
        "registration page": None,  # found in the index
        "registration leaf": f"/v3/registration/{many}/0.1.0.json",
        "versions index": f"/v3-flatcontainer/{many}/index.json",
        "search (take=20)": "/query?q=json&take=20",
        "autocomplete": "/autocomplete?q=json",
    }
    first_page = browser.get(index, headers=credentials).json()["items"][0]["@id"]
    reads["registration page"] = first_page.split(host, 1)[1]

    def count(path, headers) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = browser.get(path, headers=headers)
        return len(queries), response.status_code

    result = {}
    for audience, headers in (("public", {}), ("private", credentials)):
        settings.GALLEY_FEED_READ = "authenticated" if audience == "private" else "public"
        feed.forget_all()
        for name, path in reads.items():
            first, status = count(path, headers)
            again, _status = count(path, headers)
            etag = browser.get(path, headers=headers).get("ETag", "")
            revalidated, status_304 = count(path, {**headers, "If-None-Match": etag})
            result[f"{audience}: {name}"] = {
                "first": first,
                "again": again,
                "not_modified": revalidated if status_304 == 304 else None,
                "status": status,
            }
    return result


def query_counts(backend, seeded: dict) -> dict:
    out = backend.folder / "feed-queries.json"
    seed_file = backend.folder / "feed-seed.json"
    with open(backend.log("feed-queries"), "wb") as log:
        subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "bench.feed", "queries", str(seed_file), str(out)],
            cwd=Path(__file__).resolve().parent.parent,
            env=backend.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=True,
        )
    return json.loads(out.read_text())


# --------------------------------------------------------- deployed layout

DEPLOYED_CONF = r"""
{user}
worker_processes 2;
pid {folder}/nginx-deployed.pid;
error_log {folder}/nginx-deployed-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  client_body_temp_path {folder}/nginx-tmp;
  proxy_temp_path {folder}/nginx-tmp;
  fastcgi_temp_path {folder}/nginx-tmp;
  uwsgi_temp_path {folder}/nginx-tmp;
  scgi_temp_path {folder}/nginx-tmp;
  # As docs/deploy.md, on loopback and without TLS.
  proxy_cache_path {folder}/nginx-cache levels=1:2 keys_zone=galley_feed:10m max_size=256m
                   inactive=10m use_temp_path=off;
  {log_format}
  upstream galley {{
    server 127.0.0.1:{galley_port};
    keepalive 32;
    keepalive_timeout 4s;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 260m;
    proxy_request_buffering off;
    proxy_read_timeout 300s;
    client_body_timeout 20s;
    # To gunicorn, over kept-alive connections (HTTP/1.1, no Connection: close).
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;

    location / {{
      proxy_pass http://galley;
    }}
    # Public feed documents, kept 10 s by nginx (docs/deploy.md).
    location ~ ^/v3(/index\.json$|/registration/|-flatcontainer/[^/]+/index\.json$) {{
      proxy_pass http://galley;
      proxy_cache galley_feed;
      proxy_cache_key $scheme$host$request_uri;
      proxy_ignore_headers Cache-Control Expires;
      proxy_cache_valid 200 10s;
      proxy_cache_bypass $http_authorization $http_cookie;
      proxy_no_cache $http_authorization $http_cookie;
      proxy_cache_lock on;
      proxy_cache_revalidate on;
      proxy_cache_use_stale updating;
      proxy_cache_background_update on;
      open_file_cache max=10000 inactive=60s;
      open_file_cache_valid 2s;
    }}
    location /protected/ {{
      internal;
      alias {packages}/;
    }}
    # Public packages sent by nginx from GALLEY_PUBLIC_FILES: docs/deploy.md's own lines.
{public_locations}
    # The same bytes as static files: the bar.
    location /static-copy/ {{
      alias {static}/;
    }}
  }}
}}
"""
NGINX_MISSING = (
    "nginx is not installed: the deployed layout (nginx in front of gunicorn, "
    "docs/deploy.md) and the nginx baselines are not measured. Install Debian's "
    "nginx (apt-get install nginx) and run make bench again."
)


DEPLOY_DOC = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"


def documented_public_files(public: Path, log: Path) -> tuple[str, str]:
    """docs/deploy.md's log format line and its two locations for GALLEY_PUBLIC_FILES,
    as written there, with its folder and log replaced by `public` and `log`: what the
    benchmark and tests/packages/test_public_files_nginx.py run is what people copy."""
    text = DEPLOY_DOC.read_text()
    log_format = re.search(r"^log_format galley_downloads .*;$", text, re.M)
    locations = re.search(
        r"^    location ~ \^/v3-flatcontainer/\S+ \{\n.*?^    location @galley \{\n.*?^    \}\n",
        text,
        re.M | re.S,
    )
    if not (log_format and locations):
        raise RuntimeError("docs/deploy.md no longer shows GALLEY_PUBLIC_FILES's nginx lines")
    return log_format[0], locations[0].replace("/srv/galley/public", str(public)).replace(
        "/var/log/nginx/galley-downloads.log", str(log)
    )


def nginx_executable() -> str:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "")


def _start_nginx(nginx: str, conf: Path, probe_port: int, probe_path: str):
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [nginx, "-c", str(conf), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            if client.request(probe_port, "GET", probe_path).status == 200:
                return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(f"nginx did not start ({conf})")
        time.sleep(0.1)


def deployed(backend, seeded: dict, duration: int, rounds: int, say) -> dict:
    """Galley behind nginx as docs/deploy.md sets it up, against nginx's static files."""
    nginx = nginx_executable()
    if not nginx:
        say(NGINX_MISSING)
        return {"skipped": NGINX_MISSING}
    from bench.server import Gunicorn, free_port

    static = backend.folder / "static-copy"
    static.mkdir(exist_ok=True)
    (backend.folder / "nginx-tmp").mkdir(exist_ok=True)
    # Beside the data folder, never in it (config/settings.py refuses that).
    public = backend.folder.parent / f"{backend.folder.name}-public"
    downloads_log = backend.folder / "nginx-downloads.log"
    env = dict(
        backend.env,
        GALLEY_ACCEL_REDIRECT="/protected/",
        GALLEY_TRUSTED_PROXY_COUNT="1",
        GALLEY_PUBLIC_FILES=str(public),
    )
    # The benchmark's versions were written in bulk, as a restore would: link them as
    # docs/deploy.md says to after turning the folder on.
    _manage(backend, env, "public_files")
    log_format, public_locations = documented_public_files(public, downloads_log)
    big = BIG.lower()
    paths = {
        # Public: nginx sends it from GALLEY_PUBLIC_FILES, Galley is not asked.
        "download": f"/v3-flatcontainer/{big}/1.0.0/{big}.1.0.0.nupkg",
        # The same package at an address nginx has no link for (as any download on a
        # private feed): Galley checks and counts it, nginx sends it (X-Accel-Redirect).
        "download_asked": f"/v3-flatcontainer/{BIG}/1.0.0/{BIG}.1.0.0.nupkg",
        "registration": f"/v3/registration/{MANY.lower()}/index.json",
        "versions": f"/v3-flatcontainer/{MANY.lower()}/index.json",
    }
    with Gunicorn(env, backend.log("gunicorn-deployed"), workers=2) as galley:
        port = free_port()
        conf = backend.folder / "nginx-deployed.conf"
        conf.write_text(
            DEPLOYED_CONF.format(
                user="user root;" if os.geteuid() == 0 else "",
                folder=backend.folder,
                port=port,
                galley_port=galley.port,
                packages=backend.folder / "packages",
                static=static,
                log_format=log_format,
                public_locations=public_locations,
            )
        )
        process = _start_nginx(nginx, conf, port, "/bench/select")
        try:
            for name, path in paths.items():
                answer = _expect_ok(port, path)
                (static / name).write_bytes(answer.body)
            for name in ("download", "download_asked"):
                if len((static / name).read_bytes()) != seeded["big_size"]:
                    raise RuntimeError(f"the {name} through nginx is not the whole package")
            script = wrk.write_script(backend.folder / "deployed.lua", "GET", {})
            seconds = max(1, round(duration / rounds))
            runs = {f"{name}_{via}": [] for name in paths for via in ("galley", "static")}
            for _ in range(rounds):
                for name, path in paths.items():
                    connections = 4 if name.startswith("download") else 8
                    for via, url_path in (("galley", path), ("static", f"/static-copy/{name}")):
                        url = f"http://{client.HOST}:{port}{url_path}"
                        runs[f"{name}_{via}"].append(
                            wrk.run(url, script, duration=seconds, connections=connections)
                        )
        finally:
            process.terminate()
            process.wait(timeout=10)
    result = {name: wrk.combine(kind_runs) for name, kind_runs in runs.items()}
    result["bytes"] = {name: (static / name).stat().st_size for name in paths}
    # What nginx sent from the folder, counted from its log as cron would.
    counted = _manage(backend, env, "count_download_log", str(downloads_log))
    result["logged_downloads"] = int(counted.rsplit(":", 1)[1].strip(" .\n"))
    return result


def _manage(backend, env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    with open(backend.log(f"manage-{args[0]}"), "a") as log:
        log.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def run(
    backend,
    server,
    private,
    seeded: dict,
    duration: int,
    rounds: int,
    *,
    with_download: bool,
    say=print,
):
    result = {
        "indexes": indexes(backend, server, private, seeded, duration, rounds),
        "search": search(server),
        "queries": query_counts(backend, seeded),
    }
    if with_download:
        result["download"] = download(backend, server, seeded, max(2, duration // 2))
        try:
            result["deployed"] = deployed(backend, seeded, duration, rounds, say)
        except Exception as error:  # the rest of the run stands without it
            say(f"the deployed layout could not be measured: {error}")
            result["deployed"] = {"failed": str(error)}
    return result


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        Path(sys.argv[3]).write_text(json.dumps(_seed(Path(sys.argv[2]))))
    elif sys.argv[1] == "queries":
        seeded = json.loads(Path(sys.argv[2]).read_text())
        Path(sys.argv[3]).write_text(json.dumps(_count_queries(seeded)))
