"""The workload: EventBridge rule -> SQS queue (with a dead-letter queue) -> the bulk-import
function (AWS::Serverless::Function and its SQS event), its role and log group, and an alarm on
the dead-letter queue.

Timing: the function may run 15 minutes (a large file); the queue hides a message 6 times that
(the Lambda guide's advice for SQS event sources), so a message is never seen twice while one
invocation still works on it. A message that fails 5 times goes to the dead-letter queue, and the
alarm says so. One file per invocation (BatchSize 1): a long file never holds back another's
deletion, and MaximumConcurrency bounds how many files hit the API at once.
"""

from typing import ClassVar

from awacs import cognito_idp, logs, s3, sqs
from awacs.aws import Allow, ArnEquals, Condition, Principal, Statement
from troposphere import (
    AWSProperty,
    If,
    Join,
    NoValue,
    Ref,
    Sub,
    Template,
    awslambda,
    cloudwatch,
    iam,
    serverless,
)
from troposphere import events as cfn_events
from troposphere import logs as cwlogs
from troposphere import sqs as cfn_sqs

from template_builder import names, policies
from template_builder.exports import imported
from template_builder.imports.parameters import ImportParameters
from template_builder.lambda_code import inline_source
from template_builder.metadata import checkov_skips, guard_skips
from template_builder.parameters import permissions_boundary

RUNTIME = "python3.13"
TIMEOUT_SECONDS = 900
VISIBILITY_SECONDS = 6 * TIMEOUT_SECONDS
MAX_RECEIVE_COUNT = 5
MAX_FILE_BYTES = 2 * 1024**3
SUFFIXES = (".csv", ".jsonl")
SSE_SQS = checkov_skips(
    CKV_AWS_27="Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which the check does not "
    "read; a KMS key would need a key policy for EventBridge to send.",
)


class ScalingConfig(AWSProperty):
    props: ClassVar[dict] = {"MaximumConcurrency": (object, False)}


class SQSEvent(serverless.SQSEvent):
    """SAM's SQS event with the properties troposphere 4.11 lacks (the SAM specification has
    them: FunctionResponseTypes, ScalingConfig)."""

    props: ClassVar[dict] = {
        **serverless.SQSEvent.props,
        "FunctionResponseTypes": ([str], False),
        "ScalingConfig": (ScalingConfig, False),
    }


def _name(pattern: str) -> Sub:
    return Sub(pattern.format(stack=names.OWN_STACK_NAME))


def _queues(template: Template) -> tuple[cfn_sqs.Queue, cfn_sqs.Queue]:
    dead = template.add_resource(
        cfn_sqs.Queue(
            names.IMPORT_DEAD_LETTER_QUEUE,
            QueueName=_name(names.IMPORT_DLQ_NAME),
            MessageRetentionPeriod=14 * 24 * 3600,
            SqsManagedSseEnabled=True,
            Metadata=SSE_SQS | guard_skips(sqs_dlq_check="It is the dead-letter queue."),
        )
    )
    queue = template.add_resource(
        cfn_sqs.Queue(
            names.IMPORT_QUEUE,
            QueueName=_name(names.IMPORT_QUEUE_NAME),
            VisibilityTimeout=VISIBILITY_SECONDS,
            MessageRetentionPeriod=4 * 24 * 3600,
            # SSE-SQS: EventBridge can send to it (an aws/sqs KMS key would refuse EventBridge).
            SqsManagedSseEnabled=True,
            RedrivePolicy=cfn_sqs.RedrivePolicy(
                deadLetterTargetArn=dead.GetAtt("Arn"), maxReceiveCount=MAX_RECEIVE_COUNT
            ),
            Metadata=SSE_SQS
            | guard_skips(
                sqs_dlq_check="RedrivePolicy names the DLQ by GetAtt, which the rule does not "
                "resolve; every variant, the ARN resolved, passes."
            ),
        )
    )
    return queue, dead


def _rule(template: Template, bucket, queue: cfn_sqs.Queue) -> cfn_events.Rule:
    rule = template.add_resource(
        cfn_events.Rule(
            names.IMPORT_RULE,
            Name=_name(names.IMPORT_RULE_NAME),
            Description="Object Created under imports/ (csv, jsonl) of the import bucket",
            EventPattern={
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [bucket]},
                    "object": {
                        "key": [{"wildcard": f"{names.IMPORTS_PREFIX}*{s}"} for s in SUFFIXES]
                    },
                },
            },
            State="ENABLED",
            Targets=[cfn_events.Target(Id="ImportQueue", Arn=queue.GetAtt("Arn"))],
        )
    )
    template.add_resource(
        cfn_sqs.QueuePolicy(
            names.IMPORT_QUEUE_POLICY,
            Queues=[Ref(queue)],
            PolicyDocument=policies.document(
                Statement(
                    Sid="FromTheRule",
                    Effect=Allow,
                    Principal=Principal("Service", ["events.amazonaws.com"]),
                    Action=[sqs.SendMessage],
                    Resource=[queue.GetAtt("Arn")],
                    Condition=Condition(ArnEquals("aws:SourceArn", rule.GetAtt("Arn"))),
                )
            ),
        )
    )
    return rule


