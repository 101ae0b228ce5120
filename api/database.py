"""The database: a connection pool for PostgreSQL (asyncpg) or the embedded SQLite (aiosqlite).

The SQL lives in ``api/sql/*.sql``, parsed once by aiosql. Queries run through the drivers directly
with aiosql's prepared text and parameter order: the same SQL, without a per-call wrapper on the hot
path (asyncpg still caches the prepared statements per connection).

Both backends answer the same calls (``fetch_one``, ``fetch_all``, ``insert``, ``write_one``,
``write_all``, ``read_own_write``, ``ping``) with rows as tuples in the column order of the SQL;
the data layer (``api.cars.store``) turns them into cars. On PostgreSQL, inserts made at the same
time travel together (``InsertBatcher``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiosql
import asyncpg
import orjson

from api.config import Settings
from api.outages import Outage

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
    async def insert(self, name: str, params: dict[str, Any]) -> Sequence[Any]: ...
    async def write_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None: ...
    async def write_all(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]: ...
    async def read_own_write(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None: ...
    async def ping(self) -> None: ...


DIALECTS = {"asyncpg": "postgresql", "aiosqlite": "sqlite"}


def load_statements(driver: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Every query in api/sql as {name: (driver-ready SQL, parameter names in driver order)}.

    ``<name>.sql`` files serve both databases; ``<name>.<dialect>.sql`` only that one (a query
    there would replace a portable one of the same name): PostgreSQL's ``insert_car_keyed``
    writes two tables in one statement, which SQLite cannot.
    """
    dialect = DIALECTS[driver]
    own = sorted(SQL_DIR.glob(f"*.{dialect}.sql"))
    portable = [p for p in sorted(SQL_DIR.glob("*.sql")) if p.suffixes[:-1] == []]
    statements = {}
    for path in [*portable, *own]:
        queries = aiosql.from_path(path, driver, mandatory_parameters=False)
        for name in queries.available_queries:
            if name.endswith("_cursor"):
                continue
            query = getattr(queries, name)
            order = queries.driver_adapter.var_sorted[name] if driver == "asyncpg" else ()
            statements[name] = (query.sql, tuple(order))
    return statements


# --- PostgreSQL -------------------------------------------------------------------------------

