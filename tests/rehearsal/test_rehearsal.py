"""`python -m rehearsal --fast`: the whole life of the service on this machine, shortened.

On two shared cores the copy in `make test` gates on what is deterministic: no acknowledged write
lost, /version flipping through HAProxy, the stack's states on moto. The failed-request counts are
reported (and gated by the full-timing run, make rehearsal), not asserted here.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cfn_flip import load_yaml

from rehearsal.cli import RECORD_END, RECORD_START, deployment_settings, target_group_settings
from rehearsal.ecs import DeploymentSettings
from rehearsal.haproxy import TargetGroupSettings, config
from rehearsal.traffic import Car, lost_writes
from template_builder import ecs, load_balancer

REPO = Path(__file__).resolve().parents[2]
FAST = "0.1"
RUN_TIMEOUT_S = 240


@dataclass
class Rehearsal:
    code: int
    out: str
    err: str
    record: str


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory) -> Rehearsal:
    record = tmp_path_factory.mktemp("rehearsal") / "rehearsal.md"
    record.write_text(f"# Rehearsal\n\n{RECORD_START}\nold run\n{RECORD_END}\n\nAfter.\n")
    done = subprocess.run(
        [sys.executable, "-m", "rehearsal", "--fast", FAST, "--record", str(record)],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    return Rehearsal(done.returncode, done.stdout, done.stderr, record.read_text())


def _table(out: str) -> dict[str, list[str]]:
    lines = out.split("\nphase ", 1)[1].splitlines()[1:]
    rows = [line.split() for line in lines if line.strip() and line.split()[-1].isdigit()]
    return {" ".join(row[:-8]): row[-8:] for row in rows}


def test_the_fast_rehearsal_meets_its_deterministic_targets_and_exits_0(rehearsal):
    assert rehearsal.code == 0, rehearsal.out[-3000:] + rehearsal.err[-3000:]
    assert "MISSED" not in rehearsal.out


def test_its_last_line_states_the_two_headline_figures(rehearsal):
    last = rehearsal.out.strip().splitlines()[-1]
    assert last.startswith("rehearsal: ")
    assert "failed requests during release, rollback and the Spot-style stop; " in last
    assert last.endswith("0 acknowledged writes lost (--fast 0.1)")


def test_version_flips_through_haproxy_on_release_and_back_on_rollback(rehearsal):
    assert "ok: /version through HAProxy: ['v1.1.0']" in rehearsal.out
    assert "ok: /version through HAProxy: ['v1.0.0']" in rehearsal.out
    assert rehearsal.out.index("['v1.1.0']") < rehearsal.out.rindex("['v1.0.0']")


def test_the_stack_goes_through_its_states_on_moto(rehearsal):
    for state in (
        "./aws-deploy.sh: stack api-cars CREATE_COMPLETE",
        "cars-stack release: stack UPDATE_COMPLETE",
        "cars-stack rollback: stack UPDATE_COMPLETE",
        "./cleanup.sh: stack api-cars gone",
    ):
        assert f"ok: {state}" in rehearsal.out


def test_it_says_what_was_replaced_and_what_moto_skipped(rehearsal):
    assert "replaced (Lambda-backed custom resources moto cannot run): ImageCheck" in rehearsal.out
    assert "VpcLookupVpcId=vpc-" in rehearsal.out  # lookup()'s answer from moto's EC2
    assert "moto skipped (no model): " in rehearsal.out and "Alarm" in rehearsal.out


def test_the_table_has_every_phase_with_traffic_and_no_write_lost(rehearsal):
    table = _table(rehearsal.out)
    phases = ["steady", "release", "rollback", "postgres restart", "redis restart", "spot stop",
              "sigkill"]  # fmt: skip
    assert list(table) == phases
    for row in table.values():
        assert int(row[0]) > 0  # requests sent
        assert row[-1] == "0"  # acknowledged writes lost


def test_the_postgres_restart_fails_only_with_the_apis_own_503s(rehearsal):
    _requests, _api_503, lb_error, connection, other, *_ = _table(rehearsal.out)["postgres restart"]
    assert (lb_error, connection, other) == ("0", "0", "0")


def test_the_run_is_recorded_between_the_markers_with_command_and_commit(rehearsal):
    assert "old run" not in rehearsal.record
    assert rehearsal.record.startswith("# Rehearsal\n\n" + RECORD_START)
    assert rehearsal.record.endswith(RECORD_END + "\n\nAfter.\n")
    assert "with `python -m rehearsal --fast 0.1`" in rehearsal.record
    assert "on commit `" in rehearsal.record
    assert "| release |" in rehearsal.record


# --- the pieces --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template() -> dict:
    return load_yaml((REPO / "templates/api-cars.yaml").read_text())


def test_haproxy_plays_the_target_group_with_the_templates_values(template):
    assert target_group_settings(template) == TargetGroupSettings(
        path="/health",
        interval_s=load_balancer.HEALTH_CHECK_INTERVAL_SECONDS,
        timeout_s=load_balancer.HEALTH_CHECK_TIMEOUT_SECONDS,
        healthy_threshold=load_balancer.HEALTHY_THRESHOLD,
        unhealthy_threshold=load_balancer.UNHEALTHY_THRESHOLD,
        deregistration_delay_s=load_balancer.DEREGISTRATION_DELAY_SECONDS,
    )


def test_haproxy_retries_nothing_and_never_redispatches(template, tmp_path):
    text = config(8080, tmp_path / "sock", target_group_settings(template))
    assert "    retries 0\n" in text
    assert "    no option redispatch\n" in text
    assert "option httpchk GET /health" in text and "timeout check 5000ms" in text


def test_the_rolling_deployment_uses_the_services_percentages(template):
    settings = deployment_settings(template, desired=2, factor=1.0)
    assert (settings.minimum_healthy_percent, settings.maximum_percent) == (100, 200)
    assert settings.stop_timeout_s == ecs.STOP_TIMEOUT_SECONDS
    assert (settings.most_tasks, settings.fewest_healthy) == (4, 2)
    assert (DeploymentSettings(3, 50, 150, 30).most_tasks, DeploymentSettings(3, 50, 150, 30)
            .fewest_healthy) == (4, 2)  # fmt: skip


def test_an_acknowledged_write_missing_from_the_database_is_counted_lost():
    cars = {
        1: Car("V1", "release", mileage={10}),  # kept
        2: Car("V2", "rollback", mileage={20}),  # gone: lost
        3: Car("V3", "sigkill", mileage={30, 31}),  # an unacknowledged PATCH of 31: either is fine
        4: Car("V4", "spot stop", exists=False),  # deleted, acknowledged, still there: lost
        5: Car("V5", "steady", exists=None),  # a DELETE of unknown outcome: either is fine
    }
    rows = {1: ("V1", 10), 3: ("V3", 31), 4: ("V4", 40), 5: ("V5", 50)}
    assert lost_writes(cars, rows) == {"rollback": 1, "spot stop": 1}


def test_a_stored_value_other_than_the_acknowledged_one_is_lost():
    assert lost_writes({1: Car("V1", "release", mileage={10})}, {1: ("V1", 11)}) == {"release": 1}
