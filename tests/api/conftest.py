"""The API in-process on a free port, against the real PostgreSQL and Redis and the embedded SQLite.

Each test session creates its own PostgreSQL database (api_cars_test_<random>, dropped at the end)
and its own Redis key prefix (deleted at the end). Behavioural tests take the ``backend`` fixture
and run once per database; they isolate their rows by unique makes and VINs, so they share the
session's PostgreSQL database safely.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import psycopg
import pytest
import pytest_asyncio
import redis
from sanic import Sanic

from api.cache import CarCache
from api.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from carkit import free_port, serve

# Several apps of the same name in one process: one per test.
Sanic.test_mode = True

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_ADMIN_URL = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def run_id() -> str:
    return secrets.token_hex(4)


def create_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url(run_id: str) -> Iterator[str]:
    name = f"api_cars_test_{run_id}"
    url = create_database(name)
    yield url
    drop_database(name)


@pytest.fixture
def fresh_pg_url(run_id: str) -> Iterator[str]:
    """A database of its own, for tests that need an empty schema."""
    name = f"api_cars_test_{run_id}_{secrets.token_hex(3)}"
    url = create_database(name)
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def redis_prefix(run_id: str) -> Iterator[str]:
    prefix = f"api-cars-test-{run_id}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, request, redis_prefix: str) -> Settings:
    """Production-like settings for ``backend``: the cache on, defaults elsewhere.

    Each test has its own key prefix: SQLite tests all number their cars from 1.
    """
    base = Settings(
        redis_url=REDIS_URL,
        cache_key_prefix=f"{redis_prefix}{secrets.token_hex(3)}:",
        app_version="v9.9.9-test",
        git_sha="0123abc",
        build_date="2026-01-02T03:04:05Z",
    )
    if backend == "sqlite":
        return replace(base, sqlite_path=str(tmp_path / "cars.sqlite3"))
    return replace(base, database_url=request.getfixturevalue("pg_url"))


@pytest_asyncio.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings) as client:
        yield client


@pytest_asyncio.fixture
async def car_cache(settings: Settings) -> AsyncIterator[CarCache]:
    """The cache alone, on the test's own key prefix."""
    cache = CarCache(settings)
    yield cache
    await cache.close()


@pytest.fixture
def unreachable_pg() -> Settings:
    """Settings naming a PostgreSQL nobody listens for."""
    return Settings(
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing",
        database_timeout_seconds=1,
    )
