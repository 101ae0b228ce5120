"""A PUT or PATCH that changes nothing keeps the car's version: same ETag, same updated_at."""

from __future__ import annotations

from carkit import a_car, create


async def test_a_put_of_the_stored_fields_keeps_the_etag_and_updated_at(client):
    fields = a_car()
    created = await create(client, **fields)
    response = await client.put(created.headers["location"], json=fields)
    assert response.status_code == 200
    assert response.headers["etag"] == created.headers["etag"]
    assert response.json() == created.json()


async def test_a_retried_put_with_the_same_if_match_succeeds_again(client):
    created = await create(client)
    location, etag = created.headers["location"], created.headers["etag"]
    body = a_car(color="navy")
    first = await client.put(location, json=body, headers={"If-Match": etag})
    assert first.status_code == 200
    retried = await client.put(location, json=body, headers={"If-Match": first.headers["etag"]})
    assert retried.status_code == 200
    assert retried.headers["etag"] == first.headers["etag"]


async def test_a_patch_to_the_same_values_keeps_the_etag(client):
    created = await create(client, color="red", price="10.00")
    response = await client.patch(
        created.headers["location"],
        json={"color": " red ", "price": "10"},
        headers={"If-Match": created.headers["etag"]},
    )
    assert response.status_code == 200
    assert response.headers["etag"] == created.headers["etag"]
    assert response.json()["updated_at"] == created.json()["updated_at"]


async def test_a_write_that_changes_a_field_still_moves_the_version(client):
    created = await create(client, color="red")
    response = await client.patch(created.headers["location"], json={"color": "blue"})
    assert response.headers["etag"] != created.headers["etag"]
    assert response.json()["updated_at"] > created.json()["updated_at"]


async def test_a_no_op_write_is_what_a_later_get_returns(client):
    created = await create(client, vin=None, color=None)
    fields = {k: created.json()[k] for k in ("make", "model", "year", "price", "mileage_km")}
    await client.put(created.headers["location"], json=fields)
    got = await client.get(created.headers["location"])
    assert got.headers["etag"] == created.headers["etag"]
