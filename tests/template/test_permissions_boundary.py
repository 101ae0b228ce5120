"""An approved change set cannot escalate: every role the GitHub OIDC stack's CloudFormation role
creates carries the permissions boundary that stack owns, the role creates or widens no role
without it, and the boundary allows no more than the stacks' own roles need."""

import json
import re

import boto3
import pytest
from cfnlint.api import ManualArgs, lint
from moto import mock_aws

from template_builder import names

BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/api-cars-permissions-boundary"
# The IAM actions that take the iam:PermissionsBoundary condition key on roles (Service
# Authorization Reference, IAM) and could widen one.
WIDENING = {
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
}
REQUIRES_BOUNDARY = {
    "StringEquals": {"iam:PermissionsBoundary": {"Ref": names.PERMISSIONS_BOUNDARY}}
}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(role: dict) -> list[dict]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def roles(resolved: dict) -> dict[str, dict]:
    return {k: r for k, r in resolved["Resources"].items() if r["Type"] == "AWS::IAM::Role"}


def _stacks(render) -> dict[str, tuple[dict, str]]:
    """The stacks cars-stack deploys with the CloudFormation role, each with its stack name."""
    return {
        "service": (render.service(), names.DEFAULT_STACK_NAME),
        "network": (render.network(), names.DEFAULT_NETWORK_STACK_NAME),
        "data": (render.data(), names.DEFAULT_STACK_NAME + names.DATA_STACK_SUFFIX),
        "identity": (render.identity(), names.DEFAULT_STACK_NAME + names.IDENTITY_STACK_SUFFIX),
    }


@pytest.fixture(scope="module")
def cfn_role(render) -> list[dict]:
    role = render.oidc()["Resources"][names.CLOUDFORMATION_ROLE]
    return role_statements(role)


@pytest.fixture(scope="module")
def boundary(render) -> dict:
    return render.oidc()["Resources"][names.PERMISSIONS_BOUNDARY]


@pytest.mark.parametrize("stack", ["service", "network", "data", "identity"])
def test_every_stack_that_creates_roles_takes_the_boundary_parameter(render, stack):
    template, _ = _stacks(render)[stack]
    if roles(template):
        assert template["Parameters"][names.PERMISSIONS_BOUNDARY_ARN]["Default"] == ""


@pytest.mark.parametrize("stack", ["service", "network", "data", "identity"])
def test_with_the_boundary_set_every_role_carries_it(render, stack):
    template, name = _stacks(render)[stack]
    parameters = {names.PERMISSIONS_BOUNDARY_ARN: BOUNDARY_ARN}
    if stack in ("data", "identity"):
        assert roles(template) == {}  # nothing to bound, so no parameter either
        parameters = {}
    resolved = render.resolve(template, name, **parameters)
    for logical_id, role in roles(resolved).items():
        assert role["Properties"]["PermissionsBoundary"] == BOUNDARY_ARN, logical_id


@pytest.mark.parametrize("stack", ["service", "network"])
def test_without_the_boundary_no_role_carries_one(render, stack):
    """A hand deploy without the GitHub OIDC stack keeps working."""
    template, name = _stacks(render)[stack]
    resolved = render.resolve(template, name)
    assert roles(resolved)
    for logical_id, role in roles(resolved).items():
        assert "PermissionsBoundary" not in role["Properties"], logical_id


def test_the_registry_role_is_left_alone(render):
    """The registry is deployed by an administrator, not by the CloudFormation role."""
    role = render.registry()["Resources"][names.IMAGE_CHECK_ROLE]
    assert "PermissionsBoundary" not in role["Properties"]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        (BOUNDARY_ARN, True),
        ("arn:aws-us-gov:iam::123456789012:policy/boundaries/api-cars", True),
        ("arn:aws:iam::aws:policy/PowerUserAccess", True),
        ("arn:aws:iam::123456789012:role/api-cars", False),
        ("api-cars-permissions-boundary", False),
        ("arn:aws:iam::12345:policy/x", False),
    ],
)
def test_the_parameter_takes_managed_policy_arns_only(render, value, accepted):
    for template in (render.service(), render.network()):
        pattern = template["Parameters"][names.PERMISSIONS_BOUNDARY_ARN]["AllowedPattern"]
        assert (re.fullmatch(pattern, value) is not None) is accepted


