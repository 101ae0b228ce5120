"""cars-stack hands the permissions boundary to every stack that takes it: deployed with the GitHub
OIDC stack's CloudFormation role (--cfn-role-arn), the stacks' roles get that stack's boundary,
which the role requires for every role it creates (templates/github-oidc.yaml)."""

from __future__ import annotations

import pytest

from template_builder.names import PERMISSIONS_BOUNDARY_ARN
from tests.stack.demo import DEMO_SERVICE

ROLE = "arn:aws:iam::123456789012:role/api-cars-github-CloudFormationRole-AbC123"
DERIVED = "arn:aws:iam::123456789012:policy/api-cars-permissions-boundary"
OTHER = "arn:aws:iam::123456789012:policy/boundaries/platform"
pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)


def _network_change_set(aws) -> dict:
    cfn = aws("cloudformation")
    (summary,) = cfn.list_change_sets(StackName="api-cars-network")["Summaries"]
    return cfn.describe_change_set(ChangeSetName=summary["ChangeSetId"])


def _parameters(change_set: dict) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in change_set["Parameters"]}


def _plan_network(cli, *extra: str):
    return cli("deploy", "--only", "network", "--no-execute", "--yes", *extra)


def test_with_the_cloudformation_role_the_stack_gets_that_accounts_boundary(cli, aws) -> None:
    result = _plan_network(cli, "--cfn-role-arn", ROLE)
    assert result.code == 0, result.err
    assert _parameters(_network_change_set(aws))[PERMISSIONS_BOUNDARY_ARN] == DERIVED


def test_the_boundary_follows_the_stack_name(cli, aws) -> None:
    role = "arn:aws-cn:iam::210987654321:role/shop-github-CloudFormationRole-AbC123"
    result = cli(
        "deploy", "--only", "network", "--stack-name", "shop", "--no-execute", "--yes",
        "--cfn-role-arn", role,
    )  # fmt: skip
    assert result.code == 0, result.err
    cfn = aws("cloudformation")
    (summary,) = cfn.list_change_sets(StackName="shop-network")["Summaries"]
    change_set = cfn.describe_change_set(ChangeSetName=summary["ChangeSetId"])
    assert _parameters(change_set)[PERMISSIONS_BOUNDARY_ARN] == (
        "arn:aws-cn:iam::210987654321:policy/shop-permissions-boundary"
    )


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (("--permissions-boundary-arn", OTHER), OTHER),
        (("--network-param", f"{PERMISSIONS_BOUNDARY_ARN}={OTHER}"), OTHER),
        (("--permissions-boundary-arn", ""), ""),
    ],
)
def test_a_boundary_given_outright_wins(cli, aws, extra, expected) -> None:
    result = _plan_network(cli, "--cfn-role-arn", ROLE, *extra)
    assert result.code == 0, result.err
    assert _parameters(_network_change_set(aws))[PERMISSIONS_BOUNDARY_ARN] == expected


def test_without_the_role_no_boundary_is_set(cli, aws) -> None:
    result = _plan_network(cli)
    assert result.code == 0, result.err
    assert _parameters(_network_change_set(aws)).get(PERMISSIONS_BOUNDARY_ARN, "") == ""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ("--permissions-boundary-arn", "api-cars-permissions-boundary"),
            "cars-stack deploy: --permissions-boundary-arn 'api-cars-permissions-boundary' is "
            "not an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>), nor empty "
            "for none\n",
        ),
        (
            ("--cfn-role-arn", "api-cars-github-CloudFormationRole"),
            "cars-stack deploy: --cfn-role-arn 'api-cars-github-CloudFormationRole' is not an "
            "IAM role ARN (arn:aws:iam::<account>:role/<name>)\n",
        ),
    ],
)
def test_a_bad_boundary_or_role_is_one_line_before_anything_changes(
    cli, aws, extra, message
) -> None:
    result = _plan_network(cli, *extra)
    assert result.code == 2
    assert result.err == message
    assert aws("cloudformation").list_stacks()["StackSummaries"] == []


def test_the_service_roles_are_created_with_the_boundary(
    cli, aws, bounded_moto_template, push_image
):
    """moto's CloudFormation creates the roles through its IAM, PermissionsBoundary included."""
    push_image("v1.0.0")
    result = cli(
        "deploy", *DEMO_SERVICE, "--template-file", str(bounded_moto_template),
        "--image-tag", "v1.0.0",
        "--yes", "--cfn-role-arn", ROLE,
    )  # fmt: skip
    assert result.code == 0, result.err
    resources = aws("cloudformation").describe_stack_resources(StackName="api-cars")
    role_names = [
        r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r.get("ResourceType") == "AWS::IAM::Role"
    ]
    assert len(role_names) == 2  # the execution and the task role
    for name in role_names:
        role = aws("iam").get_role(RoleName=name)["Role"]
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == DERIVED, name
