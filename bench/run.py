"""make bench: what a push costs, each figure against a baseline from the same run.

1. The API key check in one process, against a bare indexed SELECT.
2. Refused pushes under gunicorn (wrk), against a bare view doing one SELECT.
3. The server time of a 100 KB push, against the same bare view.
   `--push-only` runs sections 1-3 alone, on each database, and prints them.
4. The memory of a worker receiving a 200 MiB package, against its idle size.
5. A 10 MB push and download on the local folder and on S3 (bench/storage.py).
6. Reading the feed (bench/feed.py): a 200-version package's indexes against the
   bare view, search over 10,000 packages, a 10 MB download against nginx.
   `--feed-only` runs just this part, on each database, and prints it.
7. Bodies as current and hostile clients send them (bench/bodies.py): a chunked
   200 MiB push, a 5-million-entry zip, fifty slow connections.
8. The API Keys page with many keys (bench/pages.py).
9. The page of a package with 200 versions and 50 dependencies (bench/package_page.py).
10. Upstream sources (bench/upstreams.py): a 40-package restore through Galley,
   cold and warm, against the same from a delayed upstream; the memory of a
   worker caching a 200 MiB upstream package. `--upstreams-only` runs just this.
11. Symbols (bench/symbols.py): an SSQP lookup against the bare view, and the
   memory of a worker receiving a 50 MiB .snupkg. `--symbols-only` runs just it.

Sections 1-3 run on SQLite, and with --postgres on PostgreSQL too (a fresh
database on 127.0.0.1:5432, dropped afterwards). Everything runs on loopback
in a temporary folder that is removed at the end, as are the servers.
The report is printed and written to docs/benchmarks.md.
"""

import argparse
import contextlib
import json
import math
import os
import platform
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import bodies as bodies_bench
from bench import client, nupkgs, report, wrk
from bench import feed as feed_bench
from bench import package_page as package_page_bench
from bench import pages as pages_bench
from bench import storage as storage_bench
from bench import symbols as symbols_bench
from bench import upstreams as upstreams_bench
from bench.server import ROOT, Gunicorn, read_status

POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/14"
DOCS = ROOT / "docs" / "benchmarks.md"
KEEP_MARKER = "<!-- Below this line: kept by make bench. -->"
MIB = 1024 * 1024
PUSHES = 20
# Pushes of another id before the timed ones, so that the server is timed in its
# steady state, as the baseline is after the wrk rounds: each of its threads'
# database connections has run the push's statements and prepared them
# (DATABASE_PREPARED_STATEMENTS), as a server that has been up a while has.
WARM_PUSHES = 100
PUSH_SIZE = 100 * 1024
SELECTS = 100
LARGE_PAYLOAD = 200 * MIB
LARGE_LIMIT = 300 * MIB
SAMPLE_EVERY = 0.02
# Variables of the deployment that would change what is measured.
_INHERITED_PREFIXES = ("DJANGO_", "GALLEY_", "DATABASE_", "REDIS_", "EMAIL_")


_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.1f} s] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ set-up


class Backend:
    """One database: its name, folder and the environment its processes run with."""

    def __init__(self, name: str, folder: Path, secrets_env: dict, database_url: str = ""):
        self.name = name
        self.folder = folder
        (folder / "uploads").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
        env.update(secrets_env)
        env.update(
            DJANGO_SETTINGS_MODULE="bench.settings",
            DJANGO_DEBUG="0",
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            GALLEY_HTTPS="0",
            GALLEY_DATA_DIR=str(folder),
            GALLEY_UPLOAD_TEMP_DIR=str(folder / "uploads"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        if database_url:
            # As production runs PostgreSQL: with Redis as the shared cache (the
            # refusal-audit throttle, rate limits), under a prefix of the run's own.
            env["DATABASE_URL"] = database_url
            env["REDIS_URL"] = REDIS_URL
            env["GALLEY_CACHE_PREFIX"] = f"galley-bench-{secrets.token_hex(4)}"
        self.env = env

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"


def production_secrets() -> dict:
    # 60 random characters each, as production requires (at least 50).
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(45),
        "GALLEY_KEY_HASH_SECRET": secrets.token_urlsafe(45),
    }


@contextlib.contextmanager
def postgres_database():
    """A fresh, empty database for the run; dropped afterwards whatever happens."""
    import psycopg
    from psycopg import sql

    name = f"galley_bench_{secrets.token_hex(6)}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def percentile(values, fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


# --------------------------------------------------------------- section 1


def key_checks(backend: Backend) -> dict:
    """Migrate, seed and time the key checks in a separate interpreter."""
    out = backend.folder / "inprocess.json"
    log = backend.log("inprocess")
    with open(log, "wb") as stderr:
        done = subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "bench.inprocess", str(out)],
            cwd=ROOT,
            env=backend.env,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the in-process part failed on {backend.name}:\n{tail(log)}")
    return json.loads(out.read_text())


