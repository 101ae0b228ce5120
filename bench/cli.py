"""`python -m bench`: the API against a bare Sanic baseline, on loopback, in one run.

Servers run as one process each, pinned to CPU 0; wrk runs pinned to CPU 1. The API runs twice:
with Redis (cache hits, POST, list) and without REDIS_URL (every read from PostgreSQL). Both use a
throwaway database created on the PostgreSQL server for this run and dropped at the end, and a
throwaway redis-server on a free port.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import libraries
from bench.procs import (
    BenchError,
    Processes,
    cpu_seconds,
    describe,
    free_port,
    wait_for_status,
)
from bench.report import (
    BASELINE,
    ENDPOINTS,
    RunInfo,
    Startup,
    render_markdown,
    render_table,
    summarise,
)
from bench.wrk import WrkResult, find_wrk, run_wrk, wrk_command

# The tests' loopback token issuer: the API checks tokens against it as it would against Cognito.
from tests.auth_issuer import Issuer

SERVER_CPU = 0
LOAD_CPU = 1
DEFAULT_OUTPUT = Path("docs/benchmarks.md")
# Written by people, included as it is: why a target is missed, what was tried.
ANALYSIS = Path(__file__).resolve().parent / "analysis.md"
SEED_COUNT = 300
# GET by id rotates over this many seeded cars: all cached after the first pass.
READ_IDS = 100
_VIN_TAG_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"
KEYS = tuple(endpoint.key for endpoint in ENDPOINTS if endpoint is not BASELINE)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per endpoint (default 5)")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds per measurement (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of warm-up per endpoint (default 3)"
    )
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument(
        "--starts", type=int, default=7, help="API starts for the start-up median (default 7)"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server to create the throwaway database on (an admin URL)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"Markdown report to write (default {DEFAULT_OUTPUT}; none with --only); "
        "'-' to write none",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--only",
        metavar="KEY[,KEY...]",
        help="measure only these endpoints (and the baseline), skip the library comparison and "
        f"write no report unless --output is given; keys: {', '.join(KEYS)}",
    )
    args = parser.parse_args(argv)
    args.endpoints = ENDPOINTS
    if args.only is not None:
        wanted = {key.strip() for key in args.only.split(",") if key.strip()}
        unknown = sorted(wanted - set(KEYS))
        if unknown or not wanted:
            parser.error(f"--only: unknown endpoint {', '.join(unknown) or '(none)'}")
        args.endpoints = tuple(e for e in ENDPOINTS if e.key in wanted or e is BASELINE)
    if args.output is None:
        args.output = Path("-") if args.only is not None else DEFAULT_OUTPUT
    for name in ("rounds", "connections", "starts"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.duration < 1:
        parser.error("--duration must be at least 1 second")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop servers and drop the database.
    # SIGINT too, explicitly: a shell starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        return run(args, command=_command_line(argv))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started is stopped", file=sys.stderr)
        return 130


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _command_line(argv: list[str] | None) -> str:
    rest = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", "bench", *rest])


@dataclass
class Stage:
    """Everything a measurement needs, running: servers, the wrk plan per endpoint, and more."""

    procs: Processes
    servers: dict[str, Server]
    plans: dict[str, Plan]
    cached_env: dict[str, str]
    token: str  # a valid write token for the "api-auth" server
    server_cpu: int | None
    load_cpu: int | None
    last_seeded_id: int  # cars above it were POSTed by the benchmark


def pinning() -> tuple[int | None, int | None]:
    """(server CPU, load CPU), or (None, None) when the machine cannot keep them apart."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None:
        return SERVER_CPU, LOAD_CPU
    return None, None


