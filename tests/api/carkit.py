"""Helpers shared by the API tests (conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import contextlib
import secrets
import socket
import sqlite3
from collections.abc import AsyncIterator

import httpx
import psycopg

from api.app import create_app
from api.config import Settings
from tests.auth_issuer import Issuer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# VIN alphabet without I, O, Q.
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def random_vin() -> str:
    return "".join(secrets.choice(_VIN_CHARS) for _ in range(17))


def unique_make() -> str:
    return f"Make{secrets.token_hex(4)}"


def a_car(**overrides) -> dict:
    car = {
        "make": unique_make(),
        "model": "Corolla",
        "year": 2019,
        "color": "red",
        "price": "12999.90",
        "mileage_km": 42000,
        "vin": random_vin(),
    }
    car.update(overrides)
    return car


# The suite's token issuer (conftest.py's session fixture sets it).
suite_issuer: Issuer | None = None


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, *, migrate: bool = True, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the API in this event loop on a free port; yield a client for it (``client.app``)
    that sends ``headers`` with every request. By default, when the settings trust the suite's
    issuer, that is a valid bearer token with the write and read scopes (``headers={}``: none)."""
    if headers is None and suite_issuer is not None and settings.auth_issuer == suite_issuer.url:
        headers = suite_issuer.bearer()
    app = create_app(settings, migrate=migrate)
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    await server.before_start()
    await server.after_start()
    app.set_serving(True)  # what Sanic's own serving loop does next
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=10, headers=headers
        ) as client:
            client.app = app
            yield client
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


async def create(client: httpx.AsyncClient, **overrides) -> httpx.Response:
    response = await client.post("/v1/cars", json=a_car(**overrides))
    assert response.status_code == 201, response.text
    return response


def sneak_color(settings: Settings, car_id: int, color: str) -> None:
    """Change a row behind the API's back, so only a cache hit can still show the old value."""
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute("UPDATE cars SET color = %s WHERE id = %s", (color, car_id))
    else:
        with sqlite3.connect(settings.sqlite_path) as conn:
            conn.execute("UPDATE cars SET color = ? WHERE id = ?", (color, car_id))
