"""`python -m bench.batch`: cars per second created through the running API, one POST per car
against POST /v1/cars:batch, with and without idempotency keys, and a keyed batch sent again.

One API process (WORKERS=1, no Redis, AUTH_DISABLED) on a throwaway database; the client is
httpx in this process, so on a small machine it competes with the API for CPU: compare the lines
of one run with each other, not with `python -m bench`'s wrk figures. "API CPU" is the API
process's CPU time per car (PostgreSQL's own is not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.cli import throwaway_database
from bench.procs import Processes, free_port, wait_for_status

VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
BATCH_SIZE = 500
CONCURRENCY = 64


def a_car() -> dict:
    vin = "".join(secrets.choice(VIN_CHARS) for _ in range(17))
    return {"make": "Bench", "model": "Batch", "year": 2024, "price": "19999.00",
            "mileage_km": 1, "vin": vin}  # fmt: skip


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def singles(client: httpx.AsyncClient, count: int, keyed: bool) -> None:
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        headers = {"Idempotency-Key": secrets.token_hex(16)} if keyed else {}
        async with slots:
            response = await client.post("/v1/cars", json=a_car(), headers=headers)
        response.raise_for_status()

    await asyncio.gather(*(one() for _ in range(count)))


async def batches(client: httpx.AsyncClient, bodies: list[dict]) -> None:
    for body in bodies:
        response = await client.post("/v1/cars:batch", json=body)
        response.raise_for_status()
        statuses = {row["status"] for row in response.json()["results"]}
        if statuses != {201}:
            raise RuntimeError(f"a batch answered {statuses}")


def batch_bodies(count: int, keyed: bool) -> list[dict]:
    def item() -> dict:
        key = {"idempotency_key": secrets.token_hex(16)} if keyed else {}
        return {**key, "car": a_car()}

    return [{"items": [item() for _ in range(BATCH_SIZE)]} for _ in range(count // BATCH_SIZE)]


async def measure(port: int, pid: int, cars: int, rounds: int) -> None:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        timeout=120,
        limits=httpx.Limits(max_connections=CONCURRENCY),
    ) as client:
        for round_number in range(1, rounds + 1):
            plain_bodies, keyed_bodies = batch_bodies(cars, False), batch_bodies(cars, True)
            runs = [  # coroutines, each awaited once below
                (f"one POST per car ({CONCURRENCY} at once)", singles(client, cars, False)),
                ("one POST per car with Idempotency-Key", singles(client, cars, True)),
                (f"batches of {BATCH_SIZE}, no keys", batches(client, plain_bodies)),
                (f"batches of {BATCH_SIZE}, a key per row", batches(client, keyed_bodies)),
                ("the same keyed batches again (replays)", batches(client, keyed_bodies)),
            ]
            for label, run in runs:
                cpu, started = cpu_seconds(pid), time.perf_counter()
                await run
                seconds = time.perf_counter() - started
                used = cpu_seconds(pid) - cpu
                print(
                    f"round {round_number} {label}: {cars / seconds:,.0f} cars/s, "
                    f"API CPU {used / cars * 1e6:,.0f} us/car",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server for the throwaway database (default: %(default)s)",
    )
    parser.add_argument("--cars", type=int, default=5000, help="cars per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="api-cars-bench-batch-") as tmp,
        throwaway_database(args.postgres) as database_url,
        Processes(Path(tmp)) as procs,
    ):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "REDIS_"))}
        env |= {"DATABASE_URL": database_url, "PORT": str(port), "AUTH_DISABLED": "true",
                "LOG_LEVEL": "WARNING", "WORKERS": "1"}  # fmt: skip
        api = procs.start([sys.executable, "-m", "api"], name="api", env=env)
        wait_for_status(port, "/ready", proc=api, timeout=60)
        asyncio.run(measure(port, api.pid, args.cars, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
