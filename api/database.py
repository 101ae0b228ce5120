"""The database: a connection pool for PostgreSQL (asyncpg) or the embedded SQLite (aiosqlite).

The SQL lives in ``api/sql/*.sql``, parsed once by aiosql. Queries run through the drivers directly
with aiosql's prepared text and parameter order: the same SQL, without a per-call wrapper on the hot
path (asyncpg still caches the prepared statements per connection).

Both backends answer the same three calls (``fetch_one``, ``fetch_all``, ``ping``) with rows as
tuples in the column order of the SQL; the data layer (``api.cars.store``) turns them into cars.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import aiosql
import asyncpg

from api.config import Settings

log = logging.getLogger("api.database")

SQL_DIR = Path(__file__).resolve().parent / "sql"

# A timestamp stored by SQLite: fixed width, UTC, so text order is time order.
SQLITE_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%f+00:00"


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now (answered as 503)."""


class UniqueViolation(Exception):
    """A UNIQUE constraint refused the write; ``column`` names it when known."""

    def __init__(self, column: str | None) -> None:
        super().__init__(column or "unique constraint")
        self.column = column


class Database(Protocol):
    dialect: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def fetch_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None: ...
    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]: ...
    async def write_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None: ...
    async def ping(self) -> None: ...


def load_statements(driver: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every query in api/sql as {name: (driver-ready SQL, parameter names in driver order)}."""
    queries = aiosql.from_path(SQL_DIR, driver, mandatory_parameters=False)
    statements = {}
    for name in queries.available_queries:
        if name.endswith("_cursor"):
            continue
        query = getattr(queries, name)
        order = queries.driver_adapter.var_sorted[name] if driver == "asyncpg" else ()
        statements[name] = (query.sql, tuple(order))
    return statements


# --- PostgreSQL -------------------------------------------------------------------------------

_PG_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)


async def timestamps_as_text(conn: asyncpg.Connection) -> None:
    """Timestamps as text, parsed by datetime.fromisoformat: a third of the CPU of asyncpg's
    binary decoding, which dominated reading a page of cars."""
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=datetime.isoformat,
        decoder=datetime.fromisoformat,
        format="text",
    )


class ConnectionPool:
    """A minimal pool of asyncpg connections: a free list and a count of free slots.

    asyncpg's own Pool costs ~35 us of CPU per query on acquire/release (a task per release for
    asyncio.shield, a reset round trip); that was a fifth of a GET from PostgreSQL. This keeps the
    part the API needs: at most ``max_size`` connections, opened on demand (so the API starts and
    recovers while the database is down), a connection that failed at the protocol level is dropped
    and the next request opens a new one. Each statement runs alone in autocommit, so a connection
    is always clean when it comes back.

    Requests that find every slot taken wait in line (a future each, with a timer) and are handed
    the slot of the next release. asyncio.Semaphore with asyncio.timeout did the same, but both
    ask for the running loop on every use, and CPython 3.11's get_running_loop makes a getpid
    system call each time (with the Redis client's, 6% of a POST's samples under py-spy).
    """

    def __init__(self, dsn: str, *, max_size: int, timeout: float) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self._idle: list[asyncpg.Connection] = []
        self._free_slots = max_size
        self._waiting: deque[asyncio.Future] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(
            self._dsn,
            timeout=self._timeout,
            command_timeout=self._timeout,
            server_settings={"timezone": "UTC"},
        )
        await timestamps_as_text(conn)
        return conn

    async def _take_slot(self) -> None:
        if self._free_slots > 0 and not self._waiting:
            self._free_slots -= 1
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        turn = self._loop.create_future()
        self._waiting.append(turn)
        timer = self._loop.call_later(self._timeout, _too_late, turn)
        try:
            await turn  # resolved by _give_slot: the slot is ours
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self._give_slot()  # handed the slot just as this request gave up
            else:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(turn)
            raise
        finally:
            timer.cancel()

    def _give_slot(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free_slots += 1

    async def _acquire(self) -> asyncpg.Connection:
        await self._take_slot()
        try:
            if self._idle:
                return self._idle.pop()
            return await self._connect()
        except BaseException:
            self._give_slot()
            raise

    def _release(self, conn: asyncpg.Connection, *, reusable: bool = True) -> None:
        if reusable and not self._closed and not conn.is_closed():
            self._idle.append(conn)
        else:
            conn.terminate()
        self._give_slot()

    async def run(self, method: str, sql: str, args: Sequence[Any]) -> Any:
        """``conn.<method>(sql, *args)`` on a pooled connection (fetch, fetchrow, fetchval)."""
        conn = await self._acquire()
        try:
            result = await getattr(conn, method)(sql, *args)
        except asyncpg.PostgresError as error:
            # A statement the server refused (a constraint, bad data): the connection is fine.
            self._release(conn, reusable=not isinstance(error, _PG_UNAVAILABLE))
            raise
        except BaseException:
            # Cancelled, timed out or broken mid-protocol: never hand this connection out again.
            self._release(conn, reusable=False)
            raise
        self._release(conn)
        return result

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            conn = self._idle.pop()
            try:
                await conn.close(timeout=self._timeout)
            except (Exception, asyncio.CancelledError):
                conn.terminate()


def _too_late(turn: asyncio.Future) -> None:
    if not turn.done():
        turn.set_exception(TimeoutError("no database connection free in time"))


class PostgresDatabase:
    """Connection pools: one for writes, one for reads (the replica when configured)."""

    dialect = "postgresql"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._statements = load_statements("asyncpg")
        self._writer: ConnectionPool | None = None
        self._reader: ConnectionPool | None = None

    def _pool(self, dsn: str) -> ConnectionPool:
        return ConnectionPool(
            dsn,
            max_size=self._settings.database_pool_size,
            timeout=self._settings.database_timeout_seconds,
        )

    async def open(self) -> None:
        self._writer = self._pool(self._settings.database_url)
        if self._settings.database_read_url:
            self._reader = self._pool(self._settings.database_read_url)
        else:
            self._reader = self._writer

    async def close(self) -> None:
        pools = {id(p): p for p in (self._writer, self._reader) if p is not None}
        for pool in pools.values():
            await pool.close()

    async def _run(
        self, pool: ConnectionPool, method: str, name: str, params: dict[str, Any]
    ) -> Any:
        sql, order = self._statements[name]
        try:
            return await pool.run(method, sql, [params[key] for key in order])
        except asyncpg.UniqueViolationError as error:
            raise UniqueViolation(_pg_unique_column(error)) from error
        except _PG_UNAVAILABLE as error:
            raise DatabaseUnavailable(f"{type(error).__name__}: {error}") from error

    async def fetch_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        return await self._run(self._reader, "fetchrow", name, params)

    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return await self._run(self._reader, "fetch", name, params)

    async def write_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        return await self._run(self._writer, "fetchrow", name, params)

    async def read_own_write(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        """A read that must see this process's last write: the primary, never the replica."""
        return await self._run(self._writer, "fetchrow", name, params)

    async def ping(self) -> None:
        pools = [("primary", self._writer)]
        if self._reader is not self._writer:
            pools.append(("replica", self._reader))
        for label, pool in pools:
            try:
                await self._run(pool, "fetchval", "ping", {})
            except DatabaseUnavailable as error:
                raise DatabaseUnavailable(f"{label}: {error}") from error


