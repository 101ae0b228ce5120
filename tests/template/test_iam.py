"""Least privilege: "*" only for actions AWS cannot scope, each role only what its user does, and
the GitHub roles split so that only the reviewed production environment can execute a change."""

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from template_builder import names

# Actions AWS documents as having no resource-level permissions (or a registry-wide token), the
# only ones any policy here may grant on "*".
MAY_USE_ANY_RESOURCE = {
    "ecr:GetAuthorizationToken",
    # A mapping has no ARN before it exists (the grant is conditioned on the import function).
    "lambda:CreateEventSourceMapping",
    "cloudformation:ListExports",
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
    "cloudwatch:GetMetricStatistics",
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
    "application-autoscaling:PutScheduledAction",
    "application-autoscaling:DeleteScheduledAction",
    "application-autoscaling:GetPredictiveScalingForecast",
    "application-autoscaling:TagResource",
    "application-autoscaling:UntagResource",
    "application-autoscaling:ListTagsForResource",
    # The identity stack's handlers: a new pool has no ARN yet, a domain is read by its name.
    "cognito-idp:CreateUserPool",
    "cognito-idp:ListUserPools",
    "cognito-idp:DescribeUserPoolDomain",
    # The data stack's handlers (RDS Describe* and account reads, the password generator).
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBSubnetGroups",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBSnapshots",
    "rds:DescribeDBClusterAutomatedBackups",
    "rds:DescribeDBInstanceAutomatedBackups",
    "rds:DescribeDBEngineVersions",
    "rds:DescribeDBParameterGroups",
    "rds:DescribeGlobalClusters",
    "rds:DescribeEvents",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeVpcAttribute",
    "secretsmanager:GetRandomPassword",
    "elasticache:DescribeServerlessCaches",
    "elasticache:DescribeUsers",
    "elasticache:DescribeUserGroups",
    # The edge stacks: listener rules are read without resource-level permissions, a certificate
    # request has no ARN yet (the condition keeps it to us-east-1), cars-stack finds CloudFront's
    # prefix list by name.
    "elasticloadbalancing:DescribeRules",
    "acm:RequestCertificate",
    "ec2:DescribeManagedPrefixLists",
}
# The same for the data stack's resource types, features it does not use.
UNUSED_DATA_FEATURES = {
    "rds:AddRoleTo": "no IAM roles on the cluster or its instances",
    "rds:RemoveRoleFrom": "no IAM roles on the cluster or its instances",
    "rds:EnableHttpEndpoint": "no RDS Data API",
    "rds:DisableHttpEndpoint": "no RDS Data API",
    "rds:RemoveFromGlobalCluster": "no global database",
    "rds:Restore": "the stack never restores; docs/architecture.md restores by hand",
    "rds:CreateDBInstanceReadReplica": "Aurora readers are cluster instances, not replicas",
    "rds:PromoteReadReplica": "Aurora readers are cluster instances, not replicas",
    "rds:StartDBInstanceAutomatedBackupsReplication": "no cross-region backups",
    "rds:StopDBInstanceAutomatedBackupsReplication": "no cross-region backups",
    "iam:PassRole": "no monitoring role or cluster role is passed",
    "iam:GetRole": "no monitoring role",
    "iam:ListRoles": "no monitoring role",
    "secretsmanager:ReplicateSecretToRegions": "no replicated secrets",
    "secretsmanager:RemoveRegionsFromReplication": "no replicated secrets",
    "docdb-elastic:": "the attachment targets an RDS cluster",
    "redshift": "the attachment targets an RDS cluster",
    "elasticache:ModifyReplicationGroup": "no replication groups (serverless)",
    "ec2:CreateTags": "the cache's VPC endpoint is managed by ElastiCache",
    "s3tables:": "the access-log bucket is a general purpose bucket",
    "s3:GetObject": "Lambda code is inline (ZipFile)",
    "s3:REST.PUT.OBJECT": "no log-group delivery to S3",
    "s3:DeleteObject": "CloudFormation never empties the access-log bucket: it is kept",
    "s3:PutObjectAcl": "BucketOwnerEnforced: no ACLs",
    "s3:PutBucketAcl": "BucketOwnerEnforced: no ACLs",
    "s3:PutBucketAbac": "no attribute-based access control on the bucket",
    "s3:CreateBucketMetadataTableConfiguration": "no S3 Metadata tables",
    "s3:DeleteBucketMetadataTableConfiguration": "no S3 Metadata tables",
    "s3:UpdateBucketMetadata": "no S3 Metadata tables",
    "s3:PutAccelerateConfiguration": "no transfer acceleration",
    "s3:PutAnalyticsConfiguration": "no storage-class analysis",
    "s3:DeleteBucketAnalyticsConfiguration": "no storage-class analysis",
    "s3:PutBucketCORS": "no CORS: nothing reads the logs from a browser",
    "s3:DeleteBucketCors": "no CORS: nothing reads the logs from a browser",
    "s3:DeleteBucketEncryption": "SSE-S3 stays on",
    "s3:DeleteBucketLifecycle": "the expiry rule stays (IAM grants its removal by Put)",
    "s3:PutBucketLogging": "the log bucket does not log its own access",
    "s3:PutBucketNotification": "no event notifications",
    "s3:PutBucketObjectLockConfiguration": "no object lock",
    "s3:PutObjectLockConfiguration": "no object lock",
    "s3:PutBucketReplication": "no replication",
    "s3:PutReplicationConfiguration": "no replication",
    "s3:DeleteBucketReplication": "no replication",
    "s3:PutBucketVersioning": "no versioning (log files are written once, then expire)",
    "s3:PutBucketWebsite": "no website hosting",
    "s3:DeleteBucketWebsite": "no website hosting",
    "s3:PutIntelligentTieringConfiguration": "no Intelligent-Tiering archive configuration",
    "s3:PutInventoryConfiguration": "no inventory reports",
    "s3:PutMetricsConfiguration": "no request metrics",
    "s3:DeleteBucketMetricsConfiguration": "no request metrics",
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
    "iam:DeleteRolePermissionsBoundary": "denied: a role never loses its permissions boundary",
}


