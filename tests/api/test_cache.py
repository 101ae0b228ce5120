"""The Redis read-through cache: hits skip the database, writes replace or tombstone entries,
and a missing Redis only means the database answers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
from carkit import create, free_port, serve, sneak_color

from api.cache import _INCOMPLETE, CarCache, RedisReplyError, _Connection, _pack, _take_reply
from api.redis_address import RedisAddress

# Each test that uses Redis runs on a plain Redis and on a one-node cluster (conftest.py).
REDIS_DEPLOYMENTS = ["plain", "cluster-tls-acl"]


def cache_key(settings, car_id: int) -> str:
    return f"{settings.cache_key_prefix}car:{car_id}"


async def test_get_stores_the_response_bytes_and_etag_in_redis(client, settings, redis_client):
    created = await create(client)
    car_id = created.json()["id"]
    response = await client.get(f"/v1/cars/{car_id}")
    entry = redis_client.get(cache_key(settings, car_id))
    assert entry == b"1\n" + response.headers["etag"].encode() + b"\n" + response.content
    assert 0 < redis_client.ttl(cache_key(settings, car_id)) <= settings.cache_ttl_seconds


async def test_second_get_is_served_from_the_cache(client, settings):
    car_id = (await create(client, color="red")).json()["id"]
    await client.get(f"/v1/cars/{car_id}")
    sneak_color(settings, car_id, "purple")
    assert (await client.get(f"/v1/cars/{car_id}")).json()["color"] == "red"


async def test_patch_replaces_the_cached_entry(client, settings):
    car_id = (await create(client, color="red")).json()["id"]
    await client.get(f"/v1/cars/{car_id}")
    patched = await client.patch(f"/v1/cars/{car_id}", json={"color": "blue"})
    response = await client.get(f"/v1/cars/{car_id}")
    assert response.json()["color"] == "blue"
    assert response.headers["etag"] == patched.headers["etag"]


async def test_put_replaces_the_cached_entry(client):
    created = await create(client, color="red")
    location = created.headers["location"]
    await client.get(location)
    replacement = {**created.json(), "color": "blue"}
    for generated in ("id", "created_at", "updated_at"):
        del replacement[generated]
    await client.put(location, json=replacement)
    assert (await client.get(location)).json()["color"] == "blue"


async def test_delete_leaves_a_tombstone_that_is_never_served(client, settings, redis_client):
    location = (await create(client)).headers["location"]
    car_id = int(location.rsplit("/", 1)[1])
    await client.get(location)
    await client.delete(location)
    assert (await client.get(location)).status_code == 404
    assert redis_client.get(cache_key(settings, car_id)).split(b"\n")[1] == b""


async def test_no_redis_address_means_no_cache(settings, redis_client):
    async with serve(replace(settings, redis_url=None, redis_host=None)) as client:
        car_id = (await create(client)).json()["id"]
        assert (await client.get(f"/v1/cars/{car_id}")).status_code == 200
        assert client.app.ctx.cache is None
    assert redis_client.get(cache_key(settings, car_id)) is None


async def test_redis_down_serves_from_the_database_and_warns_once(settings, caplog):
    down = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_retry_seconds=60)
    async with serve(down) as client:
        caplog.clear()
        created = await create(client)
        location = created.headers["location"]
        for color in ("red", "blue", "green"):
            assert (await client.get(location)).status_code == 200
            patched = await client.patch(location, json={"color": color})
            assert patched.status_code == 200
            assert (await client.get(location)).json()["color"] == color
    warnings = [r for r in caplog.records if r.name == "api.cache" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "Redis unavailable" in warnings[0].getMessage()


async def test_an_older_version_never_overwrites_a_newer_one(car_cache):
    car_id = 10**12 + free_port()
    await car_cache.store(car_id, 3, '"x-3"', b'{"v":3}')
    await car_cache.store(car_id, 2, '"x-2"', b'{"v":2}')
    assert await car_cache.get(car_id) == ('"x-3"', b'{"v":3}')


async def test_a_deleted_car_cannot_be_cached_again(car_cache):
    car_id = 10**12 + free_port()
    await car_cache.store(car_id, 1, '"x-1"', b"{}")
    await car_cache.forget(car_id)
    await car_cache.store(car_id, 1, '"x-1"', b"{}")  # a reader that fetched before the delete
    assert await car_cache.get(car_id) is None


async def test_unreachable_redis_remembers_writes_to_drop_later(settings):
    cache = CarCache(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    await cache.open()
    try:
        assert await cache.get(5) is None
        assert not cache.available
        await cache.store(5, 2, '"5-2"', b"{}")
        await cache.forget(6)
        assert cache._pending == {5, 6}
    finally:
        await cache.close()


@pytest.mark.parametrize(
    ("wire", "reply"),
    [
        (b"$5\r\nhello\r\n", b"hello"),
        (b"$0\r\n\r\n", b""),
        (b"$-1\r\n", None),
        (b"+OK\r\n", b"OK"),
        (b":42\r\n", 42),
        (b"$12\r\nline\r\nbreaks\r\n", b"line\r\nbreaks"),
    ],
)
def test_replies_are_read_whole_even_when_they_arrive_in_pieces(wire, reply):
    for cut in range(1, len(wire)):
        buffer = bytearray(wire[:cut])
        assert _take_reply(buffer) is _INCOMPLETE
        buffer += wire[cut:]
        assert _take_reply(buffer) == reply
        assert buffer == b""


def test_an_error_reply_raises():
    with pytest.raises(RedisReplyError, match="WRONGTYPE"):
        _take_reply(bytearray(b"-WRONGTYPE Operation against a key\r\n"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://cache:6380/2", ("cache", 6380, None, False, None, None, 2)),
        ("redis://127.0.0.1", ("127.0.0.1", 6379, None, False, None, None, 0)),
        ("rediss://:s%40cret@host/0", ("host", 6379, None, True, None, "s@cret", 0)),
        ("redis://app:pw@host:1/15", ("host", 1, None, False, "app", "pw", 15)),
        (
            "unix:///run/redis.sock?db=4",
            ("localhost", 6379, "/run/redis.sock", False, None, None, 4),
        ),
    ],
)
def test_redis_urls_are_understood(url, expected):
    address = RedisAddress.from_url(url)
    assert (
        address.host,
        address.port,
        address.path,
        address.tls,
        address.username,
        address.password,
        address.db,
    ) == expected


async def test_writes_keep_the_cache_in_use(client, settings, redis_client, caplog):
    # On a cluster node a write's two-key script (the entry and the list generation) is CROSSSLOT.
    car_id = (await create(client, color="red")).json()["id"]
    await client.get(f"/v1/cars/{car_id}")
    for color in ("blue", "green"):
        assert (await client.patch(f"/v1/cars/{car_id}", json={"color": color})).status_code == 200
    assert client.app.ctx.cache.available
    assert redis_client.get(cache_key(settings, car_id)).startswith(b"3\n")
    assert not [r for r in caplog.records if r.name == "api.cache" and r.levelno >= logging.WARNING]


class _Wire:
    """A transport that keeps what the connection writes."""

    def __init__(self) -> None:
        self.sent = b""

    def write(self, data: bytes) -> None:
        self.sent += data


@pytest.mark.parametrize("cut", [None, 3, 9, 14])
async def test_a_pipeline_gets_every_reply_in_order_however_they_arrive(cut):
    conn = _Connection()
    conn.connection_made(_Wire())
    replies = b"$1\r\n7\r\n$-1\r\n:1\r\n"
    packed = _pack(b"GET", b"g") + _pack(b"GET", b"p") + _pack(b"INCR", b"g")
    pending = asyncio.ensure_future(conn.pipeline(packed, 3, timeout=5))
    await asyncio.sleep(0)  # the pipeline is sent and waits
    assert conn._transport.sent == packed
    for chunk in [replies] if cut is None else [replies[:cut], replies[cut:]]:
        conn.data_received(chunk)
    assert await pending == [b"7", None, 1]


async def test_an_error_in_a_pipeline_raises():
    conn = _Connection()
    conn.connection_made(_Wire())
    pending = asyncio.ensure_future(conn.pipeline(b"", 2, timeout=5))
    await asyncio.sleep(0)
    conn.data_received(b"+OK\r\n-CROSSSLOT Keys in request don't hash to the same slot\r\n")
    with pytest.raises(RedisReplyError, match="CROSSSLOT"):
        await pending