def _role(template: Template, params: ImportParameters, bucket, queue, log_group) -> iam.Role:
    bucket_arn = Sub("arn:${AWS::Partition}:s3:::${Bucket}", Bucket=bucket)
    imports = Join("", [bucket_arn, "/" + names.IMPORTS_PREFIX + "*"])
    reports = Join("", [bucket_arn, "/" + names.REPORTS_PREFIX + "*"])
    pool = policies.arn(
        "cognito-idp",
        "userpool/${Pool}",
        Pool=imported(names.IDENTITY_STACK_NAME, names.OUTPUT_USER_POOL_ID),
    )
    return template.add_resource(
        iam.Role(
            names.IMPORT_ROLE,
            AssumeRolePolicyDocument=policies.service_trust_policy("lambda.amazonaws.com"),
            PermissionsBoundary=permissions_boundary(params.permissions_boundary),
            Policies=[
                policies.inline_policy(
                    "bulk-import",
                    policies.allow(
                        [logs.CreateLogStream, logs.PutLogEvents], log_group.GetAtt("Arn")
                    ),
                    # SendMessage: the rest of a long file, in a continuation message.
                    policies.allow(
                        [
                            sqs.ReceiveMessage,
                            sqs.DeleteMessage,
                            sqs.GetQueueAttributes,
                            sqs.SendMessage,
                        ],
                        queue.GetAtt("Arn"),
                    ),
                    policies.allow([s3.GetObject], imports),
                    policies.allow([s3.GetObject, s3.PutObject], reports),
                    # Without it S3 answers a missing key (a file deleted before its event was
                    # handled, an absent marker) with 403 instead of 404.
                    policies.allow([s3.ListBucket], bucket_arn),
                ),
                If(
                    names.HAS_ISSUER,
                    policies.inline_policy(
                        "machine-client-secret",
                        # The pool's machine client's secret, for a client-credentials token.
                        policies.allow([cognito_idp.DescribeUserPoolClient], pool),
                    ),
                    NoValue,
                ),
            ],
        )
    )


def _from_identity(output: str):
    return If(names.HAS_ISSUER, imported(names.IDENTITY_STACK_NAME, output), "")


def add_workload(template: Template, params: ImportParameters) -> tuple:
    bucket = imported(names.DATA_STACK_NAME, names.OUTPUT_IMPORT_BUCKET)
    queue, dead = _queues(template)
    _rule(template, bucket, queue)
    log_group = template.add_resource(
        cwlogs.LogGroup(
            names.IMPORT_LOG_GROUP,
            LogGroupName=Sub("/aws/lambda/${Name}", Name=_name(names.IMPORT_FUNCTION_NAME)),
            RetentionInDays=Ref(params.log_retention_days),
            Metadata=checkov_skips(
                CKV_AWS_158="AWS-owned keys encrypt it; the function logs no secrets or rows.",
            )
            | guard_skips(
                cloudwatch_log_group_encrypted_check="AWS-owned keys; no secrets are logged.",
                cloudwatch_log_group_retention_period_check="LogRetentionDays decides.",
            ),
        )
    )
    role = _role(template, params, bucket, queue, log_group)
    function = template.add_resource(
        serverless.Function(
            names.IMPORT_FUNCTION,
            FunctionName=_name(names.IMPORT_FUNCTION_NAME),
            Description="Bulk import: imports/ file -> POST /v1/cars:batch -> reports/",
            Runtime=RUNTIME,
            Handler="index.handler",
            InlineCode=inline_source("bulk_import"),
            Role=role.GetAtt("Arn"),
            Timeout=TIMEOUT_SECONDS,
            MemorySize=512,
            LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
            Environment=serverless.Environment(
                Variables={
                    "API_URL": Ref(params.api_url),
                    "QUEUE_URL": Ref(queue),
                    "BATCH_SIZE": Ref(params.rows_per_request),
                    "MAX_FILE_BYTES": str(MAX_FILE_BYTES),
                    "USER_POOL_ID": _from_identity(names.OUTPUT_USER_POOL_ID),
                    "CLIENT_ID": _from_identity(names.OUTPUT_AUDIENCE),
                    "TOKEN_URL": _from_identity(names.OUTPUT_TOKEN_URL),
                    "WRITE_SCOPE": _from_identity(names.OUTPUT_WRITE_SCOPE),
                }
            ),
            Events={
                "Queue": SQSEvent(
                    "Queue",
                    Queue=queue.GetAtt("Arn"),
                    BatchSize=1,
                    FunctionResponseTypes=["ReportBatchItemFailures"],
                    ScalingConfig=ScalingConfig(MaximumConcurrency=Ref(params.maximum_concurrency)),
                )
            },
            Metadata=checkov_skips(
                CKV_AWS_115="MaximumConcurrency on the SQS event bounds it; reserving "
                "concurrency takes it from the account's pool and fails at the minimum limit.",
                CKV_AWS_116="The SQS queue's redrive policy is the dead-letter queue: SQS "
                "invocations are synchronous, a function DLQ would receive nothing.",
                CKV_AWS_117="Reaches the API through its public load balancer URL and S3, "
                "SQS, Cognito by their public endpoints; a VPC would need a NAT or endpoints.",
                CKV_AWS_173="The environment holds a URL and ids, no secrets.",
            ),
        )
    )
    template.add_resource(
        cloudwatch.Alarm(
            names.IMPORT_DLQ_ALARM,
            AlarmDescription="An import message failed 5 times (see the function's logs)",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[
                cloudwatch.MetricDimension(Name="QueueName", Value=dead.GetAtt("QueueName"))
            ],
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=If(names.HAS_ALARM_TOPIC, [Ref(params.alarm_topic)], NoValue),
            Metadata=guard_skips(cloudwatch_alarm_action_check="Notifies with AlarmTopicArn only."),
        )
    )
    return function, queue, dead