def statements(resource: dict) -> list[dict]:
    found = []
    for policy in resource["Properties"].get("Policies", []):
        found.extend(policy["PolicyDocument"]["Statement"])
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict]) -> list[dict]:
    return [s for s in statements if s["Effect"] == "Allow"]


def all_statements(render) -> list[tuple[str, dict]]:
    resolved = [
        render.resolve(
            DatabaseUrlSecretArn=render.database_secret, RedisUrlSecretArn=render.redis_parameter
        ),
        render.resolve(render.registry()),
        render.resolve(render.oidc(), GitHubOrg="octo", GitHubRepo="api-cars"),
        render.resolve(render.data()),
    ]
    return [
        (logical_id, statement)
        for template in resolved
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        for statement in allows(statements(resource))
    ]


@pytest.fixture(scope="module")
def oidc(render) -> dict:
    return render.resolve(render.oidc(), GitHubOrg="octo", GitHubRepo="api-cars")["Resources"]


def actions_of(role: dict) -> set[str]:
    return {action for s in allows(statements(role)) for action in as_list(s["Action"])}


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


def _image_check_statements(render, prefix: str, **parameters) -> list:
    resolved = render.resolve(render.registry(), "api-cars-registry", **parameters)
    role = resolved["Resources"][names.IMAGE_CHECK_ROLE]
    return [s for s in statements(role) if s["Action"][0].startswith(prefix)]


def test_the_image_check_may_only_read_the_registrys_repository(render):
    ecr = _image_check_statements(render, "ecr:")
    assert [(sorted(s["Action"]), s["Resource"]) for s in ecr] == [
        (["ecr:DescribeImages", "ecr:DescribeRepositories"], [f"{names.REPOSITORY}.Arn"])
    ]


