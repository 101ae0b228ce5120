"""The API behind a real RFC 9111 shared cache: `python -m api` as a process on the shared
PostgreSQL (a database of its own per edge, dropped at the end) and Redis (a key prefix of its
own), with a throwaway varnishd (varnish.py, rfc9111.vcl) in front of it. Tests talk to Varnish
only, and count what reached the origin from the API's access log (each request sends its own
X-Request-ID) and Varnish's own counters (varnishstat).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import redis

from tests.api_ops.conftest import ApiProcess
from tests.auth_issuer import READ_SCOPE, WRITE_SCOPE, Issuer
from tests.edge_cache.varnish import Varnish

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
LOG_TIMEOUT_S = 5.0
_request_numbers = itertools.count(1)


@dataclass
class Edge:
    """One API process and the cache in front of it."""

    api: ApiProcess
    cache: Varnish
    issuer: Issuer

    def client(self, token: str | None = None) -> httpx.Client:
        """A caller of the cache; with ``token``, every request carries it."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.cache.base_url, headers=headers, timeout=10)

    def writer(self) -> httpx.Client:
        return self.client(self.issuer.token(scope=f"{WRITE_SCOPE} {READ_SCOPE}"))

    def origin_saw(self, request_id: str) -> list[int]:
        """The statuses the API answered to requests with this X-Request-ID (polled: the access
        log is written just after the answer)."""
        deadline = time.monotonic() + LOG_TIMEOUT_S
        while True:
            statuses = [
                line["status"]
                for line in _access_lines(self.api.log_lines())
                if line.get("request_id") == request_id
            ]
            if statuses or time.monotonic() > deadline:
                return statuses
            time.sleep(0.02)

    def counters_after(self, condition: Callable[[dict[str, int]], bool]) -> dict[str, int]:
        """Varnish's counters once ``condition`` holds (a worker adds its counts to the totals
        after it has sent the answer), or as they are after LOG_TIMEOUT_S."""
        deadline = time.monotonic() + LOG_TIMEOUT_S
        while not condition(counters := self.cache.counters()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return counters


def request_id(what: str) -> dict[str, str]:
    """Headers naming a request uniquely, so the API's log tells whether it reached the origin."""
    return {"X-Request-ID": f"edge-{what}-{next(_request_numbers)}-{secrets.token_hex(3)}"}


def _access_lines(lines: list[str]) -> Iterator[dict]:
    for text in lines:
        if text.startswith("{") and '"api.access"' in text:
            yield json.loads(text)


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


ORIGINS = ("https://a.example", "https://b.example")


@pytest.fixture(scope="module")
def cors_edge(start_edge) -> Edge:
    """Browsers from two origins may call it (CORS_ALLOWED_ORIGINS)."""
    return start_edge(CORS_ALLOWED_ORIGINS=",".join(ORIGINS))
