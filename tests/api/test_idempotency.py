"""POST /v1/cars with Idempotency-Key (api.cars.idempotency), on both databases: a retry answers
the first answer and creates nothing, another body is a 422, a request in flight a 409, keys are
the caller's own, expire, survive a Redis outage; and 50 concurrent requests with one key create
one car.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import orjson
import psycopg
import pytest
from carkit import a_car, free_port, serve, unique_make

from api.cars import idempotency, store
from api.database import DatabaseUnavailable
from tests.auth_issuer import SUBJECT
from tests.redis_servers import ThrowawayRedis


async def cars_of(client: httpx.AsyncClient, make: str) -> list[dict]:
    response = await client.get("/v1/cars", params={"make": make, "limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def test_the_same_key_and_body_answer_the_first_201_and_create_nothing(client):
    car = a_car()
    first = await client.post("/v1/cars", json=car, headers=keyed("same-1"))
    again = await client.post("/v1/cars", json=car, headers=keyed("same-1"))
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(await cars_of(client, car["make"])) == 1


async def test_a_replay_answers_the_car_as_first_created_even_after_it_changed(client):
    car = a_car()
    first = await client.post("/v1/cars", json=car, headers=keyed("changed-1"))
    patched = await client.patch(first.headers["location"], json={"color": "green"})
    assert patched.status_code == 200
    again = await client.post("/v1/cars", json=car, headers=keyed("changed-1"))
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]


async def test_key_order_and_spacing_of_the_body_do_not_make_another_request(client):
    car = a_car()
    first = await client.post("/v1/cars", json=car, headers=keyed("canonical-1"))
    reordered = orjson.dumps(dict(reversed(car.items()))).replace(b",", b" ,  ")
    again = await client.post(
        "/v1/cars",
        content=reordered,
        headers={**keyed("canonical-1"), "content-type": "application/json"},
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_a_key_in_double_quotes_is_the_same_key_bare(client):
    car = a_car()
    first = await client.post("/v1/cars", json=car, headers=keyed('"quoted-1"'))
    again = await client.post("/v1/cars", json=car, headers=keyed("quoted-1"))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_the_same_key_with_another_body_is_a_422_and_creates_nothing(client):
    car = a_car()
    await client.post("/v1/cars", json=car, headers=keyed("other-body-1"))
    other = await client.post("/v1/cars", json={**car, "year": 2001}, headers=keyed("other-body-1"))
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    problem = other.json()
    assert problem["type"] == idempotency.KeyReused.type
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert [c["year"] for c in await cars_of(client, car["make"])] == [car["year"]]


async def test_a_vin_conflict_is_answered_again_as_the_same_409(client):
    taken = a_car()
    await client.post("/v1/cars", json=taken)
    car = a_car(vin=taken["vin"])
    first = await client.post("/v1/cars", json=car, headers=keyed("vin-1"))
    again = await client.post("/v1/cars", json=car, headers=keyed("vin-1"))
    assert first.status_code == again.status_code == 409
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert first.json()["errors"][0]["field"] == "vin"


async def test_an_invalid_body_is_not_recorded_under_its_key(client):
    bad = await client.post("/v1/cars", json=a_car(year=1000), headers=keyed("invalid-1"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "year"
    good = await client.post("/v1/cars", json=a_car(), headers=keyed("invalid-1"))
    assert good.status_code == 201
    assert "idempotent-replayed" not in good.headers


@pytest.mark.parametrize(
    "value",
    ["", '""', "a" * 256, "has space", '"a b"', '"unbalanced', "caf\u00e9", "tab\there"],
    ids=[
        "empty",
        "empty-quoted",
        "too-long",
        "space",
        "quoted-space",
        "unbalanced-quote",
        "non-ascii",
        "control",
    ],
)
async def test_an_invalid_key_is_a_400_and_creates_nothing(client, value):
    car = a_car()
    raw = value.encode()  # as sent: httpx would refuse to send non-ASCII text
    response = await client.post("/v1/cars", json=car, headers={"Idempotency-Key": raw})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0] == {
        "in": "header",
        "field": "Idempotency-Key",
        "detail": "must be 1-255 visible ASCII characters (0x21-0x7E)",
    }
    assert await cars_of(client, car["make"]) == []


async def test_a_key_of_255_characters_is_accepted(client):
    response = await client.post("/v1/cars", json=a_car(), headers=keyed("k" * 255))
    assert response.status_code == 201


async def test_a_key_sent_twice_is_a_400(client):
    response = await client.post(
        "/v1/cars",
        json=a_car(),
        headers=[("Idempotency-Key", "twice-1"), ("Idempotency-Key", "twice-2")],
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "must be sent once"


async def test_a_key_another_request_holds_is_a_409_with_retry_after(client):
    car = a_car()
    holder = store.Claim(SUBJECT, "held-1", "another-request")
    assert await store.claim_key(
        client.app.ctx.db,
        holder,
        fingerprint=idempotency.fingerprint(car),
        lease_seconds=60,
        ttl_seconds=3600,
    )
    response = await client.post("/v1/cars", json=car, headers=keyed("held-1"))
    assert response.status_code == 409
    assert response.headers["retry-after"] == str(idempotency.RETRY_AFTER_SECONDS)
    assert response.json()["type"] == idempotency.KeyInFlight.type
    assert await cars_of(client, car["make"]) == []


async def test_a_claim_abandoned_past_its_lease_is_taken_over_and_creates_once(client):
    car = a_car()
    dead = store.Claim(SUBJECT, "abandoned-1", "a-request-that-died")
    db = client.app.ctx.db
    fingerprint = idempotency.fingerprint(car)
    assert await store.claim_key(
        db, dead, fingerprint=fingerprint, lease_seconds=0, ttl_seconds=3600
    )
    response = await client.post("/v1/cars", json=car, headers=keyed("abandoned-1"))
    assert response.status_code == 201
    # The dead request, were it still running, could not insert any more: its claim is gone.
    assert await store.create_car(db, fields=car, claim=dead) is None
    assert len(await cars_of(client, car["make"])) == 1


async def test_an_insert_under_a_claim_no_longer_held_inserts_nothing(client):
    db = client.app.ctx.db
    car = a_car()
    mine = store.Claim(SUBJECT, "lost-1", "mine")
    fingerprint = idempotency.fingerprint(car)
    assert await store.claim_key(db, mine, fingerprint=fingerprint, lease_seconds=0, ttl_seconds=60)
    thief = store.Claim(SUBJECT, "lost-1", "thief")
    assert await store.claim_key(
        db, thief, fingerprint=fingerprint, lease_seconds=60, ttl_seconds=60
    )
    assert await store.create_car(db, fields=car, claim=mine) is None
    created = await store.create_car(db, fields=car, claim=thief)
    assert created is not None
    stored = await store.get_key(db, principal=SUBJECT, key="lost-1")
    assert (stored.status, stored.car_id) == (201, created["id"])
    assert len(await cars_of(client, car["make"])) == 1


async def test_one_callers_key_never_answers_another_callers_request(settings, issuer):
    car = a_car()
    async with serve(settings, headers=issuer.bearer(sub="dealer-a")) as dealer_a:
        first = await dealer_a.post("/v1/cars", json=car, headers=keyed("shared-1"))
        # Another caller, the same key and body: its own request (here a VIN conflict, since the
        # car exists), not dealer A's replayed 201.
        async with serve(settings, headers=issuer.bearer(sub="dealer-b")) as dealer_b:
            other = await dealer_b.post("/v1/cars", json=car, headers=keyed("shared-1"))
            fresh = await dealer_b.post("/v1/cars", json=a_car(), headers=keyed("shared-2"))
        mine_again = await dealer_a.post("/v1/cars", json=car, headers=keyed("shared-1"))
        elsewhere = await dealer_a.post("/v1/cars", json=a_car(), headers=keyed("shared-2"))
    assert first.status_code == 201
    assert other.status_code == 409 and "idempotent-replayed" not in other.headers
    assert other.json()["errors"][0]["field"] == "vin"
    assert mine_again.headers["idempotent-replayed"] == "true"
    # dealer B's key shared-2 does not make dealer A's shared-2 a 422 (another body).
    assert fresh.status_code == elsewhere.status_code == 201
    assert "idempotent-replayed" not in elsewhere.headers


async def test_with_auth_disabled_every_request_is_one_caller(settings):
    car = a_car()
    async with serve(replace(settings, auth_disabled=True, auth_issuer=None)) as client:
        first = await client.post("/v1/cars", json=car, headers=keyed("open-1"))
        again = await client.post("/v1/cars", json=car, headers=keyed("open-1"))
    assert first.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_an_expired_key_is_ignored_and_free_again(settings):
    async with serve(replace(settings, idempotency_ttl_seconds=1)) as client:
        first = await client.post("/v1/cars", json=a_car(), headers=keyed("expiring-1"))
        assert first.status_code == 201
        later = a_car()
        deadline = time.monotonic() + 10
        while True:  # refused as another body until the key expires, then a new car
            response = await client.post("/v1/cars", json=later, headers=keyed("expiring-1"))
            if response.status_code != 422 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert response.status_code == 201, response.text
        assert "idempotent-replayed" not in response.headers
        assert response.json()["id"] != first.json()["id"]
        assert len(await cars_of(client, later["make"])) == 1


async def test_the_purge_deletes_expired_keys_and_keeps_live_ones(client):
    db = client.app.ctx.db
    expired = store.Claim(SUBJECT, f"purge-old-{unique_make()}", "x")
    live = store.Claim(SUBJECT, f"purge-live-{unique_make()}", "y")
    await store.claim_key(db, expired, fingerprint="f", lease_seconds=0, ttl_seconds=0)
    await store.claim_key(db, live, fingerprint="f", lease_seconds=0, ttl_seconds=3600)
    assert await store.purge_keys(db) >= 1
    assert (
        await db.read_own_write(
            "get_key", {"principal": SUBJECT, "idempotency_key": expired.key, "now": store.now()}
        )
        is None
    )
    assert (await store.get_key(db, principal=SUBJECT, key=live.key)).fingerprint == "f"
    assert (
        await db.write_all("purge_keys", {"now": store.now(), "limit": 1000}) == []
    )  # nothing expired is left


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis()
    server.start()
    yield server
    server.kill()


async def test_a_redis_outage_does_not_break_exactly_once(settings, throwaway_redis):
    car = a_car()
    async with serve(replace(settings, redis_url=throwaway_redis.url)) as client:
        first = await client.post("/v1/cars", json=car, headers=keyed("redis-1"))
        throwaway_redis.kill()
        again = await client.post("/v1/cars", json=car, headers=keyed("redis-1"))
        during = a_car()
        created = await client.post("/v1/cars", json=during, headers=keyed("redis-2"))
        repeated = await client.post("/v1/cars", json=during, headers=keyed("redis-2"))
        assert client.app.ctx.cache.available is False  # the requests did meet the outage
        assert len(await cars_of(client, car["make"])) == 1
        assert len(await cars_of(client, during["make"])) == 1
    assert first.status_code == again.status_code == created.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert repeated.json()["id"] == created.json()["id"]


async def test_fifty_concurrent_requests_with_one_key_create_one_car(client):
    car = a_car()
    async with httpx.AsyncClient(
        base_url=str(client.base_url),
        headers=client.headers,
        timeout=30,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
    ) as fifty:
        # Fifty connections opened first, so the requests themselves leave together.
        await asyncio.gather(*(fifty.get("/health") for _ in range(50)))
        answers = await asyncio.gather(
            *(fifty.post("/v1/cars", json=car, headers=keyed("fifty-1")) for _ in range(50))
        )
    statuses = sorted({a.status_code for a in answers})
    assert set(statuses) <= {201, 409}, [a.text for a in answers if a.status_code not in (201, 409)]
    created = [a for a in answers if a.status_code == 201]
    originals = [a for a in created if "idempotent-replayed" not in a.headers]
    assert len(originals) == 1
    assert {a.content for a in created} == {originals[0].content}
    for conflict in (a for a in answers if a.status_code == 409):
        assert conflict.json()["type"] == idempotency.KeyInFlight.type
        assert conflict.headers["retry-after"] == "1"
    cars = await cars_of(client, car["make"])
    assert [c["id"] for c in cars] == [originals[0].json()["id"]]


@pytest.fixture
def two_worker_api(pg_url: str, issuer) -> Iterator[str]:
    """``python -m api`` with two worker processes on the suite's PostgreSQL: its base URL."""
    port = free_port()
    env = {
        **os.environ,
        **issuer.env(),
        "DATABASE_URL": pg_url,
        "PORT": str(port),
        "WORKERS": "2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the API exited during start-up"
            assert time.monotonic() < deadline, "the API did not answer /ready in time"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)  # poll interval
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()


