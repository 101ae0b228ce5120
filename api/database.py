"""The database: connection pools for PostgreSQL (asyncpg) or the embedded SQLite (aiosqlite).

The SQL lives in ``api/sql/*.sql``, parsed once by aiosql. Queries run through the drivers directly
with aiosql's prepared text and parameter order: the same SQL, without a per-call wrapper on the hot
path (asyncpg still caches the prepared statements per connection).

Both backends answer the same three calls (``fetch_one``, ``fetch_all``, ``ping``) with rows as
tuples in the column order of the SQL; the data layer (``api.cars.store``) turns them into cars.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
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
)


async def _no_reset(connection: asyncpg.Connection) -> None:
    return None


class PostgresDatabase:
    """asyncpg pools: one for writes, one for reads (the replica when configured)."""

    dialect = "postgresql"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._statements = load_statements("asyncpg")
        self._writer: asyncpg.Pool | None = None
        self._reader: asyncpg.Pool | None = None

    async def _pool(self, dsn: str) -> asyncpg.Pool:
        timeout = self._settings.database_timeout_seconds
        # min_size=0: start even while the database is down; connections open on first use and a
        # broken one is replaced on the next acquire, so the API recovers by itself.
        return await asyncpg.create_pool(
            dsn,
            min_size=0,
            max_size=self._settings.database_pool_size,
            timeout=timeout,
            command_timeout=timeout,
            max_inactive_connection_lifetime=300,
            # The API keeps no session state (no SET, LISTEN, advisory locks or open
            # transactions), so skip asyncpg's reset query: one round trip less per request.
            reset=_no_reset,
        )

    async def open(self) -> None:
        self._writer = await self._pool(self._settings.database_url)
        if self._settings.database_read_url:
            self._reader = await self._pool(self._settings.database_read_url)
        else:
            self._reader = self._writer

    async def close(self) -> None:
        pools = {id(p): p for p in (self._writer, self._reader) if p is not None}
        for pool in pools.values():
            try:
                await asyncio.wait_for(pool.close(), self._settings.database_timeout_seconds)
            except (TimeoutError, *_PG_UNAVAILABLE):
                pool.terminate()

    def _args(self, name: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
        sql, order = self._statements[name]
        return sql, [params[key] for key in order]

    async def fetch_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        sql, args = self._args(name, params)
        try:
            return await self._reader.fetchrow(sql, *args)
        except _PG_UNAVAILABLE as error:
            raise DatabaseUnavailable(str(error)) from error

    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        sql, args = self._args(name, params)
        try:
            return await self._reader.fetch(sql, *args)
        except _PG_UNAVAILABLE as error:
            raise DatabaseUnavailable(str(error)) from error

    async def write_one(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        sql, args = self._args(name, params)
        try:
            return await self._writer.fetchrow(sql, *args)
        except asyncpg.UniqueViolationError as error:
            raise UniqueViolation(_pg_unique_column(error)) from error
        except _PG_UNAVAILABLE as error:
            raise DatabaseUnavailable(str(error)) from error

    async def read_own_write(self, name: str, params: dict[str, Any]) -> Sequence[Any] | None:
        """A read that must see this process's last write: the primary, never the replica."""
        sql, args = self._args(name, params)
        try:
            return await self._writer.fetchrow(sql, *args)
        except _PG_UNAVAILABLE as error:
            raise DatabaseUnavailable(str(error)) from error

    async def ping(self) -> None:
        for name, pool in (("primary", self._writer), ("replica", self._reader)):
            try:
                await pool.fetchval(self._statements["ping"][0])
            except _PG_UNAVAILABLE as error:
                raise DatabaseUnavailable(f"{name}: {error}") from error
            if pool is self._writer and self._reader is self._writer:
                break


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
