"""`python -m rehearsal` (`make rehearsal`): the service's whole life on this machine.

1 launch locally (throwaway PostgreSQL and Redis, seeded), 2 deploy with ./aws-deploy.sh against
moto's server, 3 release v1.1.0 with `cars-stack release`, 4 roll back with `cars-stack rollback`,
5 faults while serving, 6 destroy with ./cleanup.sh, with live traffic through HAProxy (the ALB
stand-in) from start to end. A rehearsal: moto answers the AWS APIs, HAProxy plays the load
balancer, this program plays ECS; docs/rehearsal.md says what only a real account proves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from cfn_flip import load_yaml

from bench.procs import BenchError, Processes, free_port, http_status, wait_for_status
from rehearsal.ecs import DeploymentSettings, Rollout, Service
from rehearsal.haproxy import HAProxy, TargetGroupSettings
from rehearsal.moto import (
    DEMO_SERVICE,
    REGION,
    image_answers,
    moto_template,
    network_answers,
    push_image,
)
from rehearsal.traffic import API_503, CONNECTION, FAILURES, LB_ERROR, OTHER, Traffic, lost_writes
from template_builder.names import SERVICE_TEMPLATE_FILE
from tests.postgres_servers import ThrowawayPostgres
from tests.redis_servers import ThrowawayRedis

REPO = Path(__file__).resolve().parents[1]
STACK = "api-cars"
FIRST, NEXT = "v1.0.0", "v1.1.0"
SEED_COUNT = 300
# Phases whose target is zero failed requests (the full-timing run gates on it).
ZERO_FAILURE_PHASES = ("release", "rollback", "spot stop")
RECORD_START = "<!-- recorded run: written by python -m rehearsal --record -->"
RECORD_END = "<!-- end of recorded run -->"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__)
    parser.add_argument(
        "--fast",
        type=float,
        metavar="FACTOR",
        default=None,
        help="scale every timing from the template (health checks, deregistration delay, stop "
        "timeout, drain) by FACTOR, e.g. 0.1; gates then only on what is deterministic",
    )
    parser.add_argument("--tasks", type=int, default=2, help="DesiredCount deployed (default 2)")
    parser.add_argument("--workers", type=int, default=4, help="traffic workers (default 4)")
    parser.add_argument(
        "--rate", type=float, default=15.0, help="requests/s per traffic worker (default 15)"
    )
    parser.add_argument(
        "--record", type=Path, help="write the report into this Markdown file (docs/rehearsal.md)"
    )
    args = parser.parse_args(argv)
    if args.fast is not None and not 0 < args.fast <= 1:
        parser.error("--fast: FACTOR must be above 0 and at most 1")
    if args.tasks < 1 or args.workers < 1 or args.rate <= 0:
        parser.error("--tasks, --workers and --rate must be positive")
    return args


# --- values read from the generated template ---------------------------------------------------
def _resource(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [r["Properties"] for r in doc["Resources"].values() if r["Type"] == kind]
    return found


def target_group_settings(doc: dict[str, Any]) -> TargetGroupSettings:
    group = _resource(doc, "AWS::ElasticLoadBalancingV2::TargetGroup")
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    path = group["HealthCheckPath"]
    if isinstance(path, dict):  # Ref HealthCheckPath
        path = doc["Parameters"][path["Ref"]]["Default"]
    return TargetGroupSettings(
        path=path,
        interval_s=float(group["HealthCheckIntervalSeconds"]),
        timeout_s=float(group["HealthCheckTimeoutSeconds"]),
        healthy_threshold=int(group["HealthyThresholdCount"]),
        unhealthy_threshold=int(group["UnhealthyThresholdCount"]),
        deregistration_delay_s=float(attributes["deregistration_delay.timeout_seconds"]),
    )


def deployment_settings(doc: dict[str, Any], desired: int, factor: float) -> DeploymentSettings:
    config = _resource(doc, "AWS::ECS::Service")["DeploymentConfiguration"]
    (container,) = _resource(doc, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    return DeploymentSettings(
        desired=desired,
        minimum_healthy_percent=int(config["MinimumHealthyPercent"]),
        maximum_percent=int(config["MaximumPercent"]),
        stop_timeout_s=float(container["StopTimeout"]) * factor,
    )


# --- the run -----------------------------------------------------------------------------------
@dataclass
class Run:
    args: argparse.Namespace
    work: Path
    procs: Processes
    factor: float
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    phases: list[tuple[str, float, float]] = field(default_factory=list)  # name, start, end
    rollouts: dict[str, Rollout] = field(default_factory=dict)
    checks: list[tuple[str, bool]] = field(default_factory=list)  # deterministic gates
    moto_document: dict[str, Any] = field(default_factory=dict)
    noted_environment: bool = False
    noted_auth: bool = False

    def check(self, what: str, ok: bool) -> None:
        self.checks.append((what, ok))
        self.say(f"  {'ok' if ok else 'MISSED'}: {what}")


def _clean_env() -> dict[str, str]:
    """This environment without API settings a developer may have exported."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PG", "DATABASE_", "REDIS_", "AUTH_", "CORS_", "SQLITE_"))
        and k not in ("WORKERS", "HOST", "PORT", "APP_VERSION", "SHUTDOWN_DRAIN_SECONDS")
    }


