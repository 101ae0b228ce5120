"""The processes a benchmark run starts: each is tracked, and all are stopped, also on Ctrl-C."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

# Short enough not to add visibly to a start-up time of a few hundred milliseconds.
POLL_INTERVAL_S = 0.002


class BenchError(Exception):
    """Something the person running the benchmark must fix; the message says what."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(port: int, path: str, timeout: float = 1.0) -> int | None:
    """The status of GET http://127.0.0.1:port/path, or None when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


def wait_for_status(
    port: int,
    path: str = "/health",
    *,
    status: int = 200,
    timeout: float = 30.0,
    proc: subprocess.Popen | None = None,
    started: float | None = None,
) -> float:
    """Poll GET path until it answers `status`; return seconds since `started` (default: now).

    Raises BenchError when `proc` exits first or the deadline passes.
    """
    started = time.monotonic() if started is None else started
    deadline = time.monotonic() + timeout
    while True:
        if http_status(port, path) == status:
            return time.monotonic() - started
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{describe(proc)} exited with code {proc.returncode} before serving")
        if time.monotonic() > deadline:
            raise BenchError(f"GET :{port}{path} did not answer {status} within {timeout:.0f} s")
        time.sleep(POLL_INTERVAL_S)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def describe(proc: subprocess.Popen) -> str:
    args = proc.args if isinstance(proc.args, list | tuple) else [proc.args]
    return " ".join(str(arg) for arg in args)


class Processes:
    """Starts child processes in their own sessions and stops every one of them on exit.

    Children get their own process group so that a terminal's Ctrl-C reaches only the benchmark,
    which then stops them in order; stopping signals the whole group (wrapper + server).
    """

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._procs: list[subprocess.Popen] = []

    def start(
        self,
        argv: list[str],
        *,
        name: str,
        env: dict[str, str] | None = None,
        cpu: int | None = None,
    ) -> subprocess.Popen:
        """Start argv (pinned to `cpu` with taskset when given), logging to log_dir/name.log."""
        if cpu is not None:
            argv = ["taskset", "--cpu-list", str(cpu), *argv]
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log = log  # type: ignore[attr-defined]
        proc.name = name  # type: ignore[attr-defined]
        self._procs.append(proc)
        return proc

    def log_tail(self, proc: subprocess.Popen, lines: int = 20) -> str:
        path = self.log_dir / f"{proc.name}.log"  # type: ignore[attr-defined]
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, proc: subprocess.Popen, timeout: float = 15.0) -> int:
        """SIGTERM the process group, SIGKILL it after `timeout`; return the exit code."""
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        proc.log.close()  # type: ignore[attr-defined]
        if proc in self._procs:
            self._procs.remove(proc)
        return proc.returncode

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
