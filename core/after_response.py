"""Work that may wait until the client has its answer: run once the response is sent.

A request's answer should cost only what the client waits for. Work that nothing
in the answer depends on, and whose absence the code copes with if the process
dies first (a copy of the manifest beside a stored package: the feed reads it out
of the package without it), is queued here and run when Django closes the
response, which servers do after sending it (`request_finished`). Outside a
request (a command, a shell) it runs at once. A failure is logged, never raised:
the answer has gone.
"""

import logging
import threading
from collections.abc import Callable

from django.core.signals import request_finished, request_started

log = logging.getLogger("galley.after_response")
_local = threading.local()


def after_response(work: Callable[[], None]) -> None:
    """Run `work` once this thread's current response has been sent (at once outside one)."""
    queue = getattr(_local, "queue", None)
    if queue is None:
        _run(work)
    else:
        queue.append(work)


def _run(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception:
        log.exception("work after the response failed")


def _started(**kwargs) -> None:
    _local.queue = []


def _finished(**kwargs) -> None:
    queue, _local.queue = getattr(_local, "queue", None), None
    for work in queue or ():
        _run(work)


request_started.connect(_started, dispatch_uid="galley.after_response.started")
request_finished.connect(_finished, dispatch_uid="galley.after_response.finished")
