"""Least privilege: "*" only for actions AWS cannot scope, each role only what its user does, and
the GitHub roles split so that only the reviewed production environment can execute a change."""

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from template_builder import names

# Actions AWS documents as having no resource-level permissions (or a registry-wide token), the
# only ones any policy here may grant on "*".
MAY_USE_ANY_RESOURCE = {
    "ecr:GetAuthorizationToken",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeInstances",
    "ecs:ListTasks",
    "ecs:ListTaskDefinitions",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeCapacityReservation",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData",
    "logs:DescribeLogGroups",
    "logs:DescribeIndexPolicies",
    "logs:DescribeResourcePolicies",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScheduledActions",
    "application-autoscaling:TagResource",
    "application-autoscaling:UntagResource",
    "application-autoscaling:ListTagsForResource",
}

# Permissions CloudFormation's resource handlers list for features this stack does not use.
UNUSED_FEATURES = {
    "kms:": "no customer-managed KMS keys",
    "s3:": "Lambda code is inline (ZipFile), no log delivery to S3",
    "s3files:": "no file systems on functions",
    "elasticfilesystem:": "no file systems on functions",
    "firehose:": "no log delivery to Firehose",
    "cognito-idp:": "no Cognito authentication on listeners",
    "ec2:DescribeIpamPools": "no IPAM pools on the load balancer",
    "elasticloadbalancing:ModifyCapacityReservation": "no reserved load-balancer capacity",
    "elasticloadbalancing:ModifyIpPools": "no IPAM pools on the load balancer",
    "ecs:PutAccountSetting": "account settings are not part of the stack",
    "application-autoscaling:PutScheduledAction": "no scheduled scaling",
    "application-autoscaling:DeleteScheduledAction": "no scheduled scaling",
    "lambda:PutProvisionedConcurrencyConfig": "no provisioned concurrency",
    "lambda:GetProvisionedConcurrencyConfig": "no provisioned concurrency",
    "lambda:DeleteProvisionedConcurrencyConfig": "no provisioned concurrency",
    "lambda:PutFunctionConcurrency": "no reserved concurrency",
    "lambda:DeleteFunctionConcurrency": "no reserved concurrency",
    "lambda:PutFunctionCodeSigningConfig": "no code signing",
    "lambda:DeleteFunctionCodeSigningConfig": "no code signing",
    "lambda:GetCodeSigningConfig": "no code signing",
    "lambda:GetLayerVersion": "no layers",
    "lambda:PutRuntimeManagementConfig": "runtime updates left automatic",
    "lambda:PutFunctionRecursionConfig": "recursion detection left at its default",
    "lambda:PutFunctionScalingConfig": "no capacity providers",
    "lambda:PassCapacityProvider": "no capacity providers",
    "lambda:AssociateRuntimeAlias": "no runtime aliases",
    "lambda:PublishVersion": "no published versions",
    "logs:PutDataProtectionPolicy": "no data-protection policy",
    "logs:DeleteDataProtectionPolicy": "no data-protection policy",
    "logs:PutIndexPolicy": "no field indexes",
    "logs:DeleteIndexPolicy": "no field indexes",
    "logs:PutResourcePolicy": "no log-group resource policy",
    "logs:DeleteResourcePolicy": "no log-group resource policy",
    "logs:CreateLogDelivery": "no log delivery",
    "logs:AssociateKmsKey": "no customer-managed KMS keys",
    "logs:DisassociateKmsKey": "no customer-managed KMS keys",
    "logs:PutBearerTokenAuthentication": "no bearer-token ingestion",
    "logs:PutLogGroupDeletionProtection": "no deletion protection on log groups",
    "iam:AttachRolePolicy": "roles carry inline policies only",
    "iam:DetachRolePolicy": "roles carry inline policies only",
    "iam:PutRolePermissionsBoundary": "no permissions boundaries",
    "iam:DeleteRolePermissionsBoundary": "no permissions boundaries",
}


