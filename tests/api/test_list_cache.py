"""Cached list pages: a page is served from Redis until a write, a client always lists its own
writes, a reader that queried before a write cannot store its page after it, and without Redis
the database answers."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from carkit import create, free_port, serve, sneak_color, unique_make

from api.cache import CarCache

# Each test that uses Redis runs on a plain Redis and on a one-node cluster (conftest.py).
REDIS_DEPLOYMENTS = ["plain", "cluster-tls-acl"]


async def colors(client, make: str) -> list[str]:
    response = await client.get("/v1/cars", params={"make": make, "limit": 50})
    assert response.status_code == 200
    return [car["color"] for car in response.json()["items"]]


async def a_cached_page(client, settings) -> tuple[str, int]:
    """A make with one red car whose page is cached: a change behind the API's back is not seen."""
    make = unique_make()
    car_id = (await create(client, make=make, color="red")).json()["id"]
    assert await colors(client, make) == ["red"]
    sneak_color(settings, car_id, "purple")
    assert await colors(client, make) == ["red"], "the second list should be the cached page"
    return make, car_id


async def test_a_list_page_is_served_from_the_cache(client, settings):
    await a_cached_page(client, settings)


async def test_a_created_car_is_listed_right_after_the_post(client, settings):
    make, _ = await a_cached_page(client, settings)
    await create(client, make=make, color="green")
    assert await colors(client, make) == ["purple", "green"]


async def test_a_patched_car_is_listed_with_its_change(client, settings):
    make, car_id = await a_cached_page(client, settings)
    assert (await client.patch(f"/v1/cars/{car_id}", json={"color": "blue"})).status_code == 200
    assert await colors(client, make) == ["blue"]


async def test_a_deleted_car_is_no_longer_listed(client, settings):
    make, car_id = await a_cached_page(client, settings)
    assert (await client.delete(f"/v1/cars/{car_id}")).status_code == 204
    assert await colors(client, make) == []


async def test_redis_down_lists_from_the_database(settings):
    down = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_retry_seconds=60)
    async with serve(down) as client:
        make = unique_make()
        car_id = (await create(client, make=make, color="red")).json()["id"]
        assert await colors(client, make) == ["red"]
        sneak_color(settings, car_id, "purple")
        assert await colors(client, make) == ["purple"]


async def test_with_a_read_replica_pages_are_not_cached(settings, pg_url):
    # A page from a lagging replica would outlive the lag. (The primary stands in for it.)
    replica = replace(settings, database_url=pg_url, database_read_url=pg_url)
    async with serve(replica) as client:
        make = unique_make()
        car_id = (await create(client, make=make, color="red")).json()["id"]
        assert await colors(client, make) == ["red"]
        sneak_color(replica, car_id, "purple")
        assert await colors(client, make) == ["purple"]


async def test_a_page_read_before_a_write_is_never_served_after_it(car_cache):
    generation, page = await car_cache.get_page(b"q")
    assert page is None
    await car_cache.lists_changed()  # a write committed while this reader queried the database
    await car_cache.store_page(generation, b"q", b'{"stale":true}')
    assert (await car_cache.get_page(b"q"))[1] is None


async def test_a_slow_reader_never_replaces_a_newer_generations_page(car_cache):
    old, _ = await car_cache.get_page(b"q")
    await car_cache.lists_changed()
    new, _ = await car_cache.get_page(b"q")
    assert await car_cache.store_page(new, b"q", b'{"new":true}') is True
    assert await car_cache.store_page(old, b"q", b'{"old":true}') is False
    assert await car_cache.get_page(b"q") == (new, b'{"new":true}')


async def test_a_page_stored_in_its_generation_is_served(car_cache):
    generation, _ = await car_cache.get_page(b"q")
    assert await car_cache.store_page(generation, b"q", b'{"items":[]}') is True
    assert await car_cache.get_page(b"q") == (generation, b'{"items":[]}')


async def test_updating_a_car_starts_a_new_generation_of_pages(car_cache):
    generation, _ = await car_cache.get_page(b"q")
    await car_cache.store_page(generation, b"q", b"{}")
    await car_cache.store(7, 2, '"7-2"', b"{}", written=True)
    newer, page = await car_cache.get_page(b"q")
    assert int(newer) == int(generation) + 1 and page is None


async def test_a_read_through_car_entry_keeps_the_pages(car_cache):
    generation, _ = await car_cache.get_page(b"q")
    await car_cache.store_page(generation, b"q", b"{}")
    await car_cache.store(8, 1, '"8-1"', b"{}")  # a GET that missed: nothing changed
    assert await car_cache.get_page(b"q") == (generation, b"{}")


async def test_a_write_while_redis_is_unreachable_is_remembered_for_the_pages(settings):
    cache = CarCache(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        assert await cache.get_page(b"q") is None
        await cache.lists_changed()
        assert cache._lists_stale
    finally:
        await cache.close()


async def generation(car_cache: CarCache) -> int:
    return int((await car_cache.get_page(b"q"))[0])


async def test_creations_at_the_same_time_share_one_increment(car_cache):
    before = await generation(car_cache)
    await asyncio.gather(*(car_cache.lists_changed() for _ in range(10)))
    assert await generation(car_cache) == before + 1


async def test_a_creation_after_the_increment_left_waits_for_the_next_one(car_cache):
    before = await generation(car_cache)
    first = asyncio.ensure_future(car_cache.lists_changed())
    await asyncio.sleep(0)  # the first creation starts the increment's task
    await asyncio.sleep(0)  # which sends INCR
    assert car_cache._bump_waiters is None
    second = asyncio.ensure_future(car_cache.lists_changed())
    await asyncio.sleep(0)
    assert not first.done() and not second.done()  # each waits for an INCR sent after it came
    await first
    assert await generation(car_cache) >= before + 1
    await second
    assert await generation(car_cache) == before + 2


async def test_creations_sharing_an_increment_redis_refused_are_remembered(settings):
    cache = CarCache(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        await asyncio.gather(*(cache.lists_changed() for _ in range(3)))
        assert cache._lists_stale and not cache.available and not cache._tasks
    finally:
        await cache.close()
