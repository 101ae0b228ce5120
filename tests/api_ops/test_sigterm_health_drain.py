"""SIGTERM with SHUTDOWN_DRAIN_SECONDS: the health checks fail at once, requests are still served
for the drain, then the graceful stop (a load balancer that still sends gets no error)."""

import socket
import time
from dataclasses import dataclass, field

import pytest

DRAIN_S = 2.0


@dataclass
class Drained:
    health: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    cars: list[int] = field(default_factory=list)
    served_until: float = 0.0
    exit_code: int | None = None
    seconds_to_exit: float = 0.0


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture(scope="module")
def drained(start_api, tmp_path_factory) -> Drained:
    database = tmp_path_factory.mktemp("drain") / "cars.sqlite3"
    api = start_api(SQLITE_PATH=str(database), SHUTDOWN_DRAIN_SECONDS=str(DRAIN_S))
    outcome = Drained()
    signalled = time.monotonic()
    api.terminate()
    with api.client(timeout=2) as client:
        # Well inside the drain: the checks fail, the API still answers everything else.
        while time.monotonic() - signalled < DRAIN_S / 2:
            outcome.health.append(client.get("/health").status_code)
            outcome.ready.append(client.get("/ready").status_code)
            outcome.cars.append(client.get("/v1/cars").status_code)
            outcome.served_until = time.monotonic() - signalled
    outcome.exit_code = api.proc.wait(DRAIN_S + 20)
    outcome.seconds_to_exit = time.monotonic() - signalled
    assert _refused(api.port)
    return outcome


def test_health_and_ready_answer_503_from_the_first_request_after_sigterm(drained):
    assert drained.health and set(drained.health) == {503}
    assert set(drained.ready) == {503}


def test_other_requests_are_served_during_the_drain(drained):
    assert set(drained.cars) == {200}
    assert drained.served_until >= DRAIN_S / 2


def test_the_process_stops_after_the_drain_and_exits_0(drained):
    assert drained.exit_code == 0
    assert DRAIN_S <= drained.seconds_to_exit < DRAIN_S + 10


def test_without_a_drain_the_listener_closes_at_once(start_api, tmp_path):
    api = start_api(SQLITE_PATH=str(tmp_path / "cars.sqlite3"))
    signalled = time.monotonic()
    api.terminate()
    assert api.proc.wait(20) == 0
    assert time.monotonic() - signalled < DRAIN_S
