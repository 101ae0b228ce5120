"""Parameters of the import stack, and the conditions they drive."""

from dataclasses import dataclass

from troposphere import Equals, Not, Parameter, Ref, Template

from template_builder import names
from template_builder.data_link import OPTIONAL_STACK_NAME_PATTERN
from template_builder.parameters import (
    SNS_TOPIC_ARN_PATTERN,
    STACK_NAME_PATTERN,
    add_grouped,
    add_log_retention_parameter,
    add_permissions_boundary_parameter,
)

GROUP = "Bulk import"


@dataclass(frozen=True)
class ImportParameters:
    data_stack: Parameter
    identity_stack: Parameter
    api_url: Parameter
    maximum_concurrency: Parameter
    rows_per_request: Parameter
    alarm_topic: Parameter
    log_retention_days: Parameter
    permissions_boundary: Parameter


def _add(template: Template, parameter: Parameter) -> Parameter:
    return add_grouped(template, GROUP, None, parameter)


def add_import_parameters(template: Template) -> ImportParameters:
    data_stack = _add(
        template,
        Parameter(
            names.DATA_STACK_NAME,
            Type="String",
            Default=names.DEFAULT_DATA_STACK_NAME,
            AllowedPattern=STACK_NAME_PATTERN,
            Description="Data stack whose ImportBucket (EnableImportBucket=true) takes the files.",
        ),
    )
    identity_stack = _add(
        template,
        Parameter(
            names.IDENTITY_STACK_NAME,
            Type="String",
            Default=names.DEFAULT_IDENTITY_STACK_NAME,
            AllowedPattern=OPTIONAL_STACK_NAME_PATTERN,
            Description="Identity stack (a Cognito pool) whose machine client the function "
            "uses; empty only for a service with AuthDisabled=true.",
        ),
    )
    api_url = _add(
        template,
        Parameter(
            names.API_URL,
            Type="String",
            AllowedPattern=r"^https?://[^\s/]+$",
            ConstraintDescription="must be the service's ServiceUrl output (http(s)://host)",
            Description="The service's ServiceUrl output (cars-stack deploy copies it).",
        ),
    )
    maximum_concurrency = _add(
        template,
        Parameter(
            names.MAXIMUM_CONCURRENCY,
            Type="Number",
            Default=2,
            MinValue=2,
            MaxValue=1000,
            Description="Files imported at once at most (SQS ScalingConfig): bounds the load "
            "a burst puts on the API and the database.",
        ),
    )
    rows_per_request = _add(
        template,
        Parameter(
            names.ROWS_PER_REQUEST,
            Type="Number",
            Default=250,
            MinValue=1,
            MaxValue=500,
            Description="Rows per POST /v1/cars:batch (the API takes at most 500).",
        ),
    )
    alarm_topic = _add(
        template,
        Parameter(
            names.ALARM_TOPIC_ARN,
            Type="String",
            Default="",
            AllowedPattern=SNS_TOPIC_ARN_PATTERN,
            Description="SNS topic told when a message reaches the dead-letter queue.",
        ),
    )
    log_retention_days = add_log_retention_parameter(
        template, "Days the function's log group keeps its logs."
    )
    boundary = add_permissions_boundary_parameter(template)
    template.add_condition(names.HAS_ISSUER, Not(Equals(Ref(identity_stack), "")))
    template.add_condition(names.HAS_ALARM_TOPIC, Not(Equals(Ref(alarm_topic), "")))
    return ImportParameters(
        data_stack=data_stack,
        identity_stack=identity_stack,
        api_url=api_url,
        maximum_concurrency=maximum_concurrency,
        rows_per_request=rows_per_request,
        alarm_topic=alarm_topic,
        log_retention_days=log_retention_days,
        permissions_boundary=boundary,
    )
