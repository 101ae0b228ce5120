"""Creating, reading, replacing, changing and deleting cars, with ETags and If-Match."""

from __future__ import annotations

import asyncio

from carkit import a_car, create, random_vin, unique_make


async def test_post_creates_a_car_with_location_etag_and_normalised_fields(client):
    vin = random_vin()
    payload = a_car(make="  Toyota ", price="12999.9", vin=vin.lower())
    response = await client.post("/v1/cars", json=payload)
    assert response.status_code == 201
    car = response.json()
    assert response.headers["location"] == f"/v1/cars/{car['id']}"
    assert response.headers["etag"] == f'"{car["id"]}-1"'
    assert car["make"] == "Toyota"
    assert car["price"] == "12999.90"
    assert car["vin"] == vin
    assert car["created_at"] == car["updated_at"]
    assert car["created_at"].endswith("Z")
    assert set(car) == {
        "id", "make", "model", "year", "color", "price", "mileage_km", "vin",
        "created_at", "updated_at",
    }  # fmt: skip


async def test_post_stores_absent_optional_fields_as_null(client):
    payload = a_car()
    del payload["color"], payload["vin"]
    car = (await client.post("/v1/cars", json=payload)).json()
    assert car["color"] is None
    assert car["vin"] is None


async def test_get_returns_the_created_car_and_its_etag(client):
    created = await create(client)
    response = await client.get(created.headers["location"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == created.json()
    assert response.headers["etag"] == created.headers["etag"]


async def test_get_twice_gives_identical_bytes(client):
    location = (await create(client)).headers["location"]
    first = await client.get(location)
    second = await client.get(location)
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]


async def test_get_unknown_car_is_a_404_problem(client):
    response = await client.get("/v1/cars/987654321")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "No car with id 987654321."


async def test_get_ids_outside_the_id_range_are_404(client):
    for car_id in ("0", "-5", "99999999999999999999999"):
        response = await client.get(f"/v1/cars/{car_id}")
        assert response.status_code == 404, car_id
        assert response.headers["content-type"] == "application/problem+json"


async def test_if_none_match_with_current_etag_is_a_304_without_body(client):
    created = await create(client)
    response = await client.get(
        created.headers["location"], headers={"If-None-Match": created.headers["etag"]}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == created.headers["etag"]


async def test_if_none_match_with_an_old_etag_returns_the_car(client):
    created = await create(client)
    response = await client.get(created.headers["location"], headers={"If-None-Match": '"1-0"'})
    assert response.status_code == 200


async def test_put_replaces_every_field_and_changes_the_etag(client):
    created = await create(client)
    replacement = a_car(color=None, vin=None, year=2021, price="1", mileage_km=5)
    del replacement["color"]
    response = await client.put(created.headers["location"], json=replacement)
    assert response.status_code == 200
    car = response.json()
    assert car["color"] is None and car["vin"] is None
    assert (car["year"], car["price"], car["mileage_km"]) == (2021, "1.00", 5)
    assert car["created_at"] == created.json()["created_at"]
    assert car["updated_at"] > car["created_at"]
    assert response.headers["etag"] == f'"{car["id"]}-2"'


async def test_put_on_unknown_car_is_404(client):
    response = await client.put("/v1/cars/987654321", json=a_car())
    assert response.status_code == 404


async def test_patch_changes_only_the_given_fields(client):
    created = (await create(client)).json()
    response = await client.patch(f"/v1/cars/{created['id']}", json={"mileage_km": 50000})
    assert response.status_code == 200
    assert response.json() == {
        **created,
        "mileage_km": 50000,
        "updated_at": response.json()["updated_at"],
    }


async def test_patch_with_null_clears_color_and_vin(client):
    created = (await create(client)).json()
    response = await client.patch(f"/v1/cars/{created['id']}", json={"color": None, "vin": None})
    assert (response.json()["color"], response.json()["vin"]) == (None, None)


async def test_patch_accepts_merge_patch_media_type(client):
    created = (await create(client)).json()
    response = await client.patch(
        f"/v1/cars/{created['id']}",
        content=b'{"color": "green"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200
    assert response.json()["color"] == "green"


async def test_patch_on_unknown_car_is_404(client):
    response = await client.patch("/v1/cars/987654321", json={"color": "blue"})
    assert response.status_code == 404


async def test_delete_is_204_and_the_car_is_gone(client):
    location = (await create(client)).headers["location"]
    response = await client.delete(location)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(location)).status_code == 404
    assert (await client.delete(location)).status_code == 404


async def test_duplicate_vin_on_post_is_409(client):
    vin = random_vin()
    await create(client, vin=vin)
    response = await client.post("/v1/cars", json=a_car(vin=vin))
    assert response.status_code == 409
    problem = response.json()
    assert problem["errors"] == [
        {"in": "body", "field": "vin", "detail": "is already used by another car"}
    ]


async def test_concurrent_posts_each_get_their_own_car_and_one_vin_wins_once(client):
    # On PostgreSQL these travel in shared batches (api.database.InsertBatcher).
    make = unique_make()
    contested = random_vin()
    payloads = [a_car(make=make, mileage_km=n) for n in range(30)]
    for n in (3, 17, 25):
        payloads[n]["vin"] = contested
    responses = await asyncio.gather(*(client.post("/v1/cars", json=p) for p in payloads))
    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [201] * 28 + [409] * 2
    assert [statuses[n] for n in (3, 17, 25)].count(201) == 1
    created = [
        (r.json(), p) for r, p in zip(responses, payloads, strict=True) if r.status_code == 201
    ]
    assert all(
        car["mileage_km"] == p["mileage_km"] and car["vin"] == p["vin"] for car, p in created
    )
    assert len({car["id"] for car, _ in created}) == 28
    listed = (await client.get("/v1/cars", params={"make": make, "limit": 100})).json()["items"]
    assert sorted(car["id"] for car in listed) == sorted(car["id"] for car, _ in created)


async def test_duplicate_vin_on_put_and_patch_is_409(client):
    vin = random_vin()
    await create(client, vin=vin)
    other = (await create(client)).headers["location"]
    assert (await client.put(other, json=a_car(vin=vin))).status_code == 409
    assert (await client.patch(other, json={"vin": vin.lower()})).status_code == 409


async def test_put_with_matching_if_match_succeeds(client):
    created = await create(client)
    response = await client.put(
        created.headers["location"], json=a_car(), headers={"If-Match": created.headers["etag"]}
    )
    assert response.status_code == 200


async def test_put_with_stale_if_match_is_412_and_changes_nothing(client):
    created = await create(client)
    location, etag = created.headers["location"], created.headers["etag"]
    assert (await client.patch(location, json={"color": "blue"})).status_code == 200
    response = await client.put(location, json=a_car(color="black"), headers={"If-Match": etag})
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["etag"] != etag
    assert (await client.get(location)).json()["color"] == "blue"


async def test_patch_with_stale_if_match_is_412(client):
    created = await create(client)
    location = created.headers["location"]
    await client.patch(location, json={"color": "blue"})
    response = await client.patch(
        location, json={"color": "black"}, headers={"If-Match": created.headers["etag"]}
    )
    assert response.status_code == 412


async def test_delete_with_stale_if_match_is_412_and_keeps_the_car(client):
    created = await create(client)
    location = created.headers["location"]
    await client.patch(location, json={"color": "blue"})
    response = await client.delete(location, headers={"If-Match": created.headers["etag"]})
    assert response.status_code == 412
    assert (await client.get(location)).status_code == 200


async def test_if_match_star_and_lists_match_the_current_etag(client):
    created = await create(client)
    location, etag = created.headers["location"], created.headers["etag"]
    star = await client.patch(location, json={"color": "a"}, headers={"If-Match": "*"})
    assert star.status_code == 200
    listed = await client.patch(
        location, json={"color": "b"}, headers={"If-Match": f"{etag}, {star.headers['etag']}"}
    )
    assert listed.status_code == 200


async def test_weak_etag_never_satisfies_if_match(client):
    created = await create(client)
    response = await client.delete(
        created.headers["location"], headers={"If-Match": f"W/{created.headers['etag']}"}
    )
    assert response.status_code == 412


async def test_write_then_read_sees_the_write(client):
    location = (await create(client)).headers["location"]
    await client.get(location)  # now cached
    for color in ("blue", "green", "black"):
        await client.patch(location, json={"color": color})
        assert (await client.get(location)).json()["color"] == color