async def test_fifty_concurrent_requests_to_two_worker_processes_create_one_car(
    two_worker_api, issuer
):
    car = a_car()
    async with httpx.AsyncClient(
        base_url=two_worker_api,
        headers=issuer.bearer(),
        timeout=30,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
    ) as fifty:
        await asyncio.gather(*(fifty.get("/health") for _ in range(50)))
        answers = await asyncio.gather(
            *(fifty.post("/v1/cars", json=car, headers=keyed("workers-1")) for _ in range(50))
        )
        cars = await cars_of(fifty, car["make"])
    assert {a.status_code for a in answers} <= {201, 409}
    originals = [
        a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers
    ]
    assert len(originals) == 1
    assert [c["id"] for c in cars] == [originals[0].json()["id"]]
    assert all(a.content == originals[0].content for a in answers if a.status_code == 201)


async def test_each_process_purges_expired_keys_periodically(client):
    db = client.app.ctx.db
    expired = store.Claim(SUBJECT, f"periodic-{unique_make()}", "x")
    await store.claim_key(db, expired, fingerprint="f", lease_seconds=0, ttl_seconds=0)
    params = {"principal": SUBJECT, "idempotency_key": expired.key}
    purge = asyncio.create_task(idempotency.purge_forever(db, interval=0.01))
    try:
        deadline = time.monotonic() + 10
        while await db.read_own_write("claim_held", {**params, "claim": "x"}) is not None:
            assert time.monotonic() < deadline, "the expired key was not purged"
            await asyncio.sleep(0.01)
    finally:
        purge.cancel()
    assert client.app.ctx.purge is not None and not client.app.ctx.purge.done()


