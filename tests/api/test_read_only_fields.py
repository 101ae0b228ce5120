"""GET, edit, PUT: the read-only fields a GET returns may come back in a PUT or PATCH body."""

from __future__ import annotations

from carkit import a_car, create


async def test_a_car_as_get_returned_it_can_be_edited_and_put_back(client):
    location = (await create(client)).headers["location"]
    car = (await client.get(location)).json()
    response = await client.put(location, json={**car, "color": "teal"})
    assert response.status_code == 200, response.text
    assert response.json() == {**car, "color": "teal", "updated_at": response.json()["updated_at"]}


async def test_a_whole_car_as_patch_body_changes_what_differs(client):
    location = (await create(client)).headers["location"]
    car = (await client.get(location)).json()
    response = await client.patch(location, json={**car, "mileage_km": 1})
    assert response.status_code == 200, response.text
    assert response.json()["mileage_km"] == 1


async def test_created_at_and_updated_at_in_a_body_are_ignored(client):
    created = (await create(client)).json()
    body = {**a_car(), "created_at": "1999-01-01T00:00:00Z", "updated_at": "bogus"}
    car = (await client.put(f"/v1/cars/{created['id']}", json=body)).json()
    assert car["created_at"] == created["created_at"]
    assert car["updated_at"] >= created["updated_at"]


async def test_a_changed_id_in_a_put_or_patch_is_422(client):
    created = (await create(client)).json()
    location = f"/v1/cars/{created['id']}"
    for response in (
        await client.put(location, json={**created, "id": created["id"] + 1}),
        await client.patch(location, json={"id": str(created["id"]), "color": "tan"}),
    ):
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {
                "in": "body",
                "field": "id",
                "detail": f"must be this car's id, {created['id']}, if sent",
            }
        ]


async def test_read_only_fields_in_a_post_are_422(client):
    response = await client.post("/v1/cars", json={**a_car(), "id": 7, "created_at": "x"})
    assert response.status_code == 422
    assert {(e["field"], e["detail"]) for e in response.json()["errors"]} == {
        ("id", "is set by the API and cannot be sent"),
        ("created_at", "is set by the API and cannot be sent"),
    }


async def test_a_patch_of_read_only_fields_only_changes_nothing_and_is_422(client):
    created = (await create(client)).json()
    response = await client.patch(
        f"/v1/cars/{created['id']}", json={"id": created["id"], "updated_at": "x"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == "a PATCH must change at least one field"
