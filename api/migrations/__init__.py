"""Schema migrations: plain SQL files in this folder, applied by yoyo-migrations.

Each step exists once per database, ``NNNN_name.postgresql.sql`` and ``NNNN_name.sqlite.sql``; the
runner picks the files of the database in use. Several processes may start at once (ECS tasks): on
PostgreSQL they queue on an advisory lock so one migrates and the others find nothing left to do;
yoyo's own lock table guards the same on SQLite. PostgreSQL is ``DATABASE_URL`` or, without it,
libpq's variables (PGHOST, PGUSER, PGPASSWORD, PGSSLMODE ...), which psycopg and asyncpg read
themselves: the same database, user and TLS checks as the API's own connections.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import zlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from api.config import Settings

log = logging.getLogger("api.migrations")

MIGRATIONS_DIR = Path(__file__).resolve().parent
# A fixed 32-bit key: every api-cars process agrees on it without configuration.
ADVISORY_LOCK_KEY = zlib.crc32(b"api-cars:migrations")
LOCK_TIMEOUT_SECONDS = 120


class MigrationError(Exception):
    """Migrations could not be applied; the message says why in one line."""


def yoyo_url(settings: Settings) -> str:
    """The yoyo connection URL for the configured database (psycopg 3 for PostgreSQL)."""
    if not settings.uses_postgres:
        return f"sqlite:///{settings.sqlite_path}"
    if settings.database_url is None:
        # Nothing in the URL: yoyo passes no connection parameter, libpq reads PG* itself.
        return "postgresql+psycopg://"
    parts = urlsplit(settings.database_url)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def pending_migrations(dialect: str):
    """The migration files of one dialect ("postgresql" or "sqlite"), in order."""
    from yoyo import read_migrations

    every = read_migrations(str(MIGRATIONS_DIR))
    selected = [m for m in every if m.id.endswith(f".{dialect}")]
    every[:] = selected
    return every


def _apply_with_yoyo(url: str, dialect: str) -> list[str]:
    from yoyo import get_backend

    backend = get_backend(url)
    try:
        migrations = pending_migrations(dialect)
        with backend.lock(timeout=LOCK_TIMEOUT_SECONDS):
            to_apply = backend.to_apply(migrations)
            backend.apply_migrations(to_apply)
        return [m.id for m in to_apply]
    finally:
        backend.connection.close()


def apply_migrations(settings: Settings) -> list[str]:
    """Bring the schema up to date; return the ids of the migrations applied (often none)."""
    if _up_to_date(settings):
        return []
    url = yoyo_url(settings)
    try:
        if not settings.uses_postgres:
            return _apply_with_yoyo(url, "sqlite")
        return _apply_postgres_locked(settings.database_url or "", url)
    except MigrationError:
        raise
    except Exception as error:  # every driver error becomes one readable line
        raise MigrationError(" ".join(f"{type(error).__name__}: {error}".split())) from error


def _apply_postgres_locked(database_url: str, url: str) -> list[str]:
    """``database_url`` empty: libpq's variables say where."""
    import psycopg

    with psycopg.connect(
        database_url, autocommit=True, connect_timeout=int(LOCK_TIMEOUT_SECONDS)
    ) as conn:
        conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            return _apply_with_yoyo(url, "postgresql")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def migration_ids(dialect: str) -> set[str]:
    """The ids yoyo gives this dialect's migration files (file names without ``.sql``)."""
    return {
        path.name.removesuffix(".sql")
        for path in MIGRATIONS_DIR.glob(f"*.{dialect}.sql")
        if not path.name.endswith(".rollback.sql")
    }


_APPLIED_SQL = "SELECT migration_id FROM _yoyo_migration"


def _up_to_date(settings: Settings) -> bool:
    """Whether every migration is recorded as applied, read with the drivers the API loads anyway.

    The usual start finds nothing to do; this answers it in milliseconds where importing yoyo and
    psycopg alone takes a quarter of a second. Any doubt (no table yet, an error) means "no": yoyo
    then runs under its locks and reports errors properly.
    """
    try:
        if not settings.uses_postgres:
            if not Path(settings.sqlite_path).exists():
                return False
            with sqlite3.connect(settings.sqlite_path, timeout=5) as conn:
                applied = {row[0] for row in conn.execute(_APPLIED_SQL)}
            return migration_ids("sqlite") <= applied
        return migration_ids("postgresql") <= asyncio.run(_postgres_applied(settings))
    except Exception:
        return False


async def _postgres_applied(settings: Settings) -> set[str]:
    import asyncpg

    timeout = settings.database_timeout_seconds
    conn = await asyncpg.connect(
        settings.database_url, timeout=settings.database_connect_timeout_seconds
    )
    try:
        return {row[0] for row in await conn.fetch(_APPLIED_SQL, timeout=timeout)}
    finally:
        await conn.close(timeout=timeout)


def describe(settings: Settings) -> str:
    """Where migrations go, without any password."""
    if not settings.uses_postgres:
        return f"SQLite file {settings.sqlite_path}"
    if settings.database_url is None:
        database = f"/{settings.pgdatabase}" if settings.pgdatabase else ""
        host = settings.pghost or "(libpq's default host)"
        return f"PostgreSQL {host}:{settings.pgport or 5432}{database}"
    parts = urlsplit(settings.database_url)
    return f"PostgreSQL {parts.hostname}:{parts.port or 5432}{parts.path}"
