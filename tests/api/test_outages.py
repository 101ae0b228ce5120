"""An outage is logged when it starts (with the cause), summarised while it lasts, and logged when
it ends: not once per failed request."""

from __future__ import annotations

import logging

import pytest
from carkit import serve

from api.outages import Outage

LOGGER = "api.test-outage"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outage(clock, caplog) -> Outage:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return Outage(logging.getLogger(LOGGER), "database", summary_seconds=10, clock=clock)


def lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def test_the_first_failure_logs_one_warning_with_the_cause(outage, caplog):
    for _ in range(500):
        outage.failed(ConnectionRefusedError("connection refused"))
    [start] = lines(caplog)
    assert start.levelno == logging.WARNING
    assert start.getMessage().startswith("database unavailable")
    assert start.error == "connection refused"


def test_a_lasting_outage_is_summarised_once_per_interval(outage, clock, caplog):
    outage.failed(OSError("refused"))
    for _ in range(3):
        for _ in range(99):
            clock.now += 0.1
            outage.failed(OSError("refused"))
        clock.now += 0.2
        outage.failed(OSError("still refused"))
    _start, *summaries = lines(caplog)
    assert [s.getMessage() for s in summaries] == ["database still unavailable"] * 3
    assert [s.failures_since_last_summary for s in summaries] == [100, 100, 100]
    assert [s.failures for s in summaries] == [101, 201, 301]
    assert summaries[-1].outage_seconds == 30.3  # three rounds of 99 x 0.1 s + 0.2 s
    assert summaries[-1].error == "still refused"


def test_the_end_of_an_outage_is_logged_once_with_its_length(outage, clock, caplog):
    outage.failed(OSError("refused"))
    outage.failed(OSError("refused"))
    clock.now += 4.0
    outage.ended()
    outage.ended()
    _start, end = lines(caplog)
    assert (end.levelno, end.getMessage()) == (logging.INFO, "database available again")
    assert (end.outage_seconds, end.failures) == (4.0, 2)
    assert outage.down is False


def test_successes_without_an_outage_log_nothing(outage, caplog):
    outage.ended()
    assert lines(caplog) == []


async def test_requests_while_the_database_is_unreachable_log_one_warning(unreachable_pg, caplog):
    async with serve(unreachable_pg, migrate=False) as client:
        for _ in range(5):
            assert (await client.get("/v1/cars")).status_code == 503
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.getMessage().split(":")[0]) for r in warnings] == [
        ("api.database", "database unavailable")
    ]
    assert "Connect" in warnings[0].error or "refused" in warnings[0].error
