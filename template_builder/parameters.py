"""Parameters of the service stack, the deploy-time conditions they drive, and their rules.

Each condition is defined next to the parameter that drives it. Decisions known when the template is
built are plain Python; decisions made at deploy time are the named conditions below.
"""

from dataclasses import dataclass

from troposphere import Equals, If, Not, NoValue, Or, Parameter, Ref, Template

from template_builder import names

# Valid Fargate task sizes (CPU units -> memory MiB), per the ECS task-size table. Larger sizes
# exist but an API of this kind does not need them; the table is enforced by Rules below.
FARGATE_MEMORY_BY_CPU: dict[int, list[int]] = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4096 + 1, 1024)),
    1024: list(range(2048, 8192 + 1, 1024)),
    2048: list(range(4096, 16384 + 1, 1024)),
    4096: list(range(8192, 30720 + 1, 1024)),
}
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]

# Release tags are semantic versions with a leading v (the GitHub release tag), optionally with a
# pre-release suffix. `latest` is deliberately refused: an image change must be a parameter change.
IMAGE_TAG_PATTERN = r"^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$"
REPOSITORY_NAME_PATTERN = r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
# A pattern for secret ARNs, not a secret.
# A secret's full ARN ends in "-" and the six characters Secrets Manager adds to its name: IAM
# grants the ARN as given, and one without them (the name alone) matches no secret, so the task
# would fail to start (ResourceInitializationError). Refused here instead.
SECRET_ARN_PATTERN = (
    r"^$|^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+"  # noqa: S105
    r"-[A-Za-z0-9]{6}|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)$"
)
SECRET_ARN_RULE = (
    "must be empty, a Secrets Manager secret's full ARN (ending in its 6-character suffix, "  # noqa: S105
    "e.g. ...:secret:db-url-AbCdEf) or an SSM parameter ARN"
)
# A key's ARN, single-Region (a UUID) or multi-Region (mrk- and 32 hex digits); never an alias:
# IAM grants on the key's ARN, and an alias ARN would match no key.
KMS_KEY_ARN_PATTERN = (
    r"^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/([0-9a-f-]{36}|mrk-[0-9a-f]{32})$"
)
STACK_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,127}$"
CERTIFICATE_ARN_PATTERN = r"^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$"
# A standard topic's ARN: CloudWatch alarms cannot notify FIFO topics (names ending in .fifo).
SNS_TOPIC_ARN_PATTERN = r"^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"
# A managed policy's ARN (customer managed, or AWS managed: account "aws"), optionally on a path.
POLICY_ARN_PATTERN = (
    r"^$|^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}$"
)


@dataclass(frozen=True)
class AlarmParameters:
    topic_arn: Parameter
    error_rate_percent: Parameter
    latency_p99_seconds: Parameter


BUCKET_NAME_PATTERN = r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


@dataclass(frozen=True)
class SpotParameters:
    """The capacity-provider strategy's weights and on-demand base (UseSpot: SpotWeight > 0)."""

    spot_weight: Parameter
    on_demand_base: Parameter
    on_demand_weight: Parameter


@dataclass(frozen=True)
class ServiceParameters:
    image_tag: Parameter
    repository_name: Parameter
    desired_count: Parameter
    task_cpu: Parameter
    task_memory: Parameter
    container_port: Parameter
    health_check_path: Parameter
    health_check_grace_period: Parameter
    certificate_arn: Parameter
    domain_name: Parameter
    database_url_secret_arn: Parameter
    redis_url_secret_arn: Parameter
    log_retention_days: Parameter
    auto_scaling: Parameter
    auto_scaling_min: Parameter
    auto_scaling_max: Parameter
    cpu_target_percent: Parameter
    requests_per_target: Parameter
    secrets_kms_key_arn: Parameter
    registry_stack_name: Parameter
    alarms: AlarmParameters
    permissions_boundary_arn: Parameter
    require_https: Parameter
    access_logs: Parameter
    access_log_bucket_name: Parameter
    load_balancer_deletion_protection: Parameter
    spot: SpotParameters
    cloudfront_origin: Parameter


