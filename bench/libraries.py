"""`python -m bench.libraries`: the hot path's data access with and without the library it replaced.

The issue asks to choose with the numbers when a library keeps a ratio below its target. Each
comparison runs the same operation against the same Redis or PostgreSQL, in this process, rounds
interleaved, and reports the median CPU time per operation (what a one-core API process pays) and
operations per second (``--concurrency`` tasks, each awaiting one operation at a time):

- cached GET: redis-py's asyncio client against the API's own RESP client (``api.cache``), both
  reading the same cached car entry and splitting it into ETag and body;
- GET by id from PostgreSQL: asyncpg's ``Pool.fetchrow`` against the API's ``ConnectionPool``, the
  same prepared query, the same connection set-up, the same pool size;
- aiosql's generated method against calling asyncpg with aiosql's SQL directly (one connection);
- creating cars from as many callers as wrk has connections: one INSERT statement (and commit) per
  car on the API's ``ConnectionPool`` against the API's ``InsertBatcher``, which sends the inserts
  queued while the pool is busy together (``api.database``).

`python -m bench` runs it too, after the HTTP rounds, and adds its table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bench.procs import BenchError, Processes

DEFAULT_OPS = 5000
DEFAULT_ROUNDS = 5
DEFAULT_CONCURRENCY = 10
# Concurrent creators in the insert comparison: as many as wrk's connections in `python -m bench`.
INSERT_CALLERS = 50


@dataclass(frozen=True)
class Sample:
    """One timed batch: ``ops`` operations took ``cpu_s`` of this process's CPU, ``wall_s``."""

    ops: int
    cpu_s: float
    wall_s: float

    @property
    def cpu_us_per_op(self) -> float:
        return self.cpu_s * 1e6 / self.ops

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.wall_s


@dataclass(frozen=True)
class Comparison:
    """One operation done the project's way and the library's way."""

    operation: str
    ours: str
    library: str
    ours_samples: tuple[Sample, ...]
    library_samples: tuple[Sample, ...]

    @property
    def ours_cpu_us(self) -> float:
        return statistics.median(s.cpu_us_per_op for s in self.ours_samples)

    @property
    def library_cpu_us(self) -> float:
        return statistics.median(s.cpu_us_per_op for s in self.library_samples)

    @property
    def ours_ops_per_s(self) -> float:
        return statistics.median(s.ops_per_s for s in self.ours_samples)

    @property
    def library_ops_per_s(self) -> float:
        return statistics.median(s.ops_per_s for s in self.library_samples)

    @property
    def cpu_saved(self) -> float:
        """Share of the library's CPU per operation the project's way saves (negative: costs)."""
        return 1 - self.ours_cpu_us / self.library_cpu_us


# --- rendering -----------------------------------------------------------------------------------

HEADER = ("operation", "implementation", "CPU us/op", "ops/s", "CPU saved")


def _rows(comparisons: Sequence[Comparison]) -> list[tuple[str, ...]]:
    rows = []
    for c in comparisons:
        rows.append(
            (c.operation, c.library, f"{c.library_cpu_us:.1f}", f"{c.library_ops_per_s:,.0f}", "-")
        )
        rows.append(
            (c.operation, c.ours, f"{c.ours_cpu_us:.1f}", f"{c.ours_ops_per_s:,.0f}",
             f"{c.cpu_saved:.0%}")
        )  # fmt: skip
    return rows


