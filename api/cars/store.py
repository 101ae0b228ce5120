"""Data access for cars: the only code that runs the car queries of ``api/sql/cars.sql``.

Rows leave this module as dicts shaped like the API's JSON (``price`` a string with two decimals,
timestamps as aware datetimes), the same on both databases: SQLite hands back NUMERIC as int/float
and timestamps as text, and they are normalised here, at the edge. Single-car functions add the
row's ``version`` (for the ETag); list items have none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from api.database import Database


# One function per database, written out: this runs for every row of every page.
def _from_postgres(row: Sequence[Any]) -> dict[str, Any]:
    id_, make, model, year, color, price, mileage_km, vin, version, created_at, updated_at = row
    return {
        "id": id_,
        "make": make,
        "model": model,
        "year": year,
        "color": color,
        "price": price,  # NUMERIC(12, 2) as text: always two decimals
        "mileage_km": mileage_km,
        "vin": vin,
        "created_at": created_at,
        "updated_at": updated_at,
        "version": version,
    }


def _from_sqlite(row: Sequence[Any]) -> dict[str, Any]:
    id_, make, model, year, color, price, mileage_km, vin, version, created_at, updated_at = row
    return {
        "id": id_,
        "make": make,
        "model": model,
        "year": year,
        "color": color,
        "price": f"{float(price):.2f}",
        "mileage_km": mileage_km,
        "vin": vin,
        "created_at": datetime.fromisoformat(created_at),
        "updated_at": datetime.fromisoformat(updated_at),
        "version": version,
    }


_CONVERTERS: dict[str, Callable[[Sequence[Any]], dict[str, Any]]] = {
    "postgresql": _from_postgres,
    "sqlite": _from_sqlite,
}


def now() -> datetime:
    return datetime.now(UTC)


async def get_car(db: Database, *, car_id: int) -> dict[str, Any] | None:
    row = await db.fetch_one("get_car", {"id": car_id})
    return None if row is None else _CONVERTERS[db.dialect](row)


async def get_car_for_update(db: Database, *, car_id: int) -> dict[str, Any] | None:
    """The current row from the primary (a replica may lag behind a write)."""
    row = await db.read_own_write("get_car", {"id": car_id})
    return None if row is None else _CONVERTERS[db.dialect](row)


def _car_params(fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "price": Decimal(fields["price"]), "now": now()}


async def create_car(db: Database, *, fields: dict[str, Any]) -> dict[str, Any]:
    """Insert a car; raises UniqueViolation("vin") for a VIN already in use."""
    row = await db.insert("insert_car", _car_params(fields))
    return _CONVERTERS[db.dialect](row)


async def update_car(
    db: Database, *, car_id: int, fields: dict[str, Any], version: int | None
) -> dict[str, Any] | None:
    """Replace a car's fields; with ``version``, only if that is still the stored version.

    None when no row matched (missing car, or another version).
    """
    row = await db.write_one(
        "update_car", {**_car_params(fields), "id": car_id, "version": version}
    )
    return None if row is None else _CONVERTERS[db.dialect](row)


async def delete_car(db: Database, *, car_id: int, version: int | None) -> bool:
    """Delete a car (only that version, when given); False when no row matched."""
    row = await db.write_one("delete_car", {"id": car_id, "version": version})
    return row is not None


async def list_cars(
    db: Database,
    *,
    sort: str,
    limit: int,
    make: str | None = None,
    model: str | None = None,
    year_min: int | None = None,
    year_max: int | None = None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    after_key: Any = None,
    after_id: int | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` cars in ``sort`` order (id breaks ties), after the given position.

    The items carry no ``version``: they are ready to serialise as they are.
    """
    direction = "desc" if sort.startswith("-") else "asc"
    query = f"list_cars_by_{sort.lstrip('-')}_{direction}"
    params = {
        "make": make,
        "model": model,
        "year_min": year_min,
        "year_max": year_max,
        "price_min": price_min,
        "price_max": price_max,
        "after_key": after_key,
        "after_id": after_id,
        "limit": limit,
    }
    convert = _CONVERTERS[db.dialect]
    cars = [convert(row) for row in await db.fetch_all(query, params)]
    for car in cars:
        del car["version"]
    return cars