@contextmanager
def stage(postgres_url: str) -> Iterator[Stage]:
    """A throwaway database (migrated, seeded) and Redis, the baseline and both APIs, serving.

    Stops every process and drops the database on the way out, however it is left.
    """
    server_cpu, load_cpu = pinning()
    with (
        tempfile.TemporaryDirectory(prefix="api-cars-bench-") as tmp,
        throwaway_database(postgres_url) as database_url,
        Processes(Path(tmp)) as procs,
        _issuer() as issuer,
    ):
        redis_port = start_redis(procs)
        base_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AUTH_")},
            "DATABASE_URL": database_url,
            # Production logging: one JSON access line per request, as the service runs.
            "LOG_LEVEL": "INFO",
            "WORKERS": "1",
            "MIGRATE_ON_START": "true",
            "AUTH_DISABLED": "true",
        }
        base_env.pop("REDIS_URL", None)
        cached_env = {**base_env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
        auth_env = {k: v for k, v in cached_env.items() if k != "AUTH_DISABLED"} | issuer.env()
        migrate_and_seed(base_env, SEED_COUNT)
        python = sys.executable
        servers = {
            "baseline": _serve(
                procs, "baseline", [python, "-m", "bench.baseline"], os.environ, server_cpu, "/"
            ),
            "api": _serve(procs, "api", [python, "-m", "api"], cached_env, server_cpu),
            "api-nocache": _serve(
                procs, "api-nocache", [python, "-m", "api"], base_env, server_cpu
            ),
            "api-auth": _serve(procs, "api-auth", [python, "-m", "api"], auth_env, server_cpu),
        }
        ids = car_ids(servers["api"], READ_IDS)
        yield Stage(
            procs=procs,
            servers=servers,
            plans=measurement_plans(ids),
            cached_env=cached_env,
            token=issuer.token(lifetime=24 * 3600),
            server_cpu=server_cpu,
            load_cpu=load_cpu,
            last_seeded_id=_last_id(database_url),
        )


def measure(
    st: Stage, key: str, *, seconds: float, connections: int, run_number: int, wrk: str
) -> WrkResult:
    """One wrk run against one endpoint, with the server's CPU time per request.

    run_number keeps POSTed VINs unique across runs.
    """
    plan = st.plans[key]
    server = st.servers[plan.server]
    posts = plan.script == "post_car.lua"
    script_args = (vin_tag(run_number), *plan.script_args) if posts else plan.script_args
    if plan.server == "api-auth":
        script_args = (*script_args, st.token)
    argv = wrk_command(
        server.url(plan.path),
        duration_s=seconds,
        connections=connections,
        script=plan.script,
        script_args=script_args,
        cpu=st.load_cpu,
        wrk=wrk,
    )
    cpu_before = cpu_seconds(server.proc.pid)
    result = run_wrk(argv, timeout_s=seconds + 30)
    cpu_after = cpu_seconds(server.proc.pid)
    if posts:
        forget_posted(st)
    if cpu_before is None or cpu_after is None or not result.requests:
        return result
    return replace(result, server_cpu_us=(cpu_after - cpu_before) * 1e6 / result.requests)


def _last_id(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM cars").fetchone()
    return last


def forget_posted(st: Stage) -> None:
    """Delete the cars a POST run created and vacuum, so every round meets the seeded table.

    Without this each POST round inserts into a table tens of thousands of rows bigger than the
    round before (about 600,000 more by the end of a run), PostgreSQL's inserts slow down as the
    table and its six indexes outgrow its buffers, and rounds are no longer alike.
    """
    import psycopg

    with psycopg.connect(st.cached_env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("DELETE FROM cars WHERE id > %s", (st.last_seeded_id,))
        conn.execute("VACUUM cars")


def run(args: argparse.Namespace, command: str) -> int:
    wrk = find_wrk()
    load_before = os.getloadavg()[0]
    measured = revision()  # now: the tree may change while the benchmark runs
    with stage(args.postgres) as st:

        def measure_endpoint(key: str, seconds: float, run_number: int) -> WrkResult:
            return measure(
                st, key, seconds=seconds, connections=args.connections, run_number=run_number,
                wrk=wrk,
            )  # fmt: skip

        run_number = 0
        if args.warmup > 0:
            print(f"bench: warming up each endpoint for {args.warmup:g} s", flush=True)
            for endpoint in args.endpoints:
                measure_endpoint(endpoint.key, args.warmup, run_number)
                run_number += 1
        results: dict[str, list[WrkResult]] = {e.key: [] for e in args.endpoints}
        for round_number in range(1, args.rounds + 1):
            for endpoint in args.endpoints:
                result = measure_endpoint(endpoint.key, args.duration, run_number)
                run_number += 1
                results[endpoint.key].append(result)
                print(
                    f"bench: round {round_number}/{args.rounds} {endpoint.label}: "
                    f"{result.requests_per_s:,.0f} req/s, p99 {result.p99_ms:.2f} ms"
                    + (f", {result.errors} errors" if result.errors else ""),
                    flush=True,
                )
        comparisons = []
        if args.only is None:
            print("bench: data access with and without the libraries it replaced", flush=True)
            comparisons = libraries.measure(
                st.cached_env["REDIS_URL"], st.cached_env["DATABASE_URL"], cpu=st.load_cpu
            )
        for server in st.servers.values():
            st.procs.stop(server.proc)
        startup = measure_startup(st.procs, st.cached_env, st.server_cpu, args.starts)

    summaries = summarise(results)
    print()
    print(render_table(summaries, startup))
    if comparisons:
        print()
        print(libraries.render_table(comparisons))
    info = RunInfo(
        command=command,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        revision=measured,
        nproc=os.cpu_count() or 1,
        cpu_model=cpu_model(),
        python=platform.python_version(),
        rounds=args.rounds,
        duration_s=args.duration,
        connections=args.connections,
        pinned=st.server_cpu is not None,
        notes=(
            f"Load average (1 min) at the start {load_before:.2f}, at the end "
            f"{os.getloadavg()[0]:.2f}; the machine is shared, so numbers move by about 15% "
            "between runs",
        ),
    )
    if str(args.output) != "-":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            render_markdown(info, summaries, startup)
            + "\n"
            + (
                libraries.render_markdown(
                    comparisons,
                    ops=libraries.DEFAULT_OPS,
                    rounds=libraries.DEFAULT_ROUNDS,
                    concurrency=libraries.DEFAULT_CONCURRENCY,
                )
                if comparisons
                else ""
            )
            + analysis()
        )
        print(f"\nbench: wrote {args.output}")
    missed = [s for s in summaries if s.passed is False] + ([] if startup.passed else [startup])
    return 1 if args.check and missed else 0


def analysis() -> str:
    """bench/analysis.md, after a blank line, or nothing when there is none."""
    try:
        text = ANALYSIS.read_text().strip()
    except FileNotFoundError:
        return ""
    return f"\n{text}\n" if text else ""


class Server:
    def __init__(self, proc, port: int):
        self.proc = proc
        self.port = port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _serve(
    procs: Processes, name: str, argv: list[str], env, cpu: int | None, health: str = "/health"
) -> Server:
    port = free_port()
    if argv[-1] == "bench.baseline":
        argv = [*argv, str(port)]
    proc = procs.start(argv, name=name, env={**env, "PORT": str(port)}, cpu=cpu)
    try:
        wait_for_status(port, health, proc=proc, timeout=60)
    except BenchError as error:
        raise BenchError(f"{error}; last log lines:\n{procs.log_tail(proc)}") from None
    return Server(proc, port)


@contextmanager
def _issuer() -> Iterator[Issuer]:
    issuer = Issuer().start()
    try:
        yield issuer
    finally:
        issuer.stop()


def migrate_and_seed(env, count: int) -> None:
    """Migrate the database of env's DATABASE_URL and load ``count`` sample cars."""
    _step("migrations", [sys.executable, "-m", "api.migrations"], env)
    _step("seed", [sys.executable, "-m", "api.seed", "--count", str(count)], env)


def _step(what: str, argv: list[str], env) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip().splitlines()
        raise BenchError(f"{what} failed: {output[-1] if output else done.returncode}")


@dataclass(frozen=True)
class Plan:
    """How wrk drives one endpoint: which server, which path, which script with what."""

    server: str
    path: str
    script: str | None = None
    script_args: tuple[str, ...] = ()


def measurement_plans(ids: list[int]) -> dict[str, Plan]:
    """Endpoint key -> Plan; GET by id rotates over `ids`."""
    id_args = tuple(str(i) for i in ids)
    return {
        "baseline": Plan("baseline", "/"),
        "cached": Plan("api", "/", "get_ids.lua", id_args),
        "postgres": Plan("api-nocache", "/", "get_ids.lua", id_args),
        "post": Plan("api", "/", "post_car.lua"),
        "post-nocache": Plan("api-nocache", "/", "post_car.lua"),
        "post-auth": Plan("api-auth", "/", "post_car.lua"),
        "list50": Plan("api", "/v1/cars?limit=50"),
        "list50-nocache": Plan("api-nocache", "/v1/cars?limit=50"),
    }


def vin_tag(run_number: int) -> str:
    """Three VIN characters unique to one wrk run (23**3 runs), so POSTed VINs never repeat."""
    alphabet = _VIN_TAG_ALPHABET
    n = len(alphabet)
    if run_number >= n**3:
        raise BenchError("too many POST runs for unique VINs")
    return alphabet[run_number // n**2] + alphabet[run_number // n % n] + alphabet[run_number % n]


def car_ids(server: Server, count: int) -> list[int]:
    """Ids of `count` cars, read through the API's list endpoint."""
    with urllib.request.urlopen(server.url(f"/v1/cars?limit={count}"), timeout=10) as response:
        body = json.load(response)
    ids = [car["id"] for car in body["items"]]
    if not ids:
        raise BenchError("the API lists no cars after seeding")
    return ids


def measure_startup(procs: Processes, env, cpu: int | None, starts: int) -> Startup:
    """Seconds from process start to the first 200 on /health, for `starts` fresh processes."""
    seconds = []
    for n in range(starts):
        port = free_port()
        started = time.monotonic()
        proc = procs.start(
            [sys.executable, "-m", "api"],
            name=f"startup-{n}",
            env={**env, "PORT": str(port)},
            cpu=cpu,
        )
        try:
            seconds.append(wait_for_status(port, "/health", proc=proc, started=started, timeout=30))
        finally:
            procs.stop(proc)
    return Startup(tuple(seconds))


def start_redis(procs: Processes) -> int:
    """A throwaway redis-server (no persistence) on a free port, answering PING: its port."""
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise BenchError("redis-server is not installed: sudo apt-get install -y redis-server")
    port = free_port()
    redis = procs.start(
        [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        name="redis",
    )  # fmt: skip
    wait_for_redis(port, redis)
    return port


def wait_for_redis(port: int, proc) -> None:
    import redis

    deadline = time.monotonic() + 10
    client = redis.Redis(port=port, socket_timeout=1)
    try:
        while True:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"{describe(proc)} did not answer PING")
            time.sleep(0.01)
    finally:
        client.close()


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """A new database on the server of admin_url for this run; dropped when done."""
    import psycopg

    name = f"api_cars_bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.Error as error:
        where = _safe(admin_url)
        raise BenchError(f"cannot reach PostgreSQL at {where}: {error}".strip()) from None
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


REPO = Path(__file__).resolve().parents[1]


def revision(repo: Path = REPO) -> str:
    """The commit measured, `-dirty` when files other than the report itself had changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        changed = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--",
             ".", f":!{DEFAULT_OUTPUT}"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"commit {head}{'-dirty' if changed else ''}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
