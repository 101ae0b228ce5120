"""The Redis deployments the cache meets: a cluster keeping every slot on one node (ElastiCache
Serverless) is used like a single Redis; a cluster of several shards, or a database number on a
cluster, turns the cache off with one warning, and the database answers.

The cache's behaviour on the one-node cluster is the whole of test_cache.py and
test_list_cache.py, which run on both (REDIS_DEPLOYMENTS there); this module holds what differs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis
from carkit import create, serve, sneak_color

from api import cache as cache_module
from api.cache import CarCache, RedisUnsupported, _take_reply
from tests.redis_servers import (
    ACL_PASSWORD,
    ACL_USER,
    ADMIN_PASSWORD,
    ClusterNode,
    start_three_shard_cluster,
)


def cache_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "api.cache" and r.levelno >= logging.WARNING
    ]


async def until_off(cache: CarCache, within: float = 5.0) -> None:
    """The cache's start-up check runs in the background: poll until it has decided."""
    deadline = time.monotonic() + within
    while cache.available:
        if time.monotonic() > deadline:
            pytest.fail(f"the cache was still in use after {within:g} s")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def three_shards(tmp_path_factory) -> Iterator[list[ClusterNode]]:
    nodes = start_three_shard_cluster(tmp_path_factory.mktemp("redis-3-shards"))
    yield nodes
    for node in nodes:
        node.kill()


def keys_in(nodes: list[ClusterNode], prefix: str) -> list[bytes]:
    found = []
    for node in nodes:
        with node.client() as client:
            found += client.keys(f"{prefix}*")
    return found


def test_a_cluster_node_refuses_a_script_whose_keys_are_in_two_slots(cluster_redis):
    # What the cache sent before every write: its entry and the list generation in one EVAL.
    # (redis-py drops the error's code, CROSSSLOT, from the message.)
    with (
        cluster_redis.client() as client,
        pytest.raises(redis.ResponseError, match="hash to the same slot"),
    ):
        client.eval("return 1", 2, "api-cars:car:1", "api-cars:lists:generation")


def test_the_caches_scripts_touch_only_their_declared_key():
    # ElastiCache Serverless refuses a script that reaches a key it did not declare (a local
    # redis-server does not check that, so this test does).
    scripts = [v for k, v in vars(cache_module).items() if k.isupper() and isinstance(v, bytes)]
    scripts = [s.decode() for s in scripts if b"redis.call" in s]
    assert scripts
    for script in scripts:
        touched = re.findall(r"redis\.call\('\w+', ([^,)]+)", script)
        assert touched and set(touched) == {"KEYS[1]"}, script


async def test_a_cluster_of_three_shards_turns_the_cache_off_with_one_warning(
    settings, three_shards, caplog
):
    sharded = replace(
        settings, redis_url=f"redis://:{ADMIN_PASSWORD}@127.0.0.1:{three_shards[0].port}/0"
    )
    async with serve(sharded) as client:
        await until_off(client.app.ctx.cache)
        assert cache_warnings(caplog) == [
            "cache off, serving from the database: Redis is a cluster of 3 shards; the cache "
            "needs a single Redis, or a cluster keeping every slot on one node (ElastiCache "
            "Serverless, or one shard)"
        ]
        created = await create(client, color="red")
        path = created.headers["location"]
        assert (await client.get(path)).status_code == 200
        assert (await client.patch(path, json={"color": "blue"})).json()["color"] == "blue"
        assert (await client.get(path)).json()["color"] == "blue"
        assert (await client.get("/v1/cars")).status_code == 200
        assert (await client.delete(path)).status_code == 204
        assert (await client.get(path)).status_code == 404
    assert len(cache_warnings(caplog)) == 1
    assert keys_in(three_shards, settings.cache_key_prefix) == []


async def test_a_cache_turned_off_never_reconnects(settings, three_shards):
    sharded = replace(
        settings,
        redis_url=f"redis://:{ADMIN_PASSWORD}@127.0.0.1:{three_shards[0].port}/0",
        redis_retry_seconds=0,
    )
    cache = CarCache(sharded)
    try:
        assert await cache.get(1) is None
        assert not cache.available
        with three_shards[0].client() as admin:
            connections = admin.info("stats")["total_connections_received"]
            for car_id in range(20):
                assert await cache.get(car_id) is None
                await cache.store(car_id, 1, '"1-1"', b"{}", written=True)
            # Only the look just taken, by this client.
            assert admin.info("stats")["total_connections_received"] == connections
    finally:
        await cache.close()


def test_a_redirection_is_a_deployment_the_cache_cannot_use():
    with pytest.raises(RedisUnsupported, match=r"MOVED 3999 127\.0\.0\.1:7001"):
        _take_reply(bytearray(b"-MOVED 3999 127.0.0.1:7001\r\n"))
    with pytest.raises(RedisUnsupported, match="ASK 3999"):
        _take_reply(bytearray(b"-ASK 3999 127.0.0.1:7001\r\n"))


async def test_a_database_number_on_a_cluster_turns_the_cache_off(
    settings, cluster_redis, caplog, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(cluster_redis.certificates["ca.crt"]))
    numbered = replace(
        settings, redis_url=f"rediss://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{cluster_redis.port}/3"
    )
    async with serve(numbered) as client:
        await until_off(client.app.ctx.cache)
        assert (await create(client)).status_code == 201
    assert cache_warnings(caplog) == [
        "cache off, serving from the database: Redis is a cluster, which has database 0 only, "
        "and REDIS_URL selects 3"
    ]


async def test_cache_on_another_redis_database_index(settings, redis_client):
    other_db = replace(settings, redis_url="redis://127.0.0.1:6379/3")
    async with serve(other_db) as client:
        car_id = (await create(client, color="red")).json()["id"]
        await client.get(f"/v1/cars/{car_id}")
        sneak_color(settings, car_id, "purple")
        assert (await client.get(f"/v1/cars/{car_id}")).json()["color"] == "red"
    db3 = redis.Redis.from_url("redis://127.0.0.1:6379/3")
    try:
        assert db3.delete(f"{settings.cache_key_prefix}car:{car_id}") == 1
    finally:
        db3.close()


async def test_a_user_who_may_not_ask_for_cluster_info_turns_the_cache_off(
    settings, cluster_redis, caplog, monkeypatch
):
    # Whether the cluster has several shards is unknown then, and unknown is not fine.
    with cluster_redis.client() as admin:
        admin.acl_setuser("no-cluster", enabled=True, passwords=["+pw"], keys=["*"],
                          commands=["+@all", "-cluster"])  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cluster_redis.certificates["ca.crt"]))
    limited = replace(settings, redis_url=f"rediss://no-cluster:pw@127.0.0.1:{cluster_redis.port}")
    async with serve(limited) as client:
        await until_off(client.app.ctx.cache)
        assert (await create(client)).status_code == 201
    [warning] = cache_warnings(caplog)
    assert "CLUSTER INFO was refused (NOPERM" in warning
    assert "allow the command (ACL +cluster|info)" in warning
