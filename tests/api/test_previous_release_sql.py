"""The previous release's SQL against a schema migrated to head: the expand half of the
expand/contract rule (api/migrations/compatibility.py), so `cars-stack rollback` to it works.

There are no release tags yet, so the previous release is a recorded copy:
``previous_release/cars.sql`` is ``api/sql/cars.sql`` as of commit efde698 (2026-12-01, the main
branch this release's work started from, the last state a deployment could run before it). When a
release is tagged, replace the copy with that tag's ``api/sql/cars.sql``
(``git show vX.Y.Z:api/sql/cars.sql > tests/api/previous_release/cars.sql``).
Every statement of it runs, on PostgreSQL and on SQLite, with the parameters it declares.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiosql
import psycopg
import pytest
from carkit import random_vin, unique_make

from api.config import Settings
from api.database import SQLITE_TIMESTAMP
from api.migrations import apply_migrations

PREVIOUS = Path(__file__).resolve().parent / "previous_release" / "cars.sql"
LIST_QUERIES = [
    f"list_cars_by_{key}_{order}"
    for key in ("id", "price", "year", "created_at")
    for order in ("asc", "desc")
]


@pytest.fixture
def migrated(backend, tmp_path, request):
    """(aiosql driver name, an open DB-API connection) to a database migrated to head."""
    if backend == "sqlite":
        path = str(tmp_path / "head.sqlite3")
        assert apply_migrations(Settings(sqlite_path=path))
        conn = sqlite3.connect(path, isolation_level=None)
        yield "sqlite3", conn
    else:
        url = request.getfixturevalue("fresh_pg_url")
        assert apply_migrations(Settings(database_url=url))
        conn = psycopg.connect(url, autocommit=True)
        yield "psycopg", conn
    conn.close()


def _now(driver: str):
    now = datetime.now(UTC)
    return now.strftime(SQLITE_TIMESTAMP) if driver == "sqlite3" else now


def _price(driver: str, text: str):
    return float(text) if driver == "sqlite3" else Decimal(text)


def _one(rows) -> tuple | None:
    """The single row a statement returns (the API's SQL has no aiosql operation suffixes, so
    every statement answers a list of rows)."""
    rows = list(rows)
    assert len(rows) <= 1, rows
    return tuple(rows[0]) if rows else None


def test_the_recorded_release_has_the_statements_this_test_runs():
    queries = aiosql.from_path(PREVIOUS, "sqlite3", mandatory_parameters=False)
    assert set(queries.available_queries) >= {
        "ping", "get_car", "insert_car", "update_car", "delete_car", *LIST_QUERIES,
    }  # fmt: skip


def test_the_previous_release_reads_and_writes_a_schema_migrated_to_head(migrated):
    driver, conn = migrated
    queries = aiosql.from_path(PREVIOUS, driver, mandatory_parameters=False)
    make, vin = unique_make(), random_vin()
    car = {
        "make": make, "model": "Corolla", "year": 2019, "color": "blue",
        "price": _price(driver, "12999.90"), "mileage_km": 42000, "vin": vin,
    }  # fmt: skip
    assert _one(queries.ping(conn)) == (1,)

    created = _one(queries.insert_car(conn, **car, now=_now(driver)))
    car_id = created[0]
    assert created[1:3] == (make, "Corolla")

    fetched = _one(queries.get_car(conn, id=car_id))
    assert fetched[0] == car_id and fetched[7] == vin and fetched[8] == 1

    updated = _one(
        queries.update_car(
            conn, **{**car, "mileage_km": 43000}, now=_now(driver), id=car_id, version=1
        )
    )
    assert updated[6] == 43000 and updated[8] == 2

    filters = {
        "make": make, "model": None, "year_min": None, "year_max": None,
        "price_min": None, "price_max": None, "after_id": None, "after_key": None, "limit": 21,
    }  # fmt: skip
    for name in LIST_QUERIES:
        rows = list(getattr(queries, name)(conn, **filters))
        assert [row[0] for row in rows] == [car_id], name

    assert _one(queries.delete_car(conn, id=car_id, version=2)) == (car_id,)
    assert _one(queries.get_car(conn, id=car_id)) is None