def _run(argv: list[str], env: dict[str, str], log: Path, what: str) -> str:
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise BenchError(f"{what} failed ({done.returncode}):\n{tail}")
    return done.stdout


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def _versions(url: str, count: int) -> set[str]:
    return {_get_json(f"{url}/version")["version"] for _ in range(count)}


def launch_locally(run: Run, env: dict[str, str]) -> list[int]:
    """The API as `make run` starts it, on the seeded throwaway database: the ids it lists."""
    python = sys.executable
    _run([python, "-m", "api.migrations"], env, run.work / "migrate.log", "migrations")
    _run([python, "-m", "api.seed", "--count", str(SEED_COUNT)], env, run.work / "seed.log", "seed")
    port = free_port()
    proc = run.procs.start([python, "-m", "api"], name="local", env={**env, "PORT": str(port)})
    wait_for_status(port, "/ready", timeout=60, proc=proc)
    url = f"http://127.0.0.1:{port}"
    ids = [car["id"] for car in _get_json(f"{url}/v1/cars?limit=100")["items"]]
    run.say(f"  API on {url}: /ready 200, {len(ids)} seeded cars listed")
    run.check("the API serves the seeded cars locally", len(ids) > 0)
    run.procs.stop(proc)
    return ids


def start_moto(run: Run) -> str:
    port = free_port()
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if server is None:
        raise BenchError("moto_server is missing: run make init")
    proc = run.procs.start([server, "-H", "127.0.0.1", "-p", str(port)], name="moto")
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while http_status(port, "/moto-api/") is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"moto's server did not start: {run.procs.log_tail(proc)}")
        time.sleep(0.05)
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="rehearsal",
        AWS_SECRET_ACCESS_KEY="rehearsal",
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(run.work / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(run.work / "no-aws-credentials"),
    )
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        os.environ.pop(name, None)
    return endpoint


def _stack_status() -> str:
    cfn = boto3.client("cloudformation", region_name=REGION)
    try:
        return cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
    except cfn.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return "gone"
        raise


def _stack_resources(cfn: Any) -> dict[str, str]:
    pages = cfn.get_paginator("list_stack_resources").paginate(StackName=STACK)
    summaries = [item for page in pages for item in page["StackResourceSummaries"]]
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in summaries}


