"""Bodies as they arrive at gunicorn: chunked, too large, cut off, and slow.

Raw sockets, so that each test controls exactly what goes on the wire and
when; the servers are the ones people run (`make serve`'s config/gunicorn.py
and `make run`'s config/gunicorn_dev.py).
"""

import socket
import threading
import time
import urllib.request

import pytest

from packages.models import PackageVersion
from tests.client.conftest import stored_files
from tests.factories import make_key
from tests.packages.builders import nupkg

pytestmark = [pytest.mark.client, pytest.mark.django_db(transaction=True)]

BOUNDARY = "galley-test-boundary"


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def chunked_head(secret: str, content_type: str) -> bytes:
    return (
        "PUT /api/v2/package HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-NuGet-ApiKey: {secret}\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()


def multipart(data: bytes) -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\n"
            'Content-Disposition: form-data; name="package"; filename="package.nupkg"\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def status_of(sock: socket.socket) -> int:
    """The status code of the answer on `sock` (its first line)."""
    received = b""
    while b"\r\n" not in received:
        data = sock.recv(4096)
        if not data:
            break
        received += data
    return int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0


@pytest.mark.parametrize("dev", [False, True], ids=["make-serve", "make-run"])
def test_a_chunked_multipart_push_is_stored(start_galley, alice, dev):
    server = start_galley(dev=dev)
    _, secret = make_key(alice)
    data = nupkg()
    body = multipart(data)
    with connect(server) as sock:
        sock.sendall(chunked_head(secret, f"multipart/form-data; boundary={BOUNDARY}"))
        for start in range(0, len(body), 100):  # many small chunks, as streams send them
            sock.sendall(chunk(body[start : start + 100]))
        sock.sendall(b"0\r\n\r\n")
        assert status_of(sock) == 201
    version = PackageVersion.objects.get()
    assert (server.packages_dir / version.file.name).read_bytes() == data


def test_a_chunked_raw_push_is_stored(galley_server, alice):
    _, secret = make_key(alice)
    data = nupkg()
    with connect(galley_server) as sock:
        sock.sendall(chunked_head(secret, "application/octet-stream") + chunk(data))
        sock.sendall(b"0\r\n\r\n")
        assert status_of(sock) == 201
    assert PackageVersion.objects.get().size == len(data)


def test_a_chunked_body_over_the_limit_is_413_before_it_ends(start_galley, alice):
    server = start_galley(GALLEY_MAX_PACKAGE_SIZE="200000")
    _, secret = make_key(alice)
    with connect(server) as sock:
        sock.sendall(chunked_head(secret, "application/octet-stream"))
        # 320 KB of a body that would go on for ever: the answer comes without
        # the terminating chunk ever being sent.
        for _ in range(5):
            sock.sendall(chunk(b"x" * 64 * 1024))
        assert status_of(sock) == 413
    assert not PackageVersion.objects.exists()
    assert stored_files(server) == []


def test_a_chunked_body_cut_off_mid_chunk_is_400_and_stores_nothing(galley_server, alice):
    _, secret = make_key(alice)
    data = nupkg()
    with connect(galley_server) as sock:
        sock.sendall(chunked_head(secret, "application/octet-stream"))
        sock.sendall(f"{len(data):x}\r\n".encode() + data[: len(data) // 2])
        sock.shutdown(socket.SHUT_WR)  # the client goes away mid-chunk
        assert status_of(sock) == 400
    assert not PackageVersion.objects.exists()
    assert stored_files(galley_server) == []


def test_a_sized_body_cut_off_is_400_and_stores_nothing(galley_server, alice):
    _, secret = make_key(alice)
    data = nupkg()
    with connect(galley_server) as sock:
        sock.sendall(
            (
                "PUT /api/v2/package HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"X-NuGet-ApiKey: {secret}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data[:100]
        )
        sock.shutdown(socket.SHUT_WR)
        assert status_of(sock) == 400
    assert stored_files(galley_server) == []


def test_a_stalled_body_is_cut_after_the_idle_timeout(start_galley, alice):
    server = start_galley(GALLEY_BODY_IDLE_TIMEOUT="2", GALLEY_BODY_GRACE_SECONDS="60")
    _, secret = make_key(alice)
    with connect(server) as sock:
        sock.sendall(chunked_head(secret, "application/octet-stream") + chunk(b"PK"))
        started = time.monotonic()
        assert status_of(sock) == 408
        waited = time.monotonic() - started
    # Cut by the idle timeout (2 s), not by anything near the test's own 30 s.
    assert waited < 20, waited
    assert stored_files(server) == []


def csrf_cookie(server) -> str:
    """The CSRF cookie the sign-in page sets, as a browser would send it back."""
    with urllib.request.urlopen(server.url + "/users/account/LogOn", timeout=15) as response:
        cookie = next(
            value
            for name, value in response.headers.items()
            if name == "Set-Cookie" and "csrf" in value
        )
    return cookie.split(";", 1)[0]


class SlowSender(threading.Thread):
    """Sends a body one byte a second until the server answers or closes."""

    def __init__(self, server, head: bytes):
        super().__init__(daemon=True)
        self.sock = connect(server)
        self.sock.sendall(head)
        self.sock.settimeout(1)
        self.status = None
        self.cut_after = None
        self.started = time.monotonic()

    def run(self):
        deadline = self.started + 60
        while time.monotonic() < deadline:
            try:
                self.sock.sendall(b"x")
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            self.status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
            self.cut_after = time.monotonic() - self.started
            break
        self.sock.close()


def test_fifty_slow_bodies_do_not_starve_the_site_and_are_cut(start_galley, alice):
    """As `make serve` starts gunicorn (its workers and threads), with nothing in front."""
    server = start_galley(
        workers=None,
        GALLEY_BODY_IDLE_TIMEOUT="20",
        GALLEY_BODY_MIN_RATE="1024",
        GALLEY_BODY_GRACE_SECONDS="8",
    )
    _, secret = make_key(alice)
    heads = [
        # Pushes with a valid key: the key is checked, then the body is read.
        (
            "PUT /api/v2/package HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"X-NuGet-ApiKey: {secret}\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode(),
        # Sign-in form posts with a CSRF cookie: Django reads the body for the token.
        (
            "POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {csrf_cookie(server)}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode(),
    ]
    senders = [SlowSender(server, heads[number % 2]) for number in range(50)]
    for sender in senders:
        sender.start()
    time.sleep(2)  # every slow body is being read by now
    for path in ("/healthz", "/users/account/LogOn"):
        with urllib.request.urlopen(server.url + path, timeout=15) as response:
            assert response.status == 200, path
    assert all(sender.status is None for sender in senders), "cut before the grace period"
    for sender in senders:
        sender.join(timeout=70)
    # Every slow body was cut (408 from the publish API, 400 elsewhere, or a
    # closed connection), soon after the 8 s grace period, not at the test's limit.
    assert all(sender.cut_after is not None for sender in senders)
    assert max(sender.cut_after for sender in senders) < 40
    assert {sender.status for sender in senders} <= {408, 400, 0}
    with urllib.request.urlopen(server.url + "/healthz", timeout=15) as response:
        assert response.status == 200
