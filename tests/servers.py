"""Galley under gunicorn, as people run it, for the tests that need a real server.

Django's development server and pytest-django's `live_server` cannot read a
chunked request body, which is how current NuGet clients stream a push; so the
client and scale tests start gunicorn with the project's own configuration
files, on the suite's own PostgreSQL test database (the tests commit their data
with `transactional_db`, and the server reads it from another process).
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(settings_dict: dict, *, port: int | None = None) -> str:
    """A DATABASE_URL for the database a Django connection uses (the test database)."""
    user = urllib.parse.quote(settings_dict["USER"] or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{urllib.parse.quote(password, safe='')}" if password else user
    host = settings_dict["HOST"] or "127.0.0.1"
    port = port or int(settings_dict["PORT"] or 5432)
    return f"postgres://{credentials}@{host}:{port}/{settings_dict['NAME']}"


class Instance:
    """One gunicorn master with its workers, started from a config file of the project."""

    def __init__(
        self,
        name: str,
        env: dict,
        *,
        config: str = "config/gunicorn.py",
        workers: int | None = 2,
    ):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = ROOT / "test-artifacts" / f"gunicorn-{name}.log"
        self.log.parent.mkdir(exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            config,
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        if workers is not None:
            command += ["--workers", str(workers)]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn {name} did not start:\n{self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        """The end of the server's log, for assertion messages."""
        return self.log.read_text(errors="replace")[-size:]

    def reload(self):
        """Graceful restart: new workers start, old ones finish what they are serving."""
        self.process.send_signal(signal.SIGHUP)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
