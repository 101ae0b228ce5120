"""Data access for cars: the only code that runs the car queries of ``api/sql/cars.sql``.

Rows leave this module as dicts shaped like the API's JSON (``price`` a string with two decimals,
timestamps as aware datetimes), the same on both databases: SQLite hands back NUMERIC as int/float
and timestamps as text, and they are normalised here, at the edge. Single-car functions add the
row's ``version`` (for the ETag); list items have none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

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


async def create_car(
    db: Database, *, fields: dict[str, Any], claim: Claim | None = None
) -> dict[str, Any] | None:
    """Insert a car; raises UniqueViolation("vin") for a VIN already in use.

    With ``claim`` (an idempotency key this request holds), the key's outcome is written with
    the car, atomically; None when the claim is no longer held (nothing inserted).
    """
    if claim is None:
        row = await db.insert("insert_car", _car_params(fields))
    else:
        row = await db.insert("insert_car_keyed", {**_car_params(fields), **claim.params()})
        if row[0] is None:
            return None
    return _CONVERTERS[db.dialect](row)


# --- idempotency keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """An idempotency key of a caller, held by one request (``token``) while it creates."""

    principal: str
    key: str
    token: str

    def params(self) -> dict[str, Any]:
        return {"principal": self.principal, "idempotency_key": self.key, "claim": self.token}


@dataclass(frozen=True)
class StoredKey:
    fingerprint: str
    status: int | None  # None: a request holding the key is still creating
    car_id: int | None
    record: str | None  # 201: the created car's row (JSON array); 409: the problem answered


async def claim_key(
    db: Database, claim: Claim, *, fingerprint: str, lease_seconds: float, ttl_seconds: float
) -> bool:
    """Take the key for this request; False when it is held or answered (see ``get_key``)."""
    moment = now()
    row = await db.write_one(
        "claim_key",
        {
            **claim.params(),
            "fingerprint": fingerprint,
            "now": moment,
            "locked_until": moment + timedelta(seconds=lease_seconds),
            "expires_at": moment + timedelta(seconds=ttl_seconds),
        },
    )
    return row is not None


async def get_key(db: Database, *, principal: str, key: str) -> StoredKey | None:
    """The key's state from the primary; None when absent or expired."""
    row = await db.read_own_write(
        "get_key", {"principal": principal, "idempotency_key": key, "now": now()}
    )
    return None if row is None else StoredKey(*row)


async def record_key(db: Database, claim: Claim, *, status: int, record: str) -> None:
    """The outcome of a claim that created no car (a 409), answered again on replay."""
    await db.write_one("record_key", {**claim.params(), "status": status, "record": record})


async def release_key(db: Database, claim: Claim) -> None:
    """Free a claim whose request created nothing (its outcome, if written, stays)."""
    await db.write_one("release_key", claim.params())


PURGE_BATCH = 1000


async def purge_keys(db: Database) -> int:
    """Delete the expired keys; how many."""
    purged = 0
    while True:
        rows = await db.write_all("purge_keys", {"now": now(), "limit": PURGE_BATCH})
        purged += len(rows)
        if len(rows) < PURGE_BATCH:
            return purged


def car_from_record(dialect: str, record: str) -> dict[str, Any]:
    """The car a key created, as it was answered then (its row as insert_car returned it)."""
    row = orjson.loads(record)
    if dialect == "postgresql":  # JSON has no timestamps: ISO 8601 text, as SQLite's are
        row[9], row[10] = datetime.fromisoformat(row[9]), datetime.fromisoformat(row[10])
    return _CONVERTERS[dialect](row)


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