def _pg_unique_column(error: asyncpg.UniqueViolationError) -> str | None:
    constraint = getattr(error, "constraint_name", "") or ""
    # PostgreSQL names a column's UNIQUE constraint <table>_<column>_key.
    if constraint.startswith("cars_") and constraint.endswith("_key"):
        return constraint[len("cars_") : -len("_key")]
    return None


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.strftime(SQLITE_TIMESTAMP)
    return value


class SqliteDatabase:
    """One aiosqlite connection (its own thread) in autocommit mode: each statement is atomic."""

    dialect = "sqlite"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._statements = load_statements("aiosqlite")
        self._conn = None

    async def open(self) -> None:
        import aiosqlite

        self._conn = await aiosqlite.connect(
            self._settings.sqlite_path,
            isolation_level=None,
            timeout=self._settings.database_timeout_seconds,
        )
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _run(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        sql = self._statements[name][0]
        converted = {key: _sqlite_param(value) for key, value in params.items()}
        try:
            return list(await self._conn.execute_fetchall(sql, converted))
        except sqlite3.IntegrityError as error:
            message = str(error)
            if message.startswith("UNIQUE constraint failed: cars."):
                raise UniqueViolation(message.rsplit(".", 1)[1]) from error
            raise
        except sqlite3.OperationalError as error:
            raise DatabaseUnavailable(str(error)) from error

    async def fetch_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        rows = await self._run(name, params)
        return rows[0] if rows else None

    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return await self._run(name, params)

    write_one = fetch_one
    read_own_write = fetch_one

    async def ping(self) -> None:
        await self._run("ping", {})


def create_database(settings: Settings) -> Database:
    if settings.uses_postgres:
        return PostgresDatabase(settings)
    return SqliteDatabase(settings)