def task_environment(run: Run, base: dict[str, str]) -> dict[str, str]:
    """The environment of the task definition the stack's service now runs, and the rehearsal's
    own database and cache (the task definition's auth settings as they are: the demo's sets
    AUTH_DISABLED=true, as no identity stack is deployed).

    moto's ECS holds it for the first revision; the revision a stack update registers comes back
    without any environment (moto's CloudFormation update drops it), so that one is the template's
    own container environment with the stack's parameters, as CloudFormation would resolve it.
    """
    cfn = boto3.client("cloudformation", region_name=REGION)
    ecs = boto3.client("ecs", region_name=REGION)
    resources = _stack_resources(cfn)
    # The task definition the stack's service now runs (a release replaces it).
    definition = ecs.describe_task_definition(taskDefinition=resources["TaskDefinition"])
    (container,) = definition["taskDefinition"]["containerDefinitions"]
    env = {item["name"]: item["value"] for item in container.get("environment", [])}
    if not env:
        env = _template_environment(run.moto_document)
        if not run.noted_environment:
            run.noted_environment = True
            run.say(
                f"  moto's ECS has no environment in {resources['TaskDefinition'].rsplit('/')[-1]}"
            )
            run.say(
                "  (its stack update drops it): the template's own, with the stack's parameters"
            )
    if "AUTH_ISSUER" not in env and "AUTH_DISABLED" not in env:
        # A template from before the auth mode: the API refuses to serve without either.
        env["AUTH_DISABLED"] = "true"
        if not run.noted_auth:
            run.noted_auth = True
            run.say("  the task definition sets no auth: AUTH_DISABLED=true added by the rehearsal")
    if "SHUTDOWN_DRAIN_SECONDS" in env:
        env["SHUTDOWN_DRAIN_SECONDS"] = f"{float(env['SHUTDOWN_DRAIN_SECONDS']) * run.factor:g}"
    return {**base, **env}


