"""Health, readiness, version, request ids, access log and the database going missing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import replace

import asyncpg
import pytest
from carkit import free_port, serve

from api.config import Settings


async def test_health_answers_ok(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_answers_ready_when_the_database_does(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_version_reports_the_build(client):
    version = (await client.get("/version")).json()
    assert version["version"] == "v9.9.9-test"
    assert version["git_sha"] == "0123abc"
    assert version["build_date"] == "2026-01-02T03:04:05Z"


async def test_version_answers_null_for_build_information_that_is_unset(tmp_path):
    async with serve(
        Settings(sqlite_path=str(tmp_path / "v.sqlite3"), auth_disabled=True)
    ) as client:
        version = (await client.get("/version")).json()
    assert (version["git_sha"], version["build_date"]) == (None, None)


async def test_sane_request_id_is_echoed(client):
    response = await client.get("/health", headers={"X-Request-ID": "abc-123.def"})
    assert response.headers["x-request-id"] == "abc-123.def"


@pytest.mark.parametrize("given", [None, "", "has space", "x" * 129, "semi;colon"])
async def test_missing_or_odd_request_id_is_replaced(client, given):
    headers = {} if given is None else {"X-Request-ID": given}
    response = await client.get("/health", headers=headers)
    generated = response.headers["x-request-id"]
    assert generated and generated != given
    assert generated != (await client.get("/health")).headers["x-request-id"]


async def test_errors_carry_a_request_id_too(client):
    response = await client.get("/nowhere", headers={"X-Request-ID": "trace-404"})
    assert response.headers["x-request-id"] == "trace-404"


async def test_each_request_writes_one_json_access_line(client, capfd):
    capfd.readouterr()
    await client.get("/v1/cars/987654321", headers={"X-Request-ID": "log-me"})
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if "log-me" in line]
    assert len(lines) == 1
    line = lines[0]
    assert line["logger"] == "api.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/cars/987654321", 404)
    assert line["duration_ms"] >= 0


async def test_ready_is_503_when_the_database_is_unreachable(unreachable_pg):
    async with serve(unreachable_pg, migrate=False) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith("The database cannot be reached")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/cars/1", None),
        ("GET", "/v1/cars", None),
        (
            "POST",
            "/v1/cars",
            {"make": "A", "model": "B", "year": 2000, "price": "1", "mileage_km": 1},
        ),
        ("DELETE", "/v1/cars/1", None),
    ],
)
async def test_requests_are_503_problems_while_the_database_is_unreachable(
    unreachable_pg, method, path, body
):
    async with serve(unreachable_pg, migrate=False) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The database is unavailable; retry shortly."


async def run_healthcheck(port: int) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.healthcheck",
        env={**os.environ, "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait()


async def test_healthcheck_command_exits_0_when_health_answers(client):
    assert await run_healthcheck(client.base_url.port) == 0


async def test_healthcheck_command_exits_1_when_nothing_listens():
    assert await run_healthcheck(free_port()) == 1


async def test_sqlite_default_runs_without_any_server(tmp_path):
    settings = Settings(sqlite_path=str(tmp_path / "embedded.sqlite3"), auth_disabled=True)
    async with serve(settings) as client:
        created = await client.post(
            "/v1/cars",
            json={"make": "A", "model": "B", "year": 2000, "price": "1", "mileage_km": 1},
        )
        assert created.status_code == 201
        assert (await client.get("/ready")).status_code == 200
    assert (tmp_path / "embedded.sqlite3").exists()


def test_read_url_reads_from_the_replica(pg_url):
    settings = replace(Settings(), database_url=pg_url, database_read_url=pg_url)
    assert settings.database_read_url == pg_url


def test_sigterm_right_after_the_first_healthy_answer_exits_0(tmp_path):
    """Start-up ends before /health says 200, so an immediate SIGTERM is never lost."""
    import signal
    import subprocess
    import time
    import urllib.request

    for attempt in range(3):
        port = free_port()
        env = {
            **os.environ,
            "PORT": str(port),
            "SQLITE_PATH": str(tmp_path / "s.sqlite3"),
            "AUTH_DISABLED": "true",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "api"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "the API did not answer /health in time"
            assert process.poll() is None, "the API exited during start-up"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.005)  # poll interval
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=15) == 0, f"attempt {attempt}"
        finally:
            process.kill()


def test_factory_accepts_the_sanic_command_line_namespace(monkeypatch, tmp_path):
    """`sanic api.app:create_app --factory` (make dev) calls the factory with its argparse args."""
    import argparse

    from api.app import create_app

    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("APP_VERSION", "from-env")
    monkeypatch.setenv("AUTH_DISABLED", "true")
    app = create_app(argparse.Namespace(factory=True))
    assert app.ctx.settings.app_version == "from-env"


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.DiskFullError("could not extend file"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_a_database_failure_of_any_kind_is_a_503_problem(pg_url, monkeypatch, error):
    async def failing(self, *args, **kwargs):
        raise error

    async with serve(Settings(database_url=pg_url, auth_disabled=True)) as client:
        monkeypatch.setattr(asyncpg.connection.Connection, "fetchrow", failing)
        response = await client.get("/v1/cars/987654322")
    assert response.status_code == 503
    assert response.json()["detail"] == "The database is unavailable; retry shortly."
