"""The load balancer's deletion protection and the guard rails status reports, on moto's server.

The first create runs unprotected (a failed create must be able to roll back), a second reviewed
change set turns the protection on, and destroy lifts it in a reviewed change set before the
delete: the same path as the data stack's Aurora cluster (cars_stack.deletion_protection).

moto's CloudFormation ignores LoadBalancerAttributes and has no update for an ELBv2 load balancer,
so what is checked here is the stack's parameter and the change sets; that the parameter drives
deletion_protection.enabled is tests/template/test_guard_rails.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from template_builder.names import (
    ACCESS_LOG_BUCKET_NAME,
    ACCESS_LOGS,
    LOAD_BALANCER_DELETION_PROTECTION,
    OUTPUT_SERVICE_URL,
    OUTPUT_TRANSPORT,
    PLAIN_HTTP,
)
from tests.stack.answers import no_such_stack

pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)
SERVICE_ALONE = ("--only", "service", "--param", "DataStackName=")


def _parameters(aws, name: str = "api-cars") -> dict[str, str]:
    stack = aws("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def _deploy(cli, template: Path, *extra: str, answers: tuple[str, ...] = ()):
    return cli(
        "deploy",
        *SERVICE_ALONE,
        "--template-file",
        str(template),
        "--image-tag",
        "v1.0.0",
        *extra,
        answers=answers,
    )


@pytest.fixture
def protected(moto_template: Path, cli, push_image) -> Path:
    """A service created with the default LoadBalancerDeletionProtection (true)."""
    push_image("v1.0.0")
    result = _deploy(cli, moto_template, "--yes")
    assert result.code == 0, result.err
    return moto_template


def test_the_first_create_is_unprotected_so_that_a_failed_create_can_roll_back(
    moto_template: Path, cli, push_image, aws
) -> None:
    push_image("v1.0.0")
    result = _deploy(cli, moto_template, "--no-execute", "--output", "json")
    assert result.code == 0, result.err
    name = result.json()["change_set_name"]
    created = aws("cloudformation").describe_change_set(StackName="api-cars", ChangeSetName=name)
    values = {p["ParameterKey"]: p["ParameterValue"] for p in created["Parameters"]}
    assert values[LOAD_BALANCER_DELETION_PROTECTION] == "false"
    assert (
        "Once it is executed, run cars-stack deploy --only service again: it turns on the load "
        "balancer's deletion protection" in result.err + result.out
    )


def test_after_the_first_create_a_second_reviewed_change_set_turns_the_protection_on(
    moto_template: Path, cli, push_image, aws
) -> None:
    push_image("v1.0.0")
    result = _deploy(cli, moto_template, answers=("y", "y"))
    assert result.code == 0, result.err
    assert result.asked[0].startswith("Create stack api-cars: execute change set")
    assert result.asked[1].startswith(
        "Turn on deletion protection of the load balancer of api-cars: execute change set "
        "cars-stack-deletion-protection-"
    )
    assert _parameters(aws)[LOAD_BALANCER_DELETION_PROTECTION] == "true"


def test_declining_the_second_change_set_leaves_the_stack_unprotected_and_says_so(
    moto_template: Path, cli, push_image, aws
) -> None:
    push_image("v1.0.0")
    result = _deploy(cli, moto_template, answers=("y", "n"))
    assert result.code != 0
    assert (
        "the load balancer of api-cars has no deletion protection yet: cars-stack deploy --only "
        "service turns it on" in result.err
    )
    assert _parameters(aws)[LOAD_BALANCER_DELETION_PROTECTION] == "false"
    again = _deploy(cli, moto_template, "--yes")
    assert again.code == 0, again.err
    assert _parameters(aws)[LOAD_BALANCER_DELETION_PROTECTION] == "true"


def test_asked_for_it_off_no_second_change_set_is_made(
    moto_template: Path, cli, push_image, aws
) -> None:
    push_image("v1.0.0")
    result = _deploy(
        cli, moto_template, "--param", f"{LOAD_BALANCER_DELETION_PROTECTION}=false", answers=("y",)
    )
    assert result.code == 0, result.err
    assert len(result.asked) == 1
    assert _parameters(aws)[LOAD_BALANCER_DELETION_PROTECTION] == "false"


def test_destroy_lifts_the_protection_in_a_reviewed_change_set_then_deletes(
    protected: Path, cli, aws
) -> None:
    result = cli("destroy", answers=("api-cars", "y"))
    assert result.code == 0, result.err
    assert result.asked[1].startswith(
        "Lift deletion protection of the load balancer of api-cars to delete it: execute change "
        "set cars-stack-lift-deletion-protection-"
    )
    assert "Stack api-cars deleted." in result.out
    left = {
        s["StackName"]: s["StackStatus"] for s in aws("cloudformation").describe_stacks()["Stacks"]
    }
    assert left.get("api-cars", "DELETE_COMPLETE") == "DELETE_COMPLETE"


def test_declining_the_lift_deletes_nothing(protected: Path, cli, aws) -> None:
    result = cli("destroy", answers=("api-cars", "n"))
    assert result.code != 0
    assert _parameters(aws)[LOAD_BALANCER_DELETION_PROTECTION] == "true"
    assert "Stack api-cars deleted." not in result.out


def test_an_unprotected_stack_is_deleted_without_a_lift(deployed: Path, cli) -> None:
    result = cli("destroy", answers=("api-cars",))
    assert result.code == 0, result.err
    assert len(result.asked) == 1
    assert "Lift deletion protection" not in result.out


# --- status: moto gives this template's stack no outputs, so DescribeStacks is a Stubber answer ---
STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/api-cars/1c2fa620-982a-11e3-aff7"
URL = "http://api-cars-123.eu-west-1.elb.amazonaws.com"


def _described(parameters: dict[str, str], outputs: dict[str, str]) -> dict:
    return {
        "Stacks": [
            {
                "StackId": STACK_ID,
                "StackName": "api-cars",
                "CreationTime": datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
                "StackStatus": "UPDATE_COMPLETE",
                "Parameters": [
                    {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                ],
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def _status(cli, stubbed, parameters: dict[str, str], outputs: dict[str, str], *extra: str):
    cfn = stubbed.cfn_stub
    cfn.add_response("describe_stacks", _described(parameters, outputs), {"StackName": "api-cars"})
    cfn.add_response(
        "list_stack_resources", {"StackResourceSummaries": []}, {"StackName": "api-cars"}
    )
    no_such_stack(cfn, "api-cars-data")
    result = cli("status", *extra, clients=stubbed.clients)
    stubbed.done()
    return result


def test_status_says_plainly_that_traffic_is_unencrypted_and_what_guards_the_load_balancer(
    cli, stubbed
) -> None:
    result = _status(
        cli,
        stubbed,
        {LOAD_BALANCER_DELETION_PROTECTION: "true", ACCESS_LOGS: "true"},
        {OUTPUT_SERVICE_URL: URL, OUTPUT_TRANSPORT: PLAIN_HTTP},
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert f"Transport    {PLAIN_HTTP}" in lines
    assert "ALB          deletion protection on" in lines


def test_a_stack_from_before_the_transport_output_is_judged_by_its_url(cli, stubbed) -> None:
    result = _status(cli, stubbed, {}, {OUTPUT_SERVICE_URL: URL}, "--output", "json")
    assert result.code == 0, result.err
    assert result.json()["load_balancer"] == {
        "transport": PLAIN_HTTP,
        "access_logs": None,
        "deletion_protection": None,
    }


@pytest.mark.parametrize(
    ("parameters", "says"),
    [
        ({ACCESS_LOGS: "false"}, "OFF (AccessLogs=false)"),
        (
            {ACCESS_LOGS: "true", ACCESS_LOG_BUCKET_NAME: "company-alb-logs"},
            "s3://company-alb-logs/api-cars/",
        ),
    ],
)
def test_status_says_where_the_access_logs_go(cli, stubbed, parameters, says) -> None:
    https = "HTTPS (port 80 redirects)"
    result = _status(
        cli,
        stubbed,
        {**parameters, LOAD_BALANCER_DELETION_PROTECTION: "false"},
        {OUTPUT_SERVICE_URL: "https://cars.example.com", OUTPUT_TRANSPORT: https},
    )
    lines = result.out.splitlines()
    assert f"Access logs  {says}" in lines
    assert f"Transport    {https}" in lines
    assert "ALB          deletion protection OFF" in lines


# --- a stack that takes no change set ------------------------------------------------------------
LB_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/api-cars-LoadB-1A2B3C"
    "/50dc6c495c0c9188"
)


def test_destroy_of_a_stuck_protected_stack_is_refused_with_the_command_that_lifts_it(
    cli, stubbed
) -> None:
    cfn = stubbed.cfn_stub
    no_such_stack(cfn, "api-cars-data")
    stuck = _described({LOAD_BALANCER_DELETION_PROTECTION: "true"}, {})
    stuck["Stacks"][0]["StackStatus"] = "UPDATE_ROLLBACK_FAILED"
    cfn.add_response("describe_stacks", stuck, {"StackName": "api-cars"})
    cfn.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "LoadBalancer",
                    "PhysicalResourceId": LB_ARN,
                    "ResourceType": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                    "LastUpdatedTimestamp": datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
            ]
        },
        {"StackName": "api-cars"},
    )
    result = cli("destroy", "--yes", clients=stubbed.clients)
    assert result.code == 2
    assert result.err.splitlines() == [
        "cars-stack destroy: stack api-cars is UPDATE_ROLLBACK_FAILED, so no change set can lift "
        "its load balancer's deletion protection: nothing was changed",
        "  lift it by hand, then destroy again: aws elbv2 modify-load-balancer-attributes "
        f"--load-balancer-arn {LB_ARN} --attributes Key=deletion_protection.enabled,Value=false "
        "--region eu-west-1",
    ]
    stubbed.done()  # no DeleteStack