def _template_environment(doc: dict[str, Any]) -> dict[str, str]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    (stack,) = cfn.describe_stacks(StackName=STACK)["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    (container,) = _resource(doc, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    env = {}
    for item in container["Environment"]:
        value = item["Value"]
        if isinstance(value, dict):
            (ref,) = value.values()  # {"Ref": parameter}: the only form the environment uses
            value = parameters[ref]
        env[item["Name"]] = str(value)
    return env


def deploy(run: Run, template: dict[str, Any]) -> Path:
    push_image(FIRST)
    push_image(NEXT)
    answers = network_answers() | image_answers(FIRST)
    doc = moto_template(template, answers)
    custom = sorted(k for k, r in template["Resources"].items() if r["Type"].startswith("Custom::"))
    left_out = sorted(set(template["Resources"]) - set(doc["Resources"]) - set(custom))
    run.say(
        f"  replaced (Lambda-backed custom resources moto cannot run): {', '.join(custom)}, and"
    )
    run.say("  the network stack's exports of Custom::VpcLookup (its stack holds only that lookup)")
    run.say(
        "  by what lambdas/vpc_lookup.py lookup() and lambdas/image_check.py check() answer "
        "run against moto: " + ", ".join(f"{k}={v}" for k, v in sorted(answers.items()))
    )
    run.say(f"  left out by the demo's conditions, as CloudFormation would: {', '.join(left_out)}")
    run.moto_document = doc
    path = run.work / "api-cars-moto.json"
    path.write_text(json.dumps(doc, indent=1))
    env = dict(os.environ)
    _run(
        [str(REPO / "aws-deploy.sh"), *DEMO_SERVICE, "--param", f"DesiredCount={run.args.tasks}",
         "--template-file", str(path),
         "--image-tag", FIRST, "--yes"],
        env, run.work / "deploy.log", "./aws-deploy.sh",
    )  # fmt: skip
    cfn = boto3.client("cloudformation", region_name=REGION)
    skipped = sorted(set(doc["Resources"]) - set(_stack_resources(cfn)))
    run.say(f"  moto skipped (no model): {', '.join(skipped) or 'nothing'}")
    run.say(
        "  data stack: not deployed (moto's CloudFormation cannot build Aurora or ElastiCache);"
    )
    run.say(
        "  the service is the embedded demo (DataStackName empty), its tasks on this rehearsal's"
    )
    run.say("  PostgreSQL and Redis; identity stack: not deployed (AuthDisabled=true, the demo's")
    run.say("  choice: its tasks get AUTH_DISABLED=true from the task definition, writes are open)")
    status = _stack_status()
    run.check(f"./aws-deploy.sh: stack {STACK} {status}", status == "CREATE_COMPLETE")
    return path


def release(run: Run, service: Service, base: dict[str, str], argv: list[str], want: str) -> None:
    name = "release" if argv[0] == "release" else "rollback"
    _run([sys.executable, "-m", "cars_stack", *argv, "--yes"], dict(os.environ),
         run.work / f"{name}.log", f"cars-stack {argv[0]}")  # fmt: skip
    status = _stack_status()
    run.check(f"cars-stack {argv[0]}: stack {status}", status == "UPDATE_COMPLETE")
    env = task_environment(run, base)
    run.check(f"the new task definition runs {want}", env.get("APP_VERSION") == want)
    rollout = service.roll(env)
    run.rollouts[name] = rollout
    seen = _versions(service.lb.url, 4 * run.args.tasks)
    run.check(f"/version through HAProxy: {sorted(seen)}", seen == {want})
    run.say(f"  rollout to {want}: {rollout.seconds:.1f} s")


def faults(run: Run, service: Service, pg: ThrowawayPostgres, redis: ThrowawayRedis,
           env: dict[str, str], phase: Callable[[str], None]) -> None:  # fmt: skip
    lb = service.lb
    hold = max(1.0, 5 * run.factor)

    phase("postgres restart")
    started = time.monotonic()
    pg.stop("fast")
    pg.start()
    for task in service.tasks:
        wait_for_status(task.port, "/ready", timeout=60)
    run.say(
        f"  PostgreSQL restarted; every task ready again after {time.monotonic() - started:.1f} s"
    )
    time.sleep(hold)  # traffic after recovery, counted in the phase

    phase("redis restart")
    redis.kill()
    time.sleep(hold)  # an outage this long, under traffic
    redis.start()
    run.say(f"  Redis killed for {hold:.0f} s and started again on port {redis.port}")
    time.sleep(hold)

    phase("spot stop")
    victim = service.tasks[0]
    service.signal_while_registered(victim)
    replacement = service.start_task(env)
    seen, after = lb.wait_for_any(victim.name, ("DOWN", None), timeout=120 * run.factor + 30)
    if seen == "DOWN":
        run.say(
            f"  {victim.name}: SIGTERM while registered; HAProxy marked it DOWN after {after:.1f} s"
        )
    else:
        run.say(
            f"  {victim.name}: SIGTERM while registered; it exited after its drain, {after:.1f} s,"
        )
        run.say("  before HAProxy's checks marked it DOWN")
    service.wait_healthy([replacement])
    service.wait_stopped()

    phase("sigkill")
    victim = service.tasks[0]
    service.kill(victim)
    replacement = service.start_task(env)
    service.wait_healthy([replacement])
    run.say(f"  {victim.name}: SIGKILL; replaced by {replacement.name}, healthy")
    time.sleep(hold)


async def _rows(url: str) -> tuple[dict[int, tuple[str, int]], int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id, vin, mileage_km FROM cars WHERE vin LIKE 'RHSL%'")
        duplicated = await conn.fetchval(
            "SELECT count(*) FROM (SELECT vin FROM cars WHERE vin LIKE 'RHSL%' "
            "GROUP BY vin HAVING count(*) > 1) AS twice"
        )
    finally:
        await conn.close()
    return {r["id"]: (r["vin"], r["mileage_km"]) for r in rows}, duplicated


def rehearse(run: Run) -> tuple[Traffic, dict[str, int], int]:
    template = load_yaml((REPO / SERVICE_TEMPLATE_FILE).read_text())
    run.say("== 1. launch locally")
    # Its own temporary directory: PostgreSQL runs as the postgres user when we are root.
    pg = ThrowawayPostgres(Path(tempfile.mkdtemp(prefix="api-cars-rehearsal-pg-")))
    pg.init()
    pg.start()
    redis = ThrowawayRedis()
    try:
        database = pg.create_database("cars")
        redis.start()
        base = {**_clean_env(), "DATABASE_URL": database, "REDIS_URL": redis.url, "WORKERS": "1"}
        # As make run starts it without AUTH_ISSUER: writes open, said in one line.
        run.say("  AUTH_DISABLED=true for the local API, as make run sets it without AUTH_ISSUER")
        read_ids = launch_locally(run, {**base, "AUTH_DISABLED": "true"})

        run.say("== 2. deploy new infra: ./aws-deploy.sh against moto's server")
        run.say(f"  moto on {start_moto(run)}")
        template_path = deploy(run, template)
        tg = target_group_settings(template).scaled(run.factor)
        lb = HAProxy(run.procs, run.work, tg)
        service = Service(run.procs, lb, deployment_settings(template, run.args.tasks, run.factor),
                          run.say)  # fmt: skip
        env = task_environment(run, base)
        service.deploy_first(env)
        run.say(f"  HAProxy on {lb.url} (the ALB): {run.args.tasks} tasks of {FIRST} UP")
        traffic = Traffic(lb.url, workers=run.args.workers, rate_per_worker=run.args.rate)

        def phase(name: str) -> None:
            now = time.monotonic()
            if run.phases:
                run.phases[-1] = (*run.phases[-1][:2], now)
            run.phases.append((name, now, now))
            traffic.phase = name

        phase("steady")
        traffic.start(read_ids)
        time.sleep(max(1.0, 5 * run.factor))  # some traffic before the first change
        seen = _versions(lb.url, 4 * run.args.tasks)
        run.check(f"/version through HAProxy before the release: {sorted(seen)}", seen == {FIRST})

        run.say(f"== 3. release {NEXT}: cars-stack release")
        phase("release")
        release(run, service, base, ["release", NEXT, "--template-file", str(template_path)], NEXT)
        run.say(f"== 4. roll back: cars-stack rollback (to {FIRST})")
        phase("rollback")
        release(run, service, base, ["rollback", "--template-file", str(template_path)], FIRST)
        service.wait_stopped()

        run.say("== 5. faults while serving")
        env = task_environment(run, base)
        faults(run, service, pg, redis, env, phase)
        phase("end")
        traffic.stop()
        run.phases.pop()
        service.wait_stopped()

        rows, duplicated = asyncio.run(_rows(database))
        lost = lost_writes(traffic.acknowledged_cars(), rows)
        acknowledged = len(traffic.acknowledged_cars())
        run.say(f"  {acknowledged} cars written and acknowledged, checked against PostgreSQL")
        run.check("no acknowledged write lost", sum(lost.values()) == 0)
        run.check("no car stored twice", duplicated == 0)

        run.say("== 6. destroy: ./cleanup.sh")
        _run([str(REPO / "cleanup.sh"), "--yes"], dict(os.environ), run.work / "destroy.log",
             "./cleanup.sh")  # fmt: skip
        status = _stack_status()
        run.check(f"./cleanup.sh: stack {STACK} {status}", status in ("gone", "DELETE_COMPLETE"))
        service.stop_all()  # ECS stops the tasks of a deleted service
        return traffic, lost, duplicated
    finally:
        redis.kill()
        if (pg.data / "postmaster.pid").exists():
            pg.stop("immediate")
        shutil.rmtree(pg.root, ignore_errors=True)


# --- the report --------------------------------------------------------------------------------
def p99_ms(latencies: list[float]) -> float:
    if len(latencies) < 2:
        return latencies[0] * 1000 if latencies else 0.0
    return statistics.quantiles(latencies, n=100, method="inclusive")[98] * 1000


def report_rows(run: Run, traffic: Traffic, lost: dict[str, int]) -> list[list[str]]:
    rows = []
    for name, start, end in run.phases:
        outcomes = [o for o in traffic.outcomes if o.phase == name]
        failed = {kind: sum(o.kind == kind for o in outcomes) for kind in FAILURES}
        rows.append([
            name, str(len(outcomes)), *(str(failed[k]) for k in FAILURES),
            f"{p99_ms([o.latency_s for o in outcomes]):.0f}", f"{end - start:.1f}",
            str(lost.get(name, 0)),
        ])  # fmt: skip
    return rows


HEADER = ["phase", "requests", API_503, LB_ERROR, CONNECTION, OTHER, "p99 ms", "seconds",
          "acked writes lost"]  # fmt: skip


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True))]
    out += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def targets(run: Run, traffic: Traffic, lost: dict[str, int]) -> list[tuple[str, bool]]:
    """The deterministic gates always; the failure targets only at the template's timings."""
    gates = list(run.checks)
    if run.args.fast is None:
        for name in ZERO_FAILURE_PHASES:
            failed = sum(o.kind != "ok" for o in traffic.outcomes if o.phase == name)
            gates.append((f"0 failed requests during {name} ({failed})", failed == 0))
        wrong = sum(o.kind in (LB_ERROR, CONNECTION, OTHER)
                    for o in traffic.outcomes if o.phase == "postgres restart")  # fmt: skip
        gates.append((f"postgres restart: only the API's own 503s ({wrong} others)", wrong == 0))
    return gates


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM stop every process started (also when started with SIGINT ignored).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    factor = args.fast or 1.0
    work = Path(tempfile.mkdtemp(prefix="api-cars-rehearsal-"))
    started = datetime.now(UTC)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True, check=False).stdout.strip() or "unknown"  # fmt: skip
    try:
        with Processes(work) as procs:
            run = Run(args, work, procs, factor)
            if args.fast is not None:
                run.say(f"rehearsal: --fast {factor:g}: every timing from the template scaled")
            traffic, lost, _ = rehearse(run)
    except (BenchError, RuntimeError) as error:
        print(f"rehearsal: {error} (logs in {work})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"rehearsal: interrupted; every process stopped (logs in {work})", file=sys.stderr)
        return 130
    rows = report_rows(run, traffic, lost)
    tg = target_group_settings(load_yaml((REPO / SERVICE_TEMPLATE_FILE).read_text()))
    floor = tg.healthy_threshold * tg.interval_s + tg.deregistration_delay_s
    rollout_lines = [
        f"rollout ({name}): {r.seconds:.1f} s; floor {floor * factor:.1f} s = "
        f"{tg.healthy_threshold} checks x {tg.interval_s * factor:g} s + "
        f"{tg.deregistration_delay_s * factor:g} s deregistration delay"
        for name, r in run.rollouts.items()
    ]
    gates = targets(run, traffic, lost)
    missed = [what for what, ok in gates if not ok]
    zero_phases = sum(o.kind != "ok" for o in traffic.outcomes if o.phase in ZERO_FAILURE_PHASES)
    headline = (
        f"rehearsal: {zero_phases} failed requests during release, rollback and the Spot-style "
        f"stop; {sum(lost.values())} acknowledged writes lost"
        + (f" (--fast {factor:g})" if args.fast else "")
    )
    failures = [o for o in traffic.outcomes if o.kind != "ok"]
    if failures:
        print(f"\nfailed requests ({len(failures)}; the first 12, all in {work}/failures.txt):")
        lines = [f"  {o.phase}: {o.method} {o.detail}" for o in failures]
        (work / "failures.txt").write_text("\n".join(lines) + "\n")
        print("\n".join(lines[:12]))
    print()
    print(text_table(rows))
    for line in rollout_lines:
        print(line)
    for what in missed:
        print(f"target missed: {what}")
    if args.record:
        record(args, rows, rollout_lines, gates, headline, started, commit)
    print(headline)
    return 1 if missed else 0


def record(args, rows, rollout_lines, gates, headline, started, commit) -> None:
    command = "python -m rehearsal" + (f" --fast {args.fast:g}" if args.fast else "")
    body = "\n".join([
        RECORD_START, "",
        f"Recorded {started:%Y-%m-%d %H:%M} UTC on commit `{commit}` with `{command}` "
        f"({args.tasks} tasks, {args.workers} traffic workers at {args.rate:g} requests/s each).",
        "", markdown_table(rows), "",
        *(f"- {line}" for line in rollout_lines),
        *(f"- {'met' if ok else 'MISSED'}: {what}" for what, ok in gates),
        "", f"`{headline}`", "", RECORD_END,
    ])  # fmt: skip
    text = args.record.read_text() if args.record.exists() else ""
    if RECORD_START in text and RECORD_END in text:
        head, rest = text.split(RECORD_START, 1)
        text = head + body + rest.split(RECORD_END, 1)[1]
    else:
        text = text + ("\n" if text else "") + body + "\n"
    args.record.write_text(text)