@pytest.mark.parametrize("service", ["api-cars", "shop"])
def test_the_image_check_may_describe_only_stacks_named_like_the_service(render, service):
    """To know that the calling stack rolls back, so that its answer never blocks the rollback."""
    stack = _image_check_statements(render, "cloudformation:", ServiceStackName=service)
    prefix = f"arn:aws:cloudformation:{render.region}:{render.account_id}:stack/"
    assert [(s["Action"], s["Resource"]) for s in stack] == [
        (["cloudformation:DescribeStacks"], [f"{prefix}{service}/*", f"{prefix}{service}-*/*"])
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


def test_change_sets_are_allowed_on_the_service_and_the_stacks_it_uses_only(render, oidc):
    prefix = f"arn:aws:cloudformation:{render.region}:{render.account_id}:stack/"
    stacks = {
        f"{prefix}api-cars/*",
        f"{prefix}api-cars-data/*",
        f"{prefix}api-cars-network/*",
        f"{prefix}api-cars-identity/*",
        f"{prefix}api-cars-edge/*",
        # The edge-global stack: CloudFront's Region, whichever the service's.
        f"arn:aws:cloudformation:us-east-1:{render.account_id}:stack/api-cars-edge-global/*",
        f"{prefix}api-cars-import/*",
    }
    # The import stack's change sets run the AWS SAM transform, a macro of AWS's own account.
    transform = f"arn:aws:cloudformation:{render.region}:aws:transform/Serverless-2016-10-31"
    for role, expected in ((names.PUBLISH_ROLE, stacks | {transform}), (names.DEPLOY_ROLE, stacks)):
        found = set()
        for statement in statements(oidc[role]):
            actions = set(statement["Action"])
            if actions & {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"}:
                found.update(as_list(statement["Resource"]))
        assert found == expected, role


def test_the_transform_grant_is_create_change_set_alone(render, oidc):
    transform = f"arn:aws:cloudformation:{render.region}:aws:transform/Serverless-2016-10-31"
    granted = [
        s for s in statements(oidc[names.PUBLISH_ROLE]) if transform in as_list(s["Resource"])
    ]
    assert [as_list(s["Action"]) for s in granted] == [["cloudformation:CreateChangeSet"]]
    assert [as_list(s["Resource"]) for s in granted] == [[transform]]


def test_only_the_deploy_role_executes_data_stack_change_sets_and_protects_it(render, oidc):
    data = f"arn:aws:cloudformation:{render.region}:{render.account_id}:stack/api-cars-data/*"

    def on_data(role):
        return {
            a for s in statements(oidc[role]) if data in as_list(s["Resource"]) for a in s["Action"]
        }

    assert {
        "cloudformation:ExecuteChangeSet",
        "cloudformation:SetStackPolicy",
        "cloudformation:UpdateTerminationProtection",
    } <= on_data(names.DEPLOY_ROLE)
    assert "cloudformation:CreateChangeSet" in on_data(names.PUBLISH_ROLE)
    assert not {"cloudformation:ExecuteChangeSet", "cloudformation:SetStackPolicy"} & on_data(
        names.PUBLISH_ROLE
    )


def test_only_the_deploy_role_sets_the_data_stack_policy_and_termination_protection(render, oidc):
    protecting = {"cloudformation:SetStackPolicy", "cloudformation:UpdateTerminationProtection"}
    data_stack = f"arn:aws:cloudformation:{render.region}:{render.account_id}:stack/api-cars-data/*"
    granted = [
        s for s in statements(oidc[names.DEPLOY_ROLE]) if protecting & set(as_list(s["Action"]))
    ]
    assert [s["Resource"] for s in granted] == [[data_stack]]
    assert not protecting & actions_of(oidc[names.PUBLISH_ROLE])


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


CRUD_HANDLERS = ("create", "read", "update", "delete")


def missing_handler_permissions(
    granted: set[str], template: dict, unused, handlers_checked=CRUD_HANDLERS
) -> dict:
    """Per resource type of `template`, what CloudFormation's own handlers call (the published
    permissions of `handlers_checked`, None for all; prefixes in `unused` aside) that `granted`
    lacks."""
    types = {r["Type"] for r in template["Resources"].values()}
    missing = {}
    for resource_type in sorted(t for t in types if not t.startswith("Custom::")):
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
        handlers = schema.get("handlers", {})
        needed = {
            permission
            for handler in handlers_checked or handlers
            for permission in handlers.get(handler, {}).get("permissions", [])
            if not any(permission.startswith(prefix) for prefix in unused)
        }
        if needed - granted:
            missing[resource_type] = sorted(needed - granted)
    return missing


def test_the_cloudformation_role_can_manage_every_resource_of_the_service_stack(render, oidc):
    """Everything CloudFormation's own handlers call for the service stack's resource types,
    save features the stack does not use, plus invoking the custom resources' functions."""
    granted = actions_of(oidc[names.CLOUDFORMATION_ROLE])
    assert missing_handler_permissions(granted, render.service(), UNUSED_FEATURES) == {}
    assert "lambda:InvokeFunction" in granted


def test_with_fargate_spot_the_cloudformation_role_sets_the_providers_of_its_cluster_only(
    render, oidc
):
    """Spot makes the cluster's update handler call ecs:PutClusterCapacityProviders: granted on
    the stack's own cluster, no other; the Spot variant needs nothing more than the default."""
    spot = render.variant(render.service(), **{names.SPOT_WEIGHT: "3"})
    granted = actions_of(oidc[names.CLOUDFORMATION_ROLE])
    assert missing_handler_permissions(granted, spot, UNUSED_FEATURES) == {}
    putting = [
        s
        for s in allows(statements(oidc[names.CLOUDFORMATION_ROLE]))
        if "ecs:PutClusterCapacityProviders" in as_list(s["Action"])
    ]
    cluster = f"arn:aws:ecs:{render.region}:{render.account_id}:cluster/api-cars-cluster"
    assert [r for s in putting for r in as_list(s["Resource"]) if ":cluster/" in r] == [cluster]
    assert all(":capacity-provider/" not in r for s in putting for r in as_list(s["Resource"]))


def test_the_cloudformation_role_can_manage_every_resource_of_the_network_stack(render, oidc):
    """The VPC lookup's function, role and log group (no longer in the service stack)."""
    granted = actions_of(oidc[names.CLOUDFORMATION_ROLE])
    types = {r["Type"] for r in render.network()["Resources"].values()}
    assert "AWS::Lambda::Function" in types
    assert missing_handler_permissions(granted, render.network(), UNUSED_FEATURES) == {}


def test_the_cloudformation_role_can_manage_every_resource_of_the_data_stack(render, oidc):
    granted = actions_of(oidc[names.CLOUDFORMATION_ROLE])
    # The data stack owns a bucket (the access logs'): its S3 permissions are checked.
    unused = {k: v for k, v in UNUSED_FEATURES.items() if k != "s3:"} | UNUSED_DATA_FEATURES
    assert missing_handler_permissions(granted, render.data(), unused) == {}


def test_data_stack_writes_are_scoped_to_its_names(render, oidc):
    role = oidc[names.CLOUDFORMATION_ROLE]["Properties"]
    (data,) = [p for p in role["Policies"] if p["PolicyName"] == "manage-data-stack"]
    where = f"{render.region}:{render.account_id}"
    resources = {
        r for s in data["PolicyDocument"]["Statement"] for r in as_list(s["Resource"]) if r != "*"
    }
    assert f"arn:aws:rds:{where}:cluster:api-cars-data-*" in resources
    assert f"arn:aws:secretsmanager:{where}:secret:api-cars-data/*" in resources
    assert f"arn:aws:elasticache:{where}:serverlesscache:api-cars-data" in resources
    # S3 ARNs name no account or Region: the bucket's name carries both.
    buckets = {r for r in resources if r.startswith("arn:aws:s3:::")}
    assert buckets == {
        f"arn:aws:s3:::api-cars-data-{kind}-{render.account_id}-{render.region}-*"
        for kind in ("alb", "imports")
    }
    linked = [
        s
        for s in data["PolicyDocument"]["Statement"]
        if s["Action"] == ["iam:CreateServiceLinkedRole"]
    ]
    assert [s["Condition"] for s in linked] == [
        {"StringEquals": {"iam:AWSServiceName": ["rds.amazonaws.com", "elasticache.amazonaws.com"]}}
    ]


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


def _autoscaling_actions(role: dict) -> set[str]:
    return {a for a in actions_of(role) if a.startswith("application-autoscaling:")}


def test_of_application_auto_scaling_the_github_roles_only_read_the_forecast(oidc):
    """`cars-stack status` asks for the predictive policy's forecast (cars_stack/scaling.py); the
    release roles change nothing of Application Auto Scaling themselves."""
    assert _autoscaling_actions(oidc[names.PUBLISH_ROLE]) == {
        "application-autoscaling:GetPredictiveScalingForecast"
    }
    assert _autoscaling_actions(oidc[names.DEPLOY_ROLE]) == set()


def test_the_cloudformation_role_manages_predictive_policies_and_scheduled_actions(oidc):
    """A predictive policy is a PutScalingPolicy like target tracking; the business-hours floor
    puts and deletes the scalable target's scheduled actions. Nothing reads a forecast."""
    granted = _autoscaling_actions(oidc[names.CLOUDFORMATION_ROLE])
    assert {
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DeleteScheduledAction",
        "application-autoscaling:DescribeScheduledActions",
    } <= granted
    assert "application-autoscaling:GetPredictiveScalingForecast" not in granted


def test_the_deploy_role_reads_exactly_what_explains_a_failed_rollout(render, oidc):
    """cars_stack/diagnose.py's calls, each scoped as far as IAM allows: the one service, tasks of
    its cluster, the API's log streams; DescribeTaskDefinition has no resource-level scope."""
    ecs = f"arn:aws:ecs:{render.region}:{render.account_id}"
    logs = f"arn:aws:logs:{render.region}:{render.account_id}"
    reads = {
        tuple(as_list(s["Action"])): (s["Resource"], s.get("Condition"))
        for s in statements(oidc[names.DEPLOY_ROLE])
        if not any(a.startswith(("cloudformation:", "iam:")) for a in as_list(s["Action"]))
    }
    assert reads == {
        ("ecs:DescribeServices",): ([f"{ecs}:service/api-cars-cluster/api"], None),
        ("ecs:ListTasks",): (
            ["*"],
            {"StringEquals": {"ecs:cluster": f"{ecs}:cluster/api-cars-cluster"}},
        ),
        ("ecs:DescribeTasks",): ([f"{ecs}:task/api-cars-cluster/*"], None),
        ("ecs:DescribeTaskDefinition",): (["*"], None),
        ("logs:GetLogEvents",): ([f"{logs}:log-group:/ecs/api-cars:log-stream:*"], None),
    }


def test_the_cloudformation_role_may_create_exactly_the_linked_roles_a_fresh_account_needs(oidc):
    """ECS, its auto scaling and Elastic Load Balancing (the service stack), RDS and ElastiCache
    (the data stack) and CloudFront's VPC origins (the edge stack) create a service-linked role on
    their first use in an account."""
    linked = [
        s
        for s in statements(oidc[names.CLOUDFORMATION_ROLE])
        if "iam:CreateServiceLinkedRole" in as_list(s["Action"])
    ]
    services = {
        service
        for s in linked
        for test in s["Condition"].values()
        for service in as_list(test["iam:AWSServiceName"])
    }
    assert services == {
        "ecs.amazonaws.com",
        "ecs.application-autoscaling.amazonaws.com",
        "elasticloadbalancing.amazonaws.com",
        "rds.amazonaws.com",
        "elasticache.amazonaws.com",
        "vpcorigin.cloudfront.amazonaws.com",
    }
    assert all(as_list(s["Action"]) == ["iam:CreateServiceLinkedRole"] for s in linked)


KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0b6d6f2e-1111-4a2b-9c3d-123456789abc"


def _decrypt_statements(resolved: dict) -> list:
    role = resolved["Resources"][names.EXECUTION_ROLE]
    return [s for s in statements(role) if "kms:Decrypt" in s["Action"]]


def test_a_customer_managed_key_is_decrypted_only_through_secrets_manager_or_ssm(render):
    resolved = render.resolve(DatabaseUrlSecretArn=render.database_secret, SecretsKmsKeyArn=KMS_KEY)
    (statement,) = _decrypt_statements(resolved)
    assert statement["Action"] == ["kms:Decrypt"]
    assert statement["Resource"] == [KMS_KEY]
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [
                f"secretsmanager.{render.region}.amazonaws.com",
                f"ssm.{render.region}.amazonaws.com",
            ]
        }
    }