# --------------------------------------------------------------- section 2


def expect(response: client.Response, status: int, reason: str, what: str) -> None:
    if response.status != status or (reason and response.reason_code != reason):
        raise RuntimeError(
            f"{what}: expected {status} {reason}, got {response.status} "
            f"{response.reason_code or ''}: {response.body[:300]!r}"
        )


def refused_pushes(
    backend: Backend, server: Gunicorn, keys: dict, duration: int, rounds: int
) -> dict:
    folder = backend.folder
    body = nupkgs.multipart(nupkgs.small("Contoso.Refused", "1.0.0"))
    body_path = folder / "refused.body"
    body_path.write_bytes(body)
    cases = {
        "revoked": (keys["revoked"], "revoked"),
        "out_of_pattern": (keys["out_of_pattern"], "package_not_selected"),
    }
    # Probes: each answer is what it should be (a 403, not a 5xx), and both
    # workers have served each kind of request before wrk starts.
    for _ in range(4):
        expect(client.request(server.port, "GET", "/bench/select"), 200, "", "bare view")
        for name, (secret, reason) in cases.items():
            expect(client.push(server.port, secret, body), 403, reason, f"{name} push")

    base = f"http://{client.HOST}:{server.port}"
    kinds = {"select": (f"{base}/bench/select", wrk.write_script(folder / "select.lua", "GET", {}))}
    for name, (secret, _reason) in cases.items():
        headers = {"Content-Type": nupkgs.CONTENT_TYPE, "X-NuGet-ApiKey": secret}
        script = wrk.write_script(folder / f"{name}.lua", "PUT", headers, body_path)
        kinds[name] = (f"{base}{client.PUSH_PATH}", script)
    wrk.run(*kinds["select"], duration=2)  # warm-up, not counted
    # Each kind of request gets `duration` seconds in all, in short rounds
    # that take turns, so that a drift in the machine's speed (common on
    # shared virtual machines) affects the baseline and the refusals alike.
    seconds = max(1, round(duration / rounds))
    runs = {name: [] for name in kinds}
    for round_ in range(1, rounds + 1):
        say(f"{backend.name}: wrk round {round_}/{rounds} ({seconds} s per request kind)")
        for name, (url, script) in kinds.items():
            runs[name].append(wrk.run(url, script, duration=seconds))
    results = {"body_bytes": len(body), "rounds": rounds, "round_seconds": seconds}
    for name, kind_runs in runs.items():
        results[name] = wrk.combine(kind_runs)
        results[name]["round_ratios"] = [
            run["rps"] / select["rps"]
            for run, select in zip(kind_runs, runs["select"], strict=True)
        ]
    return results


# --------------------------------------------------------------- section 3


