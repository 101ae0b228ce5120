"""The API behind a real RFC 9111 shared cache: `python -m api` as a process on the shared
PostgreSQL (a database of its own per edge, dropped at the end) and Redis (a key prefix of its
own), with a throwaway varnishd (varnish.py, rfc9111.vcl) in front of it. Tests talk to Varnish
only, and count what reached the origin from the API's access log (each request sends its own
X-Request-ID) and Varnish's own counters (varnishstat).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import psycopg
import pytest
import redis

from tests.api_process import ApiProcess
from tests.auth_issuer import READ_SCOPE, Issuer
from tests.edge_cache.edge import ORIGINS, Edge
from tests.edge_cache.varnish import Varnish

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    server = Issuer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def start_edge(tmp_path_factory, issuer: Issuer) -> Iterator[Callable[..., Edge]]:
    """Start an API (writes need a token; ``env`` adds settings) and a Varnish in front of it."""
    run = secrets.token_hex(4)
    databases: list[str] = []
    prefixes: list[str] = []
    edges: list[Edge] = []

    def start(**env: str) -> Edge:
        name = f"api_cars_edge_cache_{run}_{len(databases)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        databases.append(name)
        prefixes.append(f"api-cars-edge-cache-{run}-{len(prefixes)}:")
        api = ApiProcess(
            {
                "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
                "REDIS_URL": REDIS_URL,
                "CACHE_KEY_PREFIX": prefixes[-1],
                **issuer.env(),
                **env,
            },
            tmp_path_factory.mktemp("edge-api") / "api.log",
        )
        api.start()
        try:
            cache = Varnish(api.port).start()
        except BaseException:
            api.stop()
            raise
        edges.append(Edge(api, cache, issuer))
        return edges[-1]

    yield start
    for edge in edges:
        edge.cache.stop()
        edge.api.stop()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in databases:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    client = redis.Redis.from_url(REDIS_URL)
    for prefix in prefixes:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def edge(start_edge) -> Edge:
    """Reads open to anyone, writes with a token: the default deployment."""
    return start_edge()


@pytest.fixture(scope="module")
def token_edge(start_edge) -> Edge:
    """Reads need a token too (AUTH_READ_SCOPE)."""
    return start_edge(AUTH_READ_SCOPE=READ_SCOPE)


@pytest.fixture(scope="module")
def cors_edge(start_edge) -> Edge:
    """Browsers from two origins may call it (CORS_ALLOWED_ORIGINS)."""
    return start_edge(CORS_ALLOWED_ORIGINS=",".join(ORIGINS))
