"""The PostgreSQL connection pool: at most max_size connections; others wait their turn, up to
the timeout, and a request that gives up never keeps a slot."""

from __future__ import annotations

import asyncio

import asyncpg
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


# --- connecting and idle connections -----------------------------------------------------------


class SlowToConnect:
    """A TCP proxy to PostgreSQL that holds each new connection ``delay`` seconds before
    connecting it upstream: what a client sees while Aurora Serverless resumes from a pause."""

    def __init__(self, upstream_port: int, delay: float) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> SlowToConnect:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _handle(self, client_reader, client_writer) -> None:
        await asyncio.sleep(self.delay)  # the slowness under test
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )

        async def pipe(reader, writer) -> None:
            try:
                while chunk := await reader.read(65536):
                    writer.write(chunk)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        await asyncio.gather(
            pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer)
        )

    def url(self, pg_url: str) -> str:
        return pg_url.replace(f":{self.upstream_port}/", f":{self.port}/")


async def test_connecting_may_take_longer_than_the_statement_timeout(pg_url):
    async with SlowToConnect(5432, delay=0.6) as proxy:
        pool = ConnectionPool(proxy.url(pg_url), max_size=2, timeout=0.2, connect_timeout=5)
        try:
            assert await pool.run("fetchval", "SELECT 1", []) == 1
        finally:
            await pool.close()


async def test_connecting_longer_than_the_connect_timeout_fails(pg_url):
    async with SlowToConnect(5432, delay=2) as proxy:
        pool = ConnectionPool(proxy.url(pg_url), max_size=2, timeout=5, connect_timeout=0.3)
        try:
            with pytest.raises(TimeoutError):
                await pool.run("fetchval", "SELECT 1", [])
            assert pool.opening == 0 and pool._free_slots == 2
        finally:
            await pool.close()


async def test_requests_in_line_wait_for_a_connection_being_opened(pg_url):
    # One slot: the second request waits in line past `timeout`, because the connection it
    # will be handed is still being opened.
    async with SlowToConnect(5432, delay=0.6) as proxy:
        pool = ConnectionPool(proxy.url(pg_url), max_size=1, timeout=0.2, connect_timeout=5)
        try:
            results = await asyncio.gather(
                pool.run("fetchval", "SELECT 1", []), pool.run("fetchval", "SELECT 2", [])
            )
            assert results == [1, 2]
        finally:
            await pool.close()


async def _server_pids(pg_url: str) -> set[int]:
    conn = await asyncpg.connect(pg_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return {row["pid"] for row in rows}
    finally:
        await conn.close()


async def _poll(condition, limit: float, what: str):
    deadline = asyncio.get_running_loop().time() + limit
    while not (value := await condition()):
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out after {limit:g} s waiting for {what}")
        await asyncio.sleep(0.02)
    return value


async def test_an_idle_connection_is_closed_after_the_idle_timeout(pg_url):
    pool = ConnectionPool(pg_url, max_size=2, timeout=5, idle_timeout=0.3)
    try:
        first = await pool.run("fetchval", "SELECT pg_backend_pid()", [])
        assert first in await _server_pids(pg_url)

        async def gone() -> bool:
            return not pool._idle and first not in await _server_pids(pg_url)

        await _poll(gone, 5, "the idle connection to be closed")
        second = await pool.run("fetchval", "SELECT pg_backend_pid()", [])
        assert second != first
    finally:
        await pool.close()


async def test_a_connection_used_more_often_than_the_idle_timeout_stays_open(pg_url):
    pool = ConnectionPool(pg_url, max_size=2, timeout=5, idle_timeout=0.5)
    try:
        pids = set()
        for _ in range(8):  # 8 requests 0.1 s apart: 0.8 s, past the idle timeout
            pids.add(await pool.run("fetchval", "SELECT pg_backend_pid()", []))
            await asyncio.sleep(0.1)  # the pace of the requests, not a wait for readiness
        assert len(pids) == 1
    finally:
        await pool.close()
