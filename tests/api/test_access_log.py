"""Access lines of one event-loop turn leave in one write, at the start of the next turn."""

from __future__ import annotations

import asyncio
import json

import pytest

from api import logs


@pytest.fixture
def writes(monkeypatch) -> list[list[dict]]:
    """Every write of the access log, as the list of lines it carried."""
    seen: list[list[dict]] = []
    monkeypatch.setattr(
        logs, "_write", lambda lines: seen.append([json.loads(line) for line in lines])
    )
    return seen


async def test_lines_of_one_loop_turn_leave_together_in_the_next(writes):
    for n in range(5):
        logs.access_log("GET", f"/v1/cars/{n}", 200, 0.5, f"id-{n}")
    assert writes == []  # held for the rest of this turn
    await asyncio.sleep(0)
    assert len(writes) == 1
    assert [line["request_id"] for line in writes[0]] == [f"id-{n}" for n in range(5)]
    logs.access_log("POST", "/v1/cars", 201, 1.0, "later")
    await asyncio.sleep(0)
    assert [[line["request_id"] for line in batch] for batch in writes[1:]] == [["later"]]


def test_without_an_event_loop_a_line_is_written_at_once(writes):
    logs.access_log("GET", "/health", 200, 0.1, "no-loop")
    assert [[line["request_id"] for line in batch] for batch in writes] == [["no-loop"]]


async def test_flushing_writes_what_waits(writes):
    logs.access_log("GET", "/health", 200, 0.1, "waiting")
    logs.flush_access_log()
    assert [[line["path"] for line in batch] for batch in writes] == [["/health"]]
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert len(writes) == 1


async def test_each_line_is_one_json_object_ending_in_a_newline(capfdbinary):
    logs.access_log("GET", "/health", 200, 0.1, "shape")
    await asyncio.sleep(0)
    out = capfdbinary.readouterr().out
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    line = json.loads(out)
    assert line["logger"] == "api.access" and line["time"].endswith("Z")