def optional_value(condition: str, value: object) -> If:
    """The value when the condition holds, otherwise the property is left out."""
    return If(condition, value, NoValue)


def repository_name_parameter(description: str) -> Parameter:
    """The ECR repository name, declared alike by the service, registry and GitHub OIDC stacks."""
    return Parameter(
        names.REPOSITORY_NAME,
        Type="String",
        Default=names.DEFAULT_REPOSITORY,
        Description=description,
        AllowedPattern=REPOSITORY_NAME_PATTERN,
        ConstraintDescription="must be a valid ECR repository name",
    )


def stack_name_parameter(name: str, default: str, description: str) -> Parameter:
    """A parameter naming another stack this one imports from."""
    return Parameter(
        name,
        Type="String",
        Default=default,
        Description=description,
        AllowedPattern=STACK_NAME_PATTERN,
        ConstraintDescription="must be a CloudFormation stack name",
    )


def boolean_parameter(name: str, default: bool, description: str) -> Parameter:
    """A "true"/"false" switch: CloudFormation has no boolean parameter type."""
    return Parameter(
        name,
        Type="String",
        Default="true" if default else "false",
        AllowedValues=["true", "false"],
        Description=description,
    )


def add_grouped(
    template: Template, group: str, label: str | None, parameter: Parameter
) -> Parameter:
    """``label`` None: the console shows the logical name (for a name that reads well alone, in a
    template short of bytes)."""
    template.add_parameter(parameter)
    template.add_parameter_to_group(parameter, group)
    if label is not None:
        template.set_parameter_label(parameter, label)
    return parameter


def is_set(parameter: Parameter) -> Not:
    return Not(Equals(Ref(parameter), ""))