def test_without_a_key_the_execution_role_decrypts_nothing(render):
    assert _decrypt_statements(render.resolve(DatabaseUrlSecretArn=render.database_secret)) == []


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (KMS_KEY, True),
        ("arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab", True),
        ("arn:aws:kms:eu-west-1:123456789012:alias/api-cars", False),
        ("0b6d6f2e-1111-4a2b-9c3d-123456789abc", False),
    ],
)
def test_the_key_parameter_takes_key_arns_only(render, value, accepted):
    import re

    pattern = render.service()["Parameters"][names.SECRETS_KMS_KEY_ARN]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted


# What the identity stack's pool does not use, so its handlers' permissions for it are not granted.
UNUSED_IDENTITY_FEATURES = {
    "kms:": "no customer-managed KMS key on the pool",
    "cloudfront:": "a Cognito prefix domain, no custom domain (CloudFront)",
    "iam:PassRole": "no SMS role, no analytics (Pinpoint) role",
    "iam:PutRolePolicy": "no analytics (Pinpoint) role",
    "iam:DeleteRolePolicy": "no analytics (Pinpoint) role",
    "iam:CreateServiceLinkedRole": "no e-mail, SMS or analytics configuration",
}


def test_the_cloudformation_role_can_manage_every_resource_of_the_identity_stack(render, oidc):
    granted = actions_of(oidc[names.CLOUDFORMATION_ROLE])
    types = {r["Type"] for r in render.identity()["Resources"].values()}
    assert "AWS::Cognito::UserPool" in types
    missing = missing_handler_permissions(
        granted, render.identity(), UNUSED_IDENTITY_FEATURES, handlers_checked=None
    )
    assert missing == {}


