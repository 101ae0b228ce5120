"""A throwaway varnishd (Debian's, `make varnish`) in front of one backend port, with rfc9111.vcl.

Each instance has its own working directory (-n), so its counters (varnishstat) are its own; it
listens on a free loopback port, runs in the foreground (-F) as this process's child, and is
stopped by whoever started it.
"""

from __future__ import annotations

import http.client
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.api_process import free_port

VCL = Path(__file__).resolve().parent / "rfc9111.vcl"
START_TIMEOUT_S = 20.0


class Varnish:
    def __init__(self, backend_port: int) -> None:
        if shutil.which("varnishd") is None:
            raise RuntimeError("varnishd not found: `make varnish` installs Debian's varnish")
        self.port = free_port()
        # Readable by the unprivileged user varnishd's child and compiler run as (root starts it).
        self.root = Path(tempfile.mkdtemp(prefix="edge-cache-varnish-"))
        self.root.chmod(0o755)
        self.workdir = self.root / "varnishd"
        self.vcl = self.root / "rfc9111.vcl"
        self.vcl.write_text(VCL.read_text().replace("@API_PORT@", str(backend_port)))
        self.vcl.chmod(0o644)
        self.log_path = self.root / "varnishd.log"
        self.proc: subprocess.Popen | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Varnish:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["varnishd", "-F", "-n", str(self.workdir), "-a", f"127.0.0.1:{self.port}",
                 "-f", str(self.vcl), "-s", "malloc,32m", "-T", "none"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"varnishd exited {self.proc.returncode}: {self.log()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"varnishd did not answer in {START_TIMEOUT_S:g} s")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            conn.request("GET", "/health", headers={"X-Request-ID": "varnish-readiness"})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def counters(self) -> dict[str, int]:
        """Every MAIN.* counter of this instance, as varnishstat reads it from shared memory."""
        done = subprocess.run(
            ["varnishstat", "-n", str(self.workdir), "-1", "-f", "MAIN.*"],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        values = {}
        for line in done.stdout.splitlines():
            name, value, *_ = line.split()
            values[name.removeprefix("MAIN.")] = int(value)
        return values

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
