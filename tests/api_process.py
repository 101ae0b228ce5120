"""The API as a real process for the suites that need one (tests/api_ops, tests/edge_cache,
tests/imports): a free port, the environment without a developer's settings, started and polled
until /health answers, stopped with SIGTERM."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    condition: Callable[[], object], timeout: float, what: str, interval: float = 0.02
) -> object:
    """Poll `condition` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


API_COMMAND = ("-m", "api")


class ApiProcess:
    """`python -m api` (or ``command``'s other arguments to Python) on a free port with the given
    environment; output kept for inspection."""

    def __init__(self, env: dict[str, str], log_path: Path, command: tuple[str, ...] = API_COMMAND):
        self.port = free_port()
        self.command = [sys.executable, *(arg.format(port=self.port) for arg in command)]
        # Writes open unless the test names an issuer: these tests are about operations.
        open_writes = {} if "AUTH_ISSUER" in env else {"AUTH_DISABLED": "true"}
        self.env = {**_clean_environ(), "PORT": str(self.port), **open_writes, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self, poll_interval: float = 0.02) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command, cwd=REPO, env=self.env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(
            self._healthy, STARTUP_TIMEOUT_S, f"the API on port {self.port} to start", poll_interval
        )

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"the API exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        # http.client, not httpx: cheap enough to poll every millisecond.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            conn.request("GET", "/health")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def client(self, timeout: float = 10.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[str]:
        return self.log().splitlines()

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def _clean_environ() -> dict[str, str]:
    """This environment without any API setting a developer may have exported."""
    api_settings = {
        "DATABASE_URL", "DATABASE_READ_URL", "SQLITE_PATH", "REDIS_URL", "REDIS_HOST",
        "REDIS_PORT", "REDIS_TLS", "REDIS_USERNAME", "REDIS_PASSWORD", "CACHE_TTL_SECONDS",
        "WORKERS", "HOST", "PORT", "LOG_LEVEL", "SHUTDOWN_GRACE_SECONDS", "MIGRATE_ON_START",
    }  # fmt: skip
    # libpq's variables too: any of them would point the API at a PostgreSQL of the developer's.
    return {
        k: v
        for k, v in os.environ.items()
        if k not in api_settings and not k.startswith(("PG", "DATABASE_", "AUTH_", "CORS_"))
    }