def small_pushes(server: Gunicorn, keys: dict) -> dict:
    packages = [
        nupkgs.multipart(nupkgs.with_payload("Contoso.Bench", f"1.0.{n}", PUSH_SIZE))
        for n in range(PUSHES + 1)
    ]
    warm, packages = packages[0], packages[1:]
    expect(client.push(server.port, keys["push"], warm), 201, "", "warm-up push")
    for n in range(WARM_PUSHES):
        body = nupkgs.multipart(nupkgs.with_payload("Contoso.Steady", f"1.0.{n}", PUSH_SIZE))
        expect(client.push(server.port, keys["push"], body), 201, "", "warm-up push")
        client.request(server.port, "GET", "/bench/select")
    # The baseline requests take turns with the pushes, for the same reason
    # as the wrk rounds.
    pushes, selects = [], []
    for body in packages:
        answer = client.push(server.port, keys["push"], body)
        expect(answer, 201, "", "100 KB push")
        pushes.append(answer.seconds)
        for _ in range(SELECTS // PUSHES):
            answer = client.request(server.port, "GET", "/bench/select")
            expect(answer, 200, "", "bare view")
            selects.append(answer.seconds)
    return {
        "package_bytes": len(packages[0]),
        "warm_pushes": WARM_PUSHES,
        "push": summary(pushes),
        "select": summary(selects),
    }


def summary(seconds: list[float]) -> dict:
    return {
        "n": len(seconds),
        "median_ms": statistics.median(seconds) * 1000,
        "p95_ms": percentile(seconds, 0.95) * 1000,
    }


# --------------------------------------------------------------- section 4


class RssSampler(threading.Thread):
    """Reads a process's VmRSS every SAMPLE_EVERY seconds until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            with contextlib.suppress(OSError, KeyError):
                self.peak_kb = max(self.peak_kb, read_status(self.pid)["VmRSS"])
                self.samples += 1
            self.halt.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self.halt.set()
        self.join()


def large_push(backend: Backend, keys: dict) -> dict:
    package = backend.folder / "large.nupkg"
    say(f"building a {LARGE_PAYLOAD // MIB} MiB package")
    size = nupkgs.write_large(package, "Contoso.Large", "1.0.0", LARGE_PAYLOAD)
    env = dict(backend.env, GALLEY_MAX_PACKAGE_SIZE=str(LARGE_LIMIT))
    try:
        with Gunicorn(env, backend.log("gunicorn-1"), workers=1, timeout=120) as server:
            (worker,) = server.worker_pids()
            expect(client.request(server.port, "GET", "/bench/select"), 200, "", "bare view")
            warm = nupkgs.multipart(nupkgs.with_payload("Contoso.Warm", "1.0.0", PUSH_SIZE))
            expect(client.push(server.port, keys["push"], warm), 201, "", "warm-up push")
            time.sleep(0.5)
            idle = read_status(worker)
            say(f"pushing {size / MIB:.0f} MiB to one worker, sampling its memory")
            sampler = RssSampler(worker)
            sampler.start()
            try:
                answer = client.push_file(server.port, keys["push"], package)
            finally:
                sampler.stop()
            after = read_status(worker)
            if server.worker_pids() != [worker]:
                raise RuntimeError(f"the worker was replaced during the push:\n{server.log_tail()}")
    finally:
        package.unlink(missing_ok=True)
    return {
        "package_bytes": size,
        "status": answer.status,
        "reason": answer.reason_code,
        "seconds": answer.seconds,
        "idle_rss_kb": idle["VmRSS"],
        "idle_hwm_kb": idle["VmHWM"],
        "peak_rss_kb": max(sampler.peak_kb, after["VmRSS"]),
        "after_rss_kb": after["VmRSS"],
        "after_hwm_kb": after["VmHWM"],
        "samples": sampler.samples,
    }


# ------------------------------------------------------------------ driver


def run_backend(
    backend: Backend, duration: int, rounds: int, feed_only: bool = False, push_only: bool = False
) -> tuple[dict, dict]:
    say(f"{backend.name}: migrating, creating keys, timing key checks in-process")
    inprocess = key_checks(backend)
    result = {
        "database": inprocess["database"],
        "keys": inprocess["keys"],
        "repeat": inprocess["repeat"],
        "number": inprocess["number"],
        "min_number": inprocess["min_number"],
        "timings_us": {name: us for name, (us, _calls) in inprocess["timings"].items()},
        "calls_per_run": {name: calls for name, (_us, calls) in inprocess["timings"].items()},
    }
    keys = inprocess["secrets"]
    if push_only:
        with Gunicorn(backend.env, backend.log("gunicorn-2"), workers=2) as server:
            try:
                result["http"] = refused_pushes(backend, server, keys, duration, rounds)
                say(f"{backend.name}: {PUSHES} pushes of {PUSH_SIZE // 1024} KB")
                result["push"] = small_pushes(server, keys)
            except Exception:
                print(f"gunicorn log (last lines):\n{server.log_tail()}", file=sys.stderr)
                raise
        return result, keys
    say(
        f"{backend.name}: seeding the feed (a package with {feed_bench.VERSIONS} versions, "
        f"{feed_bench.SEARCH_PACKAGES:,} packages to search)"
    )
    seeded = feed_bench.seed(backend)
    log = backend.log("gunicorn-2")
    # A private feed beside it (GALLEY_FEED_READ=authenticated), idle but for its turns.
    private_env = dict(backend.env, GALLEY_FEED_READ="authenticated")
    with (
        Gunicorn(backend.env, log, workers=2) as server,
        Gunicorn(private_env, backend.log("gunicorn-private"), workers=2) as private,
    ):
        try:
            if not feed_only:
                result["http"] = refused_pushes(backend, server, keys, duration, rounds)
                say(f"{backend.name}: {PUSHES} pushes of {PUSH_SIZE // 1024} KB")
                result["push"] = small_pushes(server, keys)
            say(f"{backend.name}: reading the feed")
            result["feed"] = feed_bench.run(
                backend, server, private, seeded, duration, rounds, with_download=True, say=say
            )
        except Exception:
            print(f"gunicorn log (last lines):\n{server.log_tail()}", file=sys.stderr)
            print(f"private gunicorn log:\n{private.log_tail()}", file=sys.stderr)
            raise
    return result, keys


def machine() -> dict:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            name, _, value = line.partition(":")
            if name.strip() in ("model name", "Model", "Hardware") and value.strip():
                cpu = value.strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(),
        "cpu": cpu or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "django": metadata.version("django"),
        "gunicorn": metadata.version("gunicorn"),
        "wrk": wrk.version(),
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres",
        action="store_true",
        help=f"also run sections 1-3 on PostgreSQL ({POSTGRES_SERVER}, a temporary database)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="wrk rounds the duration is split into, taking turns (default 5)",
    )
    parser.add_argument(
        "--feed-only",
        action="store_true",
        help="only the read section (with the key checks it needs); implies --no-write",
    )
    parser.add_argument(
        "--push-only",
        action="store_true",
        help="only sections 1-3 (key checks, refused pushes, the 100 KB push); implies --no-write",
    )
    parser.add_argument(
        "--upstreams-only",
        action="store_true",
        help="only the upstream sources section; implies --no-write",
    )
    parser.add_argument(
        "--symbols-only",
        action="store_true",
        help="only the symbols section (with the key checks it needs); implies --no-write",
    )
    parser.add_argument(
        "--no-write", action="store_true", help=f"print only; leave {DOCS.relative_to(ROOT)} alone"
    )
    return parser.parse_args(argv)


def run_upstreams(tmp: Path, env_secrets: dict) -> dict:
    upstream = Backend("upstream", tmp / "upstream", env_secrets)
    say("upstream sources: migrating and seeding the upstream Galley")
    keys = key_checks(upstream)["secrets"]
    downstream = Backend("downstream", tmp / "downstream", env_secrets)
    return upstreams_bench.run(upstream, downstream, keys, say)


def _stop_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.monotonic()
    results = {"machine": machine(), "backends": [], "duration": args.duration}
    env_secrets = production_secrets()
    if args.upstreams_only:
        with tempfile.TemporaryDirectory(prefix="galley-bench-") as tmp:
            print(upstreams_bench.markdown(run_upstreams(Path(tmp), env_secrets)))
        return 0
    with tempfile.TemporaryDirectory(prefix="galley-bench-") as tmp:
        sqlite = Backend("SQLite", Path(tmp) / "sqlite", env_secrets)
        if args.symbols_only:
            keys = key_checks(sqlite)["secrets"]
            symbols = symbols_bench.run(sqlite, keys, say, RssSampler, args.duration, args.rounds)
            print(symbols_bench.markdown(symbols))
            return 0
        only = args.feed_only or args.push_only
        backend_result, keys = run_backend(
            sqlite, args.duration, args.rounds, args.feed_only, args.push_only
        )
        results["backends"].append(backend_result)
        if not only:
            results["memory"] = large_push(sqlite, keys)
            results["storage"] = storage_bench.run(sqlite, keys, say)
            results["pages"] = pages_bench.run(say)
            results["package_page"] = package_page_bench.run(say)
            results["bodies"] = bodies_bench.run(sqlite, keys, say)
            results["upstreams"] = run_upstreams(Path(tmp), env_secrets)
            results["symbols"] = symbols_bench.run(
                sqlite, keys, say, RssSampler, args.duration, args.rounds
            )
        if args.postgres:
            with postgres_database() as url:
                postgres = Backend("PostgreSQL", Path(tmp) / "postgres", env_secrets, url)
                results["backends"].append(
                    run_backend(
                        postgres, args.duration, args.rounds, args.feed_only, args.push_only
                    )[0]
                )
    results["elapsed"] = time.monotonic() - started
    say("done")
    if args.feed_only:
        print(report.console_tables(report.feed_tables(results), report.feed_goal_lines(results)))
        return 0
    if args.push_only:
        print(report.console_tables(report.push_tables(results), report.push_goal_lines(results)))
        return 0
    print(report.console(results))
    print("\n" + storage_bench.markdown(results["storage"]))
    print("\n" + pages_bench.markdown(results["pages"]))
    print("\n" + package_page_bench.markdown(results["package_page"]))
    print("\n" + bodies_bench.markdown(results["bodies"]))
    print("\n" + upstreams_bench.markdown(results["upstreams"]))
    print("\n" + symbols_bench.markdown(results["symbols"]))
    if not args.no_write:
        DOCS.parent.mkdir(exist_ok=True)
        # The load-test section below the marker comes from the two-instance
        # tests (tests/scale), not from this run: keep it.
        previous = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
        kept = ""
        if KEEP_MARKER in previous:
            kept = "\n" + KEEP_MARKER + previous.split(KEEP_MARKER, 1)[1]
        storage = "\n" + storage_bench.markdown(results["storage"])
        storage += "\n" + pages_bench.markdown(results["pages"])
        storage += "\n" + package_page_bench.markdown(results["package_page"])
        storage += "\n" + bodies_bench.markdown(results["bodies"])
        storage += "\n" + upstreams_bench.markdown(results["upstreams"])
        storage += "\n" + symbols_bench.markdown(results["symbols"])
        DOCS.write_text(report.markdown(results) + storage + kept, encoding="utf-8")
        print(f"\nWritten to {DOCS.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
