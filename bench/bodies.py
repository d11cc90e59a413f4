"""make bench, section 5: bodies as current and hostile clients send them.

a. A 200 MiB package pushed chunked (as nuget.exe 5+ and the dotnet CLI send
   it), stored; and the same body against a 100 MiB limit, refused with 413
   while it is still arriving. Worker memory against its idle size.
b. A package whose zip central directory holds 5 million entries: refused with
   400, worker memory against its idle size (Python's zipfile alone would take
   gigabytes to load it).
c. 50 connections sending a body one byte a second against gunicorn as
   `make serve` starts it: the time /healthz and the sign-in page take to
   answer meanwhile, against the same requests with no slow clients, and when
   the slow ones are cut.
"""

import http.client
import socket
import struct
import threading
import time

from bench import client, nupkgs
from bench.server import HOST, Gunicorn, read_status

MIB = 1024 * 1024
CHUNKED_PAYLOAD = 200 * MIB
CHUNKED_LIMIT = 300 * MIB
REFUSED_LIMIT = 100 * MIB
ZIP_ENTRIES = 5_000_000
SLOW_CONNECTIONS = 50
PROBES = 20


def push_chunked(port: int, secret: str, path, *, timeout=300.0) -> tuple[client.Response, int]:
    """Push the file at `path` with Transfer-Encoding: chunked; returns the answer and
    how many bytes of the body were sent before it came."""
    head, tail = nupkgs.multipart_frame()
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    sent = 0
    try:
        conn.putrequest("PUT", client.PUSH_PATH)
        conn.putheader("Content-Type", nupkgs.CONTENT_TYPE)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("X-NuGet-ApiKey", secret)
        conn.endheaders()
        try:
            for piece in _pieces(head, path, tail):
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (413): read what it said
        answer = conn.getresponse()
        body = answer.read()
        return (
            client.Response(
                answer.status,
                answer.getheader("X-Galley-Reason", ""),
                body,
                time.perf_counter() - started,
            ),
            sent,
        )
    finally:
        conn.close()


def _pieces(head: bytes, path, tail: bytes):
    yield head
    with open(path, "rb") as package:
        while piece := package.read(MIB):
            yield piece
    yield tail


def write_many_entries(path, entries: int) -> int:
    """A zip whose central directory holds `entries` records (nameless, pointing at
    nothing): the smallest archive that makes zipfile allocate one object each."""
    record = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    )
    batch = record * 100_000
    with open(path, "wb") as archive:
        written = 0
        while written < entries:
            count = min(100_000, entries - written)
            archive.write(batch if count == 100_000 else record * count)
            written += count
        size = entries * len(record)
        count_field = min(entries, 0xFFFF)
        archive.write(
            struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count_field, count_field, size, 0, 0)
        )
        return archive.tell()


def _memory_of(server: Gunicorn, secret: str, action) -> dict:
    from bench.run import RssSampler

    (worker,) = server.worker_pids()
    warm = nupkgs.multipart(nupkgs.with_payload("Contoso.Warm", "1.0.0", 100 * 1024))
    client.push(server.port, secret, warm)
    time.sleep(0.5)
    idle = read_status(worker)
    sampler = RssSampler(worker)
    sampler.start()
    try:
        answer, sent = action()
    finally:
        sampler.stop()
    after = read_status(worker)
    return {
        "status": answer.status,
        "reason": answer.reason_code,
        "seconds": answer.seconds,
        "sent_bytes": sent,
        "idle_rss_kb": idle["VmRSS"],
        "peak_rss_kb": max(sampler.peak_kb, after["VmRSS"]),
    }


def chunked_pushes(backend, keys: dict, say) -> dict:
    package = backend.folder / "chunked.nupkg"
    say(f"building a {CHUNKED_PAYLOAD // MIB} MiB package for the chunked pushes")
    size = nupkgs.write_large(package, "Contoso.Chunked", "1.0.0", CHUNKED_PAYLOAD)
    results = {"package_bytes": size}
    try:
        for name, limit in (("stored", CHUNKED_LIMIT), ("refused", REFUSED_LIMIT)):
            env = dict(backend.env, GALLEY_MAX_PACKAGE_SIZE=str(limit))
            with Gunicorn(env, backend.log(f"gunicorn-chunked-{name}"), workers=1) as server:
                say(f"chunked push of {size / MIB:.0f} MiB, limit {limit // MIB} MiB")
                results[name] = _memory_of(
                    server,
                    keys["push"],
                    lambda s=server: push_chunked(s.port, keys["push"], package),
                )
                results[name]["limit_bytes"] = limit
    finally:
        package.unlink(missing_ok=True)
    return results


