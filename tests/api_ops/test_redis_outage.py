"""Redis down or slow: requests are served from the database, and the cache comes back by itself.

Every test runs twice: on a plain redis-server, and on a one-node Redis Cluster (every slot, TLS,
an ACL user, configured through REDIS_HOST and friends), as ElastiCache Serverless presents itself.
"""

import json
import time
from dataclasses import dataclass

import pytest

from tests.redis_servers import (
    ACL_PASSWORD,
    ACL_USER,
    ClusterNode,
    make_certificates,
    restart,
    start_single_node_cluster,
)

# Short, so that the cache is tried again within a test.
RETRY_SECONDS = "0.3"
CACHE_KEY = "api-cars:car:{}"


@dataclass
class ClusterServer:
    """The one-node cluster, killed and started like conftest's ThrowawayRedis."""

    node: ClusterNode

    @property
    def port(self) -> int:
        return self.node.port

    def kill(self) -> None:
        self.node.kill()

    def start(self) -> None:
        restart(self.node)

    def client(self):
        return self.node.client()


@pytest.fixture(scope="module", params=["plain", "cluster-tls-acl"])
def redis_server(request, redis_server, tmp_path_factory):
    """conftest's plain redis-server, or a one-node cluster in its place."""
    if request.param == "plain":
        yield redis_server
        return
    directory = tmp_path_factory.mktemp("redis-cluster")
    node = start_single_node_cluster(directory / "node", make_certificates(directory))
    yield ClusterServer(node)
    node.kill()


def redis_env(server, port: int) -> dict[str, str]:
    """The API's Redis settings for ``server``, reached on ``port`` (its own, or a proxy's)."""
    if isinstance(server, ClusterServer):
        return {
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port), "REDIS_TLS": "true",
            "REDIS_USERNAME": ACL_USER, "REDIS_PASSWORD": ACL_PASSWORD,
            "SSL_CERT_FILE": str(server.node.certificates["ca.crt"]),
        }  # fmt: skip
    return {"REDIS_URL": f"redis://127.0.0.1:{port}/0"}


@pytest.fixture(scope="module")
def api(start_api, new_database, redis_server):
    return start_api(
        DATABASE_URL=new_database(),
        REDIS_RETRY_SECONDS=RETRY_SECONDS,
        **redis_env(redis_server, redis_server.port),
    )


@pytest.fixture(scope="module")
def redis_proxy(redis_server, tcp_proxy):
    return tcp_proxy(redis_server.port)


@pytest.fixture(scope="module")
def proxied_api(start_api, new_database, redis_server, redis_proxy):
    """The API reaching Redis through a proxy that can stall it."""
    return start_api(
        DATABASE_URL=new_database(),
        REDIS_RETRY_SECONDS=RETRY_SECONDS,
        **redis_env(redis_server, redis_proxy.port),
    )


def wait_until_cached(client, redis, path: str, wait_until) -> str:
    """GET path until the API has cached the car in Redis (it uses the cache again)."""
    key = CACHE_KEY.format(path.rsplit("/", 1)[1])
    wait_until(lambda: client.get(path) and redis.exists(key), 10, "the API to cache the car")
    return key


@pytest.fixture
def redis_down(api, redis_server, car_body, wait_until):
    """Redis killed while the API was using it; started again (empty) after the test."""
    with api.client() as client, redis_server.client() as redis:
        path = client.post("/v1/cars", json=car_body).headers["location"]
        wait_until_cached(client, redis, path, wait_until)
    redis_server.kill()
    yield
    redis_server.start()


@pytest.fixture
def redis_stalled(redis_proxy):
    redis_proxy.stall()
    yield
    redis_proxy.resume()


def test_reads_and_writes_are_served_from_the_database_while_redis_is_down(
    api, redis_down, car_body
):
    with api.client() as client:
        created = client.post("/v1/cars", json=car_body)
        assert created.status_code == 201
        path = created.headers["location"]
        assert client.get(path).json() == created.json()
        patched = client.patch(path, json={"mileage_km": 50000})
        assert patched.status_code == 200
        assert client.get(path).json()["mileage_km"] == 50000
        assert client.get("/v1/cars").status_code == 200
        assert client.delete(path).status_code == 204
        assert client.get(path).status_code == 404


def _cache_log_lines(lines: list[str]) -> list[dict]:
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in entries if e.get("logger") == "api.cache" and e["level"] != "INFO"]


def test_an_outage_is_logged_once_not_per_request(api, redis_down, car_body):
    logged_before = len(api.log_lines())
    with api.client() as client:
        path = client.post("/v1/cars", json=car_body).headers["location"]
        # Several retry periods' worth of requests, each one a cache miss that reaches Redis.
        deadline = time.monotonic() + 4 * float(RETRY_SECONDS)
        requests = 0
        while time.monotonic() < deadline or requests < 50:
            assert client.get(path).status_code == 200
            requests += 1

    warnings = _cache_log_lines(api.log_lines()[logged_before:])
    assert len(warnings) == 1, warnings
    assert "Redis" in warnings[0]["message"]


def test_the_cache_serves_again_once_redis_is_back(api, redis_server, car_body, wait_until):
    with api.client() as client:
        path = client.post("/v1/cars", json=car_body).headers["location"]
        key = CACHE_KEY.format(path.rsplit("/", 1)[1])
        redis_server.kill()
        assert client.get(path).status_code == 200
        redis_server.start()

        with redis_server.client() as redis:
            assert not redis.exists(key)
            wait_until_cached(client, redis, path, wait_until)
            hits_before = redis.info("stats")["keyspace_hits"]
            assert client.get(path).status_code == 200
            assert redis.info("stats")["keyspace_hits"] > hits_before


def test_requests_stay_fast_while_redis_stalls(proxied_api, redis_stalled, car_body):
    timings = []
    with proxied_api.client() as client:
        for _ in range(10):
            started = time.monotonic()
            created = client.post("/v1/cars", json=car_body)
            fetched = client.get(created.headers["location"])
            timings.append(time.monotonic() - started)
            assert created.status_code == 201
            assert fetched.status_code == 200

    # REDIS_TIMEOUT_SECONDS is 0.25: at worst one timeout per request, never a hang.
    assert max(timings) < 1.0, timings


def test_a_write_during_a_redis_stall_is_not_hidden_by_a_stale_cache_entry(
    proxied_api, redis_proxy, redis_server, car_body, wait_until
):
    with proxied_api.client() as client, redis_server.client() as redis:
        path = client.post("/v1/cars", json=car_body).headers["location"]
        key = wait_until_cached(client, redis, path, wait_until)
        redis_proxy.stall()
        try:
            assert client.patch(path, json={"mileage_km": 77}).status_code == 200
        finally:
            redis_proxy.resume()

        # Once Redis answers again the cache is back in use, and the write shows.
        def cache_in_use() -> bool:
            return redis.exists(key) and client.get(path).json()["mileage_km"] == 77

        wait_until(cache_in_use, 10, "the cache to serve the car again")
        assert client.get(path).json()["mileage_km"] == 77