def test_the_cloudformation_role_widens_roles_only_with_the_boundary(cfn_role):
    for statement in cfn_role:
        widening = set(as_list(statement["Action"])) & WIDENING
        if statement["Effect"] == "Allow" and widening:
            assert statement.get("Condition") == REQUIRES_BOUNDARY, widening
    allowed = {
        action
        for s in cfn_role
        if s["Effect"] == "Allow" and s.get("Condition") == REQUIRES_BOUNDARY
        for action in as_list(s["Action"])
    }
    assert {"iam:CreateRole", "iam:PutRolePolicy"} <= allowed


def test_the_cloudformation_role_is_denied_roles_without_the_boundary(cfn_role):
    """Explicit denies, so that no policy attached to the role later can lift them."""
    denied = {
        action: s.get("Condition")
        for s in cfn_role
        if s["Effect"] == "Deny" and s["Resource"] == ["*"]
        for action in as_list(s["Action"])
    }
    not_the_boundary = {
        "StringNotEquals": {"iam:PermissionsBoundary": {"Ref": names.PERMISSIONS_BOUNDARY}}
    }
    for action in WIDENING - {"iam:DeleteRolePermissionsBoundary"}:
        assert denied[action] == not_the_boundary, action
    assert denied["iam:DeleteRolePermissionsBoundary"] is None  # whatever the boundary


def test_the_cloudformation_role_may_not_rewrite_the_boundary(cfn_role):
    on_boundary = [s for s in cfn_role if s["Resource"] == [{"Ref": names.PERMISSIONS_BOUNDARY}]]
    assert [s["Effect"] for s in on_boundary] == ["Deny"]
    assert set(on_boundary[0]["Action"]) == {
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
    }


def test_the_boundary_is_the_policy_cars_stack_names(render):
    resolved = render.resolve(render.oidc(), GitHubOrg="octo", GitHubRepo="api-cars")
    policy = resolved["Resources"][names.PERMISSIONS_BOUNDARY]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["Properties"]["ManagedPolicyName"] == (
        names.PERMISSIONS_BOUNDARY_POLICY_NAME.format(stack="api-cars")
    )
    output = render.oidc()["Outputs"][names.OUTPUT_PERMISSIONS_BOUNDARY_ARN]
    assert output["Value"] == {"Ref": names.PERMISSIONS_BOUNDARY}