def test_identity_stack_writes_are_scoped_to_the_accounts_user_pools(render, oidc):
    role = oidc[names.CLOUDFORMATION_ROLE]["Properties"]
    (identity,) = [p for p in role["Policies"] if p["PolicyName"] == "manage-identity-stack"]
    scoped, unscoped = identity["PolicyDocument"]["Statement"]
    assert scoped["Resource"] == [
        f"arn:aws:cognito-idp:{render.region}:{render.account_id}:userpool/*"
    ]
    assert unscoped["Resource"] == ["*"]
    assert set(unscoped["Action"]) == {
        "cognito-idp:CreateUserPool",
        "cognito-idp:ListUserPools",
        "cognito-idp:DescribeUserPoolDomain",
    }
    assert not any(a.startswith("cognito-idp:") for a in actions_of(oidc[names.PUBLISH_ROLE]))
    assert not any(a.startswith("cognito-idp:") for a in actions_of(oidc[names.DEPLOY_ROLE]))


def test_only_the_deploy_role_executes_identity_stack_change_sets(render, oidc):
    identity = (
        f"arn:aws:cloudformation:{render.region}:{render.account_id}:stack/api-cars-identity/*"
    )

    def on_identity(role):
        return {
            a
            for s in statements(oidc[role])
            if identity in as_list(s["Resource"])
            for a in s["Action"]
        }

    assert "cloudformation:ExecuteChangeSet" in on_identity(names.DEPLOY_ROLE)
    assert {"cloudformation:CreateChangeSet", "cloudformation:DescribeStacks"} <= on_identity(
        names.PUBLISH_ROLE
    )
    assert "cloudformation:ExecuteChangeSet" not in on_identity(names.PUBLISH_ROLE)


