"""Operational tests: the API as a real process against servers we can stop, kill and slow down.

Nothing here touches the shared PostgreSQL or Redis: each run initdb's its own PostgreSQL cluster
and starts its own redis-server processes on free ports, and TCP proxies in front of them can
delay or stall traffic on demand.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api_process import API_COMMAND, ApiProcess, free_port, wait_until
from tests.auth_issuer import Issuer
from tests.postgres_servers import ThrowawayPostgres
from tests.redis_servers import ThrowawayRedis

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(name="wait_until", scope="session")
def wait_until_fixture():
    return wait_until


@pytest.fixture(name="free_port", scope="session")
def free_port_fixture():
    return free_port


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    root = Path(tempfile.mkdtemp(prefix="api-ops-pg-"))
    server = ThrowawayPostgres(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


# --- Redis ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


# --- a TCP proxy that can slow traffic down -------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:port to an upstream port; can delay or stall its replies.

    `delay` holds every chunk from the upstream for that many seconds before passing it on;
    `stall()` holds every chunk until `resume()`. `held` counts the chunks held right now, so a
    test can tell that requests are in flight.
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.delay = 0.0
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self.held = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if replies:
                    self._hold()
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _hold(self) -> None:
        with self._lock:
            self.held += 1
        try:
            if self.delay:
                time.sleep(self.delay)  # the slowness under test
            self._flowing.wait()
        finally:
            with self._lock:
                self.held -= 1

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture(scope="module")
def tcp_proxy() -> Iterator[Callable[[int], TcpProxy]]:
    proxies: list[TcpProxy] = []

    def make(upstream_port: int) -> TcpProxy:
        proxies.append(TcpProxy(upstream_port))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


# --- the API as a process -------------------------------------------------------------------


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    """A token issuer on loopback (tests/auth_issuer.py) for APIs started with ``issuer.env()``."""
    server = Issuer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def start_api(tmp_path_factory) -> Iterator[Callable[..., ApiProcess]]:
    """Start the API with extra environment variables (and another command line: ``{port}`` in
    it is the API's port); each is stopped after the test module."""
    started: list[ApiProcess] = []

    def start(
        poll_interval: float = 0.02, command: tuple[str, ...] = API_COMMAND, **env: str
    ) -> ApiProcess:
        log_dir = tmp_path_factory.mktemp("api")
        api = ApiProcess(env, log_dir / "api.log", command)
        started.append(api)
        api.start(poll_interval)
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture(scope="session")
def new_database(postgres_server: ThrowawayPostgres) -> Callable[[], str]:
    """Make an empty database on the throwaway cluster; returns its URL."""
    numbers = iter(range(1, 10_000))

    def create() -> str:
        return postgres_server.create_database(f"api_ops_{next(numbers)}")

    return create


CAR = {
    "make": "Toyota",
    "model": "Corolla",
    "year": 2021,
    "color": "white",
    "price": "18950.00",
    "mileage_km": 42000,
}


@pytest.fixture(scope="session")
def car_body() -> dict:
    """A valid POST /v1/cars body (without a VIN, so it can be posted again and again)."""
    return dict(CAR)
