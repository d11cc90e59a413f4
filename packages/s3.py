"""Package files in an S3-compatible bucket (GALLEY_PACKAGE_STORAGE=s3://…).

django-storages' S3Storage keeps a boto3 resource per thread, as boto3 resources
must not be shared between threads, and builds each one from a new boto3
session. A new session loads S3's service model again: 100–150 ms on an idle
machine, several hundred under load, which every gunicorn thread (32 per worker)
paid on its first push or download. Here each thread still gets a resource of its
own, but all are made from one session per storage, which keeps the loaded model:
a thread's first resource then costs a few milliseconds. A boto3 session is not
thread-safe either, so it is only ever used under a lock.
"""

import threading

from storages.backends.s3 import S3Storage


class _LockedSession:
    """The shared session as S3Storage uses it: resource() only, under the lock."""

    def __init__(self, session, lock: threading.Lock):
        self._session = session
        self._lock = lock

    def resource(self, *args, **kwargs):
        with self._lock:
            return self._session.resource(*args, **kwargs)


class SharedSessionS3Storage(S3Storage):
    def __init__(self, **settings):
        super().__init__(**settings)
        self._session_lock = threading.Lock()
        self._session = None

    def _create_session(self):
        with self._session_lock:
            if self._session is None:
                self._session = super()._create_session()
        return _LockedSession(self._session, self._session_lock)

    # A copy (pickle, deepcopy) makes its own session and lock, as S3Storage's own
    # state leaves its per-thread resources behind.
    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_session_lock", None)
        state["_session"] = None
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._session_lock = threading.Lock()