def render_table(comparisons: Sequence[Comparison]) -> str:
    rows = [HEADER, *_rows(comparisons)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_markdown(
    comparisons: Sequence[Comparison], *, ops: int, rounds: int, concurrency: int
) -> str:
    """The "Libraries on the hot path" section of docs/benchmarks.md."""
    out = [
        "## Libraries on the hot path",
        "",
        "Measured by `python -m bench.libraries` in the same run, in the benchmark's own process "
        f"(pinned to the load CPU when the HTTP rounds are over): {rounds} interleaved rounds of "
        f"{ops:,} operations with {concurrency} concurrent tasks (unless the operation names "
        "another number); medians. CPU us/op is this "
        "process's CPU time per operation (what the one-core API pays), ops/s the throughput "
        "including the round trip. CPU saved: the project's way against the library's.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|---|---:|---:|---:|",
    ]
    out += ["| " + " | ".join(row) + " |" for row in _rows(comparisons)]
    return "\n".join(out) + "\n"


# --- measuring -----------------------------------------------------------------------------------


async def time_ops(op: Callable[[], Awaitable[object]], *, ops: int, concurrency: int) -> Sample:
    """Run ``op`` ``ops`` times from ``concurrency`` tasks, each awaiting one at a time."""
    per_task, extra = divmod(ops, concurrency)

    async def worker(count: int) -> None:
        for _ in range(count):
            await op()

    counts = [per_task + (1 if n < extra else 0) for n in range(concurrency)]
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(count) for count in counts if count))
    return Sample(ops, time.process_time() - cpu, time.perf_counter() - wall)


async def compare(
    operation: str,
    ours: tuple[str, Callable[[], Awaitable[object]]],
    library: tuple[str, Callable[[], Awaitable[object]]],
    *,
    ops: int,
    rounds: int,
    concurrency: int,
) -> Comparison:
    """Interleaved rounds (library, ours, library, ...) after one warm-up batch each."""
    for _name, op in (library, ours):
        await time_ops(op, ops=min(ops, 500), concurrency=concurrency)
    ours_samples, library_samples = [], []
    for _ in range(rounds):
        library_samples.append(await time_ops(library[1], ops=ops, concurrency=concurrency))
        ours_samples.append(await time_ops(ours[1], ops=ops, concurrency=concurrency))
    return Comparison(operation, ours[0], library[0], tuple(ours_samples), tuple(library_samples))


async def _measure(
    redis_url: str, database_url: str, *, ops: int, rounds: int, concurrency: int
) -> list[Comparison]:
    import aiosql
    import asyncpg
    import redis.asyncio

    from api.cache import CarCache
    from api.cars import model
    from api.config import Settings
    from api.database import (
        SQL_DIR,
        ConnectionPool,
        InsertBatcher,
        load_statements,
        timestamps_as_text,
    )

    settings = Settings.from_env({"DATABASE_URL": database_url, "REDIS_URL": redis_url})
    statements = load_statements("asyncpg")
    get_car_sql = statements["get_car"][0]
    insert_sql, insert_order = statements["insert_car"]
    ours_pool = ConnectionPool(
        database_url,
        max_size=settings.database_pool_size,
        timeout=settings.database_timeout_seconds,
    )
    # The same connection set-up as the API's pool (its _connect), so only pooling differs.
    lib_pool = await asyncpg.create_pool(
        database_url,
        min_size=settings.database_pool_size,
        max_size=settings.database_pool_size,
        server_settings={"timezone": "UTC"},
        init=timestamps_as_text,
    )
    cache = CarCache(settings)
    client = redis.asyncio.Redis.from_url(redis_url, max_connections=64)
    single = await asyncpg.connect(database_url, server_settings={"timezone": "UTC"})
    await timestamps_as_text(single)
    queries = aiosql.from_path(SQL_DIR, "asyncpg", mandatory_parameters=False)
    try:
        car_id = await single.fetchval("SELECT min(id) FROM cars")
        if car_id is None:
            raise BenchError("no cars in the database to read")
        row = await ours_pool.run("fetchrow", get_car_sql, [car_id])
        car = dict(zip(("id", *model.FIELDS), row[:8], strict=True))
        car |= {"version": row[8], "created_at": row[9], "updated_at": row[10]}
        await cache.store(car_id, car["version"], model.etag(car_id, car["version"]),
                          model.car_json(car))  # fmt: skip
        if await cache.get(car_id) is None:
            raise BenchError(f"Redis at {redis_url} did not keep the cached car")
        key = cache.key(car_id)

        async def redis_py_get():
            entry = await client.get(key)
            _version, etag, body = entry.split(b"\n", 2)
            return etag.decode(), body

        def ours_fetchrow():
            return ours_pool.run("fetchrow", get_car_sql, [car_id])

        async def aiosql_get():
            # aiosql 15 answers a plain SELECT with an async generator of rows.
            return [row async for row in queries.get_car(single, id=car_id)]

        batcher = InsertBatcher(ours_pool, insert_sql)
        created = itertools.count()

        def new_car_args() -> list:
            # A unique VIN per car (no check digit: the API validates it, the table does not).
            params = {"make": "Bench", "model": "Insert", "year": 2024, "color": None,
                      "price": Decimal("19999.00"), "mileage_km": 0,
                      "vin": f"BENCH{next(created):012d}", "now": datetime.now(UTC)}  # fmt: skip
            return [params[key] for key in insert_order]

        def ours_insert():
            return batcher.fetchrow(new_car_args())

        def single_insert():
            return ours_pool.run("fetchrow", insert_sql, new_car_args())

        options = {"ops": ops, "rounds": rounds, "concurrency": concurrency}
        return [
            await compare(
                "cached GET (Redis GET + split)",
                ("api.cache RESP client", lambda: cache.get(car_id)),
                ("redis-py 8.1 asyncio", redis_py_get),
                **options,
            ),
            await compare(
                "GET by id (PostgreSQL fetchrow)",
                ("api.database ConnectionPool", ours_fetchrow),
                ("asyncpg 0.32 Pool", lambda: lib_pool.fetchrow(get_car_sql, car_id)),
                **options,
            ),
            await compare(
                "GET by id, one connection",
                ("asyncpg fetch, aiosql's SQL", lambda: single.fetch(get_car_sql, car_id)),
                ("aiosql 15 query method", aiosql_get),
                **{**options, "concurrency": 1},
            ),
            await compare(
                f"INSERT a car, {INSERT_CALLERS} callers (PostgreSQL)",
                ("api.database InsertBatcher", ours_insert),
                ("one statement per car", single_insert),
                **{**options, "concurrency": INSERT_CALLERS},
            ),
        ]
    finally:
        await client.aclose()
        await cache.close()
        await single.close()
        await lib_pool.close()
        await ours_pool.close()


