"""Two Galley instances under gunicorn sharing PostgreSQL and Redis, on loopback.

They serve the suite's own PostgreSQL test database (the tests commit their
data with transactional_db), through a TCP proxy the tests can cut to play a
database outage without touching the machine's PostgreSQL server.
"""

import contextlib
import os
import secrets
import selectors
import socket
import subprocess
import sys
import threading

import pytest
from django.db import connection

from tests.conftest import required
from tests.servers import ROOT, Instance, free_port


class TcpProxy:
    """Forwards a loopback port to PostgreSQL; `cut()` drops every connection and refuses new ones."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.up = threading.Event()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.listener = None
        self.restore()

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        self.up.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self):
        self.up.clear()
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for pair in self.pairs:
                for sock in pair:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self.pairs.clear()

    def _accept(self, listener):
        while self.up.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a, b):
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select(timeout=1):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()


@pytest.fixture
def cluster_env():
    """Variables added to the instances' environment: a test module may override this
    fixture (tests/scale/test_object_storage.py puts the packages in a bucket)."""
    return {}


@pytest.fixture
def cluster(transactional_db, tmp_path, cluster_env):
    """Two instances (A and B) and the database proxy they both use."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: CI's second pass (DATABASE_URL) runs these")
    import redis

    redis_url = os.environ.get("GALLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(redis_url).ping()
    except redis.exceptions.ConnectionError:
        if required("redis"):
            raise
        pytest.skip("needs Redis")
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    prefix = "galley-scale-" + secrets.token_hex(4)
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "GALLEY_KEY_HASH_SECRET": "development-only-api-key-hashing-secret-never-in-production",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,galley.test",
        "GALLEY_HTTPS": "0",
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "60",
        "REDIS_URL": redis_url,
        "GALLEY_CACHE_PREFIX": prefix,
        "GALLEY_PACKAGES_DIR": str(tmp_path / "packages"),
        "GALLEY_EMAIL_BACKEND": "file",
        "GALLEY_EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "GALLEY_LOG_LEVEL": "WARNING",
        "GALLEY_STATIC_ROOT": str(tmp_path / "static"),
        **cluster_env,
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    instances = []
    try:
        instances.append(Instance("a", env))
        instances.append(Instance("b", env))
        yield {"a": instances[0], "b": instances[1], "proxy": proxy}
    finally:
        for instance in instances:
            instance.stop()
        proxy.cut()
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def person(username: str):
    """A user whose password the instances can check: they run the production
    hashers, not the suite's fast MD5 one."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from tests.factories import PASSWORD, UserFactory

    user = UserFactory(username=username)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "scaletestsalt", iterations=1000)
    user.save(update_fields=["password"])
    return user
