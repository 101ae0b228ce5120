"""Drive load with wrk and read its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.procs import BenchError

SCRIPTS = Path(__file__).parent / "scripts"
INSTALL_HINT = "install it with `sudo apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`"

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m)"


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p99_ms: float
    requests: int
    errors: int  # socket errors plus responses with a status of 400 or more
    # CPU time the server process spent per request (user + system), when it could be read.
    server_cpu_us: float | None = None

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests else 1.0


def find_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(f"wrk is not installed: {INSTALL_HINT}")
    return path


def wrk_command(
    url: str,
    *,
    duration_s: float,
    connections: int,
    script: str | None = None,
    script_args: tuple[str, ...] = (),
    cpu: int | None = None,
    wrk: str = "wrk",
) -> list[str]:
    """One wrk thread (the load generator has one core), a latency distribution for p99."""
    argv = [wrk, "--threads", "1", "--connections", str(connections)]
    argv += ["--duration", f"{max(1, round(duration_s))}s", "--timeout", "5s", "--latency"]
    if script is not None:
        argv += ["--script", str(SCRIPTS / script)]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    if cpu is not None:
        argv = ["taskset", "--cpu-list", str(cpu), *argv]
    return argv


def parse_wrk_output(text: str) -> WrkResult:
    """Requests/s, p99 latency, request and error counts from wrk's `--latency` report."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    p99 = re.search(rf"^\s*99(?:\.000)?%\s+{_DURATION}", text, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", text, re.MULTILINE)
    if not (rps and p99 and total):
        raise BenchError(f"could not read wrk's report: {text.strip()[:300]!r}")
    errors = 0
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if sockets:
        errors += sum(int(count) for count in sockets.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * _UNITS_MS[p99.group(2)],
        requests=int(total.group(1)),
        errors=errors,
    )


def run_wrk(argv: list[str], timeout_s: float) -> WrkResult:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish within {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
    return parse_wrk_output(done.stdout)
