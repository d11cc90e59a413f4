"""Gunicorn on loopback for the benchmark: start, wait until it answers, stop."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.client import HOST, request

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_command() -> list[str]:
    script = Path(sys.executable).with_name("gunicorn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


def read_status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                values[name] = int(parts[0])
    return values


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                # The command name may hold spaces and parentheses: split after the last ")".
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


class Gunicorn:
    """One gunicorn master in its own process group, logging to `log_path`."""

    def __init__(
        self, env: dict, log_path: Path, *, workers: int, timeout: int = 30, app="config.wsgi"
    ):
        self.app = app
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.timeout = timeout
        self.port = 0
        self.process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> None:
        self.port = free_port()
        command = [
            *gunicorn_command(),
            # The production configuration (threaded workers), as `make serve` runs.
            "-c",
            "config/gunicorn.py",
            self.app,
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            str(self.timeout),
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start-up:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                status = request(self.port, "GET", "/bench/select", timeout=2).status
                if status == 200 and len(self.worker_pids()) == self.workers:
                    return
                if status != 200:
                    raise RuntimeError(f"/bench/select answered {status}:\n{self.log_tail()}")
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {limit:.0f} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the master and its workers: TERM, then KILL whatever is left of the group."""
        if self.process is None:
            return
        group = self.process.pid  # start_new_session: the group id is the master's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process = None