def add_service_parameters(template: Template) -> ServiceParameters:
    """Add every parameter, its console group and the conditions it drives."""
    release = "Release"
    image_tag = add_grouped(
        template,
        release,
        "Image tag",
        Parameter(
            names.IMAGE_TAG,
            Type="String",
            Description="Tag of the image to run (vX.Y.Z). A release changes only this parameter.",
            AllowedPattern=IMAGE_TAG_PATTERN,
            ConstraintDescription="must be a release tag such as v1.2.3 (not latest)",
        ),
    )
    repository_name = add_grouped(
        template,
        release,
        "ECR repository",
        repository_name_parameter("ECR repository (this account and region) holding the images."),
    )

    size = "Task size and health"
    task_cpu = add_grouped(
        template,
        size,
        "Task CPU units",
        Parameter(
            names.TASK_CPU,
            Type="Number",
            Default=256,
            Description="Fargate CPU units per task (1024 = 1 vCPU). Must pair with TaskMemory.",
            AllowedValues=sorted(FARGATE_MEMORY_BY_CPU),
        ),
    )
    task_memory = add_grouped(
        template,
        size,
        "Task memory (MiB)",
        Parameter(
            names.TASK_MEMORY,
            Type="Number",
            Default=512,
            Description="Fargate memory per task (MiB); only sizes valid for TaskCpu pass.",
            AllowedValues=sorted({m for ms in FARGATE_MEMORY_BY_CPU.values() for m in ms}),
        ),
    )
    container_port = add_grouped(
        template,
        size,
        "Container port",
        Parameter(
            names.CONTAINER_PORT,
            Type="Number",
            Default=8000,
            MinValue=1024,
            MaxValue=65535,
            Description="Port the API listens on in the container (unprivileged: uid 10001).",
        ),
    )
    health_check_path = add_grouped(
        template,
        size,
        "Health-check path",
        Parameter(
            names.HEALTH_CHECK_PATH,
            Type="String",
            Default="/health",
            Description="Path the load balancer checks on each task; it must answer 200.",
            AllowedPattern=r"^/[A-Za-z0-9/._~-]*$",
            ConstraintDescription="must be an absolute URL path",
        ),
    )
    health_check_grace_period = add_grouped(
        template,
        size,
        "Health-check grace period",
        Parameter(
            names.HEALTH_CHECK_GRACE_PERIOD,
            Type="Number",
            Default=60,
            MinValue=0,
            MaxValue=600,
            Description="Seconds ECS ignores load-balancer health checks after a task starts "
            "(start-up plus migrations).",
        ),
    )
    desired_count = add_grouped(
        template,
        size,
        "Desired task count",
        Parameter(
            names.DESIRED_COUNT,
            Type="Number",
            Default=2,
            MinValue=1,
            MaxValue=20,
            Description="Tasks to run when AutoScaling is false (ignored otherwise: auto scaling "
            "owns the count).",
        ),
    )

    scaling = "Auto scaling"
    auto_scaling = add_grouped(
        template,
        scaling,
        "Enable auto scaling",
        boolean_parameter(
            names.AUTO_SCALING,
            True,
            "Scale the task count between the bounds below on CPU and requests.",
        ),
    )
    auto_scaling_min = add_grouped(
        template,
        scaling,
        "Minimum tasks",
        Parameter(
            names.AUTO_SCALING_MIN,
            Type="Number",
            Default=2,
            MinValue=1,
            MaxValue=20,
            Description="Lowest task count auto scaling may choose (2 keeps one task per zone).",
        ),
    )
    auto_scaling_max = add_grouped(
        template,
        scaling,
        "Maximum tasks",
        Parameter(
            names.AUTO_SCALING_MAX,
            Type="Number",
            Default=6,
            MinValue=1,
            MaxValue=50,
            Description="Highest task count auto scaling may choose (must be >= the minimum).",
        ),
    )
    cpu_target_percent = add_grouped(
        template,
        scaling,
        "Target CPU %",
        Parameter(
            names.CPU_TARGET_PERCENT,
            Type="Number",
            Default=60,
            MinValue=10,
            MaxValue=90,
            Description="Average CPU % to aim for.",
        ),
    )
    requests_per_target = add_grouped(
        template,
        scaling,
        "Target requests per task",
        Parameter(
            names.REQUESTS_PER_TARGET,
            Type="Number",
            Default=1000,
            MinValue=10,
            MaxValue=100000,
            Description="Requests per task per minute to aim for.",
        ),
    )

    https = "HTTPS"
    certificate_arn = add_grouped(
        template,
        https,
        "ACM certificate ARN (optional)",
        Parameter(
            names.CERTIFICATE_ARN,
            Type="String",
            Default="",
            Description="ACM certificate for HTTPS on 443 (80 then redirects). Empty: HTTP only.",
            AllowedPattern=CERTIFICATE_ARN_PATTERN,
            ConstraintDescription="must be empty or an ACM certificate ARN",
        ),
    )
    domain_name = add_grouped(
        template,
        https,
        "Public host name (optional)",
        Parameter(
            names.DOMAIN_NAME,
            Type="String",
            Default="",
            Description="DNS name pointing at the load balancer (matching the certificate), "
            "used in ServiceUrl. Empty: the load balancer's own DNS name.",
            AllowedPattern=r"^$|^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
            ConstraintDescription="must be empty or a lower-case DNS name",
        ),
    )
    require_https = add_grouped(
        template,
        https,
        None,
        boolean_parameter(
            names.REQUIRE_HTTPS, False, "true: refuse to deploy without CertificateArn."
        ),
    )
    guard = "Guard rails"
    access_logs = add_grouped(
        template,
        guard,
        None,
        boolean_parameter(names.ACCESS_LOGS, True, "Write ALB access logs to S3."),
    )
    access_log_bucket_name = add_grouped(
        template,
        guard,
        None,
        Parameter(
            names.ACCESS_LOG_BUCKET_NAME,
            Type="String",
            Default="",
            Description="Bucket letting ELB write <stack>/AWSLogs/. Empty: the data stack's.",
            AllowedPattern=BUCKET_NAME_PATTERN,
            ConstraintDescription="must be empty or an S3 bucket name",
        ),
    )
    load_balancer_deletion_protection = add_grouped(
        template,
        guard,
        None,
        boolean_parameter(
            names.LOAD_BALANCER_DELETION_PROTECTION,
            True,
            "Off on a create (cars-stack), on after; destroy lifts it.",
        ),
    )

    cloudfront_origin = add_grouped(
        template,
        https,
        None,
        Parameter(
            names.CLOUDFRONT_ORIGIN,
            Type="String",
            Default=names.ORIGIN_NONE,
            AllowedValues=list(names.CLOUDFRONT_ORIGINS),
            Description="CloudFront before the ALB (edge stack); vpc-origin replaces the ALB.",
        ),
    )
    template.add_condition(names.VPC_ORIGIN, Equals(Ref(cloudfront_origin), names.ORIGIN_VPC))
    template.add_condition(names.CDN_ONLY, Equals(Ref(cloudfront_origin), names.ORIGIN_PUBLIC_ALB))

    secrets = "Secrets (injected, never plain environment values)"
    database_url_secret_arn = add_grouped(
        template,
        secrets,
        "DATABASE_URL secret ARN (optional)",
        Parameter(
            names.DATABASE_URL_SECRET_ARN,
            Type="String",
            Default="",
            Description="Full ARN of the Secrets Manager secret or SSM SecureString holding "
            "DATABASE_URL. Empty: the API uses its embedded SQLite file.",
            AllowedPattern=SECRET_ARN_PATTERN,
            ConstraintDescription=SECRET_ARN_RULE,
        ),
    )
    redis_url_secret_arn = add_grouped(
        template,
        secrets,
        "REDIS_URL secret ARN (optional)",
        Parameter(
            names.REDIS_URL_SECRET_ARN,
            Type="String",
            Default="",
            Description="Full ARN of the Secrets Manager secret or SSM SecureString holding "
            "REDIS_URL. Empty: the API runs without a cache.",
            AllowedPattern=SECRET_ARN_PATTERN,
            ConstraintDescription=SECRET_ARN_RULE,
        ),
    )

    secrets_kms_key_arn = add_grouped(
        template,
        secrets,
        "KMS key of those secrets (optional)",
        Parameter(
            names.SECRETS_KMS_KEY_ARN,
            Type="String",
            Default="",
            Description="Customer-managed KMS key encrypting the two secrets above (ECS may then "
            "decrypt through Secrets Manager or SSM only). Empty: AWS managed keys.",
            AllowedPattern=KMS_KEY_ARN_PATTERN,
            ConstraintDescription="must be empty or a KMS key ARN (...:key/<id>)",
        ),
    )
    registry_stack_name = add_grouped(
        template,
        release,
        "Registry stack",
        stack_name_parameter(
            names.REGISTRY_STACK_NAME,
            names.DEFAULT_REGISTRY_STACK_NAME,
            "Stack (templates/registry.yaml) whose image check this stack calls.",
        ),
    )

    spot = add_spot_parameters(template)
    log_retention_days = add_log_retention_parameter(
        template, "Days CloudWatch keeps the API's logs."
    )
    alarms = add_alarm_parameters(template)
    permissions_boundary_arn = add_permissions_boundary_parameter(template)

    template.add_condition(names.USE_HTTPS, is_set(certificate_arn))
    template.add_condition(names.HAS_DOMAIN_NAME, is_set(domain_name))
    template.add_condition(names.HAS_ACCESS_LOG_BUCKET, is_set(access_log_bucket_name))
    template.add_condition(names.ENABLE_AUTO_SCALING, Equals(Ref(auto_scaling), "true"))
    template.add_condition(names.HAS_DATABASE_URL_SECRET, is_set(database_url_secret_arn))
    template.add_condition(names.HAS_REDIS_URL_SECRET, is_set(redis_url_secret_arn))
    template.add_condition(names.HAS_SECRETS_KMS_KEY, is_set(secrets_kms_key_arn))
    template.add_condition(
        names.HAS_ANY_SECRET,
        Or(
            {"Condition": names.HAS_DATABASE_URL_SECRET},
            {"Condition": names.HAS_REDIS_URL_SECRET},
            {"Condition": names.HAS_DATA_STACK},
        ),
    )

    _add_fargate_size_rules(template, task_cpu, task_memory)
    template.add_rule(
        names.HTTPS_REQUIRED_RULE,
        {
            "RuleCondition": Equals(Ref(require_https), "true"),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(certificate_arn), "")),
                    "AssertDescription": "RequireHttps is true: CertificateArn must be set",
                }
            ],
        },
    )

    return ServiceParameters(
        image_tag=image_tag,
        repository_name=repository_name,
        desired_count=desired_count,
        task_cpu=task_cpu,
        task_memory=task_memory,
        container_port=container_port,
        health_check_path=health_check_path,
        health_check_grace_period=health_check_grace_period,
        certificate_arn=certificate_arn,
        domain_name=domain_name,
        database_url_secret_arn=database_url_secret_arn,
        redis_url_secret_arn=redis_url_secret_arn,
        log_retention_days=log_retention_days,
        auto_scaling=auto_scaling,
        auto_scaling_min=auto_scaling_min,
        auto_scaling_max=auto_scaling_max,
        cpu_target_percent=cpu_target_percent,
        requests_per_target=requests_per_target,
        secrets_kms_key_arn=secrets_kms_key_arn,
        registry_stack_name=registry_stack_name,
        alarms=alarms,
        permissions_boundary_arn=permissions_boundary_arn,
        require_https=require_https,
        access_logs=access_logs,
        access_log_bucket_name=access_log_bucket_name,
        load_balancer_deletion_protection=load_balancer_deletion_protection,
        spot=spot,
        cloudfront_origin=cloudfront_origin,
    )


