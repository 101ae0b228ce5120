"""The task's two roles: the execution role ECS uses to start it, and the role the API runs as."""

from dataclasses import dataclass

from awacs import ecr, kms, logs, secretsmanager, ssm
from awacs.aws import Condition, StringEquals
from troposphere import If, NoValue, Ref, Sub, Template, iam
from troposphere import logs as cwlogs

from template_builder import names, policies
from template_builder.data_link import DataLink
from template_builder.parameters import (
    ServiceParameters,
    optional_value,
    permissions_boundary,
)


@dataclass(frozen=True)
class TaskRoles:
    execution: iam.Role
    task: iam.Role


def add_task_roles(
    template: Template, params: ServiceParameters, data: DataLink, log_group: cwlogs.LogGroup
) -> TaskRoles:
    # Either kind of secret may be given: an action on the other kind's ARN matches nothing.
    read_secrets = policies.inline_policy(
        "read-api-secrets",
        policies.allow(
            [secretsmanager.GetSecretValue, ssm.GetParameters],
            [
                optional_value(names.HAS_DATABASE_URL_SECRET, Ref(params.database_url_secret_arn)),
                optional_value(names.HAS_REDIS_URL_SECRET, Ref(params.redis_url_secret_arn)),
                *data.secret_arns(),
            ],
        ),
    )
    # A customer-managed key's policy must also allow this role; AWS managed keys need no grant.
    # Decrypt only on behalf of the two services that hold the secrets.
    decrypt_secrets = policies.inline_policy(
        "decrypt-api-secrets",
        policies.allow(
            [kms.Decrypt],
            Ref(params.secrets_kms_key_arn),
            Condition(
                StringEquals(
                    {
                        "kms:ViaService": [
                            Sub("secretsmanager.${AWS::Region}.${AWS::URLSuffix}"),
                            Sub("ssm.${AWS::Region}.${AWS::URLSuffix}"),
                        ]
                    }
                )
            ),
        ),
    )
    boundary = permissions_boundary(params.permissions_boundary_arn)
    execution = template.add_resource(
        iam.Role(
            names.EXECUTION_ROLE,
            AssumeRolePolicyDocument=policies.service_trust_policy("ecs-tasks.amazonaws.com"),
            PermissionsBoundary=boundary,
            Policies=[
                policies.inline_policy(
                    "pull-image-and-write-logs",
                    policies.allow(
                        [
                            ecr.BatchCheckLayerAvailability,
                            ecr.GetDownloadUrlForLayer,
                            ecr.BatchGetImage,
                        ],
                        policies.ecr_repository_arn(Ref(params.repository_name)),
                    ),
                    # ECR's registry-wide login token has no resource: AWS requires "*".
                    policies.allow([ecr.GetAuthorizationToken], policies.ANY_RESOURCE),
                    policies.allow(
                        [logs.CreateLogStream, logs.PutLogEvents], log_group.GetAtt("Arn")
                    ),
                ),
                If(names.HAS_ANY_SECRET, read_secrets, NoValue),
                If(names.HAS_SECRETS_KMS_KEY, decrypt_secrets, NoValue),
            ],
        )
    )
    # The API calls no AWS API: its role grants nothing. It exists so that whatever is granted
    # later is granted to the API alone, never through the execution role.
    task = template.add_resource(
        iam.Role(
            names.TASK_ROLE,
            AssumeRolePolicyDocument=policies.service_trust_policy("ecs-tasks.amazonaws.com"),
            PermissionsBoundary=boundary,
        )
    )
    return TaskRoles(execution=execution, task=task)
