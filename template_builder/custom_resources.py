"""Lambda-backed custom resources: Custom::VpcLookup (where to run) and Custom::ImageCheck (what).

Each function lives in the stack whose lifecycle it shares: the VPC lookup in the network stack,
which runs it and exports its answer; the image check in the registry stack, beside the repository
it reads, and the service stacks call it through the registry's ImageCheckServiceToken export.

The lookup depends on its function, role and log group, so on deletion CloudFormation removes the
custom resource first, while its function can still answer, and the function's permissions and
logs last. The function dependency comes from the ServiceToken GetAtt; listing it in DependsOn as
well is what cfn-lint flags as obsolete (W3005). The image check's function outlives every service
stack that calls it (the registry cannot be deleted while a service imports its export).
"""

from typing import ClassVar

from awacs import cloudformation, ec2, ecr, logs
from troposphere import Parameter, Ref, Sub, Template, awslambda, iam
from troposphere import ecr as cfn_ecr
from troposphere import logs as cwlogs
from troposphere.cloudformation import CustomResource

from template_builder import names, policies
from template_builder.exports import imported
from template_builder.lambda_code import inline_source
from template_builder.metadata import checkov_skips, guard_skips
from template_builder.parameters import (
    ServiceParameters,
    optional_value,
    permissions_boundary,
)

LAMBDA_RUNTIME = "python3.13"
LAMBDA_TIMEOUT_SECONDS = 60
# CloudFormation gives up on an unanswered custom resource after this long (default: one hour).
# The handlers answer on every path; this bounds the damage of anything that still slips through.
CUSTOM_RESOURCE_TIMEOUT_SECONDS = 300

FUNCTION_SKIPS = checkov_skips(
    CKV_AWS_115="Invoked only by CloudFormation, once per stack operation; reserving concurrency "
    "would take it from the account's pool and can fail on accounts with the minimum limit.",
    CKV_AWS_116="CloudFormation waits for the handler's own response; a dead-letter queue "
    "would receive nothing it can act on (the handler answers FAILED on every error path).",
    CKV_AWS_117="Runs outside any VPC on purpose: it looks the VPC up, and must reach the EC2/ECR "
    "APIs and the CloudFormation response URL without a NAT the stack does not own.",
    CKV_AWS_173="No environment variables are set, so there is nothing to encrypt.",
) | guard_skips(
    lambda_inside_vpc_check="Calls AWS APIs only; a VPC would need a NAT.",
)
LOG_GROUP_SKIPS = checkov_skips(
    CKV_AWS_158="CloudWatch Logs encrypts at rest with AWS-owned keys; the handlers log no "
    "secrets, so a customer-managed key would add cost and a key policy without a gain.",
) | guard_skips(
    cloudwatch_log_group_encrypted_check="AWS-owned keys; no secrets are logged.",
    cloudwatch_log_group_retention_period_check="LogRetentionDays decides.",
)


class VpcLookup(CustomResource):
    resource_type = names.VPC_LOOKUP_TYPE
    props: ClassVar[dict] = {
        **CustomResource.props,
        "VpcId": (str, False),
        "VpcTags": (dict, False),
        "PublicSubnetIds": (str, False),
        "TaskSubnetIds": (str, False),
    }


class ImageCheck(CustomResource):
    resource_type = names.IMAGE_CHECK_TYPE
    props: ClassVar[dict] = {
        **CustomResource.props,
        "RepositoryName": (str, True),
        "ImageTag": (str, True),
    }


def _add_function(
    template: Template,
    log_retention_days: Parameter,
    *,
    handler: str,
    function_id: str,
    role_id: str,
    log_group_id: str,
    description: str,
    statements: list,
    boundary: object | None = None,
) -> tuple[awslambda.Function, iam.Role, cwlogs.LogGroup]:
    """A Lambda function with its own log group (with retention) and a role allowed only
    `statements` plus writing to that log group, within the permissions `boundary` if given."""
    log_group = template.add_resource(
        cwlogs.LogGroup(
            log_group_id,
            LogGroupName=Sub(
                names.FUNCTION_LOG_GROUP_PREFIX.format(stack=names.OWN_STACK_NAME)
                + handler.replace("_", "-")
            ),
            RetentionInDays=Ref(log_retention_days),
            Metadata=LOG_GROUP_SKIPS,
        )
    )
    role = template.add_resource(
        iam.Role(
            role_id,
            AssumeRolePolicyDocument=policies.service_trust_policy("lambda.amazonaws.com"),
            Policies=[
                policies.inline_policy(
                    handler,
                    policies.allow(
                        [logs.CreateLogStream, logs.PutLogEvents], log_group.GetAtt("Arn")
                    ),
                    *statements,
                )
            ],
            **({} if boundary is None else {"PermissionsBoundary": boundary}),
        )
    )
    function = template.add_resource(
        awslambda.Function(
            function_id,
            Description=description,
            Runtime=LAMBDA_RUNTIME,
            Handler="index.handler",
            Code=awslambda.Code(ZipFile=inline_source(handler)),
            Role=role.GetAtt("Arn"),
            Timeout=LAMBDA_TIMEOUT_SECONDS,
            MemorySize=128,
            LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
            Metadata=FUNCTION_SKIPS,
        )
    )
    return function, role, log_group


