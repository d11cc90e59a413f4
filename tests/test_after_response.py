"""core/after_response.py: work the client does not wait for runs once its answer is
sent, or at once outside a request; a failure there is logged, never raised."""

import logging

from django.core.signals import request_finished, request_started

from core import after_response as after_response_module
from core.after_response import after_response


def test_it_follows_djangos_request_signals():
    """request_started opens the queue; request_finished, sent when the server closes
    the response after sending it, runs it."""
    assert any(
        receiver() is after_response_module._started
        for _key, receiver, *_ in request_started.receivers
        if callable(receiver)
    )
    assert any(
        receiver() is after_response_module._finished
        for _key, receiver, *_ in request_finished.receivers
        if callable(receiver)
    )


def test_outside_a_request_it_runs_at_once():
    done = []
    after_response(lambda: done.append(1))
    assert done == [1]


def test_inside_a_request_it_waits_for_the_response_to_close(caplog):
    done = []
    after_response_module._started()
    after_response(lambda: done.append("first"))
    after_response(lambda: 1 / 0)  # logged; the work after it still runs
    after_response(lambda: done.append("second"))
    assert done == []
    with caplog.at_level(logging.ERROR, logger="galley.after_response"):
        after_response_module._finished()
    assert done == ["first", "second"]
    assert "work after the response failed" in caplog.text
    after_response(lambda: done.append("later"))  # no request now: at once
    assert done == ["first", "second", "later"]
