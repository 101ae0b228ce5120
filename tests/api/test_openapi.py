"""The OpenAPI document is valid, lists exactly the routes that exist, and real responses fit it."""

from __future__ import annotations

import re

import pytest
from carkit import a_car, create
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate


@pytest.fixture
async def spec(client) -> dict:
    response = await client.get("/docs/openapi.json")
    assert response.status_code == 200
    return response.json()


def validator(spec: dict, name: str) -> OAS30Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return OAS30Validator(schema)


async def test_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)


async def test_document_lists_every_route_and_method(spec, client):
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    assert documented == {
        ("/health", "GET"),
        ("/health", "HEAD"),
        ("/ready", "GET"),
        ("/ready", "HEAD"),
        ("/version", "GET"),
        ("/version", "HEAD"),
        ("/v1/cars", "GET"),
        ("/v1/cars", "HEAD"),
        ("/v1/cars", "POST"),
        ("/v1/cars/{car_id}", "GET"),
        ("/v1/cars/{car_id}", "HEAD"),
        ("/v1/cars/{car_id}", "PUT"),
        ("/v1/cars/{car_id}", "PATCH"),
        ("/v1/cars/{car_id}", "DELETE"),
        ("/v1/cars:batch", "POST"),
    }


async def test_head_operations_document_the_get_headers_without_bodies(spec):
    head = spec["paths"]["/v1/cars/{car_id}"]["head"]
    get = spec["paths"]["/v1/cars/{car_id}"]["get"]
    assert head["operationId"] == "getCarHead"
    assert head["parameters"] == get["parameters"]
    assert head["responses"].keys() == get["responses"].keys()
    assert head["responses"]["200"]["headers"] == get["responses"]["200"]["headers"]
    assert all("content" not in response for response in head["responses"].values())


async def test_every_operation_documents_its_problem_responses(spec):
    cars = spec["paths"]["/v1/cars/{car_id}"]
    assert {"200", "400", "404", "409", "412", "413", "415", "422", "503"} <= set(
        cars["put"]["responses"]
    )
    assert {"200", "304", "404"} <= set(cars["get"]["responses"])
    assert {"204", "404", "412"} <= set(cars["delete"]["responses"])
    assert {"201", "400", "409", "413", "415", "422"} <= set(
        spec["paths"]["/v1/cars"]["post"]["responses"]
    )
    assert "ETag" in cars["get"]["responses"]["200"]["headers"]
    assert "Location" in spec["paths"]["/v1/cars"]["post"]["responses"]["201"]["headers"]
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method == "head":  # no bodies
                continue
            assert operation["responses"]["default"]["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }


async def test_request_bodies_reject_unknown_fields(spec):
    for name in ("CarInput", "CarPatch"):
        assert spec["components"]["schemas"][name]["additionalProperties"] is False


async def test_real_responses_match_their_schemas(spec, client):
    created = await create(client)
    car = validator(spec, "Car")
    car.validate(created.json())
    car.validate((await client.get(created.headers["location"])).json())
    car.validate((await client.patch(created.headers["location"], json={"vin": None})).json())
    page = (await client.get(f"/v1/cars?make={created.json()['make']}&limit=1")).json()
    validator(spec, "CarPage").validate(page)
    problem = validator(spec, "Problem")
    problem.validate((await client.post("/v1/cars", json=a_car(year="x"))).json())
    problem.validate((await client.get("/v1/cars/987654321")).json())


async def test_a_valid_input_by_the_schema_is_accepted(spec, client):
    payload = a_car()
    validator(spec, "CarInput").validate(payload)
    assert (await client.post("/v1/cars", json=payload)).status_code == 201


async def test_the_if_match_pattern_accepts_the_etags_the_api_sends(spec, client):
    created = await create(client)
    [if_match] = [
        p
        for p in spec["paths"]["/v1/cars/{car_id}"]["put"]["parameters"]
        if p["name"] == "If-Match"
    ]
    pattern = re.compile(if_match["schema"]["pattern"])
    etag = created.headers["etag"]
    for value in (etag, "*", f' {etag} , W/"1-9"', f"W/{etag},{etag}"):
        assert pattern.search(value), value
    for value in ("", "0", etag[1:], f"{etag},"):
        assert not pattern.search(value), value
