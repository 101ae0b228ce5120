"""release and rollback change the image of an api-cars service stack and of nothing else: the
registry stack, the data stack, any stack without the service's ImageTag and RepositoryName
parameters is refused before a change set exists (against moto's server), and the ECR check is never
skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from template_builder.names import DEFAULT_DATA_STACK_NAME, REGISTRY_TEMPLATE_FILE
from tests.stack.demo import DEMO_SERVICE
from tests.stack.test_stubbed_rollouts import stack

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)


def _registry_stack(aws) -> str:
    body = (REPO_ROOT / REGISTRY_TEMPLATE_FILE).read_text(encoding="utf-8")
    aws("cloudformation").create_stack(StackName="api-cars-registry", TemplateBody=body)
    return "api-cars-registry"


def _data_stack(aws) -> str:
    """A stand-in of the data stack under its name: parameters of its own, no image."""
    body = {
        "Parameters": {"ReaderCount": {"Type": "Number", "Default": 1}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"WriterEndpoint": {"Value": "db.example.internal"}},
    }
    aws("cloudformation").create_stack(
        StackName=DEFAULT_DATA_STACK_NAME, TemplateBody=json.dumps(body)
    )
    return DEFAULT_DATA_STACK_NAME


def _change_sets(aws, stack: str) -> list[dict]:
    return aws("cloudformation").list_change_sets(StackName=stack)["Summaries"]


@pytest.mark.parametrize("command", ["release", "rollback"])
def test_the_registry_stack_is_refused_before_any_change_set(
    cli, aws, push_image, real_template_path, command
) -> None:
    stack = _registry_stack(aws)  # creates the repository the image is pushed to
    push_image("v1.2.0")
    result = cli(
        command,
        "v1.2.0",
        "--stack-name",
        stack,
        "--template-file",
        str(real_template_path),
        "--yes",
    )
    assert result.code == 2
    assert result.err == (
        f"cars-stack {command}: stack api-cars-registry is not an api-cars service stack "
        "(it has no parameter ImageTag): refusing to change its image (nothing was changed)\n"
    )
    assert _change_sets(aws, stack) == []


def test_the_data_stack_is_refused_before_any_change_set(
    cli, aws, push_image, real_template_path
) -> None:
    push_image("v1.2.0")
    stack = _data_stack(aws)
    result = cli(
        "release", "v1.2.0", "--stack-name", stack, "--template-file", str(real_template_path)
    )
    assert result.code == 2
    assert "stack api-cars-data is not an api-cars service stack" in result.err
    assert "(it has no parameter ImageTag or RepositoryName)" in result.err
    assert _change_sets(aws, stack) == []


def test_a_stack_without_repository_name_is_refused_not_released_unchecked(
    cli, stubbed, real_template_path
) -> None:
    described = stack("UPDATE_COMPLETE")
    described["Stacks"][0]["Parameters"] = [
        p for p in described["Stacks"][0]["Parameters"] if p["ParameterKey"] != "RepositoryName"
    ]
    stubbed.cfn_stub.add_response("describe_stacks", described)
    result = cli(
        "release",
        "v1.3.0",
        "--template-file",
        str(real_template_path),
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 2
    assert "(it has no parameter RepositoryName)" in result.err
    stubbed.done()  # no DescribeImages skipped past, no CreateChangeSet


def test_an_ecr_answer_that_lists_no_image_is_not_taken_for_the_image(
    cli, stubbed, real_template_path
) -> None:
    stubbed.cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    stubbed.ecr_stub.add_response("describe_images", {"imageDetails": []})
    result = cli(
        "release",
        "v1.3.0",
        "--template-file",
        str(real_template_path),
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 2
    assert "did not list api-cars:v1.3.0" in result.err
    stubbed.done()


def test_the_service_stack_is_still_released(deployed: Path, cli, push_image, aws) -> None:
    push_image("v2.0.0")
    result = cli("release", "v2.0.0", "--template-file", str(deployed), "--yes")
    assert result.code == 0, result.err


def test_deploy_of_the_service_template_over_the_registry_stack_is_refused(
    cli, aws, moto_template: Path
) -> None:
    stack = _registry_stack(aws)
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--stack-name",
        stack,
        "--template-file",
        str(moto_template),
        "--image-tag",
        "v1.2.0",
        "--yes",
    )
    assert result.code == 2
    assert "stack api-cars-registry is not an api-cars service stack" in result.err
    assert _change_sets(aws, stack) == []
    assert aws("ecr").describe_repositories()["repositories"]
