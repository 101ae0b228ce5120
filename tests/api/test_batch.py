"""POST /v1/cars:batch (api.cars.batch), on both databases: every row answered in order with
what POST /v1/cars would answer, each keyed row exactly once (the same keys as the header), the
envelope refused whole, the list generation advanced before the answer, the rows sent through
the InsertBatcher together.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace

import orjson
import psycopg
import pytest
from carkit import a_car, serve, unique_make

from api.cars import batch, idempotency, store
from api.database import DatabaseUnavailable
from tests.auth_issuer import SUBJECT

BATCH = "/v1/cars:batch"


async def cars_of(client, make: str) -> list[dict]:
    response = await client.get("/v1/cars", params={"make": make, "limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def send(client, *items: dict):
    response = await client.post(BATCH, json={"items": list(items)})
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_every_row_is_answered_in_order_with_its_own_outcome(client):
    taken = a_car()
    await client.post("/v1/cars", json=taken)
    make = unique_make()
    rows = await send(
        client,
        {"car": a_car(make=make)},
        {"car": a_car(make=make, vin=taken["vin"])},
        {"car": a_car(make=make, year=1000, price="-1")},
        {"idempotency_key": "mixed-1", "car": a_car(make=make)},
    )
    assert [(r["index"], r["status"]) for r in rows] == [(0, 201), (1, 409), (2, 422), (3, 201)]
    assert rows[1]["problem"]["errors"] == [
        {"in": "body", "field": "vin", "detail": "is already used by another car"}
    ]
    assert rows[1]["problem"]["type"] == "about:blank"
    assert {e["field"] for e in rows[2]["problem"]["errors"]} == {"year", "price"}
    assert rows[2]["problem"]["status"] == 422
    for row in (rows[0], rows[3]):
        assert row["replayed"] is False
        got = await client.get(f"/v1/cars/{row['id']}")
        assert got.json() == row["car"]
    assert sorted(c["id"] for c in await cars_of(client, make)) == sorted(
        [rows[0]["id"], rows[3]["id"]]
    )


async def test_a_row_answers_what_post_answers_for_the_same_car(client):
    taken = a_car()
    await client.post("/v1/cars", json=taken)
    bad = a_car(year="2019", colour="red")
    single = (await client.post("/v1/cars", json=bad)).json()
    [row] = await send(client, {"car": bad})
    assert row["problem"]["errors"] == single["errors"]
    assert row["problem"]["detail"] == single["detail"]
    conflict = (await client.post("/v1/cars", json=a_car(vin=taken["vin"]))).json()
    [row] = await send(client, {"car": a_car(vin=taken["vin"])})
    assert row["problem"]["errors"] == conflict["errors"]


async def test_the_same_batch_sent_again_creates_nothing_and_answers_the_same(client):
    make = unique_make()
    taken = a_car()
    await client.post("/v1/cars", json=taken)
    items = [
        {"idempotency_key": f"again-{make}-{n}", "car": a_car(make=make)} for n in range(5)
    ] + [{"idempotency_key": f"again-{make}-vin", "car": a_car(make=make, vin=taken["vin"])}]
    first = await send(client, *items)
    again = await send(client, *items)
    assert [(r["status"], r.get("id")) for r in again] == [
        (r["status"], r.get("id")) for r in first
    ]
    assert [r.get("replayed") for r in first] == [False] * 5 + [None]
    assert [r.get("replayed") for r in again] == [True] * 5 + [None]
    assert [r["car"] for r in again[:5]] == [r["car"] for r in first[:5]]
    assert again[5]["problem"] == first[5]["problem"]
    assert len(await cars_of(client, make)) == 5


async def test_a_key_twice_in_one_batch_answers_the_first_rows_result(client):
    car = a_car()
    rows = await send(
        client,
        {"idempotency_key": "twice-in-1", "car": car},
        {"idempotency_key": "twice-in-1", "car": dict(reversed(car.items()))},
    )
    assert [r["status"] for r in rows] == [201, 201]
    assert rows[1]["id"] == rows[0]["id"]
    assert (rows[0]["replayed"], rows[1]["replayed"]) == (False, True)
    assert rows[1]["index"] == 1
    assert len(await cars_of(client, car["make"])) == 1


async def test_a_key_twice_in_one_batch_with_another_car_is_a_422_row(client):
    car = a_car()
    rows = await send(
        client,
        {"idempotency_key": "twice-other-1", "car": car},
        {"idempotency_key": "twice-other-1", "car": a_car(make=car["make"])},
    )
    assert [r["status"] for r in rows] == [201, 422]
    assert rows[1]["problem"]["type"] == idempotency.KeyReused.type
    assert rows[1]["problem"]["errors"][0]["field"] == "items/1/idempotency_key"
    assert len(await cars_of(client, car["make"])) == 1


async def test_row_keys_and_header_keys_are_the_same_keys(client):
    car, other = a_car(), a_car()
    posted = await client.post("/v1/cars", json=car, headers={"Idempotency-Key": "both-1"})
    [row] = await send(client, {"idempotency_key": "both-1", "car": car})
    assert (row["status"], row["id"], row["replayed"]) == (201, posted.json()["id"], True)
    [row] = await send(client, {"idempotency_key": "both-2", "car": other})
    again = await client.post("/v1/cars", json=other, headers={"Idempotency-Key": "both-2"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == row["id"]


async def test_a_row_whose_key_another_request_holds_is_a_409_in_flight_row(client):
    car = a_car()
    holder = store.Claim(SUBJECT, "held-row-1", "another-request")
    await store.claim_key(
        client.app.ctx.db,
        holder,
        fingerprint=idempotency.fingerprint(car),
        lease_seconds=60,
        ttl_seconds=3600,
    )
    rows = await send(client, {"idempotency_key": "held-row-1", "car": car}, {"car": a_car()})
    assert [r["status"] for r in rows] == [409, 201]
    assert rows[0]["problem"]["type"] == idempotency.KeyInFlight.type
    assert rows[0]["problem"]["retry_after"] == idempotency.RETRY_AFTER_SECONDS
    assert await cars_of(client, car["make"]) == []


async def test_row_keys_belong_to_their_caller(settings, issuer):
    car = a_car()
    async with serve(settings, headers=issuer.bearer(sub="importer-a")) as a:
        [first] = await send(a, {"idempotency_key": "caller-row-1", "car": car})
    async with serve(settings, headers=issuer.bearer(sub="importer-b")) as b:
        [other] = await send(b, {"idempotency_key": "caller-row-1", "car": a_car()})
    assert first["status"] == other["status"] == 201
    assert other["replayed"] is False and other["id"] != first["id"]


async def test_a_batch_lists_its_cars_at_once_through_the_list_cache(client):
    make = unique_make()
    assert await cars_of(client, make) == []  # this page is now cached
    rows = await send(client, *({"car": a_car(make=make)} for _ in range(3)))
    assert sorted(c["id"] for c in await cars_of(client, make)) == sorted(r["id"] for r in rows)


async def test_a_batch_with_only_replays_still_lists_them(client):
    car = a_car()
    await send(client, {"idempotency_key": "replay-list-1", "car": car})
    [row] = await send(client, {"idempotency_key": "replay-list-1", "car": car})
    assert row["replayed"] is True
    assert [c["id"] for c in await cars_of(client, car["make"])] == [row["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], ""),
        ({}, "items"),
        ({"items": {}}, "items"),
        ({"items": []}, "items"),
        ({"items": [{"car": {}}] * 4}, "items"),
        ({"items": [{"car": {}}, 5]}, "items/1"),
        ({"items": [{"idempotency_key": "k"}]}, "items/0/car"),
        ({"items": [{"car": []}]}, "items/0/car"),
        ({"items": [{"car": {}, "key": "k"}]}, "items/0/key"),
        ({"items": [{"car": {}, "idempotency_key": ""}]}, "items/0/idempotency_key"),
        ({"items": [{"car": {}, "idempotency_key": "a b"}]}, "items/0/idempotency_key"),
        ({"items": [{"car": {}, "idempotency_key": "k" * 256}]}, "items/0/idempotency_key"),
        ({"items": [{"car": {}, "idempotency_key": 7}]}, "items/0/idempotency_key"),
        ({"items": [{"car": {}}], "dry_run": True}, "dry_run"),
    ],
    ids=[
        "not-an-object",
        "no-items",
        "items-not-a-list",
        "no-item",
        "too-many",
        "item-not-an-object",
        "no-car",
        "car-not-an-object",
        "unknown-item-member",
        "empty-key",
        "key-with-space",
        "key-too-long",
        "key-not-a-string",
        "unknown-member",
    ],
)
async def test_an_invalid_envelope_is_a_422_for_the_whole_batch(settings, body, field):
    make = unique_make()
    for item in body.get("items", []) if isinstance(body, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("car"), dict):
            item["car"] = a_car(make=make)
    async with serve(replace(settings, batch_max_items=3)) as client:
        response = await client.post(BATCH, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {e["field"] for e in response.json()["errors"]}
        assert await cars_of(client, make) == []


async def test_a_batch_of_batch_max_items_is_accepted(settings):
    make = unique_make()
    async with serve(replace(settings, batch_max_items=3)) as client:
        rows = await send(client, *({"car": a_car(make=make)} for _ in range(3)))
    assert [r["status"] for r in rows] == [201, 201, 201]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"items": []}', "text/plain", 415),
    ],
    ids=["not-json", "empty", "not-application-json"],
)
async def test_a_body_that_is_not_a_json_batch_is_refused_whole(
    client, content, content_type, status
):
    response = await client.post(BATCH, content=content, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_body_over_batch_max_bytes_is_a_413_and_creates_nothing(settings):
    make = unique_make()
    body = orjson.dumps({"items": [{"car": a_car(make=make)} for _ in range(20)]})
    async with serve(replace(settings, batch_max_bytes=2048)) as client:
        assert len(body) > 2048
        response = await client.post(
            BATCH, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert "2048 bytes (BATCH_MAX_BYTES)" in response.json()["detail"]
        assert await cars_of(client, make) == []
        # The limit is the batch's own: 500 cars exceed REQUEST_MAX_SIZE (64 KiB) and are fine.
    async with serve(settings) as client:
        items = [
            {"idempotency_key": f"big-{make}-{n}", "car": a_car(make=make)} for n in range(500)
        ]
        body = orjson.dumps({"items": items})
        assert len(body) > settings.request_max_size
        rows = await send(client, *items)
        assert Counter(r["status"] for r in rows) == {201: 500}
        assert [r["index"] for r in rows] == list(range(500))


async def test_a_batch_needs_a_token_with_the_write_scope(settings, issuer):
    async with serve(settings, headers={}) as client:
        response = await client.post(BATCH, json={"items": [{"car": a_car()}]})
        assert response.status_code == 401
    async with serve(settings, headers=issuer.bearer(scope="cars:read")) as client:
        response = await client.post(BATCH, json={"items": [{"car": a_car()}]})
        assert response.status_code == 403


async def test_the_path_is_the_literal_colon(client):
    response = await client.post("/v1/cars%3Abatch", json={"items": [{"car": a_car()}]})
    assert response.status_code == 404


def transactions(pg_url: str, make: str) -> Counter:
    """Rows of ``make`` per inserting transaction (PostgreSQL's xmin)."""
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT xmin::text FROM cars WHERE make = %s", (make,)).fetchall()
    return Counter(xmin for (xmin,) in rows)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_the_rows_of_a_batch_travel_together_through_the_insert_batcher(
    client, settings, backend
):
    make = unique_make()
    items = [{"car": a_car(make=make)} for _ in range(200)]
    items += [
        {"idempotency_key": f"together-{make}-{n}", "car": a_car(make=make)} for n in range(200)
    ]
    rows = await send(client, *items)
    assert Counter(r["status"] for r in rows) == {201: 400}
    per_transaction = transactions(settings.database_url, make)
    assert sum(per_transaction.values()) == 400
    # Far fewer commits than cars: the rows shared the batcher's multi-row transactions.
    assert len(per_transaction) <= 400 // 8, per_transaction


async def test_a_database_failure_part_way_is_a_503_and_the_same_batch_again_finishes_once(
    client, monkeypatch
):
    make = unique_make()
    items = [{"idempotency_key": f"part-{make}-{n}", "car": a_car(make=make)} for n in range(10)]
    database = type(client.app.ctx.db)
    real_insert = database.insert
    inserts = 0

    async def fails_after_four(self, name, params):
        nonlocal inserts
        inserts += 1
        if inserts > 4:
            raise DatabaseUnavailable("the database went away")
        return await real_insert(self, name, params)

    monkeypatch.setattr(batch, "ROWS_AT_ONCE", 1)  # rows one after another: four get in
    monkeypatch.setattr(database, "insert", fails_after_four)
    failed = await client.post(BATCH, json={"items": items})
    monkeypatch.setattr(database, "insert", real_insert)
    assert failed.status_code == 503
    assert len(await cars_of(client, make)) == 4
    deadline = time.monotonic() + 10
    while True:  # the failed rows' claims are released in the background, right after the 503
        rows = (await client.post(BATCH, json={"items": items})).json()["results"]
        if all(r["status"] == 201 for r in rows) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.01)
    assert [r["status"] for r in rows] == [201] * 10
    assert [r["replayed"] for r in rows] == [True] * 4 + [False] * 6
    assert len(await cars_of(client, make)) == 10