def statements(resource: dict) -> list[dict]:
    found = []
    for policy in resource["Properties"].get("Policies", []):
        found.extend(policy["PolicyDocument"]["Statement"])
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def all_statements(render) -> list[tuple[str, dict]]:
    resolved = [
        render.resolve(
            DatabaseUrlSecretArn=render.database_secret, RedisUrlSecretArn=render.redis_parameter
        ),
        render.resolve(render.registry()),
        render.resolve(render.oidc(), GitHubOrg="octo", GitHubRepo="api-cars"),
    ]
    return [
        (logical_id, statement)
        for template in resolved
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        for statement in statements(resource)
    ]


@pytest.fixture(scope="module")
def oidc(render) -> dict:
    return render.resolve(render.oidc(), GitHubOrg="octo", GitHubRepo="api-cars")["Resources"]


def actions_of(role: dict) -> set[str]:
    return {action for s in statements(role) for action in as_list(s["Action"])}


def test_only_actions_aws_cannot_scope_are_granted_on_any_resource(render):
    for logical_id, statement in all_statements(render):
        if "*" in as_list(statement["Resource"]):
            unscoped = set(as_list(statement["Action"])) - MAY_USE_ANY_RESOURCE
            assert not unscoped, (logical_id, unscoped)


def test_no_policy_grants_a_wildcard_action(render):
    for logical_id, statement in all_statements(render):
        for action in as_list(statement["Action"]):
            assert "*" not in action, (logical_id, action)


def test_the_execution_role_pulls_only_from_the_one_repository(render, default_stack):
    role = default_stack["Resources"][names.EXECUTION_ROLE]
    pulls = [s for s in statements(role) if "ecr:BatchGetImage" in s["Action"]]
    assert [s["Resource"] for s in pulls] == [
        [f"arn:aws:ecr:{render.region}:{render.account_id}:repository/api-cars"]
    ]


def test_the_execution_role_writes_only_to_the_api_log_group(default_stack):
    role = default_stack["Resources"][names.EXECUTION_ROLE]
    writes = [s for s in statements(role) if "logs:PutLogEvents" in s["Action"]]
    assert [s["Resource"] for s in writes] == [[f"{names.LOG_GROUP}.Arn"]]


def test_the_task_role_grants_the_api_nothing(default_stack):
    assert statements(default_stack["Resources"][names.TASK_ROLE]) == []


