"""PostgreSQL as the service stack configures it: libpq's variables only, TLS with verify-full,
a password that changes, connections that close when idle and a database slow to accept them.

The cluster is our own (initdb in a temporary directory) with TLS on and a certificate from a
throwaway CA made here with openssl; the application role `app` must log in over TLS with a
password (SCRAM), as on Aurora. The API is a real process configured by PG* variables only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

PROBLEM = "application/problem+json"
ROLE = "app"
PASSWORD, NEW_PASSWORD = "first-secret", "second-secret"
_DATABASE_NUMBERS = itertools.count(1)


def _openssl(*argv: str, cwd: Path) -> None:
    subprocess.run(["openssl", *argv], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> Path:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.crt",
             cwd=directory)  # fmt: skip
    return directory / f"{name}.crt"


def make_server_certificate(directory: Path, ca: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by the CA ``ca``."""
    (directory / "san.cnf").write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.crt",
             cwd=directory)  # fmt: skip
    return directory / "server.crt", directory / "server.key"


@dataclass
class SecuredCluster:
    port: int
    socket_dir: Path
    ca: Path  # the CA that signed the server's certificate
    other_ca: Path  # a CA that did not

    def admin(self) -> psycopg.Connection:
        """The superuser over the Unix socket (trusted), for set-up and inspection."""
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname="postgres",
            autocommit=True,
        )  # fmt: skip

    def create_database(self, name: str) -> str:
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        return name

    def set_password(self, password: str) -> None:
        with self.admin() as conn:
            conn.execute(f"ALTER ROLE {ROLE} PASSWORD '{password}'")

    def sessions(self, database: str) -> list[tuple[int, bool]]:
        """(pid, over TLS) of every session of the application role on ``database``."""
        with self.admin() as conn:
            return conn.execute(
                "SELECT a.pid, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
                "WHERE a.usename = %s AND a.datname = %s",
                (ROLE, database),
            ).fetchall()

    def terminate_sessions(self, database: str) -> None:
        with self.admin() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = %s AND datname = %s",
                (ROLE, database),
            )

    def environment(self, database: str, *, port: int | None = None, **overrides) -> dict:
        """What the service template passes: libpq's variables, nothing else."""
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port or self.port),
            "PGDATABASE": database,
            "PGUSER": ROLE,
            "PGPASSWORD": PASSWORD,
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": str(self.ca),
            **overrides,
        }


@pytest.fixture(scope="module")
def cluster(postgres_server) -> Iterator[SecuredCluster]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates (apt-get install openssl)")
    # Not under pytest's temporary directory: the server's user must reach this one.
    root = Path(tempfile.mkdtemp(prefix="api-ops-pg-tls-"))
    server = type(postgres_server)(root)  # the suite's ThrowawayPostgres: a cluster of our own
    server.init()
    certs = root / "certs"
    certs.mkdir()
    ca = make_ca(certs, "test-ca")
    other_ca = make_ca(certs, "other-ca")
    cert, key = make_server_certificate(certs, "test-ca")
    if server.user is not None:  # the server runs as postgres and wants its key to itself
        entry = pwd.getpwnam(server.user)
        for path in (certs, cert, key):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    key.chmod(0o600)
    with (server.data / "postgresql.conf").open("a") as conf:
        conf.write(f"ssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\n")
    # The application role: TLS and a password or nothing, as on Aurora.
    (server.data / "pg_hba.conf").write_text(
        "local all all trust\n"
        f"hostssl all {ROLE} 127.0.0.1/32 scram-sha-256\n"
        f"hostnossl all {ROLE} 127.0.0.1/32 reject\n"
    )
    server.start()
    secured = SecuredCluster(server.port, root, ca, other_ca)
    try:
        with secured.admin() as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        yield secured
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database(cluster) -> str:
    """A database of its own for each test, owned by the application role."""
    cluster.set_password(PASSWORD)
    return cluster.create_database(f"cars_{next(_DATABASE_NUMBERS)}")