def add_vpc_lookup(
    template: Template,
    log_retention_days: Parameter,
    permissions_boundary_arn: Parameter,
    **properties: object,
) -> VpcLookup:
    """The network stack's VPC lookup; `properties` narrow it (VpcId, VpcTags) or name the
    subnets outright (PublicSubnetIds, TaskSubnetIds). Its role is created by the GitHub OIDC
    stack's CloudFormation role, so it takes the permissions boundary; the registry's image
    check is deployed by an administrator and needs none."""
    function, role, log_group = _add_function(
        template,
        log_retention_days,
        handler="vpc_lookup",
        function_id=names.VPC_LOOKUP_FUNCTION,
        role_id=names.VPC_LOOKUP_ROLE,
        log_group_id=names.VPC_LOOKUP_LOG_GROUP,
        description="Custom::VpcLookup: finds the VPC, public and task subnets at deploy time",
        boundary=permissions_boundary(permissions_boundary_arn),
        statements=[
            # EC2 Describe* actions support no resource-level permissions: AWS requires "*".
            policies.allow(
                [ec2.DescribeVpcs, ec2.DescribeSubnets, ec2.DescribeRouteTables],
                policies.ANY_RESOURCE,
            )
        ],
    )
    return template.add_resource(
        VpcLookup(
            names.VPC_LOOKUP,
            ServiceToken=function.GetAtt("Arn"),
            ServiceTimeout=CUSTOM_RESOURCE_TIMEOUT_SECONDS,
            DependsOn=[role, log_group],
            **properties,
        )
    )


def add_image_check_provider(
    template: Template,
    log_retention_days: Parameter,
    repository: cfn_ecr.Repository,
    service_stack_name: Parameter,
) -> awslambda.Function:
    """The registry's image check: reads only this repository, and only the status of stacks
    named like the service (`ServiceStackName`, or `ServiceStackName-*` for more environments)."""
    function, _, _ = _add_function(
        template,
        log_retention_days,
        handler="image_check",
        function_id=names.IMAGE_CHECK_FUNCTION,
        role_id=names.IMAGE_CHECK_ROLE,
        log_group_id=names.IMAGE_CHECK_LOG_GROUP,
        description="Custom::ImageCheck: fails the stack operation when the image tag is missing",
        statements=[
            policies.allow(
                [ecr.DescribeRepositories, ecr.DescribeImages], repository.GetAtt("Arn")
            ),
            # Whether the calling stack is rolling back, so a rollback never blocks on it.
            policies.allow(
                [cloudformation.DescribeStacks],
                [
                    policies.arn("cloudformation", "stack/${Name}/*", Name=Ref(service_stack_name)),
                    policies.arn(
                        "cloudformation", "stack/${Name}-*/*", Name=Ref(service_stack_name)
                    ),
                ],
            ),
        ],
    )
    return function


def add_image_check(template: Template, params: ServiceParameters) -> ImageCheck:
    """The service's check of its image, answered by the registry stack's function."""
    return template.add_resource(
        ImageCheck(
            names.IMAGE_CHECK,
            ServiceToken=imported(
                names.REGISTRY_STACK_NAME, names.OUTPUT_IMAGE_CHECK_SERVICE_TOKEN
            ),
            ServiceTimeout=CUSTOM_RESOURCE_TIMEOUT_SECONDS,
            RepositoryName=Ref(params.repository_name),
            ImageTag=Ref(params.image_tag),
        )
    )


def vpc_tags_filter(vpc_name: Parameter) -> object:
    """The lookup's VpcTags property: the Name tag when VpcName is given, else left out."""
    return optional_value(names.HAS_VPC_NAME, {"Name": Ref(vpc_name)})
