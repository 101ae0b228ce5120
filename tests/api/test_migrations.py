"""Migrations: yoyo plain SQL per database, safe when several processes start at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import psycopg
from carkit import free_port

from api.config import Settings
from api.migrations import apply_migrations, pending_migrations


def migrate_command(env_overrides: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "api.migrations"],
        env={**os.environ, **env_overrides},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_each_database_has_the_same_steps():
    postgres = [m.id.rsplit(".", 1)[0] for m in pending_migrations("postgresql")]
    sqlite = [m.id.rsplit(".", 1)[0] for m in pending_migrations("sqlite")]
    assert postgres == sqlite
    assert postgres[0] == "0001_create_cars"


def test_sqlite_migrates_once_then_is_up_to_date(tmp_path):
    settings = Settings(sqlite_path=str(tmp_path / "m.sqlite3"))
    assert apply_migrations(settings) == [
        "0001_create_cars.sqlite",
        "0002_idempotency_keys.sqlite",
    ]
    assert apply_migrations(settings) == []
    with sqlite3.connect(settings.sqlite_path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(cars)")]
    assert columns[:3] == ["id", "make", "model"]


def test_concurrent_migrators_on_postgresql_apply_each_migration_once(fresh_pg_url):
    migrators = [migrate_command({"DATABASE_URL": fresh_pg_url}) for _ in range(4)]
    results = [(m.wait(timeout=90), m.stdout.read(), m.stderr.read()) for m in migrators]
    for m in migrators:
        m.stdout.close()
        m.stderr.close()
    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    applied = [out for _, out, _ in results if out.startswith("Applied 2 migration")]
    assert len(applied) == 1, results
    with psycopg.connect(fresh_pg_url) as conn:
        rows = conn.execute("SELECT migration_id FROM _yoyo_migration").fetchall()
        assert sorted(rows) == [
            ("0001_create_cars.postgresql",),
            ("0002_idempotency_keys.postgresql",),
        ]
        assert conn.execute("SELECT count(*) FROM cars").fetchone() == (0,)


def test_concurrent_migrators_on_sqlite_all_succeed(tmp_path):
    path = str(tmp_path / "concurrent.sqlite3")
    migrators = [migrate_command({"SQLITE_PATH": path}) for _ in range(3)]
    codes = [m.wait(timeout=90) for m in migrators]
    for m in migrators:
        m.stdout.close()
        m.stderr.close()
    assert codes == [0, 0, 0]
    assert apply_migrations(Settings(sqlite_path=path)) == []


def test_unreachable_database_fails_with_one_line():
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    migrator = migrate_command({"DATABASE_URL": url})
    code = migrator.wait(timeout=60)
    out, err = migrator.stdout.read(), migrator.stderr.read()
    migrator.stdout.close()
    migrator.stderr.close()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("api-cars: migrations failed on PostgreSQL 127.0.0.1:")
    assert "Traceback" not in out + err