def many_entries(backend, keys: dict, say) -> dict:
    package = backend.folder / "entries.nupkg"
    say(f"building a zip with {ZIP_ENTRIES:,} central-directory entries")
    size = write_many_entries(package, ZIP_ENTRIES)
    env = dict(backend.env, GALLEY_MAX_PACKAGE_SIZE=str(CHUNKED_LIMIT))
    try:
        with Gunicorn(env, backend.log("gunicorn-entries"), workers=1) as server:
            say(f"pushing it ({size / MIB:.0f} MiB)")
            result = _memory_of(
                server,
                keys["push"],
                lambda: (client.push_file(server.port, keys["push"], package), size),
            )
    finally:
        package.unlink(missing_ok=True)
    result["package_bytes"] = size
    result["entries"] = ZIP_ENTRIES
    return result


class _Slow(threading.Thread):
    def __init__(self, port: int, head: bytes):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((HOST, port), timeout=1)
        self.sock.sendall(head)
        self.started = time.monotonic()
        self.cut_after = None

    def run(self):
        while time.monotonic() - self.started < 120:
            try:
                self.sock.sendall(b"x")
                self.sock.recv(4096)  # an answer, or the end: either way it was cut
            except TimeoutError:
                continue  # nothing yet: send the next byte
            except OSError:
                pass
            self.cut_after = time.monotonic() - self.started
            break
        self.sock.close()


def _probe(port: int) -> list[float]:
    seconds = []
    for _ in range(PROBES):
        for path in ("/healthz", "/users/account/LogOn"):
            seconds.append(client.request(port, "GET", path, timeout=60).seconds)
    return seconds


def slow_clients(backend, keys: dict, say) -> dict:
    from bench.run import percentile

    # The limits as shipped; gunicorn as `make serve` starts it (config/gunicorn.py).
    with Gunicorn(backend.env, backend.log("gunicorn-slow"), workers=4) as server:
        quiet = _probe(server.port)
        head = (
            f"PUT {client.PUSH_PATH} HTTP/1.1\r\nHost: {HOST}\r\n"
            f"X-NuGet-ApiKey: {keys['push']}\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: 1000000\r\n\r\n"
        ).encode()
        say(f"{SLOW_CONNECTIONS} connections sending a byte a second; probing meanwhile")
        slow = [_Slow(server.port, head) for _ in range(SLOW_CONNECTIONS)]
        for sender in slow:
            sender.start()
        time.sleep(2)
        loaded = _probe(server.port)
        for sender in slow:
            sender.join(timeout=130)
    cut = [sender.cut_after for sender in slow if sender.cut_after is not None]
    return {
        "connections": SLOW_CONNECTIONS,
        "quiet_p50": percentile(quiet, 0.5),
        "quiet_max": max(quiet),
        "loaded_p50": percentile(loaded, 0.5),
        "loaded_max": max(loaded),
        "cut": len(cut),
        "cut_max_seconds": max(cut) if cut else None,
    }


def run(backend, keys: dict, say) -> dict:
    return {
        "chunked": chunked_pushes(backend, keys, say),
        "entries": many_entries(backend, keys, say),
        "slow": slow_clients(backend, keys, say),
    }


def markdown(result: dict) -> str:
    """The section of docs/benchmarks.md."""
    chunked, entries, slow = result["chunked"], result["entries"], result["slow"]

    def above_idle(part: dict) -> str:
        return f"{(part['peak_rss_kb'] - part['idle_rss_kb']) / 1024:.1f} MiB"

    lines = [
        "## 5. Bodies as current and hostile clients send them",
        "",
        "| case | answer | worker memory above idle (goal < 64 MiB) | notes |",
        "|---|---|---|---|",
        f"| chunked push of {chunked['package_bytes'] / MIB:.0f} MiB | "
        f"{chunked['stored']['status']} | {above_idle(chunked['stored'])} | "
        f"{chunked['stored']['seconds']:.1f} s |",
        f"| the same body over a {REFUSED_LIMIT // MIB} MiB limit | "
        f"{chunked['refused']['status']} | {above_idle(chunked['refused'])} | "
        f"answered after {chunked['refused']['sent_bytes'] / MIB:.0f} MiB sent |",
        f"| zip with {entries['entries']:,} directory entries "
        f"({entries['package_bytes'] / MIB:.0f} MiB) | {entries['status']} | "
        f"{above_idle(entries)} | {entries['seconds']:.1f} s |",
        "",
        f"With {slow['connections']} connections sending a body one byte a second "
        "(gunicorn as `make serve` starts it, 4 workers, nothing in front), `/healthz` and "
        f"the sign-in page answered in {slow['loaded_p50'] * 1000:.0f} ms (median) and "
        f"{slow['loaded_max'] * 1000:.0f} ms at most (goal under 1 s), against "
        f"{slow['quiet_p50'] * 1000:.0f} ms and {slow['quiet_max'] * 1000:.0f} ms with no slow "
        f"clients: {slow['loaded_p50'] / slow['quiet_p50']:.1f}x the median. "
        f"{slow['cut']} of {slow['connections']} slow connections were cut, the last "
        + (
            f"after {slow['cut_max_seconds']:.0f} s"
            if slow["cut_max_seconds"] is not None
            else "never"
        )
        + " (grace period 20 s, minimum 2 KiB/s).",
        "",
    ]
    return "\n".join(lines)
