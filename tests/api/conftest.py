"""The API in-process on a free port, against the real PostgreSQL and Redis and the embedded SQLite.

Each test session creates its own PostgreSQL database (api_cars_test_<random>, dropped at the end)
and its own Redis key prefix (deleted at the end). Behavioural tests take the ``backend`` fixture
and run once per database; they isolate their rows by unique makes and VINs, so they share the
session's PostgreSQL database safely.

A test module that sets ``REDIS_DEPLOYMENTS`` runs its tests once per Redis deployment named there
(``redis_deployment``): "plain", the shared Redis, through ``REDIS_URL``; "cluster-tls-acl", a
``redis-server --cluster-enabled yes`` of our own owning every slot on one node, as ElastiCache
Serverless presents itself (it refuses cross-slot commands), speaking TLS only with a certificate
from a throwaway CA, logged into as an ACL user, configured through ``REDIS_HOST`` and friends.
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
from tests.auth_issuer import Issuer
from tests.redis_servers import (
    ACL_PASSWORD,
    ACL_USER,
    ClusterNode,
    make_certificates,
    start_single_node_cluster,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import carkit
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    deployments = getattr(metafunc.module, "REDIS_DEPLOYMENTS", None)
    if deployments and "redis_deployment" in metafunc.fixturenames:
        metafunc.parametrize("redis_deployment", deployments, indirect=True)


@pytest.fixture(scope="session")
def cluster_redis(tmp_path_factory) -> Iterator[ClusterNode]:
    directory = tmp_path_factory.mktemp("redis-cluster")
    node = start_single_node_cluster(directory / "node", make_certificates(directory))
    yield node
    node.kill()


@pytest.fixture
def redis_deployment(request) -> str:
    """The Redis the cache uses: "plain" unless the module's REDIS_DEPLOYMENTS says otherwise."""
    return getattr(request, "param", "plain")


@pytest.fixture
def redis_client(redis_deployment: str, request) -> Iterator[redis.Redis]:
    """redis-py on the test's Redis deployment, to look at the keys behind the API's back."""
    if redis_deployment == "plain":
        client = redis.Redis.from_url(REDIS_URL)
    else:
        client = request.getfixturevalue("cluster_redis").client()
    yield client
    client.close()


def redis_settings(redis_deployment: str, request, monkeypatch) -> dict:
    if redis_deployment == "plain":
        return {"redis_url": REDIS_URL}
    node: ClusterNode = request.getfixturevalue("cluster_redis")
    # How any OpenSSL client is told to trust a CA (the API uses the system's otherwise).
    monkeypatch.setenv("SSL_CERT_FILE", str(node.certificates["ca.crt"]))
    return {
        "redis_host": "127.0.0.1",
        "redis_port": node.port,
        "redis_tls": True,
        "redis_username": ACL_USER,
        "redis_password": ACL_PASSWORD,
    }


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    """The token issuer every app of the suite trusts (tests/auth_issuer.py)."""
    server = Issuer().start()
    carkit.suite_issuer = server
    yield server
    carkit.suite_issuer = None
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(
    backend: str,
    tmp_path: Path,
    request,
    redis_prefix: str,
    redis_deployment: str,
    monkeypatch,
    issuer: Issuer,
) -> Settings:
    """Production-like settings for ``backend``: the cache on, writes need a token from the
    test issuer, defaults elsewhere.

    Each test has its own key prefix: SQLite tests all number their cars from 1.
    """
    base = Settings(
        **redis_settings(redis_deployment, request, monkeypatch),
        **issuer.settings(),
        cache_key_prefix=f"{redis_prefix}{secrets.token_hex(3)}:",
        app_version="v9.9.9-test",
        git_sha="0123abc",
        build_date="2026-01-02T03:04:05Z",
    )
    if backend == "sqlite":
        return replace(base, sqlite_path=str(tmp_path / "cars.sqlite3"))
    return replace(base, database_url=request.getfixturevalue("pg_url"))


@pytest_asyncio.fixture
async def client(settings: Settings, issuer: Issuer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API that sends a valid token (write and read scopes) with every request."""
    async with serve(settings) as client:
        yield client


@pytest_asyncio.fixture
async def car_cache(settings: Settings) -> AsyncIterator[CarCache]:
    """The cache alone, on the test's own key prefix."""
    cache = CarCache(settings)
    yield cache
    await cache.close()


@pytest.fixture
def unreachable_pg(issuer: Issuer) -> Settings:
    """Settings naming a PostgreSQL nobody listens for."""
    return Settings(
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing",
        database_timeout_seconds=1,
        **issuer.settings(),
    )
