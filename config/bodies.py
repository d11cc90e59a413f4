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

import time

from django.core.exceptions import BadRequest


class BodyTooSlow(BadRequest):
    """The client stopped sending its body, or sent it too slowly."""


class GuardedInput:
    """A `wsgi.input` that fails with BodyTooSlow instead of waiting on a slow client."""

    def __init__(self, stream, *, min_rate: int, grace_seconds: float, clock=time.monotonic):
        self._stream = stream
        self._min_rate = min_rate
        self._grace = grace_seconds
        self._clock = clock
        self._started = clock()
        self.received = 0

    def _checked(self, data: bytes) -> bytes:
        self.received += len(data)
        elapsed = self._clock() - self._started
        if data and elapsed > self._grace and self.received < self._min_rate * elapsed:
            raise BodyTooSlow(
                f"request body arrived at {self.received / elapsed:.0f} bytes/s, "
                f"under the minimum of {self._min_rate}"
            )
        return data

    def _call(self, method, *args):
        try:
            return self._checked(method(*args))
        except TimeoutError:  # socket.timeout: no byte within the idle timeout
            raise BodyTooSlow("request body stalled") from None

    def read(self, *args):
        return self._call(self._stream.read, *args)

    def readline(self, *args):
        return self._call(self._stream.readline, *args)

    def readlines(self, hint: int = -1):
        lines, size = [], 0
        while (line := self.readline()) and (hint <= 0 or size < hint):
            lines.append(line)
            size += len(line)
        return lines

    def __iter__(self):
        while line := self.readline():
            yield line


class SlowBodyGuard:
    """WSGI middleware: every request body gets an idle timeout and a minimum rate."""

    def __init__(self, app, *, idle_timeout: float, min_rate: int, grace_seconds: float):
        self.app = app
        self.idle_timeout = idle_timeout
        self.min_rate = min_rate
        self.grace_seconds = grace_seconds

    def __call__(self, environ, start_response):
        # gunicorn exposes the client's socket; other servers (the test client,
        # Django's development server) bring their own timeouts or none is needed.
        sock = environ.get("gunicorn.socket")
        if sock is not None and self.idle_timeout:
            sock.settimeout(self.idle_timeout)
        environ["wsgi.input"] = GuardedInput(
            environ["wsgi.input"], min_rate=self.min_rate, grace_seconds=self.grace_seconds
        )
        return self.app(environ, start_response)
