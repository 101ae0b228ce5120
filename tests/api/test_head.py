"""HEAD is answered wherever GET is: the same status and headers, no body."""

from __future__ import annotations

import pytest
from carkit import create


@pytest.mark.parametrize("path", ["/health", "/ready", "/version", "/v1/cars", "/docs"])
async def test_head_answers_like_get_without_a_body(client, path):
    get = await client.get(path)
    head = await client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


async def test_head_of_a_car_carries_its_etag(client):
    created = await create(client)
    head = await client.head(created.headers["location"])
    assert head.status_code == 200
    assert head.headers["etag"] == created.headers["etag"]
    assert head.content == b""


async def test_head_honours_if_none_match(client):
    created = await create(client)
    head = await client.head(
        created.headers["location"], headers={"If-None-Match": created.headers["etag"]}
    )
    assert head.status_code == 304


async def test_head_of_a_missing_car_is_404_without_a_body(client):
    head = await client.head("/v1/cars/987654321")
    assert head.status_code == 404
    assert head.headers["content-type"] == "application/problem+json"
    assert head.content == b""
