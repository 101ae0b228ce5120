"""A client that goes away mid-request is logged as 499 (client closed request), not as a 500."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from api.cars import store


@pytest.fixture
def slow_reads(monkeypatch) -> asyncio.Event:
    """GET /v1/cars/{id} waits (until cancelled); the event is set once a read is waiting."""
    waiting = asyncio.Event()

    async def slow(db, *, car_id):
        waiting.set()
        await asyncio.sleep(30)  # the slow request under test; cancelled by the disconnect

    monkeypatch.setattr(store, "get_car", slow)
    return waiting


ACCESS_LINE_TIMEOUT_S = 5.0


async def access_line(capfd, request_id: str) -> dict:
    """The access line of ``request_id``, polled for until ACCESS_LINE_TIMEOUT_S."""
    deadline = time.monotonic() + ACCESS_LINE_TIMEOUT_S
    seen = ""
    while time.monotonic() < deadline:
        seen += capfd.readouterr().out
        for line in seen.splitlines():
            if request_id in line and '"api.access"' in line:
                return json.loads(line)
        await asyncio.sleep(0.01)
    pytest.fail(f"no access line for {request_id} within {ACCESS_LINE_TIMEOUT_S} s")


async def test_a_disconnect_is_logged_as_499_without_an_error(client, slow_reads, capfd, caplog):
    request = asyncio.create_task(
        client.get("/v1/cars/987654300", headers={"X-Request-ID": "gone-away"})
    )
    await asyncio.wait_for(slow_reads.wait(), 5)
    request.cancel()  # closes the connection mid-request
    with pytest.raises(asyncio.CancelledError):
        await request

    line = await access_line(capfd, "gone-away")
    assert line["status"] == 499
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
