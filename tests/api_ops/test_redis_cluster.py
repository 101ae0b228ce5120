"""The API as a process on a Redis Cluster as ElastiCache Serverless presents itself: one node
owning every slot, TLS only (a throwaway CA), an ACL user, configured the way the service template
configures it (REDIS_HOST, REDIS_PORT, REDIS_TLS, REDIS_USERNAME, REDIS_PASSWORD): it caches cars
and pages there and lists its own writes. (A node that dies or stalls: test_redis_outage.py, which
runs on this cluster too.) On a cluster of three shards the API says at start-up, once, that the
cache is off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.redis_servers import (
    ACL_PASSWORD,
    ACL_USER,
    ADMIN_PASSWORD,
    ClusterNode,
    make_certificates,
    start_single_node_cluster,
    start_three_shard_cluster,
)

RETRY_SECONDS = "0.3"  # short, so that the cache is tried again within a test


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[ClusterNode]:
    directory = tmp_path_factory.mktemp("redis-cluster")
    node = start_single_node_cluster(directory / "node", make_certificates(directory))
    yield node
    node.kill()


@pytest.fixture(scope="module")
def api(start_api, new_database, cluster):
    return start_api(
        DATABASE_URL=new_database(),
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(cluster.port),
        REDIS_TLS="true",
        REDIS_USERNAME=ACL_USER,
        REDIS_PASSWORD=ACL_PASSWORD,
        SSL_CERT_FILE=str(cluster.certificates["ca.crt"]),
        REDIS_RETRY_SECONDS=RETRY_SECONDS,
    )


def cache_warnings(lines: list[str]) -> list[dict]:
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in entries if e.get("logger") == "api.cache" and e["level"] == "WARNING"]


def car_key(path: str) -> str:
    return f"api-cars:car:{path.rsplit('/', 1)[1]}"


def colors(client, make: str) -> list[str]:
    response = client.get("/v1/cars", params={"make": make})
    assert response.status_code == 200
    return [car["color"] for car in response.json()["items"]]


def test_cars_and_pages_are_cached_on_the_cluster(api, cluster, car_body):
    make = "ClusterMake"
    with api.client() as client, cluster.client() as redis:
        path = client.post("/v1/cars", json={**car_body, "make": make}).headers["location"]
        assert client.get(path).status_code == 200
        assert colors(client, make) == [car_body["color"]]
        assert redis.exists(car_key(path))
        assert redis.keys("api-cars:list:*")
        hits = redis.info("stats")["keyspace_hits"]
        assert client.get(path).status_code == 200
        assert redis.info("stats")["keyspace_hits"] > hits
    assert cache_warnings(api.log_lines()) == []
    assert ACL_PASSWORD not in api.log()


def test_a_client_lists_its_own_writes(api, car_body):
    make = "OwnWrites"
    with api.client() as client:
        path = client.post("/v1/cars", json={**car_body, "make": make}).headers["location"]
        assert colors(client, make) == [car_body["color"]]
        assert client.patch(path, json={"color": "teal"}).status_code == 200
        assert colors(client, make) == ["teal"]
        client.post("/v1/cars", json={**car_body, "make": make, "color": "navy"})
        assert sorted(colors(client, make)) == ["navy", "teal"]
        assert client.delete(path).status_code == 204
        assert colors(client, make) == ["navy"]
    assert cache_warnings(api.log_lines()) == []


def test_on_three_shards_the_cache_is_off_from_start_up_with_one_warning(
    start_api, new_database, tmp_path_factory, car_body, wait_until
):
    nodes = start_three_shard_cluster(tmp_path_factory.mktemp("redis-3-shards"))
    try:
        api = start_api(
            DATABASE_URL=new_database(),
            REDIS_URL=f"redis://:{ADMIN_PASSWORD}@127.0.0.1:{nodes[1].port}/0",
        )
        # Before any request: the start-up check alone finds it.
        wait_until(lambda: cache_warnings(api.log_lines()), 10, "the start-up warning")
        with api.client() as client:
            for _ in range(3):
                path = client.post("/v1/cars", json=car_body).headers["location"]
                assert client.get(path).status_code == 200
                assert client.patch(path, json={"color": "red"}).json()["color"] == "red"
                assert client.get("/v1/cars").status_code == 200
        warnings = cache_warnings(api.log_lines())
        assert len(warnings) == 1, warnings
        assert "Redis is a cluster of 3 shards" in warnings[0]["message"]
        for node in nodes:
            with node.client() as redis:
                assert redis.dbsize() == 0
    finally:
        for node in nodes:
            node.kill()
