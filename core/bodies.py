"""Request bodies that stall or crawl are cut, so slow clients cannot hold the threads.

gunicorn's threaded workers hand a connection to a thread once its request
starts, and the thread then blocks on the socket while the body arrives. A
client sending one byte a second would hold that thread for as long as it
likes. `SlowBodyGuard` wraps the WSGI application and gives every body two
limits, the way nginx's `client_body_timeout` and Apache's `mod_reqtimeout` do:

- an idle timeout: a read that waits longer than `idle_timeout` seconds for
  the next bytes fails (a socket timeout on gunicorn's socket);
- a minimum average rate: after `grace_seconds`, a body arriving slower than
  `min_rate` bytes a second on average is cut.

Either way the application sees `BodyTooSlow`, a `BadRequest`, which Django
answers with 400 wherever the body is read (the publish API answers 408 with
its own message). A large push at any normal rate is untouched.
"""

import contextlib
import socket
import threading
import time
import weakref

from django.core.exceptions import BadRequest

# Bodies are read in pieces no larger than this (or four seconds' worth at the
# minimum rate, if larger): a server's read blocks until its whole piece has
# arrived, and the rate can only be judged between pieces.
PIECE = 8192


class BodyTooSlow(BadRequest):
    """The client stopped sending its body, or sent it too slowly."""


class GuardedInput:
    """A `wsgi.input` that fails with BodyTooSlow instead of waiting on a slow client."""

    def __init__(self, stream, *, min_rate: int, grace_seconds: float, sock=None):
        self._stream = stream
        self._min_rate = min_rate
        self._grace = grace_seconds
        self._sock = sock
        self._piece = max(PIECE, 4 * min_rate)
        self._started = time.monotonic()
        self._pending = 0  # the size of the read in progress, for the watchdog
        self._cut = False
        self.received = 0

    def too_slow(self, now: float, pending: int = 0) -> bool:
        """Even if the bytes being waited for arrived now, would the rate be too low?"""
        elapsed = now - self._started
        return elapsed > self._grace and self.received + pending < self._min_rate * elapsed

    def cut_if_too_slow(self, now: float) -> None:
        """Called by the watchdog while a read may be blocked: stop reading the socket.

        Shutting down the reading side wakes the blocked read with an end of
        file; the writing side stays open for the answer.
        """
        if self._pending and self.too_slow(now, self._pending) and not self._cut:
            self._cut = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RD)

    def _piecewise(self, method, size: int) -> bytes:
        self._pending = size
        try:
            data = method(size)
        except TimeoutError:  # socket.timeout: no byte within the idle timeout
            raise BodyTooSlow("request body stalled") from None
        except Exception:
            if self._cut:
                raise BodyTooSlow("request body too slow") from None
            raise
        finally:
            self._pending = 0
        if self._cut:
            raise BodyTooSlow("request body too slow")
        self.received += len(data)
        if data and self.too_slow(time.monotonic()):
            raise BodyTooSlow("request body too slow")
        return data

    def read(self, size=-1):
        if size is None or size < 0:
            parts = []
            while data := self._piecewise(self._stream.read, self._piece):
                parts.append(data)
            return b"".join(parts)
        parts, remaining = [], size
        while remaining > 0:
            data = self._piecewise(self._stream.read, min(remaining, self._piece))
            if not data:
                break
            parts.append(data)
            remaining -= len(data)
        return b"".join(parts)

    def readline(self, size=-1):
        limit = self._piece if size is None or size < 0 else min(size, self._piece)
        return self._piecewise(self._stream.readline, limit)

    def readlines(self, hint: int = -1):
        lines, size = [], 0
        while (line := self.readline()) and (hint <= 0 or size < hint):
            lines.append(line)
            size += len(line)
        return lines

    def __iter__(self):
        while line := self.readline():
            yield line


class _Watchdog:
    """One thread per process that looks at the bodies being read, once a second."""

    def __init__(self):
        self._inputs = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread = None

    def watch(self, guarded: GuardedInput) -> None:
        with self._lock:
            self._inputs.add(guarded)
            if self._thread is None or not self._thread.is_alive():
                # A new thread after a fork: gunicorn forks its workers.
                self._thread = threading.Thread(target=self._run, name="body-watchdog", daemon=True)
                self._thread.start()

    def _run(self):
        while True:
            time.sleep(1)
            now = time.monotonic()
            with self._lock:
                inputs = list(self._inputs)
            for guarded in inputs:
                guarded.cut_if_too_slow(now)


_watchdog = _Watchdog()


class SlowBodyGuard:
    """WSGI middleware: every request body gets an idle timeout and a minimum rate."""

    def __init__(self, app, *, idle_timeout: float, min_rate: int, grace_seconds: float):
        self.app = app
        self.idle_timeout = idle_timeout
        self.min_rate = min_rate
        self.grace_seconds = grace_seconds

    def __call__(self, environ, start_response):
        # gunicorn exposes the client's socket; under other servers (the test
        # client, Django's development server) only the rate between reads is checked.
        sock = environ.get("gunicorn.socket")
        guarded = GuardedInput(
            environ["wsgi.input"],
            min_rate=self.min_rate,
            grace_seconds=self.grace_seconds,
            sock=sock,
        )
        if sock is not None:
            sock.settimeout(self.idle_timeout)
            if self.min_rate:
                _watchdog.watch(guarded)
        environ["wsgi.input"] = guarded
        return self.app(environ, start_response)