def add_spot_parameters(template: Template) -> SpotParameters:
    """Fargate Spot, on when SpotWeight is above 0: OnDemandBase tasks on FARGATE, the rest split
    OnDemandWeight : SpotWeight. Off by default: turning it on switches the service from LaunchType
    to a capacity-provider strategy, which may replace it (docs/architecture.md, "Fargate Spot").
    The parameters join the auto scaling group: the template has no bytes for a group of its
    own, nor for Rules on the base against the task count (the demo's refuse Spot: data_link.py).
    """
    group = "Auto scaling"

    def weight(name: str, default: int, description: str) -> Parameter:
        return add_grouped(
            template,
            group,
            None,
            Parameter(name, Type="Number", Default=default, MinValue=0, Description=description),
        )

    spot_weight = weight(names.SPOT_WEIGHT, 0, "Spot share (0: no Spot).")
    base = weight(names.ON_DEMAND_BASE, 1, "Tasks on demand first.")
    on_demand = weight(names.ON_DEMAND_WEIGHT, 1, "On-demand share.")
    template.add_condition(names.USE_SPOT, Not(Equals(Ref(spot_weight), "0")))
    return SpotParameters(spot_weight, base, on_demand)


def add_network_parameters(template: Template) -> tuple[Parameter, Parameter]:
    """VpcId and VpcName, which narrow Custom::VpcLookup, with their HasVpcId/HasVpcName
    conditions: declared alike by the service and the data stack."""
    network = "Network (looked up at deploy time)"
    vpc_id = add_grouped(
        template,
        network,
        "VPC ID (optional)",
        Parameter(
            names.VPC_ID,
            Type="String",
            Default="",
            Description="VPC to use. Empty: the VPC named by VpcName, or else the default VPC.",
            AllowedPattern=r"^$|^vpc-[0-9a-f]{8,17}$",
            ConstraintDescription="must be empty or a VPC ID (vpc-...)",
        ),
    )
    vpc_name = add_grouped(
        template,
        network,
        "VPC Name tag (optional)",
        Parameter(
            names.VPC_NAME,
            Type="String",
            Default="",
            Description="Name tag of the VPC to use; with VpcId, both must match.",
            AllowedPattern=r"^[^,]{0,255}$",
            ConstraintDescription="must be at most 255 characters without commas",
        ),
    )
    template.add_condition(names.HAS_VPC_ID, is_set(vpc_id))
    template.add_condition(names.HAS_VPC_NAME, is_set(vpc_name))
    return vpc_id, vpc_name