def test_the_vpc_lookup_may_only_describe_the_network_and_write_its_logs(default_stack):
    role = default_stack["Resources"][names.VPC_LOOKUP_ROLE]
    assert actions_of(role) == {
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeRouteTables",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def test_the_image_check_may_only_read_the_one_repository(render, default_stack):
    role = default_stack["Resources"][names.IMAGE_CHECK_ROLE]
    ecr = [s for s in statements(role) if s["Action"][0].startswith("ecr:")]
    assert [(sorted(s["Action"]), s["Resource"]) for s in ecr] == [
        (
            ["ecr:DescribeImages", "ecr:DescribeRepositories"],
            [f"arn:aws:ecr:{render.region}:{render.account_id}:repository/api-cars"],
        )
    ]


def test_the_image_check_may_describe_its_own_stack_only(render, default_stack):
    """To know that the stack rolls back, so that its answer never blocks the rollback."""
    role = default_stack["Resources"][names.IMAGE_CHECK_ROLE]
    stack = [s for s in statements(role) if s["Action"][0].startswith("cloudformation:")]
    own_id = (
        f"arn:aws:cloudformation:{render.region}:{render.account_id}:stack/"
        f"{names.DEFAULT_STACK_NAME}/{render.stack_uuid}"
    )
    assert [(s["Action"], s["Resource"]) for s in stack] == [
        (["cloudformation:DescribeStacks"], [own_id])
    ]


def _trust(role: dict) -> dict:
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statement


def test_the_deploy_role_trusts_only_the_production_environment(oidc):
    trust = _trust(oidc[names.DEPLOY_ROLE])
    assert trust["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert trust["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": ["repo:octo/api-cars:environment:production"]
    }
    assert trust["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
    }


def test_the_publish_role_trusts_release_tags_and_main(oidc):
    trust = _trust(oidc[names.PUBLISH_ROLE])
    assert trust["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": [
            "repo:octo/api-cars:ref:refs/tags/v*",
            "repo:octo/api-cars:ref:refs/heads/main",
        ]
    }


def test_only_the_deploy_role_executes_change_sets(oidc):
    assert "cloudformation:ExecuteChangeSet" in actions_of(oidc[names.DEPLOY_ROLE])
    assert "cloudformation:ExecuteChangeSet" not in actions_of(oidc[names.PUBLISH_ROLE])
    assert "cloudformation:CreateChangeSet" not in actions_of(oidc[names.DEPLOY_ROLE])
    assert not {a for a in actions_of(oidc[names.DEPLOY_ROLE]) if a.startswith("ecr:")}


def test_change_sets_are_allowed_on_the_one_stack_only(render, oidc):
    stack = f"arn:aws:cloudformation:{render.region}:{render.account_id}:stack/api-cars/*"
    for role in (names.PUBLISH_ROLE, names.DEPLOY_ROLE):
        for statement in statements(oidc[role]):
            if any(a.startswith("cloudformation:") for a in statement["Action"]):
                assert statement["Resource"] == [stack], role


def test_the_publish_role_pushes_to_the_one_repository(render, oidc):
    pushes = [s for s in statements(oidc[names.PUBLISH_ROLE]) if "ecr:PutImage" in s["Action"]]
    assert [s["Resource"] for s in pushes] == [
        [f"arn:aws:ecr:{render.region}:{render.account_id}:repository/api-cars"]
    ]


def test_the_github_roles_may_pass_only_the_cloudformation_role_to_cloudformation(oidc):
    for role in (names.PUBLISH_ROLE, names.DEPLOY_ROLE):
        passes = [s for s in statements(oidc[role]) if "iam:PassRole" in s["Action"]]
        assert [(s["Resource"], s["Condition"]) for s in passes] == [
            (
                [f"{names.CLOUDFORMATION_ROLE}.Arn"],
                {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
            )
        ], role


def test_the_cloudformation_role_is_trusted_by_cloudformation_alone(oidc):
    trust = _trust(oidc[names.CLOUDFORMATION_ROLE])
    assert trust["Principal"] == {"Service": ["cloudformation.amazonaws.com"]}


def test_the_cloudformation_role_can_manage_every_resource_of_the_service_stack(render, oidc):
    """Everything CloudFormation's own handlers call for the service stack's resource types
    (their published create/read/update/delete permissions), save features the stack does not
    use, plus invoking the custom resources' functions."""
    granted = actions_of(oidc[names.CLOUDFORMATION_ROLE])
    types = {r["Type"] for r in render.service()["Resources"].values()}
    missing = {}
    for resource_type in sorted(t for t in types if not t.startswith("Custom::")):
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
        handlers = schema.get("handlers", {})
        needed = {
            permission
            for handler in ("create", "read", "update", "delete")
            for permission in handlers.get(handler, {}).get("permissions", [])
            if not any(permission.startswith(prefix) for prefix in UNUSED_FEATURES)
        }
        if needed - granted:
            missing[resource_type] = sorted(needed - granted)
    assert missing == {}
    assert "lambda:InvokeFunction" in granted


def test_without_creating_the_provider_the_roles_trust_the_existing_one(render):
    resources = render.resolve(
        render.oidc(), GitHubOrg="octo", GitHubRepo="api-cars", CreateOidcProvider="false"
    )["Resources"]
    assert names.OIDC_PROVIDER not in resources
    trust = _trust(resources[names.DEPLOY_ROLE])
    assert trust["Principal"] == {
        "Federated": f"arn:aws:iam::{render.account_id}:oidc-provider/"
        "token.actions.githubusercontent.com"
    }


def test_the_created_provider_is_github_with_the_sts_audience(oidc):
    provider = oidc[names.OIDC_PROVIDER]["Properties"]
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]
    assert _trust(oidc[names.DEPLOY_ROLE])["Principal"] == {"Federated": names.OIDC_PROVIDER}
