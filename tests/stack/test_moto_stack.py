"""cars-stack against moto's server: what moto models of CloudFormation, ECR and ECS."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cars_stack.cli import main
from cars_stack.runtime import Runtime
from template_builder.names import IMAGE_TAG, SERVICE_NAME
from tests.stack.demo import DEMO_SERVICE

# moto warns for each resource type its CloudFormation does not model (alarms, auto scaling); the
# tests do not rely on those resources.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)


def _stack(aws, name: str = "api-cars") -> dict:
    return aws("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def _change_sets(aws, name: str = "api-cars") -> list[dict]:
    return aws("cloudformation").list_change_sets(StackName=name)["Summaries"]


# --- deploy ------------------------------------------------------------------------------------
def test_deploy_creates_a_new_stack_through_a_create_change_set(
    moto_template: Path, cli, push_image, aws
) -> None:
    push_image("v1.0.0")
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(moto_template),
        "--image-tag",
        "v1.0.0",
        "--yes",
    )
    assert result.code == 0, result.err
    assert "(CREATE) for stack api-cars" in result.out
    assert "Stack api-cars: CREATE_COMPLETE" in result.out
    stack = _stack(aws)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params[IMAGE_TAG] == "v1.0.0"


def test_deploy_lists_every_resource_of_the_template_in_its_review(
    moto_template: Path, cli, push_image
) -> None:
    push_image("v1.0.0")
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(moto_template),
        "--image-tag",
        "v1.0.0",
        "--yes",
    )
    assert result.code == 0, result.err
    review = result.out.split("Executing")[0]
    assert "TaskDefinition" in review and "AWS::ECS::Service" in review


def test_deploy_asks_before_executing_and_a_no_leaves_nothing_behind(
    moto_template: Path, cli, aws, push_image
) -> None:
    push_image("v1.0.0")
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(moto_template),
        "--image-tag",
        "v1.0.0",
        answers=("no",),
    )
    assert result.code == 130
    assert len(result.asked) == 1
    assert "deleted; nothing was executed" in result.err
    stacks = aws("cloudformation").describe_stacks()["Stacks"]
    assert [s["StackStatus"] for s in stacks if s["StackName"] == "api-cars"] in (
        [],
        ["DELETE_COMPLETE"],
    )


def test_deploy_without_a_terminal_or_yes_refuses_to_guess(moto_template: Path, push_image) -> None:
    push_image("v1.0.0")
    err = io.StringIO()
    runtime = Runtime(poll_seconds=0, stdin_is_tty=lambda: False, stdout=io.StringIO(), stderr=err)
    code = main(
        [
            "deploy",
            *DEMO_SERVICE,
            "--template-file",
            str(moto_template),
            "--image-tag",
            "v1.0.0",
        ],
        runtime,
    )
    assert code == 2
    assert "no terminal to ask: pass --yes" in err.getvalue()


def test_deploy_of_an_unchanged_stack_says_so_and_exits_zero(deployed: Path, cli, aws) -> None:
    result = cli("deploy", *DEMO_SERVICE, "--template-file", str(deployed), "--yes")
    assert result.code == 0, result.err
    assert "No changes" in result.out
    assert _change_sets(aws) == [] or all(
        cs["ExecutionStatus"] == "EXECUTE_COMPLETE" for cs in _change_sets(aws)
    )


def test_deploy_refuses_an_image_tag_missing_from_ecr_before_creating_anything(
    moto_template: Path, cli, aws, push_image
) -> None:
    push_image("v1.0.0")
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(moto_template),
        "--image-tag",
        "v9.9.9",
        "--yes",
    )
    assert result.code == 2
    assert "image api-cars:v9.9.9 is not in ECR" in result.err
    assert aws("cloudformation").describe_stacks()["Stacks"] == []


def test_deploy_of_a_new_stack_needs_an_image_tag(moto_template: Path, cli) -> None:
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(moto_template),
        "--yes",
    )
    assert result.code == 2
    assert "needs ImageTag (--image-tag)" in result.err


def test_deploy_refuses_a_parameter_the_template_does_not_have(moto_template: Path, cli) -> None:
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(moto_template),
        "--param",
        "Colour=red",
    )
    assert result.code == 2
    assert "unknown parameter Colour" in result.err
    assert result.err.count("\n") == 1


def test_deploy_refuses_a_stack_that_is_busy(
    busy_stack: str, cli, push_image, real_template_path
) -> None:
    push_image("v1.0.0")
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--stack-name",
        busy_stack,
        "--template-file",
        str(real_template_path),
        "--image-tag",
        "v1.0.0",
        "--yes",
    )
    assert result.code == 2
    assert "is busy: a create is running (CREATE_IN_PROGRESS" in result.err


# --- release and rollback ----------------------------------------------------------------------
def test_release_refuses_an_image_missing_from_ecr_before_any_change_set(
    deployed: Path, cli, aws
) -> None:
    result = cli("release", "v2.0.0", "--template-file", str(deployed), "--yes")
    assert result.code == 2
    assert "image api-cars:v2.0.0 is not in ECR in eu-west-1" in result.err
    assert all(cs["ExecutionStatus"] == "EXECUTE_COMPLETE" for cs in _change_sets(aws))


def test_release_refuses_a_bad_version_string_in_one_line(deployed: Path, cli) -> None:
    result = cli("release", "latest", "--template-file", str(deployed), "--yes")
    assert result.code == 2
    assert result.err == (
        "cars-stack release: bad ImageTag 'latest': "
        "must be a release tag such as v1.2.3 (not latest)\n"
    )


def test_release_changes_only_the_image_tag_with_every_other_parameter_kept(
    deployed: Path, cli, push_image, aws
) -> None:
    push_image("v2.0.0")
    before = {p["ParameterKey"]: p["ParameterValue"] for p in _stack(aws)["Parameters"]}
    result = cli("release", "v2.0.0", "--template-file", str(deployed), "--yes")
    assert result.code == 0, result.err
    after = {p["ParameterKey"]: p["ParameterValue"] for p in _stack(aws)["Parameters"]}
    assert after == {**before, IMAGE_TAG: "v2.0.0"}


def test_release_of_the_live_version_changes_nothing(deployed: Path, cli) -> None:
    result = cli("release", "v1.0.0", "--template-file", str(deployed), "--output", "json")
    assert result.code == 0, result.err
    assert result.json()["changed"] is False


def test_release_no_execute_leaves_a_named_change_set_and_a_markdown_review(
    deployed: Path, tmp_path: Path, cli, push_image, aws
) -> None:
    push_image("v2.0.0")
    summary = tmp_path / "review.md"
    result = cli(
        "release",
        "v2.0.0",
        "--template-file",
        str(deployed),
        "--no-execute",
        "--summary-file",
        str(summary),
        "--output",
        "json",
    )
    assert result.code == 0, result.err
    name = result.json()["change_set_name"]
    pending = [cs for cs in _change_sets(aws) if cs["ChangeSetName"] == name]
    assert pending and pending[0]["ExecutionStatus"] == "AVAILABLE"
    assert "| ImageTag | `v2.0.0` |" in summary.read_text()
    assert f"cars-stack execute {name}" in summary.read_text()


def test_release_no_execute_hands_the_change_set_name_to_github_actions(
    deployed: Path, tmp_path: Path, cli, push_image, monkeypatch
) -> None:
    push_image("v2.0.0")
    github_output = tmp_path / "github-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    result = cli("release", "v2.0.0", "--template-file", str(deployed), "--no-execute")
    assert result.code == 0, result.err
    name = result.out.split("Change set left for review: ")[1].split()[0]
    assert github_output.read_text() == f"change_set_name={name}\n"


def test_execute_runs_the_change_set_left_by_no_execute(
    deployed: Path, cli, push_image, aws
) -> None:
    push_image("v2.0.0")
    left = cli(
        "release", "v2.0.0", "--template-file", str(deployed), "--no-execute", "--output", "json"
    )
    name = left.json()["change_set_name"]
    result = cli("execute", name, "--yes")
    assert result.code == 0, result.err
    params = {p["ParameterKey"]: p["ParameterValue"] for p in _stack(aws)["Parameters"]}
    assert params[IMAGE_TAG] == "v2.0.0"


def test_execute_refuses_a_change_set_for_another_version(deployed: Path, cli, push_image) -> None:
    push_image("v2.0.0")
    left = cli(
        "release", "v2.0.0", "--template-file", str(deployed), "--no-execute", "--output", "json"
    )
    name = left.json()["change_set_name"]
    result = cli("execute", name, "--expect-version", "v3.0.0", "--yes")
    assert result.code == 2
    assert "sets ImageTag=v2.0.0, not v3.0.0" in result.err


def _register_revision(aws, family: str, tag: str) -> None:
    aws("ecs").register_task_definition(
        family=family,
        containerDefinitions=[
            {
                "name": "api-cars-container",
                "memory": 512,
                "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/api-cars:{tag}",
                "environment": [{"name": "APP_VERSION", "value": tag}],
            }
        ],
    )


def _family(aws) -> str:
    resources = aws("cloudformation").list_stack_resources(StackName="api-cars")
    arn = next(
        r for r in resources["StackResourceSummaries"] if r["LogicalResourceId"] == "TaskDefinition"
    )
    return arn["PhysicalResourceId"].rsplit("/", 1)[-1].rsplit(":", 1)[0]


def test_rollback_goes_to_the_tag_the_task_definition_family_ran_before(
    deployed: Path, cli, push_image, aws
) -> None:
    push_image("v1.1.0")
    # What CloudFormation leaves in ECS after releasing v1.1.0 and then v1.0.0 again is not
    # produced by moto (it does not re-register a task definition); register those revisions.
    _register_revision(aws, _family(aws), "v1.1.0")
    _register_revision(aws, _family(aws), "v1.0.0")
    result = cli("rollback", "--template-file", str(deployed), "--no-execute", "--output", "json")
    assert result.code == 0, result.err
    assert result.json()["version"] == "v1.1.0"
    assert result.json()["change_set"]["parameters"][IMAGE_TAG] == "v1.1.0"


def test_rollback_with_no_earlier_tag_recorded_refuses(deployed: Path, cli) -> None:
    result = cli("rollback", "--template-file", str(deployed), "--yes")
    assert result.code == 2
    assert "no tag before v1.0.0" in result.err


# --- status ------------------------------------------------------------------------------------
def test_status_reports_the_live_tag_the_tasks_and_the_releases(deployed: Path, cli, aws) -> None:
    _register_revision(aws, _family(aws), "v1.1.0")
    result = cli("status", "--output", "json")
    assert result.code == 0, result.err
    status = result.json()
    assert status["stack_status"] == "CREATE_COMPLETE"
    assert status["image_tag"] == "v1.0.0"
    assert status["service"]["service"] == SERVICE_NAME
    assert {"running", "desired", "rollout_state"} <= set(status["service"])
    assert [r["image_tag"] for r in status["releases"]] == ["v1.1.0", "v1.0.0"]


def test_status_as_text_reads_as_a_table(deployed: Path, cli) -> None:
    result = cli("status")
    assert result.code == 0, result.err
    assert "Image tag    v1.0.0" in result.out
    assert "desired" in result.out


def test_status_of_a_missing_stack_is_one_line(aws_env: str, cli) -> None:
    result = cli("status", "--stack-name", "nope")
    assert result.code == 2
    assert (
        result.err
        == "cars-stack status: no stack named nope in eu-west-1: create it with cars-stack deploy\n"
    )


# --- destroy -----------------------------------------------------------------------------------
def test_destroy_deletes_after_the_stack_name_is_typed_and_says_what_stays(
    deployed: Path, cli, aws
) -> None:
    result = cli("destroy", answers=("api-cars",))
    assert result.code == 0, result.err
    assert "Stack api-cars deleted." in result.out
    assert "ECR repository api-cars and its images" in result.out
    assert (
        aws("cloudformation").describe_stacks()["Stacks"] == []
        or _stack(aws)["StackStatus"] == "DELETE_COMPLETE"
    )
    assert aws("ecr").describe_images(repositoryName="api-cars")["imageDetails"]


def test_destroy_names_the_resources_the_template_retains(
    moto_template: Path, cli, push_image
) -> None:
    # The command reads DeletionPolicy from the stack's own template; give one resource Retain.
    document = json.loads(moto_template.read_text())
    document["Resources"]["LogGroup"]["DeletionPolicy"] = "Retain"
    moto_template.write_text(json.dumps(document))
    push_image("v1.0.0")
    assert (
        cli(
            "deploy",
            *DEMO_SERVICE,
            "--template-file",
            str(moto_template),
            "--image-tag",
            "v1.0.0",
            "--yes",
        ).code
        == 0
    )
    result = cli("destroy", "--yes")
    assert result.code == 0, result.err
    assert "AWS::Logs::LogGroup /ecs/api-cars (DeletionPolicy Retain)" in result.out


def test_destroy_with_a_mistyped_name_deletes_nothing(deployed: Path, cli, aws) -> None:
    result = cli("destroy", answers=("api",))
    assert result.code == 130
    assert _stack(aws)["StackStatus"] == "CREATE_COMPLETE"


def test_destroy_of_a_missing_stack_has_nothing_to_do(aws_env: str, cli) -> None:
    result = cli("destroy", "--yes")
    assert result.code == 0
    assert "nothing to destroy" in result.out


# --- credentials and the endpoint --------------------------------------------------------------
def test_no_credentials_is_one_line(no_credentials: None, cli) -> None:
    result = cli("status")
    assert result.code == 2
    assert result.err.startswith("cars-stack status: no AWS credentials found")
    assert result.err.count("\n") == 1


def test_aws_endpoint_url_is_honoured(deployed: Path, monkeypatch, cli) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = cli("status")
    assert result.code == 2
    assert "cannot reach http://127.0.0.1:9" in result.err


def test_no_region_is_one_line(cli, monkeypatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    result = cli("status")
    assert result.code == 2
    assert result.err == "cars-stack status: no AWS region: pass --region or set AWS_REGION\n"


def test_an_unknown_profile_is_one_line(cli) -> None:
    result = cli("status", "--profile", "nope")
    assert result.code == 2
    assert result.err == (
        "cars-stack status: AWS profile 'nope' is not configured (aws configure --profile nope)\n"
    )
