"""What a cache may do with each answer (api/caching.py): reads revalidated every time, everything
else never stored. tests/edge_cache proves the same through a real caching proxy."""

from __future__ import annotations

from dataclasses import replace

import pytest
from carkit import a_car, create, serve, unique_make

from tests.auth_issuer import READ_SCOPE

READ = "public, no-cache"
PRIVATE_READ = "private, no-cache"


async def test_a_car_is_revalidated_on_every_reuse(client):
    created = await create(client)
    got = await client.get(created.headers["location"])
    assert got.status_code == 200
    assert got.headers["cache-control"] == READ
    assert got.headers["etag"] == created.headers["etag"]


async def test_a_304_carries_the_etag_and_cache_control_of_the_200(client):
    created = await create(client)
    etag = created.headers["etag"]
    not_modified = await client.get(created.headers["location"], headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == READ


async def test_a_list_page_has_a_strong_etag_of_its_content(client):
    make = unique_make()
    await create(client, make=make)
    query = {"make": make}
    first = await client.get("/v1/cars", params=query)
    again = await client.get("/v1/cars", params=query)
    assert first.status_code == again.status_code == 200
    assert first.headers["cache-control"] == READ
    assert first.headers["etag"] == again.headers["etag"]
    assert first.headers["etag"].startswith('"')  # strong: no W/


async def test_a_list_page_answers_304_while_its_etag_is_current(client):
    make = unique_make()
    await create(client, make=make)
    query = {"make": make}
    etag = (await client.get("/v1/cars", params=query)).headers["etag"]
    not_modified = await client.get("/v1/cars", params=query, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"] == READ


async def test_a_write_changes_the_etag_of_the_pages_that_list_it(client):
    make = unique_make()
    await create(client, make=make)
    query = {"make": make}
    etag = (await client.get("/v1/cars", params=query)).headers["etag"]
    await create(client, make=make)
    after = await client.get("/v1/cars", params=query, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert len(after.json()["items"]) == 2


async def test_writes_are_never_stored(client):
    created = await create(client)
    location = created.headers["location"]
    replaced = await client.put(location, json=a_car())
    patched = await client.patch(location, json={"color": "blue"})
    deleted = await client.delete(location)
    assert [r.status_code for r in (created, replaced, patched, deleted)] == [201, 200, 200, 204]
    for response in (created, replaced, patched, deleted):
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/cars/987654321", 404),
        ("GET", "/v1/cars?limit=0", 422),
        ("GET", "/v1/cars?next=forged", 400),
        ("DELETE", "/v1/cars", 405),
        ("GET", "/nowhere", 404),
    ],
)
async def test_problems_are_never_stored(client, method, path, status):
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"


async def test_a_refused_token_is_never_stored(client):
    response = await client.post("/v1/cars", json=a_car(), headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/health", "/ready", "/version"])
async def test_operations_endpoints_are_never_stored(client, path):
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


async def test_the_openapi_document_is_revalidated_with_its_etag(client):
    document = await client.get("/docs/openapi.json")
    assert document.status_code == 200
    assert document.headers["cache-control"] == "no-cache"
    etag = document.headers["etag"]
    again = await client.get("/docs/openapi.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag


async def test_reads_that_need_a_token_are_private(settings, issuer):
    reader = {"Authorization": f"Bearer {issuer.token(scope=READ_SCOPE)}"}
    async with serve(replace(settings, auth_read_scope=READ_SCOPE), headers=reader) as client:
        listed = await client.get("/v1/cars")
        refused = await client.get("/v1/cars", headers={"Authorization": "Bearer x"})
        document = await client.get("/docs/openapi.json")
    assert listed.status_code == 200
    assert listed.headers["cache-control"] == PRIVATE_READ
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"
    # The document is the same for everyone, token or not.
    assert document.headers["cache-control"] == "no-cache"


async def test_the_document_names_the_cache_control_of_every_answer(client):
    spec = (await client.get("/docs/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                header = response["headers"]["Cache-Control"]["schema"]["enum"]
                reads = path.startswith("/v1/cars") and method in ("get", "head")
                if reads and status in ("200", "304"):
                    assert header == [READ, PRIVATE_READ], (path, method, status)
                else:
                    assert header == ["no-store"], (path, method, status)