# The edge stacks' resource types: permissions their handlers list for features they do not use.
UNUSED_EDGE_FEATURES = {
    "cloudfront:CreateDistributionWithTags": "not an IAM action (CreateDistribution, TagResource)",
    "cloudfront:CreateConnectionGroup": "no connection groups (Anycast static IPs)",
    "cloudfront:GetConnectionGroup": "no connection groups (Anycast static IPs)",
    "cloudfront:UpdateDistributionWithStagingConfig": "no staging distribution",
    "sts:AssumeRole": "the VPC origin's handler assumes nothing the role grants: CloudFront uses "
    "its service-linked role (to prove on AWS)",
    "payments:": "no WAF monetization",
    "wafv2:PutPermissionPolicy": "no shared rule groups",
    "wafv2:GetPermissionPolicy": "no shared rule groups",
    "apigateway:": "the web ACL goes on an ALB",
    "appsync:": "the web ACL goes on an ALB",
    "cognito-idp:": "the web ACL goes on an ALB; no Cognito action on the listener rule",
    "apprunner:": "the web ACL goes on an ALB",
    "amplify:": "the web ACL goes on an ALB",
    "bedrock-agentcore:": "the web ACL goes on an ALB",
    "ec2:AssociateVerifiedAccessInstanceWebAcl": "the web ACL goes on an ALB",
    "ec2:DisassociateVerifiedAccessInstanceWebAcl": "the web ACL goes on an ALB",
    "ec2:DescribeVerifiedAccessInstanceWebAclAssociations": "the web ACL goes on an ALB",
    "ec2:GetVerifiedAccessInstanceWebAcl": "the web ACL goes on an ALB",
    "elasticloadbalancing:CreateWebACLAssociation": "not an IAM action of ALBs (SetWebACL)",
    "elasticloadbalancing:DeleteWebACLAssociation": "not an IAM action of ALBs (SetWebACL)",
    "elasticloadbalancing:GetLoadBalancerWebACL": "not an IAM action of ALBs (SetWebACL)",
    "acm-pca:": "a public certificate, no private CA",
    "secretsmanager:ReplicateSecretToRegions": "no replicated secrets",
    "secretsmanager:RemoveRegionsFromReplication": "no replicated secrets",
}


