"""Upstream sources (packages/upstreams/): a restore through Galley against the same
restore straight from the upstream, and the memory of a worker caching a big package.

The upstream is a second Galley behind a small proxy that waits 50 ms before each
request it forwards (a far-away feed). A restore of 40 packages asks, per package,
the flat container's versions index and then the .nupkg, one after the other:

- direct: from the delayed upstream itself;
- cold: through Galley, which has nothing yet (it fetches metadata and packages);
- warm: through Galley again (metadata within its TTL, packages in its storage).

Each of ROUNDS rounds runs the three, the cold one on a fresh, empty Galley; the
report gives the medians, each ratio taken within its round (the machine's load
moves both sides). Goals: warm ≤ 0.5 × direct, cold ≤ 1.3 × direct. Then one
worker of a Galley whose upstream holds a 200 MiB package serves it for the first
time (fetch, check, send, store) while its memory is sampled: goal < 64 MiB above
idle.
"""

from __future__ import annotations

import http.client
import shutil
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench import client, nupkgs
from bench.server import Gunicorn, read_status

DELAY = 0.05
PACKAGES = 40
MIB = 1024 * 1024
LARGE = 200 * MIB
ROUNDS = 5  # the restores' medians are reported


class DelayProxy:
    """Forwards every request to `port` on loopback after DELAY seconds, the Host
    header kept, so the upstream's absolute URLs point back at the proxy.

    Every request pays the same DELAY, whoever sends it and whether or not its
    connection is kept alive: the proxy's sockets have Nagle's algorithm off
    (a reused connection would otherwise hold the body behind the headers until
    the client's delayed ACK, some 40 ms, which a new connection's quick ACKs
    escape), and each answer leaves in one write."""

    def __init__(self, port: int):
        target = port

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # TCP_NODELAY on the client's connection

            def log_message(self, *args):
                pass

            def do_GET(self):
                time.sleep(DELAY)
                upstream = http.client.HTTPConnection("127.0.0.1", target, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream.request("GET", self.path, headers=headers)  # TCP_NODELAY too
                answer = upstream.getresponse()
                body = answer.read()
                upstream.close()
                head = [f"HTTP/1.1 {answer.status} {answer.reason}"]
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        head.append(f"{name}: {value}")
                head.append(f"Content-Length: {len(body)}")
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def restore(port: int, ids: list[str], parts: dict | None = None) -> float:
    """Seconds for the versions index and .nupkg of each id, one after the other;
    `parts` (if given) gets the seconds of each kind of request."""
    started = time.monotonic()
    parts = {} if parts is None else parts
    for package_id in ids:
        lower = package_id.lower()
        index = client.request(port, "GET", f"/v3-flatcontainer/{lower}/index.json")
        if index.status != 200:
            raise RuntimeError(f"{package_id}: versions index {index.status} {index.body[:200]!r}")
        nupkg = client.request(port, "GET", f"/v3-flatcontainer/{lower}/1.0.0/{lower}.1.0.0.nupkg")
        if nupkg.status != 200:
            raise RuntimeError(f"{package_id}: package {nupkg.status} {nupkg.body[:200]!r}")
        parts["index"] = parts.get("index", 0) + index.seconds
        parts["nupkg"] = parts.get("nupkg", 0) + nupkg.seconds
    return time.monotonic() - started


def run(upstream_backend, downstream_backend, keys: dict, say) -> dict:
    """`upstream_backend` is migrated and `keys` seeded (bench.inprocess);
    `downstream_backend` has a database folder of its own (migrated here)."""
    ids = [f"Fabrikam.Bench{n:02d}" for n in range(PACKAGES)]
    large = upstream_backend.folder / "large.nupkg"
    nupkgs.write_large(large, "Fabrikam.Large", "1.0.0", LARGE)
    up_env = dict(upstream_backend.env, GALLEY_MAX_PACKAGE_SIZE=str(300 * MIB))
    result = {}
    with Gunicorn(up_env, upstream_backend.log("upstream"), workers=2, timeout=120) as up:
        say(f"seeding the upstream with {PACKAGES} packages and a {LARGE // MIB} MiB one")
        for package_id in ids:
            body = nupkgs.multipart(nupkgs.with_payload(package_id, "1.0.0", 20 * 1024))
            answer = client.push(up.port, keys["push"], body)
            if answer.status != 201:
                raise RuntimeError(f"seeding {package_id}: {answer.status} {answer.body[:200]!r}")
        answer = client.push_file(up.port, keys["push"], large)
        if answer.status != 201:
            raise RuntimeError(f"seeding the large package: {answer.status}")
        large.unlink()
        proxy = DelayProxy(up.port)
        try:
            result["restore"] = _restores(downstream_backend, proxy.port, ids, say)
        finally:
            proxy.close()
        result["memory"] = _memory(downstream_backend, up.port, say)
    return result


def _downstream_env(backend, upstream_port: int, folder: str) -> dict:
    data = Path(backend.folder) / folder
    data.mkdir(parents=True, exist_ok=True)
    return dict(
        backend.env,
        GALLEY_DATA_DIR=str(data),
        GALLEY_UPSTREAMS=f"http://127.0.0.1:{upstream_port}/v3/index.json",
        GALLEY_UPSTREAM_METADATA_TTL="600",
        GALLEY_MAX_PACKAGE_SIZE=str(300 * MIB),
    )


def _migrate(env: dict) -> None:
    import subprocess
    import sys

    from bench.server import ROOT

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    subprocess.run(
        [sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True, timeout=60
    )


def _restores(backend, proxy_port: int, ids: list[str], say) -> dict:
    """ROUNDS rounds of direct, cold and warm restores, each cold one on a fresh
    copy of a migrated, empty downstream (database and storage)."""
    template = _downstream_env(backend, proxy_port, "restore-template")
    _migrate(template)
    rounds = []
    for number in range(ROUNDS):
        folder = Path(backend.folder) / f"restore-{number}"
        shutil.copytree(template["GALLEY_DATA_DIR"], folder)
        env = dict(template, GALLEY_DATA_DIR=str(folder))
        say(f"round {number + 1}/{ROUNDS}: {len(ids)} packages straight from the delayed upstream")
        direct_parts, cold_parts = {}, {}
        direct = restore(proxy_port, ids, direct_parts)
        with Gunicorn(env, backend.log("downstream"), workers=2, timeout=120) as galley:
            say(f"round {number + 1}/{ROUNDS}: through Galley, cold then warm")
            cold = restore(galley.port, ids, cold_parts)
            warm = restore(galley.port, ids)
        say(f"direct {direct:.2f} s, cold {cold:.2f} s ({cold / direct:.2f}×), warm {warm:.2f} s")
        each = {
            name: f"{parts['index'] / len(ids) * 1000:.0f} + {parts['nupkg'] / len(ids) * 1000:.0f}"
            for name, parts in (("direct", direct_parts), ("cold", cold_parts))
        }
        say(f"ms per package (versions index + .nupkg): {each}")
        rounds.append({"direct": direct, "cold": cold, "warm": warm})
        shutil.rmtree(folder, ignore_errors=True)
    return {"rounds": rounds, "delay": DELAY, "packages": len(ids)}


def _memory(backend, upstream_port: int, say) -> dict:
    env = _downstream_env(backend, upstream_port, "memory")
    _migrate(env)
    with Gunicorn(env, backend.log("downstream-memory"), workers=1, timeout=300) as galley:
        (worker,) = galley.worker_pids()
        client.request(galley.port, "GET", "/v3-flatcontainer/nothing.here/index.json")
        time.sleep(0.5)
        idle = read_status(worker)
        say(f"one worker fetching and serving a {LARGE // MIB} MiB upstream package")
        from bench.run import RssSampler

        sampler = RssSampler(worker)
        sampler.start()
        try:
            answer = client.request(
                galley.port,
                "GET",
                "/v3-flatcontainer/fabrikam.large/1.0.0/fabrikam.large.1.0.0.nupkg",
                timeout=300,
            )
        finally:
            sampler.stop()
        after = read_status(worker)
    return {
        "status": answer.status,
        "bytes": len(answer.body),
        "seconds": answer.seconds,
        "idle_rss_kb": idle["VmRSS"],
        "peak_rss_kb": max(sampler.peak_kb, after["VmRSS"]),
    }


def markdown(result: dict) -> str:
    restore_ = result["restore"]
    rounds = restore_["rounds"]

    def median(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    def ratio(name: str) -> float:
        return statistics.median(r[name] / r["direct"] for r in rounds)

    memory = result["memory"]
    above = (memory["peak_rss_kb"] - memory["idle_rss_kb"]) / 1024
    lines = [
        "## Upstream sources",
        "",
        f"A restore of {restore_['packages']} packages (versions index and .nupkg each, one "
        f"after the other), the upstream a second Galley behind a {restore_['delay'] * 1000:.0f}"
        f" ms-per-request proxy; medians of {len(rounds)} rounds, each cold restore on an"
        " empty Galley (the ratio is each round's own).",
        "",
        "| restore | seconds | × direct | goal |",
        "| --- | ---: | ---: | --- |",
        f"| straight from the upstream | {median('direct'):.2f} | 1.00 | |",
        f"| through Galley, cold | {median('cold'):.2f} | {ratio('cold'):.2f} | ≤ 1.3 |",
        f"| through Galley, warm | {median('warm'):.2f} | {ratio('warm'):.2f} | ≤ 0.5 |",
        "",
        f"One worker fetching, checking, storing and serving a {LARGE // MIB} MiB upstream "
        f"package (answer {memory['status']}, {memory['bytes'] / MIB:.0f} MiB in "
        f"{memory['seconds']:.1f} s): {memory['idle_rss_kb'] / 1024:.0f} MiB idle, peak "
        f"{memory['peak_rss_kb'] / 1024:.0f} MiB, **{above:.1f} MiB above idle** (goal < 64).",
    ]
    return "\n".join(lines)