# Failures of the database or of the connection, not of the request: answered 503, and the
# connection is never reused. asyncpg's client-side errors belong here: during a fast shutdown a
# connection the server dropped while idle fails its next query with InternalClientError
# ("cannot switch to state 12; another operation (2) is in progress"), which was a 500.
_PG_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,  # 57: shutting down, starting up, cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # 53: too many connections, disk full, memory
    asyncpg.exceptions.PostgresSystemError,  # 58: I/O error
    asyncpg.exceptions.InternalServerError,  # XX: data corrupted
    asyncpg.exceptions.TransactionRollbackError,  # 40: deadlock, serialization failure
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

    Opening a connection has its own limit, ``connect_timeout``, longer than ``timeout`` (waits
    and statements): an Aurora Serverless v2 cluster paused for lack of connections takes about
    15 s to accept one again, and the first requests after a pause should wait for that rather
    than fail. While connections are being opened, requests waiting in line wait up to the
    connect limit too (``_Deadline``). A connection left idle for ``idle_timeout`` seconds is
    closed (one timer for the oldest), so an idle service holds none and Aurora may pause.

    ``dsn`` None connects with libpq's variables (PGHOST, PGUSER, PGSSLMODE ...), which asyncpg
    reads itself; ``host`` and ``port`` replace the host of either (a read replica).
    """

    def __init__(
        self,
        dsn: str | None,
        *,
        max_size: int,
        timeout: float,
        connect_timeout: float | None = None,
        idle_timeout: float = 0,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self._dsn = dsn
        self._host = host
        self._port = port
        self.timeout = timeout
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self.idle_timeout = idle_timeout
        self._idle: list[asyncpg.Connection] = []
        # When each idle connection came back, in step with _idle: oldest first, as _idle hands
        # out the most recent (so the ones left over under lighter load are the ones that expire).
        self._idle_since: list[float] = []
        self._idle_timer: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task] = set()
        # Connections being opened right now: while there are any, waiters wait longer.
        self.opening = 0
        self._free_slots = max_size
        self._waiting: deque[asyncio.Future] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def _connect(self) -> asyncpg.Connection:
        self.opening += 1
        try:
            conn = await asyncpg.connect(
                self._dsn,
                host=self._host,
                port=self._port,
                timeout=self.connect_timeout,
                command_timeout=self.timeout,
                server_settings={"timezone": "UTC"},
            )
        finally:
            self.opening -= 1
        try:
            await timestamps_as_text(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _take_slot(self) -> None:
        if self._free_slots > 0 and not self._waiting:
            self._free_slots -= 1
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        turn = self._loop.create_future()
        self._waiting.append(turn)
        timer = _Deadline(self, self._loop, turn)
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

    async def acquire(self) -> asyncpg.Connection:
        """A connection of this pool's; give it back with ``release``."""
        await self._take_slot()
        try:
            while self._idle:
                self._idle_since.pop()
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                # Closed by the server while idle (a restart, a failover, an operator's
                # pg_terminate_backend): not worth a failed request, open another.
                conn.terminate()
            return await self._connect()
        except BaseException:
            self._give_slot()
            raise

    def release(self, conn: asyncpg.Connection, *, reusable: bool = True) -> None:
        """Give a connection back; ``reusable=False`` when it failed mid-protocol."""
        if reusable and not self._closed and not conn.is_closed():
            self._idle.append(conn)
            self._idle_since.append(time.monotonic())
            if self.idle_timeout and self._idle_timer is None:
                self._close_idle_in(self.idle_timeout)
        else:
            conn.terminate()
        self._give_slot()

    def _close_idle_in(self, delay: float) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._idle_timer = self._loop.call_later(delay, self._close_idle)

    def _close_idle(self) -> None:
        """Close the connections idle for ``idle_timeout``; come back when the next one is."""
        self._idle_timer = None
        expired_before = time.monotonic() - self.idle_timeout
        expired = 0
        while expired < len(self._idle_since) and self._idle_since[expired] <= expired_before:
            expired += 1
        for conn in self._idle[:expired]:
            task = self._loop.create_task(self._close_quietly(conn))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        del self._idle[:expired], self._idle_since[:expired]
        if self._idle_since:
            self._close_idle_in(self._idle_since[0] - expired_before)

    async def _close_quietly(self, conn: asyncpg.Connection) -> None:
        # A Terminate message, so the server logs no lost connection; abrupt if that fails.
        try:
            await conn.close(timeout=self.timeout)
        except (Exception, asyncio.CancelledError):
            conn.terminate()

    async def run(self, method: str, sql: str, args: Sequence[Any]) -> Any:
        """``conn.<method>(sql, *args)`` on a pooled connection (fetch, fetchrow, fetchval)."""
        conn = await self.acquire()
        try:
            result = await getattr(conn, method)(sql, *args)
        except asyncpg.PostgresError as error:
            # A statement the server refused (a constraint, bad data): the connection is fine.
            self.release(conn, reusable=not isinstance(error, _PG_UNAVAILABLE))
            raise
        except BaseException:
            # Cancelled, timed out or broken mid-protocol: never hand this connection out again.
            self.release(conn, reusable=False)
            raise
        self.release(conn)
        return result

    async def close(self) -> None:
        self._closed = True
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._idle_since.clear()
        while self._idle:
            await self._close_quietly(self._idle.pop())
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


