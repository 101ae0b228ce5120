"""The PostgreSQL connection pool: at most max_size connections; others wait their turn, up to
the timeout, and a request that gives up never keeps a slot."""

from __future__ import annotations

import asyncio

import pytest

from api.database import ConnectionPool

HOLD = "SELECT pg_backend_pid() FROM pg_sleep(0.2)"


@pytest.fixture
async def one_connection(pg_url):
    pool = ConnectionPool(pg_url, max_size=1, timeout=5)
    yield pool
    await pool.close()


async def test_a_request_waits_for_the_connection_and_reuses_it(one_connection):
    first, second = await asyncio.gather(
        one_connection.run("fetchval", HOLD, []),
        one_connection.run("fetchval", "SELECT pg_backend_pid()", []),
    )
    assert first == second


async def test_waiting_longer_than_the_timeout_fails_and_keeps_no_slot(pg_url):
    pool = ConnectionPool(pg_url, max_size=1, timeout=0.05)
    try:
        held = await pool.acquire()  # the only connection, taken and not given back yet
        with pytest.raises(TimeoutError):
            await pool.run("fetchval", "SELECT 1", [])
        pool.release(held)
        assert await pool.run("fetchval", "SELECT 2", []) == 2
        assert pool._free_slots == 1 and not pool._waiting
    finally:
        await pool.close()


async def test_a_cancelled_waiter_does_not_keep_a_slot(one_connection):
    holder = asyncio.ensure_future(one_connection.run("fetchval", HOLD, []))
    await asyncio.sleep(0)
    waiter = asyncio.ensure_future(one_connection.run("fetchval", "SELECT 1", []))
    await asyncio.sleep(0)
    waiter.cancel()
    await holder
    assert await one_connection.run("fetchval", "SELECT 3", []) == 3
    assert one_connection._free_slots == 1 and not one_connection._waiting