def assert_503_problem(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["status"] == 503


def database_unavailable_lines(api) -> list[str]:
    return [line for line in api.log_lines() if "database unavailable" in line]


# --- libpq's variables and verify-full -------------------------------------------------------


def test_the_api_migrates_and_serves_with_libpq_variables_over_verified_tls(
    start_api, cluster, database, car_body
):
    api = start_api(**cluster.environment(database))
    with api.client() as client:
        created = client.post("/v1/cars", json=car_body)
        assert created.status_code == 201, created.text
        assert client.get(created.headers["location"]).json() == created.json()
        assert client.get("/ready").status_code == 200
    sessions = cluster.sessions(database)
    assert sessions and all(over_tls for _, over_tls in sessions), sessions


def test_a_server_certificate_from_another_ca_is_refused_with_503_problems(
    start_api, cluster, database
):
    api = start_api(
        **cluster.environment(database, PGSSLROOTCERT=str(cluster.other_ca)),
        MIGRATE_ON_START="false",
    )
    with api.client() as client:
        assert_503_problem(client.get("/v1/cars"))
        assert_503_problem(client.get("/ready"))
    lines = database_unavailable_lines(api)
    assert lines, api.log()
    assert all("certificate verify failed" in line for line in lines), lines
    assert cluster.sessions(database) == []
    assert "Traceback" not in api.log()


def test_migrations_refuse_a_server_certificate_from_another_ca_in_one_line(
    cluster, database, tmp_path
):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_"))},
        **cluster.environment(database, PGSSLROOTCERT=str(cluster.other_ca)),
    }
    done = subprocess.run(
        [sys.executable, "-m", "api.migrations"], env=env, capture_output=True, text=True,
        timeout=60, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    where = f"PostgreSQL 127.0.0.1:{cluster.port}/{database}"
    assert lines[0].startswith(f"api-cars: migrations failed on {where}: "), lines[0]
    assert "certificate verify failed" in lines[0]
    assert PASSWORD not in done.stdout + done.stderr


@pytest.mark.parametrize(("mode", "serves"), [("verify-full", False), ("verify-ca", True)])
def test_verify_full_also_checks_that_the_certificate_names_the_host(
    start_api, cluster, database, mode, serves
):
    # The same server and CA reached as 127.0.0.2, a name its certificate does not carry: only
    # the host name check tells verify-full from verify-ca.
    proxy = DelayedConnectProxy(cluster.port, host="127.0.0.2")
    env = cluster.environment(database, port=proxy.port, PGHOST="127.0.0.2", PGSSLMODE=mode)
    try:
        # /ready only needs a connection (no migrated schema): its answer is the TLS check's.
        api = start_api(**env, MIGRATE_ON_START="false")
        with api.client() as client:
            response = client.get("/ready")
        if serves:
            assert response.status_code == 200, response.text
        else:
            assert_503_problem(response)
            assert "IP address mismatch" in response.json()["detail"]
    finally:
        proxy.close()


# --- idle connections and a database slow to accept them ------------------------------------


class DelayedConnectProxy:
    """Forwards 127.0.0.1:port to PostgreSQL, holding each new connection ``delay`` seconds
    before connecting it upstream: what a client sees while Aurora resumes from a pause.
    Traffic on a connection already made is not delayed."""

    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream_port = upstream_port
        self.delay = 0.0
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client, self.delay), daemon=True).start()

    def _connect(self, client: socket.socket, delay: float) -> None:
        time.sleep(delay)  # the slowness under test
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        self._sockets += [client, upstream]
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def slow_proxy(cluster) -> Iterator[DelayedConnectProxy]:
    proxy = DelayedConnectProxy(cluster.port)
    yield proxy
    proxy.close()