@pytest.mark.parametrize("stack", ["edge", "edge_global"])
def test_the_cloudformation_role_can_manage_every_resource_of_the_edge_stacks(render, oidc, stack):
    granted = actions_of(oidc[names.CLOUDFORMATION_ROLE])
    assert (
        missing_handler_permissions(granted, getattr(render, stack)(), UNUSED_EDGE_FEATURES) == {}
    )


def _edge_policy(oidc) -> list[dict]:
    role = oidc[names.CLOUDFORMATION_ROLE]["Properties"]
    (edge,) = [p for p in role["Policies"] if p["PolicyName"] == "manage-edge-stacks"]
    return edge["PolicyDocument"]["Statement"]


def test_edge_writes_are_scoped_to_the_edge_stacks_names_and_regions(render, oidc):
    resources = {r for s in _edge_policy(oidc) for r in as_list(s["Resource"])}
    account, region = render.account_id, render.region
    assert resources == {
        # CloudFront is global and generates its IDs: this account's CloudFront resources.
        f"arn:aws:cloudfront::{account}:*",
        # The web ACLs named after the edge stacks (regional here, global in us-east-1) and the
        # AWS managed rule groups they use.
        f"arn:aws:wafv2:*:{account}:*/webacl/api-cars-edge*",
        f"arn:aws:wafv2:*:{account}:*/managedruleset/*",
        f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/*",
        f"arn:aws:elasticloadbalancing:{region}:{account}:listener*/app/*",
        f"arn:aws:acm:us-east-1:{account}:certificate/*",
        "arn:aws:route53:::hostedzone/*",
        "*",
    }
    (request,) = [s for s in _edge_policy(oidc) if s["Resource"] == ["*"]]
    assert request["Action"] == ["acm:RequestCertificate"]
    assert request["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}


def test_the_edge_secret_is_the_one_named_after_the_edge_stack(render, oidc):
    secret_writes = {
        r
        for s in statements(oidc[names.CLOUDFORMATION_ROLE])
        if "secretsmanager:CreateSecret" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }
    where = f"{render.region}:{render.account_id}"
    assert f"arn:aws:secretsmanager:{where}:secret:api-cars-edge/origin-header-*" in secret_writes
    assert render.edge()["Resources"][names.ORIGIN_SECRET]["Properties"]["Name"] == {
        "Fn::Sub": "${AWS::StackName}/origin-header"
    }


def test_only_the_deploy_role_executes_edge_change_sets(render, oidc):
    edge_global = (
        f"arn:aws:cloudformation:us-east-1:{render.account_id}:stack/api-cars-edge-global/*"
    )

    def on_edge_global(role):
        return {
            a
            for s in statements(oidc[role])
            if edge_global in as_list(s["Resource"])
            for a in s["Action"]
        }

    assert "cloudformation:ExecuteChangeSet" in on_edge_global(names.DEPLOY_ROLE)
    assert "cloudformation:CreateChangeSet" not in on_edge_global(names.DEPLOY_ROLE)
    assert {"cloudformation:CreateChangeSet", "cloudformation:DescribeStacks"} <= on_edge_global(
        names.PUBLISH_ROLE
    )
    assert "cloudformation:ExecuteChangeSet" not in on_edge_global(names.PUBLISH_ROLE)
