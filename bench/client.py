"""A plain HTTP client on loopback: one connection per request, closed after the answer."""

import http.client
import os
import time
from dataclasses import dataclass

from bench import nupkgs

HOST = "127.0.0.1"
PUSH_PATH = "/api/v2/package"
_CHUNK = 1 << 20


@dataclass
class Response:
    status: int
    reason_code: str  # X-Galley-Reason, when the answer has one
    body: bytes
    seconds: float  # from before connecting until the whole answer is read
    headers: dict | None = None  # lower-cased names


def _answer(conn, started: float) -> Response:
    answer = conn.getresponse()
    data = answer.read()
    return Response(
        answer.status,
        answer.getheader("X-Galley-Reason", ""),
        data,
        time.perf_counter() - started,
        {name.lower(): value for name, value in answer.getheaders()},
    )


def request(port, method, path, *, body=None, headers=None, timeout=60.0) -> Response:
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        return _answer(conn, started)
    finally:
        conn.close()


def push(port, secret: str, body: bytes, *, timeout=60.0) -> Response:
    """PUT a multipart body (see nupkgs.multipart) as the NuGet client does."""
    headers = {"Content-Type": nupkgs.CONTENT_TYPE, "X-NuGet-ApiKey": secret}
    return request(port, "PUT", PUSH_PATH, body=body, headers=headers, timeout=timeout)


def push_file(port, secret: str, path, *, timeout=300.0, url=PUSH_PATH) -> Response:
    """Push the package at `path`, streamed from the file in 1 MiB chunks (to `url`:
    the symbol package endpoint for a .snupkg)."""
    head, tail = nupkgs.multipart_frame()
    length = len(head) + os.path.getsize(path) + len(tail)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.putrequest("PUT", url)
        conn.putheader("Content-Type", nupkgs.CONTENT_TYPE)
        conn.putheader("Content-Length", str(length))
        conn.putheader("X-NuGet-ApiKey", secret)
        conn.endheaders()
        try:
            conn.send(head)
            with open(path, "rb") as package:
                while chunk := package.read(_CHUNK):
                    conn.send(chunk)
            conn.send(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (e.g. 413): read what it said
        return _answer(conn, started)
    finally:
        conn.close()
