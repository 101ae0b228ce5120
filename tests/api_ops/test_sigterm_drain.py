"""SIGTERM: the API stops accepting, finishes what is in flight, closes its pools and exits 0.

Requests are made slow for real: the API reaches PostgreSQL through a proxy that holds every
reply from the database for a while.
"""

import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest

IN_FLIGHT = 5
DATABASE_DELAY_S = 0.5
GRACE_S = 10


@dataclass
class Drain:
    responses: list[httpx.Response] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    refused_while_draining: bool = False
    exit_code: int | None = None
    seconds_to_exit: float = 0.0


def _connection_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture(scope="module")
def drain(start_api, new_database, postgres_server, tcp_proxy, car_body, wait_until) -> Drain:
    """Start the API, make IN_FLIGHT slow requests, SIGTERM it while they run: what happened."""
    proxy = tcp_proxy(postgres_server.port)
    api = start_api(
        DATABASE_URL=postgres_server.url(new_database().rsplit("/", 1)[1], port=proxy.port),
        SHUTDOWN_GRACE_SECONDS=str(GRACE_S),
    )
    with api.client() as client:
        path = client.post("/v1/cars", json=car_body).headers["location"]
    outcome = Drain()

    def slow_request() -> None:
        try:
            with api.client(timeout=GRACE_S + 5) as client:
                outcome.responses.append(client.get(path))
        except BaseException as error:  # reported by the tests, not lost in a thread
            outcome.errors.append(error)

    proxy.delay = DATABASE_DELAY_S
    threads = [threading.Thread(target=slow_request) for _ in range(IN_FLIGHT)]
    for thread in threads:
        thread.start()
    # Every request has reached the database and waits for its reply.
    wait_until(lambda: proxy.held >= IN_FLIGHT, 10, f"{IN_FLIGHT} queries in flight")

    signalled = time.monotonic()
    api.terminate()
    # The listener closes at once; the in-flight replies are still held by the proxy meanwhile.
    deadline = signalled + DATABASE_DELAY_S / 2
    while not _connection_refused(api.port) and time.monotonic() < deadline:
        time.sleep(0.01)  # poll interval
    outcome.refused_while_draining = _connection_refused(api.port) and proxy.held > 0
    for thread in threads:
        thread.join(GRACE_S + 10)
    outcome.exit_code = api.proc.wait(GRACE_S + 10)
    outcome.seconds_to_exit = time.monotonic() - signalled
    return outcome


def test_in_flight_requests_complete_with_200(drain):
    assert drain.errors == []
    assert [r.status_code for r in drain.responses] == [200] * IN_FLIGHT


def test_new_connections_are_refused_while_draining(drain):
    assert drain.refused_while_draining


def test_the_process_exits_0_within_the_grace_period(drain):
    assert drain.exit_code == 0
    assert drain.seconds_to_exit < GRACE_S


def test_sigterm_just_after_start_up_exits_0(start_api, tmp_path):
    # ECS may stop a task the moment it is healthy (a rollback, a scale-in): the first 200 on
    # /health is where a SIGTERM can land. Several starts, polled tightly, as the window is narrow.
    outcomes = []
    for attempt in range(5):
        api = start_api(poll_interval=0.001, SQLITE_PATH=str(tmp_path / f"cars-{attempt}.sqlite3"))
        api.terminate()
        try:
            outcomes.append(api.proc.wait(GRACE_S))
        except subprocess.TimeoutExpired:
            api.proc.kill()
            outcomes.append(f"still running {GRACE_S} s after SIGTERM")

    assert outcomes == [0] * 5
