"""Inserts made at the same time travel together (api.database.InsertBatcher), on the real
PostgreSQL: one transaction per batch (the rows share an xmin), every caller answered with its own
row, a refused row failing alone, a caller that went away not inserted, an unreachable database
failing every queued caller once and leaving the batcher usable.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import asyncpg
import psycopg
import pytest
from carkit import a_car, free_port, unique_make

from api.cars import store
from api.config import Settings
from api.database import (
    MAX_INSERT_BATCH,
    MAX_INSERT_BATCHES_IN_FLIGHT,
    DatabaseUnavailable,
    PostgresDatabase,
    UniqueViolation,
)
from api.migrations import apply_migrations


@pytest.fixture(scope="module")
def migrated(pg_url: str) -> Settings:
    settings = Settings(database_url=pg_url, database_pool_size=1, database_timeout_seconds=5)
    apply_migrations(settings)
    return settings


@pytest.fixture
async def db(migrated: Settings):
    database = PostgresDatabase(migrated)
    await database.open()
    yield database
    await database.close()


def transactions(pg_url: str, make: str) -> Counter:
    """Rows of ``make`` per inserting transaction (PostgreSQL's xmin)."""
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT xmin::text FROM cars WHERE make = %s", (make,)).fetchall()
    return Counter(xmin for (xmin,) in rows)


async def start_queued(db: PostgresDatabase, cars: list[dict]) -> list[asyncio.Future]:
    """Start inserting ``cars`` while the caller holds the pool's only connection: each insert
    is queued, the drainer waiting for that connection."""
    inserts = [asyncio.ensure_future(store.create_car(db, fields=car)) for car in cars]
    for _ in range(5):
        await asyncio.sleep(0)
    assert not any(insert.done() for insert in inserts)
    return inserts


async def queue_behind_a_busy_pool(db: PostgresDatabase, cars: list[dict]) -> list:
    """Insert ``cars`` concurrently while the pool's only connection is taken, then free it.

    Returns each insert's car or exception, in the order of ``cars``.
    """
    held = await db._writer.acquire()
    inserts = await start_queued(db, cars)
    db._writer.release(held)
    return await asyncio.gather(*inserts, return_exceptions=True)


async def test_inserts_queued_together_commit_in_one_transaction_each_with_its_own_row(db, pg_url):
    make = unique_make()
    cars = [a_car(make=make, mileage_km=n) for n in range(20)]
    created = await queue_behind_a_busy_pool(db, cars)
    assert [(car["vin"], car["mileage_km"]) for car in created] == [
        (car["vin"], car["mileage_km"]) for car in cars
    ]
    assert len({car["id"] for car in created}) == 20
    assert list(transactions(pg_url, make).values()) == [20]


async def test_an_insert_alone_is_sent_at_once_in_its_own_transaction(db, pg_url):
    make = unique_make()
    first = await store.create_car(db, fields=a_car(make=make))
    second = await store.create_car(db, fields=a_car(make=make))
    assert second["id"] > first["id"]
    assert sorted(transactions(pg_url, make).values()) == [1, 1]


async def test_a_batch_holds_at_most_max_insert_batch_rows(db, pg_url):
    make = unique_make()
    count = MAX_INSERT_BATCH * 2 + 5
    created = await queue_behind_a_busy_pool(db, [a_car(make=make) for _ in range(count)])
    assert all(isinstance(car, dict) for car in created)
    sizes = transactions(pg_url, make).values()
    assert sum(sizes) == count
    assert max(sizes) == MAX_INSERT_BATCH and len(sizes) == 3


async def test_a_refused_row_fails_alone_and_the_rest_of_its_batch_is_inserted(db, pg_url):
    taken = await store.create_car(db, fields=a_car())
    make = unique_make()
    cars = [a_car(make=make) for _ in range(6)]
    cars[2]["vin"] = taken["vin"]  # already used
    cars[4]["vin"] = cars[5]["vin"]  # two rows of the same batch want the same VIN
    results = await queue_behind_a_busy_pool(db, cars)
    assert isinstance(results[2], UniqueViolation) and results[2].column == "vin"
    assert [car["vin"] for car in (results[0], results[1], results[3], results[4])] == [
        cars[0]["vin"],
        cars[1]["vin"],
        cars[3]["vin"],
        cars[4]["vin"],
    ]
    assert isinstance(results[5], UniqueViolation)  # the same VIN as row 4, which came first
    assert sum(transactions(pg_url, make).values()) == 4
    # The connection is still good.
    assert (await store.create_car(db, fields=a_car(make=make)))["make"] == make


async def test_a_caller_that_went_away_before_its_batch_left_is_not_inserted(db, pg_url):
    make = unique_make()
    cars = [a_car(make=make) for _ in range(4)]
    held = await db._writer.acquire()
    inserts = await start_queued(db, cars)
    inserts[1].cancel()
    db._writer.release(held)
    results = await asyncio.gather(*inserts, return_exceptions=True)
    assert isinstance(results[1], asyncio.CancelledError)
    assert [car["vin"] for car in results if isinstance(car, dict)] == [
        cars[0]["vin"],
        cars[2]["vin"],
        cars[3]["vin"],
    ]
    with psycopg.connect(pg_url) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM cars WHERE vin = %s", (cars[1]["vin"],))
    assert stored == (0,)


async def test_no_database_fails_every_queued_insert_and_the_next_ones_try_again(migrated):
    unreachable = replace(
        migrated, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    )
    database = PostgresDatabase(unreachable)
    await database.open()
    try:
        make = unique_make()
        results = await asyncio.gather(
            *(store.create_car(database, fields=a_car(make=make)) for _ in range(5)),
            return_exceptions=True,
        )
        assert all(isinstance(result, DatabaseUnavailable) for result in results), results
        with pytest.raises(DatabaseUnavailable):
            await store.create_car(database, fields=a_car(make=make))
    finally:
        await database.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced_before_a_batch(db, pg_url):
    make = unique_make()
    held = await db._writer.acquire()
    closed_pid = held.get_server_pid()
    inserts = await start_queued(db, [a_car(make=make) for _ in range(3)])
    await terminate(pg_url, closed_pid)
    for _ in range(100):  # until the client has read the server's goodbye
        if held.is_closed():
            break
        await asyncio.sleep(0.01)
    db._writer.release(held)
    results = await asyncio.gather(*inserts, return_exceptions=True)
    assert [car["make"] for car in results] == [make] * 3
    assert db._writer._idle[0].get_server_pid() != closed_pid


async def test_a_connection_lost_mid_batch_fails_that_batch_and_is_not_reused(db, pg_url):
    make = unique_make()
    with slow_inserts(pg_url, make, seconds=5):
        held = await db._writer.acquire()
        batch_pid = held.get_server_pid()
        inserts = await start_queued(db, [a_car(make=make) for _ in range(3)])
        db._writer.release(held)  # the batch leaves, and sleeps in the trigger
        await wait_until_active(pg_url, batch_pid)
        await terminate(pg_url, batch_pid)
        results = await asyncio.gather(*inserts, return_exceptions=True)
    assert all(isinstance(result, DatabaseUnavailable) for result in results), results
    assert sum(transactions(pg_url, make).values()) == 0
    after = await store.create_car(db, fields=a_car())
    assert after["id"] > 0
    assert db._writer._idle[0].get_server_pid() != batch_pid


@contextmanager
def slow_inserts(pg_url: str, make: str, *, seconds: float) -> Iterator[None]:
    """Inserts of ``make`` cars take ``seconds`` each (a trigger sleeps) until the block ends."""
    slow = f"slow_{make.lower()}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE FUNCTION {slow}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.make = '{make}' THEN PERFORM pg_sleep({seconds}); END IF; RETURN NEW; END $$"
        )
        conn.execute(
            f"CREATE TRIGGER {slow} BEFORE INSERT ON cars FOR EACH ROW EXECUTE FUNCTION {slow}()"
        )
    try:
        yield
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP TRIGGER {slow} ON cars")
            conn.execute(f"DROP FUNCTION {slow}()")


