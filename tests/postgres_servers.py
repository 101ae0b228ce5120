"""A throwaway PostgreSQL cluster (initdb and pg_ctl in a temporary directory, a free port).

Shared by tests/api_ops (the API as a process against a database it can stop) and the rehearsal
(python -m rehearsal restarts it under load). Never the shared server on 5432.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from tests.redis_servers import free_port


def _postgres_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return candidates[-1]


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own in a temporary directory, on a free port."""

    def __init__(self, root: Path):
        self.bin = _postgres_bin()
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        # PostgreSQL refuses to run as root: run its programs as the postgres user then.
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            argv, user=self.user, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {done.stderr.strip() or done.stdout}")

    def init(self) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin / "initdb"), "--pgdata", str(self.data), "--username", "postgres",
            "--auth", "trust", "--encoding", "UTF8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        # Durability settings off: this cluster lives for one test run.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "--pgdata", str(self.data), "--log",
            str(self.root / "postgres.log"), "--options", options, "--wait", "--timeout", "30",
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bin / "pg_ctl"), "--pgdata", str(self.data), "--mode", mode, "--wait",
            "stop",
        )  # fmt: skip

    def create_database(self, name: str) -> str:
        self._run(
            str(self.bin / "createdb"), "--host", "127.0.0.1", "--port", str(self.port),
            "--username", "postgres", name,
        )  # fmt: skip
        return self.url(name)

    def url(self, database: str, port: int | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{port or self.port}/{database}"