def test_the_boundary_denies_iam_organizations_and_assuming_roles(boundary):
    (deny,) = [
        s for s in boundary["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
    ]
    assert deny["Resource"] == ["*"] and "Condition" not in deny
    assert set(deny["Action"]) == {"iam:*", "organizations:*", "sts:AssumeRole"}


def _service_variants(render) -> list[dict]:
    secrets = {
        names.DATA_STACK_NAME: "",
        names.ACCESS_LOGS: "false",
        names.DATABASE_URL_SECRET_ARN: render.database_secret,
        names.REDIS_URL_SECRET_ARN: render.redis_parameter,
        names.SECRETS_KMS_KEY_ARN: (
            "arn:aws:kms:eu-west-1:123456789012:key/0b6d6f2e-1111-4a2b-9c3d-123456789abc"
        ),
    }
    return [render.resolve(), render.resolve(**secrets)]


def test_the_boundary_allows_every_action_the_stacks_roles_are_granted(render, boundary):
    """Else a role would lose what its own policy grants."""
    allowed = {
        action
        for s in boundary["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
        for action in s["Action"]
    }
    resolved = [*_service_variants(render), render.resolve(render.network(), "api-cars-network")]
    granted = {
        action
        for template in resolved
        for role in roles(template).values()
        for s in role_statements(role)
        for action in as_list(s["Action"])
    }
    assert granted and granted <= allowed, granted - allowed


# cloud-radar resolves a managed policy's Ref to its logical ID and a GetAtt to "Id.Arn"; AWS, to
# their ARNs.
AS_AWS_RESOLVES = {names.PERMISSIONS_BOUNDARY: BOUNDARY_ARN} | {
    f"{role}.Arn": f"arn:aws:iam::123456789012:role/api-cars-github-{role}-AbC123"
    for role in (names.CLOUDFORMATION_ROLE, names.PUBLISH_ROLE, names.DEPLOY_ROLE)
}
AS_AWS_RESOLVES[f"{names.LOG_GROUP}.Arn"] = (
    "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/api-cars:*"
)


def _with_arns(node):
    if isinstance(node, dict):
        return {key: _with_arns(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_arns(item) for item in node]
    return AS_AWS_RESOLVES.get(node, node) if isinstance(node, str) else node


def _resolved_oidc(render) -> dict:
    resolved = render.resolve(render.oidc(), GitHubOrg="octo", GitHubRepo="api-cars")
    return _with_arns(resolved["Resources"])


@mock_aws
def test_iam_accepts_the_boundary_and_a_role_created_within_it(render):
    """moto's IAM parses every document (IAM's own grammar checks) and creates the execution role
    with the boundary and its inline policies. (moto has no policy simulator:
    SimulatePrincipalPolicy is not implemented, so the conditions are checked above, as text.)"""
    iam = boto3.client("iam", region_name=render.region)
    oidc = _resolved_oidc(render)
    policy = oidc[names.PERMISSIONS_BOUNDARY]["Properties"]
    created = iam.create_policy(
        PolicyName=policy["ManagedPolicyName"],
        PolicyDocument=json.dumps(policy["PolicyDocument"]),
    )["Policy"]
    assert created["Arn"] == BOUNDARY_ARN
    for role in (names.CLOUDFORMATION_ROLE, names.PUBLISH_ROLE, names.DEPLOY_ROLE):
        for inline in oidc[role]["Properties"]["Policies"]:
            iam.create_policy(
                PolicyName=f"{role}-{inline['PolicyName']}",
                PolicyDocument=json.dumps(inline["PolicyDocument"]),
            )
    guard = oidc[names.RELEASE_ROLES_GUARD]["Properties"]
    iam.create_policy(
        PolicyName=guard["PolicyName"], PolicyDocument=json.dumps(guard["PolicyDocument"])
    )
    service = _with_arns(render.resolve(**{names.PERMISSIONS_BOUNDARY_ARN: BOUNDARY_ARN}))
    execution = service["Resources"][names.EXECUTION_ROLE]["Properties"]
    iam.create_role(
        RoleName="api-cars-ExecutionRole-AbC123",
        AssumeRolePolicyDocument=json.dumps(execution["AssumeRolePolicyDocument"]),
        PermissionsBoundary=execution["PermissionsBoundary"],
    )
    for inline in execution["Policies"]:
        iam.put_role_policy(
            RoleName="api-cars-ExecutionRole-AbC123",
            PolicyName=inline["PolicyName"],
            PolicyDocument=json.dumps(inline["PolicyDocument"]),
        )
    role = iam.get_role(RoleName="api-cars-ExecutionRole-AbC123")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY_ARN
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == sorted(
        inline["PolicyName"] for inline in execution["Policies"]
    )


def test_the_cloudformation_role_may_do_nothing_to_the_release_roles(render):
    """Their names match `${StackName}-*` when this stack is named like api-cars-github: no change
    set, not even one importing them, may rewrite whom they trust or what they may do."""
    resources = render.oidc()["Resources"]
    guard = resources[names.RELEASE_ROLES_GUARD]
    assert guard["Type"] == "AWS::IAM::Policy"
    assert guard["Properties"]["Roles"] == [{"Ref": names.CLOUDFORMATION_ROLE}]
    (statement,) = guard["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Action"] == ["iam:*"]
    assert statement["Resource"] == [
        {"Fn::GetAtt": [role, "Arn"]}
        for role in (names.CLOUDFORMATION_ROLE, names.PUBLISH_ROLE, names.DEPLOY_ROLE)
    ]


@pytest.mark.parametrize("stack", ["service", "network"])
def test_the_templates_with_the_boundary_set_pass_cfn_lint(render, stack):
    template, _ = _stacks(render)[stack]
    decided = render.variant(template, **{names.PERMISSIONS_BOUNDARY_ARN: BOUNDARY_ARN})
    config = ManualArgs(regions=[render.region], ignore_checks=["W2001"])  # decided: unused
    assert lint(json.dumps(decided), config=config) == []