async def test_a_request_that_fails_frees_its_key_for_the_retry_at_once(client, monkeypatch):
    car = a_car()
    real_insert = type(client.app.ctx.db).insert

    async def unavailable(self, name, params):
        raise DatabaseUnavailable("the database went away")

    monkeypatch.setattr(type(client.app.ctx.db), "insert", unavailable)
    failed = await client.post("/v1/cars", json=car, headers=keyed("failed-1"))
    monkeypatch.setattr(type(client.app.ctx.db), "insert", real_insert)
    assert failed.status_code == 503
    deadline = time.monotonic() + 10
    while True:  # the claim is released in the background, right after the 503
        retry = await client.post("/v1/cars", json=car, headers=keyed("failed-1"))
        if retry.status_code != 409 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert len(await cars_of(client, car["make"])) == 1


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_retry_while_the_first_request_is_still_inserting_is_a_409(
    client, settings, backend
):
    car = a_car()
    with psycopg.connect(settings.database_url) as blocker:
        # Inserts into cars wait for this transaction: the first request holds its claim meanwhile.
        blocker.execute("LOCK TABLE cars IN EXCLUSIVE MODE")
        first = asyncio.ensure_future(client.post("/v1/cars", json=car, headers=keyed("slow-1")))
        deadline = time.monotonic() + 10
        while True:  # until the first request holds the key
            stored = await store.get_key(client.app.ctx.db, principal=SUBJECT, key="slow-1")
            if stored is not None:
                break
            assert time.monotonic() < deadline, "the first request never claimed its key"
            await asyncio.sleep(0.01)
        retry = await client.post("/v1/cars", json=car, headers=keyed("slow-1"))
        assert not first.done()
        blocker.rollback()
    assert retry.status_code == 409
    assert retry.headers["retry-after"] == "1"
    assert (await first).status_code == 201
    after = await client.post("/v1/cars", json=car, headers=keyed("slow-1"))
    assert after.headers["idempotent-replayed"] == "true"
    assert after.content == (await first).content