class _Deadline:
    """Fails a waiting future with TimeoutError after the pool's ``timeout``; but while the pool
    is opening connections (a database resuming from a pause takes ~15 s), not before its
    ``connect_timeout``: the connection being opened is likely the one the waiter gets."""

    __slots__ = ("_future", "_handle", "_loop", "_pool", "_started")

    def __init__(
        self, pool: ConnectionPool, loop: asyncio.AbstractEventLoop, future: asyncio.Future
    ) -> None:
        self._pool = pool
        self._loop = loop
        self._future = future
        self._started = loop.time()
        self._handle = loop.call_later(pool.timeout, self._expire)

    def _expire(self) -> None:
        if self._future.done():
            return
        left = self._started + self._pool.connect_timeout - self._loop.time()
        if self._pool.opening and left > 0:
            self._handle = self._loop.call_later(left, self._expire)
        else:
            self._future.set_exception(TimeoutError("no database connection free in time"))

    def cancel(self) -> None:
        self._handle.cancel()


# Rows one batch sends at most: bounds a batch's round trip and what one refused row costs.
MAX_INSERT_BATCH = 64
# Batches on their way at once. Two: one can wait for its commit while the next is sent, and rows
# arriving meanwhile gather into big batches. `python -m bench --only post` (POST ratio, 3 rounds,
# back to back): 1 in flight 0.38, 2 0.35 and 0.36, 4 0.35, up to the pool (10) 0.28 and 0.30:
# many small batches cost the API more CPU per car than they save in waiting.
MAX_INSERT_BATCHES_IN_FLIGHT = 2


class InsertBatcher:
    """A single-row ``INSERT ... RETURNING`` whose concurrent calls share round trips and commits.

    A call queues its row and waits. One drainer takes a connection from the pool for the queue;
    when it has one, it sends every queued row (up to ``MAX_INSERT_BATCH``) with asyncpg's
    ``fetchmany``: one round trip, one transaction and so one commit (one WAL flush) for the lot,
    a RETURNING row for each. Then it takes the next connection for whatever queued meanwhile, up
    to ``MAX_INSERT_BATCHES_IN_FLIGHT`` batches on their way at once; when one comes back, the rows
    that queued meanwhile leave together. Nothing waits for company: a row that finds a batch
    slot and a connection free is sent at once, alone; batches grow only under load. Inserts use
    at most that many of the pool's connections, so reads keep the rest. Measured with
    `python -m bench` (bench/analysis.md): the same POSTs in batches cost the API and PostgreSQL a
    fraction of the CPU of one statement and one commit each.

    A batch is atomic. If PostgreSQL refuses one of its rows (a duplicate VIN), the whole batch
    rolls back and each of its rows is inserted again on its own, so only the refused row fails
    and every caller gets the answer it would have got alone. A connection that fails fails the
    batch it carried; no connection at all (the database down) fails every queued row. A row
    waits in the queue at most the pool's timeout (its connect timeout while the pool is opening
    connections), like a request waiting for a connection: then it fails with the same error and
    is never sent; so does a row whose caller went away.
    """

    def __init__(
        self,
        pool: ConnectionPool,
        sql: str,
        *,
        max_batch: int = MAX_INSERT_BATCH,
        max_in_flight: int = MAX_INSERT_BATCHES_IN_FLIGHT,
    ) -> None:
        self._pool = pool
        self._sql = sql
        self._max_batch = max_batch
        # (arguments, the caller's future, the timer failing it if it is still queued then)
        self._queue: deque[tuple[Sequence[Any], asyncio.Future, _Deadline]] = deque()
        self._draining = False
        self._in_flight = 0
        self._max_in_flight = max_in_flight
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def fetchrow(self, args: Sequence[Any]) -> Any:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        row = self._loop.create_future()
        self._queue.append((args, row, _Deadline(self._pool, self._loop, row)))
        if not self._draining:
            self._draining = True
            self._spawn(self._drain())
        return await row

    def _spawn(self, coroutine) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _take_batch(self) -> list[tuple[Sequence[Any], asyncio.Future]]:
        batch = []
        queue = self._queue
        while queue and len(batch) < self._max_batch:
            args, row, timer = queue.popleft()
            timer.cancel()
            if not row.done():  # neither timed out nor given up by its caller
                batch.append((args, row))
        return batch

    def _drop_finished(self) -> None:
        """Forget the rows at the head of the queue that timed out or whose caller went away."""
        queue = self._queue
        while queue and queue[0][1].done():
            queue.popleft()[2].cancel()

    async def _drain(self) -> None:
        try:
            while True:
                self._drop_finished()
                if not self._queue or self._in_flight >= self._max_in_flight:
                    break
                try:
                    conn = await self._pool.acquire()
                except TimeoutError:
                    continue  # no connection free in time: rows queued that long failed meanwhile
                batch = self._take_batch()
                if not batch:
                    self._pool.release(conn)
                    continue
                self._in_flight += 1
                self._spawn(self._send(conn, batch))
        except BaseException as error:
            # No connection at all (the database is down): every queued row fails the way its
            # own attempt would have.
            while self._queue:
                _, row, timer = self._queue.popleft()
                timer.cancel()
                _fail(row, error)
            if not isinstance(error, Exception):
                raise
        finally:
            self._draining = False

    async def _send(self, conn: asyncpg.Connection, batch) -> None:
        reusable = True
        try:
            if len(batch) == 1:
                _answer(batch, [await conn.fetchrow(self._sql, *batch[0][0])])
            else:
                try:
                    _answer(batch, await conn.fetchmany(self._sql, [args for args, _ in batch]))
                except asyncpg.PostgresError as error:
                    if isinstance(error, _PG_UNAVAILABLE):
                        raise
                    # One row was refused and the batch rolled back: each row again, alone
                    # (but not for a caller that went away meanwhile).
                    for args, row in batch:
                        if row.done():
                            continue
                        try:
                            result = await conn.fetchrow(self._sql, *args)
                        except asyncpg.PostgresError as refused:
                            if isinstance(refused, _PG_UNAVAILABLE):
                                raise
                            _fail(row, refused)
                        else:
                            _answer([(args, row)], [result])
        except BaseException as error:
            reusable = isinstance(error, asyncpg.PostgresError) and not isinstance(
                error, _PG_UNAVAILABLE
            )
            for _, row in batch:
                _fail(row, error)
            if not isinstance(error, Exception):
                raise
        finally:
            self._pool.release(conn, reusable=reusable)
            self._in_flight -= 1
            if self._queue and not self._draining:
                self._draining = True
                self._spawn(self._drain())