def test_an_idle_connection_is_closed_so_the_database_sees_none(
    start_api, cluster, database, wait_until
):
    api = start_api(**cluster.environment(database), DATABASE_IDLE_TIMEOUT_SECONDS="1")
    with api.client() as client:
        assert client.get("/v1/cars").status_code == 200
        assert cluster.sessions(database), "the request's connection, back in the pool"
        wait_until(lambda: cluster.sessions(database) == [], 10, "the idle connection to close")
        assert client.get("/v1/cars").status_code == 200  # a new connection when needed
    assert cluster.sessions(database)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_first_request_after_a_pause_waits_for_the_database_to_accept_it(
    start_api, cluster, database, slow_proxy, wait_until, car_body, method
):
    # Connecting takes 2.5 s, longer than the 1 s limit for statements and waits, shorter than
    # the connect limit: the request waits and succeeds.
    api = start_api(
        **cluster.environment(database, port=slow_proxy.port),
        DATABASE_TIMEOUT_SECONDS="1",
        DATABASE_CONNECT_TIMEOUT_SECONDS="8",
        DATABASE_IDLE_TIMEOUT_SECONDS="0.5",
    )
    wait_until(lambda: cluster.sessions(database) == [], 10, "the pool to hold no connection")
    slow_proxy.delay = 2.5
    with api.client(timeout=15) as client:
        started = time.monotonic()
        if method == "GET":
            response = client.get("/v1/cars")
            assert response.status_code == 200, response.text
        else:
            response = client.post("/v1/cars", json=car_body)
            assert response.status_code == 201, response.text
        assert time.monotonic() - started >= 2.5


def test_a_database_slower_than_the_connect_limit_is_a_503_problem(
    start_api, cluster, database, slow_proxy, wait_until
):
    api = start_api(
        **cluster.environment(database, port=slow_proxy.port),
        DATABASE_TIMEOUT_SECONDS="1",
        DATABASE_CONNECT_TIMEOUT_SECONDS="1.5",
        DATABASE_IDLE_TIMEOUT_SECONDS="0.5",
    )
    wait_until(lambda: cluster.sessions(database) == [], 10, "the pool to hold no connection")
    slow_proxy.delay = 4
    with api.client(timeout=15) as client:
        assert_503_problem(client.get("/v1/cars"))


# --- the password changes under load -----------------------------------------------------------


class Load:
    """``threads`` clients sending GETs and POSTs one after another, until stopped or ``limit``
    requests each; every status is kept."""

    def __init__(self, api, car_body: dict, threads: int = 4, limit: int = 400) -> None:
        self._api = api
        self._car = car_body
        self._limit = limit
        self._stop = threading.Event()
        self.statuses: list[int] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with self._api.client() as client:
            for number in range(self._limit):
                if self._stop.is_set():
                    return
                if number % 2:
                    response = client.post("/v1/cars", json=self._car)
                else:
                    response = client.get("/v1/cars", params={"limit": 5})
                self.statuses.append(response.status_code)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


def test_a_password_change_fails_no_request_of_a_running_process(
    start_api, cluster, database, car_body, wait_until
):
    # Two connections for four clients: the pool is busy from the start, so both connections
    # are open (authenticated) before the change and none is needed after it.
    api = start_api(**cluster.environment(database), DATABASE_POOL_SIZE="2")
    with Load(api, car_body) as load:
        wait_until(lambda: len(cluster.sessions(database)) == 2, 10, "both connections open")
        before = len(load.statuses)
        cluster.set_password(NEW_PASSWORD)
        wait_until(lambda: len(load.statuses) >= before + 200, 30, "200 requests after it")
    assert set(load.statuses) <= {200, 201}, sorted(set(load.statuses))
    # A task started after the secret changed (an ECS deployment) serves with the new password.
    replacement = start_api(**cluster.environment(database, PGPASSWORD=NEW_PASSWORD))
    with replacement.client() as client:
        assert client.post("/v1/cars", json=car_body).status_code == 201


def test_a_connection_refused_for_its_password_is_a_503_problem_and_spoils_nothing(
    start_api, cluster, database, car_body
):
    # The gap: a process that must open a connection between the change and its replacement
    # cannot; it answers 503 problems until the password it has works again.
    api = start_api(**cluster.environment(database), DATABASE_POOL_SIZE="2")
    cluster.set_password(NEW_PASSWORD)
    cluster.terminate_sessions(database)
    with api.client() as client:
        for _ in range(5):  # more than the pool's connections: every slot tried and given back
            assert_503_problem(client.get("/v1/cars"))
        assert_503_problem(client.post("/v1/cars", json=car_body))
        assert any("password authentication failed" in line for line in api.log_lines())
        cluster.set_password(PASSWORD)
        assert client.get("/v1/cars").status_code == 200
        assert client.post("/v1/cars", json=car_body).status_code == 201
    assert "Traceback" not in api.log()
    assert PASSWORD not in api.log() and NEW_PASSWORD not in api.log()