async def terminate(pg_url: str, pid: int) -> None:
    admin = await asyncpg.connect(pg_url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def wait_until_active(pg_url: str, pid: int) -> None:
    """Poll pg_stat_activity until ``pid`` is running a statement (deadline 5 s)."""
    admin = await asyncpg.connect(pg_url)
    try:
        deadline = asyncio.get_running_loop().time() + 5
        while asyncio.get_running_loop().time() < deadline:
            state = await admin.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
            if state == "active":
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"backend {pid} never became active")
    finally:
        await admin.close()


async def test_an_insert_queued_longer_than_the_timeout_fails_and_is_never_sent(migrated, pg_url):
    database = PostgresDatabase(replace(migrated, database_timeout_seconds=0.2))
    await database.open()
    try:
        make = unique_make()
        held = await database._writer.acquire()
        started = asyncio.get_running_loop().time()
        with pytest.raises(DatabaseUnavailable, match="no database connection free in time"):
            await store.create_car(database, fields=a_car(make=make))
        assert asyncio.get_running_loop().time() - started < 2
        database._writer.release(held)
        after = await store.create_car(database, fields=a_car(make=make))
        assert sum(transactions(pg_url, make).values()) == 1 and after["make"] == make
    finally:
        await database.close()


async def test_rows_still_queued_after_the_timeout_fail_while_the_queue_moves(migrated, pg_url):
    """Connections free up in time, but too slowly for the queue: the rows that waited longer
    than the timeout to leave fail (and are never inserted); those that left in time are created.
    """
    make = unique_make()
    database = PostgresDatabase(replace(migrated, database_timeout_seconds=1.25))
    await database.open()
    with slow_inserts(pg_url, make, seconds=0.5):
        try:
            database._inserts["insert_car"]._max_batch = 1  # one row per round trip: slow
            cars = [a_car(make=make, mileage_km=n) for n in range(5)]
            # Leave at 0, 0.5 and 1.0 s; the fourth would leave at 1.5 s, past the 1.25 s allowed.
            results = await asyncio.gather(
                *(store.create_car(database, fields=car) for car in cars), return_exceptions=True
            )
        finally:
            await database.close()
    assert [car["mileage_km"] for car in results[:3]] == [0, 1, 2]
    assert all(isinstance(result, DatabaseUnavailable) for result in results[3:]), results
    assert sum(transactions(pg_url, make).values()) == 3


async def test_at_most_two_batches_are_on_their_way_and_the_rest_gather(migrated, pg_url):
    database = PostgresDatabase(replace(migrated, database_pool_size=10))
    await database.open()
    batcher = database._inserts["insert_car"]
    send = batcher._send
    in_flight, peak = 0, 0

    async def counted(conn, batch):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await send(conn, batch)
        finally:
            in_flight -= 1

    batcher._send = counted
    make = unique_make()

    async def creator(n: int) -> list[int]:
        ids = []
        for k in range(5):
            for _ in range(n % 7):  # creators out of step: rows arrive over several loop turns
                await asyncio.sleep(0)
            car = await store.create_car(database, fields=a_car(make=make, mileage_km=n * 10 + k))
            ids.append(car["id"])
        return ids

    try:
        created = await asyncio.gather(*(creator(n) for n in range(30)))
    finally:
        await database.close()
    assert len({car_id for ids in created for car_id in ids}) == 150
    assert peak == MAX_INSERT_BATCHES_IN_FLIGHT == 2
    assert len(transactions(pg_url, make)) < 150  # rows gathered while two batches were out