def _fail(row: asyncio.Future, error: BaseException) -> None:
    if row.done():
        return
    if isinstance(error, asyncio.CancelledError):
        row.cancel()
    else:
        row.set_exception(error)


def _answer(batch, rows: Sequence[Any]) -> None:
    for (_, row), result in zip(batch, rows, strict=True):
        if not row.done():
            row.set_result(result)


class PostgresDatabase:
    """Connection pools: one for writes, one for reads (the replica when configured)."""

    dialect = "postgresql"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._statements = load_statements("asyncpg")
        self._writer: ConnectionPool | None = None
        self._reader: ConnectionPool | None = None
        self._inserts: dict[str, InsertBatcher] = {}
        self.outage = Outage(log, "database")

    def _pool(self, dsn: str | None, host: str | None = None) -> ConnectionPool:
        settings = self._settings
        # A host replaces the URL's port too (asyncpg takes both from one place): keep it.
        port = urlsplit(dsn).port if host and dsn else None
        return ConnectionPool(
            dsn,
            max_size=settings.database_pool_size,
            timeout=settings.database_timeout_seconds,
            connect_timeout=settings.database_connect_timeout_seconds,
            idle_timeout=settings.database_idle_timeout_seconds,
            host=host,
            port=port,
        )

    async def open(self) -> None:
        settings = self._settings
        # database_url None: asyncpg connects with libpq's variables (PGHOST ...).
        self._writer = self._pool(settings.database_url)
        # One batcher per insert statement (insert_car, insert_car_keyed): each sends its own
        # rows together, with up to MAX_INSERT_BATCHES_IN_FLIGHT batches of its own on their way.
        self._inserts = {
            name: InsertBatcher(self._writer, sql)
            for name, (sql, _) in self._statements.items()
            if name.startswith("insert_")
        }
        if settings.database_read_url:
            self._reader = self._pool(settings.database_read_url)
        elif settings.read_host:
            self._reader = self._pool(settings.database_url, host=settings.read_host)
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
        return await self._watched(pool.run(method, sql, [params[key] for key in order]))

    async def _watched(self, call: Awaitable[Any]) -> Any:
        """Await a driver call, answering with this module's exceptions where the API has meaning
        for them (409, 503), and log outages as they start and end (not once per request). One
        coroutine around the driver's: this is on every PostgreSQL request's path."""
        try:
            result = await call
        except asyncpg.UniqueViolationError as error:
            raise UniqueViolation(_pg_unique_column(error)) from error
        except _PG_UNAVAILABLE as error:
            unavailable = DatabaseUnavailable(f"{type(error).__name__}: {error}")
            self.outage.failed(unavailable)
            raise unavailable from error
        except DatabaseUnavailable as error:  # the pool's own (no connection in time)
            self.outage.failed(error)
            raise
        if self.outage.down:
            self.outage.ended()
        return result

    async def fetch_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        return await self._run(self._reader, "fetchrow", name, params)

    async def insert(self, name: str, params: dict[str, Any]) -> Sequence[Any]:
        """One row of an ``insert_*`` statement, sent with the other inserts of the moment."""
        order = self._statements[name][1]
        return await self._watched(self._inserts[name].fetchrow([params[key] for key in order]))

    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return await self._run(self._reader, "fetch", name, params)

    async def write_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        return await self._run(self._writer, "fetchrow", name, params)

    async def write_all(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return await self._run(self._writer, "fetch", name, params)

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
        self.outage = Outage(log, "database")
        # One statement at a time on the shared connection, so that a transaction (insert) holds
        # it alone: another request's statement would otherwise run inside it.
        self._lock = asyncio.Lock()

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
        async with self._lock:
            return await self._execute(name, params)

    async def _execute(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        sql = self._statements[name][0]
        converted = {key: _sqlite_param(value) for key, value in params.items()}
        try:
            rows = list(await self._conn.execute_fetchall(sql, converted))
        except sqlite3.IntegrityError as error:
            message = str(error)
            if message.startswith("UNIQUE constraint failed: cars."):
                raise UniqueViolation(message.rsplit(".", 1)[1]) from error
            raise
        except sqlite3.OperationalError as error:
            unavailable = DatabaseUnavailable(str(error))
            self.outage.failed(unavailable)
            raise unavailable from error
        if self.outage.down:
            self.outage.ended()
        return rows

    async def fetch_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        rows = await self._run(name, params)
        return rows[0] if rows else None

    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return await self._run(name, params)

    async def insert(self, name: str, params: dict[str, Any]) -> Sequence[Any]:
        """One row of an ``insert_*`` statement. With an idempotency claim (``claim``), the row
        and its key's outcome are one transaction (PostgreSQL does both in its ``insert_car``);
        a claim no longer held inserts nothing and answers a row of NULLs, as there."""
        if params.get("claim") is None:
            return await self.fetch_one(name, params)
        async with self._lock:
            await self._execute("begin_write", {})
            try:
                if not await self._execute("claim_held", params):
                    await self._execute("rollback", {})
                    return (None,)  # as PostgreSQL's: a row whose id is NULL
                row = (await self._execute(name, params))[0]
                await self._execute(
                    "record_created",
                    {**params, "car_id": row[0], "record": orjson.dumps(list(row)).decode()},
                )
                await self._execute("commit", {})
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._execute("rollback", {})
                raise
        return row

    write_one = fetch_one
    write_all = fetch_all
    read_own_write = fetch_one

    async def ping(self) -> None:
        await self._run("ping", {})


def create_database(settings: Settings) -> Database:
    if settings.uses_postgres:
        return PostgresDatabase(settings)
    return SqliteDatabase(settings)
