"""DATABASE_READ_HOST: GET requests read from another host, everything else as for the primary."""

from __future__ import annotations

from dataclasses import replace

import pytest
from carkit import a_car

from api.cars import store
from api.config import Settings
from api.database import PostgresDatabase
from api.migrations import apply_migrations


@pytest.fixture(scope="module")
def migrated(pg_url: str) -> Settings:
    # The URL names 127.0.0.1; "localhost" is the same server under another host name.
    assert "@127.0.0.1:" in pg_url
    settings = Settings(database_url=pg_url)
    apply_migrations(settings)
    return settings


async def test_reads_go_to_the_read_host_with_the_primarys_port_database_and_user(migrated):
    db = PostgresDatabase(replace(migrated, database_read_host="localhost"))
    await db.open()
    try:
        assert db._reader is not db._writer
        assert (db._reader._host, db._reader._port) == ("localhost", 5432)
        created = await store.create_car(db, fields=a_car())
        row = await db.fetch_one("get_car", {"id": created["id"]})  # through the reader
        assert row[0] == created["id"]
        await db.ping()  # the primary and the replica
    finally:
        await db.close()


async def test_a_read_host_equal_to_the_primarys_reads_from_the_primary(migrated):
    db = PostgresDatabase(replace(migrated, database_read_host="127.0.0.1"))
    await db.open()
    try:
        assert db._reader is db._writer
    finally:
        await db.close()
