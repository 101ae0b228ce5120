"""HAProxy playing the ALB and its target group, driven through its runtime API (stats socket).

The target group's values come from the generated template (TargetGroupSettings): the health
check's path, interval, timeout and thresholds. Like an ALB, it retries nothing and never sends a
failed request to another target (`retries 0`, no `option redispatch`). Targets are dynamic servers
(`add server`, HAProxy 2.4+): registered in the state an ALB gives a new target (unhealthy until
`HealthyThresholdCount` checks pass), deregistered with `state drain` (no new requests, in-flight
ones finish), removed with `del server`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.procs import BenchError, Processes, free_port

BACKEND = "targets"
INSTALL_HINT = "apt-get install haproxy (make rehearsal installs it)"


@dataclass(frozen=True)
class TargetGroupSettings:
    path: str
    interval_s: float
    timeout_s: float
    healthy_threshold: int
    unhealthy_threshold: int
    deregistration_delay_s: float

    def scaled(self, factor: float) -> TargetGroupSettings:
        return TargetGroupSettings(
            self.path,
            self.interval_s * factor,
            self.timeout_s * factor,
            self.healthy_threshold,
            self.unhealthy_threshold,
            self.deregistration_delay_s * factor,
        )


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def config(listen_port: int, socket_path: Path, settings: TargetGroupSettings) -> str:
    return f"""global
    stats socket {socket_path} mode 600 level admin
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # An ALB sends a request once: no retry, no other target after a failure.
    retries 0
    no option redispatch

frontend alb
    bind 127.0.0.1:{listen_port}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk GET {settings.path}
    http-check expect status 200
    timeout check {_ms(settings.timeout_s)}
"""


class HAProxy:
    def __init__(self, procs: Processes, work_dir: Path, settings: TargetGroupSettings):
        binary = shutil.which("haproxy")
        if binary is None:
            raise BenchError(f"haproxy is not installed: {INSTALL_HINT}")
        self.settings = settings
        self.socket_path = work_dir / "haproxy.sock"
        self.port = free_port()
        cfg = work_dir / "haproxy.cfg"
        cfg.write_text(config(self.port, self.socket_path, settings))
        check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True)
        if check.returncode != 0:
            raise BenchError(f"haproxy refused its configuration: {check.stdout}{check.stderr}")
        self.proc = procs.start([binary, "-db", "-f", str(cfg)], name="haproxy")
        deadline = time.monotonic() + 10
        while not self.socket_path.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"haproxy did not start: {procs.log_tail(self.proc)}")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def _must(self, line: str) -> None:
        answer = self.command(line).strip()
        if answer and not answer.startswith(("New server registered", "Server deleted")):
            raise BenchError(f"haproxy: {line!r}: {answer}")

    def register(self, name: str, port: int) -> None:
        """A new target: unhealthy until HealthyThresholdCount checks pass, as an ALB's."""
        s = self.settings
        self._must(
            f"add server {BACKEND}/{name} 127.0.0.1:{port} check inter {_ms(s.interval_s)} "
            f"rise {s.healthy_threshold} fall {s.unhealthy_threshold}"
        )
        # Leaving maintenance would make it UP at once: via drain, its health set down first.
        self._must(f"set server {BACKEND}/{name} state drain")
        self._must(f"enable health {BACKEND}/{name}")
        self._must(f"set server {BACKEND}/{name} health down")
        self._must(f"set server {BACKEND}/{name} state ready")

    def deregister(self, name: str) -> None:
        """Draining: no new requests; in-flight ones finish (the deregistration delay runs)."""
        self._must(f"set server {BACKEND}/{name} state drain")

    def remove(self, name: str) -> None:
        self._must(f"set server {BACKEND}/{name} state maint")
        self.command(f"shutdown sessions server {BACKEND}/{name}")
        self._must(f"del server {BACKEND}/{name}")

    def states(self) -> dict[str, str]:
        """Server name -> status (UP, DOWN, DRAIN, MAINT, 'UP 1/2' while rising ...)."""
        text = self.command("show stat")
        lines = text.lstrip("# ").splitlines()
        header = lines[0].split(",")
        at = {name: i for i, name in enumerate(header)}
        found = {}
        for line in lines[1:]:
            row = line.split(",")
            ours = len(row) > at["status"] and row[at["pxname"]] == BACKEND
            if ours and row[at["svname"]] not in ("BACKEND", "FRONTEND"):
                found[row[at["svname"]]] = row[at["status"]]
        return found

    def wait_for_any(
        self, name: str, statuses: tuple[str | None, ...], timeout: float
    ) -> tuple[str | None, float]:
        """The first of `statuses` server `name` reaches (None: removed), and after how long."""
        started = time.monotonic()
        while (status := self.states().get(name)) not in statuses:
            if time.monotonic() - started > timeout:
                raise BenchError(
                    f"haproxy: {name} not {statuses} within {timeout:.0f} s ({status})"
                )
            time.sleep(0.02)
        return status, time.monotonic() - started