def add_alarm_parameters(template: Template) -> AlarmParameters:
    """Who hears the alarms (HasAlarmTopic) and where they trip (template_builder/alarms.py)."""
    group = "Alarms"
    topic_arn = add_grouped(
        template,
        group,
        "SNS topic (optional)",
        Parameter(
            names.ALARM_TOPIC_ARN,
            Type="String",
            Default="",
            Description="SNS topic every alarm notifies. Empty: alarms page nobody.",
            AllowedPattern=SNS_TOPIC_ARN_PATTERN,
            ConstraintDescription="must be empty or a standard SNS topic ARN",
        ),
    )
    error_rate_percent = add_grouped(
        template,
        group,
        "5xx % to roll back",
        Parameter(
            names.ERROR_RATE_ALARM_PERCENT,
            Type="Number",
            Default=5,
            MinValue=1,
            MaxValue=50,
            Description="5xx % of requests that rolls a release back.",
        ),
    )
    latency_p99_seconds = add_grouped(
        template,
        group,
        "p99 alarm (s)",
        Parameter(
            names.LATENCY_ALARM_P99_SECONDS,
            Type="Number",
            Default=1,
            MinValue=0.1,
            MaxValue=60,
            Description="p99 response time (s) that pages.",
        ),
    )
    template.add_condition(names.HAS_ALARM_TOPIC, is_set(topic_arn))
    return AlarmParameters(topic_arn, error_rate_percent, latency_p99_seconds)


