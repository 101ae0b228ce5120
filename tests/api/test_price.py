"""Price: a string, or a JSON number whose shortest decimal form has at most two places; always
answered as a string with exactly two."""

from __future__ import annotations

import pytest
from carkit import a_car


@pytest.mark.parametrize(
    ("sent", "stored"),
    [(12500.5, "12500.50"), (12500, "12500.00"), (0.1, "0.10"), (19.99, "19.99"), (7.0, "7.00")],
)
async def test_a_json_number_price_is_accepted_and_answered_as_a_string(client, sent, stored):
    response = await client.post("/v1/cars", json=a_car(price=sent))
    assert response.status_code == 201, response.text
    assert response.json()["price"] == stored
    assert (await client.get(response.headers["location"])).json()["price"] == stored


async def test_a_number_price_works_in_put_and_patch(client):
    location = (await client.post("/v1/cars", json=a_car())).headers["location"]
    assert (await client.put(location, json=a_car(price=5.5))).json()["price"] == "5.50"
    assert (await client.patch(location, json={"price": 99})).json()["price"] == "99.00"


async def test_a_number_with_more_than_two_places_says_how_to_send_it(client):
    response = await client.post(
        "/v1/cars",
        content=b'{"make": "A", "model": "B", "year": 2000, "price": 0.30000000000000004, '
        b'"mileage_km": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "price"
    assert error["detail"] == (
        "must have at most 2 decimal places: the JSON number 0.30000000000000004 has 17; "
        'send the price as a string for an exact value, e.g. "0.30"'
    )


@pytest.mark.parametrize("sent", [-1, -0.5, 1e16, 12345678901, 1.005, 2.5e-7])
async def test_a_number_price_out_of_range_or_too_precise_is_422(client, sent):
    response = await client.post("/v1/cars", json=a_car(price=sent))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["price"]