def measure(
    redis_url: str,
    database_url: str,
    *,
    ops: int = DEFAULT_OPS,
    rounds: int = DEFAULT_ROUNDS,
    concurrency: int = DEFAULT_CONCURRENCY,
    cpu: int | None = None,
) -> list[Comparison]:
    """Every comparison, on the event loop the API runs on (uvloop), pinned to ``cpu`` if given."""
    import uvloop

    affinity = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(
                _measure(redis_url, database_url, ops=ops, rounds=rounds, concurrency=concurrency)
            )
    finally:
        os.sched_setaffinity(0, affinity)


# --- standalone ----------------------------------------------------------------------------------


@contextmanager
def _stores(postgres_url: str) -> Iterator[tuple[str, str]]:
    """(redis URL, database URL): a throwaway redis-server and a migrated, seeded database."""
    from bench import cli

    with (
        tempfile.TemporaryDirectory(prefix="api-cars-bench-libraries-") as tmp,
        cli.throwaway_database(postgres_url) as database_url,
        Processes(Path(tmp)) as procs,
    ):
        port = cli.start_redis(procs)
        env = {**os.environ, "DATABASE_URL": database_url}
        env.pop("REDIS_URL", None)
        cli.migrate_and_seed(env, 100)
        yield f"redis://127.0.0.1:{port}/0", database_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.libraries",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ops", type=int, default=DEFAULT_OPS, help="operations per round")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds per side")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help="concurrent tasks (default 10, the API's pool size)")  # fmt: skip
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to create the throwaway database on (an admin URL)",
    )
    args = parser.parse_args(argv)
    for name in ("ops", "rounds", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    try:
        with _stores(args.postgres) as (redis_url, database_url):
            comparisons = measure(
                redis_url, database_url, ops=args.ops, rounds=args.rounds,
                concurrency=args.concurrency,
            )  # fmt: skip
    except BenchError as error:
        print(f"bench.libraries: {error}", file=sys.stderr)
        return 2
    print(render_table(comparisons))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