def add_permissions_boundary_parameter(template: Template) -> Parameter:
    """PermissionsBoundaryArn and HasPermissionsBoundary: declared alike by every stack whose
    roles the GitHub OIDC stack's CloudFormation role creates (it creates none without it)."""
    parameter = add_grouped(
        template,
        "IAM",
        "Permissions boundary (optional)",
        Parameter(
            names.PERMISSIONS_BOUNDARY_ARN,
            Type="String",
            Default="",
            Description="Managed policy set as the permissions boundary of every role of this "
            "stack: the GitHub OIDC stack's PermissionsBoundaryArn output, which its "
            "CloudFormation role requires. Empty: no boundary.",
            AllowedPattern=POLICY_ARN_PATTERN,
            ConstraintDescription="must be empty or an IAM managed policy ARN (...:policy/<name>)",
        ),
    )
    template.add_condition(names.HAS_PERMISSIONS_BOUNDARY, is_set(parameter))
    return parameter


def permissions_boundary(parameter: Parameter) -> If:
    """A role's PermissionsBoundary property: the parameter's policy, or left out."""
    return optional_value(names.HAS_PERMISSIONS_BOUNDARY, Ref(parameter))


def add_log_retention_parameter(template: Template, description: str) -> Parameter:
    return add_grouped(
        template,
        "Logging",
        "Log retention (days)",
        Parameter(
            names.LOG_RETENTION_DAYS,
            Type="Number",
            Default=30,
            AllowedValues=LOG_RETENTION_DAYS,
            Description=description,
        ),
    )


def _add_fargate_size_rules(template: Template, cpu: Parameter, memory: Parameter) -> None:
    """One rule per CPU size: CloudFormation refuses an invalid pair before creating anything."""
    for cpu_units, memory_sizes in FARGATE_MEMORY_BY_CPU.items():
        template.add_rule(
            f"FargateMemoryFor{cpu_units}Cpu",
            {
                "RuleCondition": Equals(Ref(cpu), str(cpu_units)),
                "Assertions": [
                    {
                        "Assert": {"Fn::Contains": [[str(m) for m in memory_sizes], Ref(memory)]},
                        "AssertDescription": (
                            f"With {cpu_units} CPU units, TaskMemory must be one of "
                            + ", ".join(str(m) for m in memory_sizes)
                        ),
                    }
                ],
            },
        )
