"""Throwaway redis-server processes for the cache tests: TLS certificates, Redis Cluster nodes.

Shared by tests/api (in-process cache tests), tests/api_ops (the API as a process) and the
rehearsal (python -m rehearsal kills and restarts its Redis under load). Every
server listens on 127.0.0.1 only, on free ports, in a temporary directory, and is stopped by
whoever started it.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

ACL_USER, ACL_PASSWORD = "api-cars", "acl-pw"
ADMIN_PASSWORD = "admin-pw"  # the default user's, for the tests' own look at the keys
ALL_SLOTS = 16384
CLUSTER_START_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll(condition: Callable[[], object], timeout: float, what: str) -> object:
    """``condition()`` until it is truthy; RuntimeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)
    return value


def _openssl(*argv: str, cwd: Path) -> None:
    subprocess.run(["openssl", *argv], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(directory: Path) -> dict[str, Path]:
    """A CA, and a certificate it signs for 127.0.0.1 (IP SAN) and localhost."""
    (directory / "san.cnf").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=api-cars test CA", "-keyout", "ca.key", "-out", "ca.crt",
             cwd=directory)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.crt",
             cwd=directory)  # fmt: skip
    return {name: directory / name for name in ("ca.crt", "server.crt", "server.key")}


@dataclass
class ClusterNode:
    """One ``redis-server --cluster-enabled yes``; with ``certificates``, it speaks TLS only.

    It knows the ACL user ``api-cars`` (the API's) and a default user with a password.
    """

    directory: Path
    certificates: dict[str, Path] | None = None
    port: int = field(default_factory=free_port)
    bus_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def tls(self) -> bool:
        return self.certificates is not None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [
            "redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.directory), "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf", "--cluster-port", str(self.bus_port),
            "--cluster-node-timeout", "2000", "--requirepass", ADMIN_PASSWORD,
            "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all",
        ]  # fmt: skip
        if self.certificates:
            argv += [
                "--port", "0", "--tls-port", str(self.port), "--tls-cluster", "yes",
                "--tls-cert-file", str(self.certificates["server.crt"]),
                "--tls-key-file", str(self.certificates["server.key"]),
                "--tls-ca-cert-file", str(self.certificates["ca.crt"]),
                "--tls-auth-clients", "no",
            ]  # fmt: skip
        else:
            argv += ["--port", str(self.port)]
        log = (self.directory / "redis.log").open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        poll(self._answers, 10, f"redis-server (cluster) on port {self.port}")

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            log = (self.directory / "redis.log").read_text(errors="replace")
            raise RuntimeError(f"redis-server exited: {log[-2000:]}")
        try:
            with self.client(socket_timeout=0.5) as client:
                return client.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def client(self, socket_timeout: float = 2) -> redis.Redis:
        """redis-py to this node alone (no cluster routing), as the default user."""
        options = {}
        if self.certificates:
            options = {"ssl": True, "ssl_ca_certs": str(self.certificates["ca.crt"])}
        return redis.Redis(
            port=self.port, password=ADMIN_PASSWORD, socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout, retry=None, **options,
        )  # fmt: skip

    def cluster_info(self) -> dict[str, str]:
        with self.client() as client:
            text = client.execute_command("CLUSTER", "INFO")
        if isinstance(text, bytes):
            text = text.decode()
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def serves(self, shards: int) -> bool:
        info = self.cluster_info()
        return info["cluster_state"] == "ok" and int(info["cluster_size"]) == shards

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_single_node_cluster(directory: Path, certificates: dict[str, Path] | None) -> ClusterNode:
    """One node owning all 16384 slots: a cluster as ElastiCache Serverless presents itself."""
    node = ClusterNode(directory, certificates)
    node.start()
    try:
        with node.client() as client:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, ALL_SLOTS - 1)
        # A master that just started waits about 2 s before it serves (CLUSTER_WRITABLE_DELAY).
        poll(lambda: node.serves(1), CLUSTER_START_TIMEOUT_S, "the cluster node to serve")
    except BaseException:
        node.kill()
        raise
    return node


def restart(node: ClusterNode, shards: int = 1) -> None:
    """Start a killed node again on its ports; its nodes.conf keeps its slots."""
    node.start()
    poll(lambda: node.serves(shards), CLUSTER_START_TIMEOUT_S, "the cluster node to serve again")


def start_three_shard_cluster(directory: Path) -> list[ClusterNode]:
    """Three masters sharing the slots (redis-cli --cluster create), plain TCP."""
    nodes = [ClusterNode(directory / f"node{i}") for i in range(3)]
    try:
        for node in nodes:
            node.start()
        subprocess.run(
            ["redis-cli", "-a", ADMIN_PASSWORD, "--no-auth-warning", "--cluster", "create",
             *(f"127.0.0.1:{node.port}" for node in nodes), "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        for node in nodes:
            poll(lambda n=node: n.serves(3), CLUSTER_START_TIMEOUT_S, "the three shards to agree")
    except BaseException:
        for node in nodes:
            node.kill()
        raise
    return nodes


class ThrowawayRedis:
    """A redis-server of our own on a free port; kill it and start it again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        poll(self.answers_ping, 10, f"redis-server on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=2)

    def answers_ping(self) -> bool:
        # A raw PING: redis-py retries refused connections with back-off, too slow for polling.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16) == b"+PONG\r\n"
        except OSError:
            return False
