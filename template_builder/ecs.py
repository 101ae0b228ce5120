"""ECS: the cluster and the API's log group, the task definition and the service `api`.

The image is `<account>.dkr.ecr.<region>.<url suffix>/<RepositoryName>:<ImageTag>`, built from
parameters only (not from Custom::ImageCheck's ImageUri attribute). A release changes ImageTag, so
the change set shows the new image literally and replaces exactly the task definition; had the
image come from a custom-resource attribute, the change set could only say "conditional, value
unknown until the update runs". ECS resolves the tag to a digest at deployment (version
consistency), so all tasks of one deployment run the same image, and release tags are immutable
in the registry (see registry.py).
"""

from dataclasses import dataclass

from troposphere import If, NoValue, Ref, Region, Sub, Template, ecs
from troposphere import logs as cwlogs

from template_builder import names
from template_builder.alarms import Alarms
from template_builder.auth_link import AuthLink
from template_builder.custom_resources import ImageCheck
from template_builder.data_link import DataLink
from template_builder.iam import TaskRoles
from template_builder.load_balancer import (
    HEALTH_CHECK_INTERVAL_SECONDS,
    HEALTH_CHECK_TIMEOUT_SECONDS,
    UNHEALTHY_THRESHOLD,
    LoadBalancing,
)
from template_builder.metadata import checkov_skips, guard_skips
from template_builder.network import SecurityGroups
from template_builder.network_link import NetworkLink
from template_builder.parameters import ServiceParameters, SpotParameters, optional_value

IMAGE_URI = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${Repository}:${Tag}"
RUN_AS_USER = "10001"  # the image's non-root uid/gid (contract with the Dockerfile)
# ECS waits this long after SIGTERM before SIGKILL: the drain below (30 s, what the load balancer
# needs to stop sending) plus room for the requests still in flight (Fargate allows up to 120 s).
# At 30 s the cap bound the drain to 25 s, and a Spot-style stop failed a few requests
# (docs/rehearsal.md).
STOP_TIMEOUT_SECONDS = 45
HEALTH_CHECK_COMMAND = ["CMD", "python", "-m", "api.healthcheck"]
# On SIGTERM the API fails its health check and keeps serving until the load balancer has seen
# enough failed checks to stop sending (a Spot interruption signals before it deregisters);
# capped so in-flight requests still have one health-check timeout before SIGKILL.
SHUTDOWN_DRAIN_SECONDS = min(
    HEALTH_CHECK_INTERVAL_SECONDS * UNHEALTHY_THRESHOLD,
    STOP_TIMEOUT_SECONDS - HEALTH_CHECK_TIMEOUT_SECONDS,
)


FARGATE, FARGATE_SPOT = "FARGATE", "FARGATE_SPOT"


def _strategy(spot: SpotParameters) -> list[ecs.CapacityProviderStrategyItem]:
    """The base on demand, then the rest by weight (ECS places the base first)."""
    return [
        ecs.CapacityProviderStrategyItem(
            CapacityProvider=FARGATE,
            Base=Ref(spot.on_demand_base),
            Weight=Ref(spot.on_demand_weight),
        ),
        ecs.CapacityProviderStrategyItem(
            CapacityProvider=FARGATE_SPOT, Weight=Ref(spot.spot_weight)
        ),
    ]


@dataclass(frozen=True)
class Cluster:
    cluster: ecs.Cluster
    log_group: cwlogs.LogGroup


def add_cluster(template: Template, params: ServiceParameters) -> Cluster:
    cluster = template.add_resource(
        ecs.Cluster(
            names.CLUSTER,
            ClusterName=Sub(names.CLUSTER_NAME.format(stack=names.OWN_STACK_NAME)),
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
            # On the cluster itself (an update in place), so the service that uses them depends
            # on them through its Cluster reference; left out with Spot off.
            CapacityProviders=optional_value(names.USE_SPOT, [FARGATE, FARGATE_SPOT]),
        )
    )
    log_group = template.add_resource(
        cwlogs.LogGroup(
            names.LOG_GROUP,
            LogGroupName=Sub(names.API_LOG_GROUP_NAME.format(stack=names.OWN_STACK_NAME)),
            RetentionInDays=Ref(params.log_retention_days),
            Metadata=checkov_skips(
                CKV_AWS_158="CloudWatch Logs encrypts at rest with AWS-owned keys; the API logs "
                "no secrets, so a customer-managed key would add cost and a key policy only.",
            )
            | guard_skips(
                cloudwatch_log_group_encrypted_check="AWS-owned keys; no secrets are logged.",
                cloudwatch_log_group_retention_period_check="LogRetentionDays decides.",
            ),
        )
    )
    return Cluster(cluster=cluster, log_group=log_group)


def _secret(name: str, condition: str, arn_parameter) -> If:
    return optional_value(condition, ecs.Secret(Name=name, ValueFrom=Ref(arn_parameter)))


def add_task_definition(
    template: Template,
    params: ServiceParameters,
    data: DataLink,
    auth: AuthLink,
    cluster: Cluster,
    roles: TaskRoles,
    image_check: ImageCheck,
) -> ecs.TaskDefinition:
    container = ecs.ContainerDefinition(
        Name=names.CONTAINER_NAME,
        Image=Sub(IMAGE_URI, Repository=Ref(params.repository_name), Tag=Ref(params.image_tag)),
        Essential=True,
        PortMappings=[
            ecs.PortMapping(Name="http", ContainerPort=Ref(params.container_port), Protocol="tcp")
        ],
        Environment=[
            ecs.Environment(Name="APP_VERSION", Value=Ref(params.image_tag)),
            ecs.Environment(Name="PORT", Value=Ref(params.container_port)),
            ecs.Environment(Name="SHUTDOWN_DRAIN_SECONDS", Value=str(SHUTDOWN_DRAIN_SECONDS)),
            *data.environment(),
            *auth.environment(),
        ],
        Secrets=[
            _secret("DATABASE_URL", names.HAS_DATABASE_URL_SECRET, params.database_url_secret_arn),
            _secret("REDIS_URL", names.HAS_REDIS_URL_SECRET, params.redis_url_secret_arn),
            *data.secrets(),
        ],
        LogConfiguration=ecs.LogConfiguration(
            LogDriver="awslogs",
            Options={
                "awslogs-group": Ref(cluster.log_group),
                "awslogs-region": Region,
                "awslogs-stream-prefix": "api",
                # A full log buffer must not block the API's event loop.
                "mode": "non-blocking",
                "max-buffer-size": "4m",
            },
        ),
        HealthCheck=ecs.HealthCheck(
            Command=HEALTH_CHECK_COMMAND, Interval=10, Timeout=5, Retries=3, StartPeriod=30
        ),
        User=RUN_AS_USER,
        ReadonlyRootFilesystem=True,
        MountPoints=[ecs.MountPoint(SourceVolume=names.TMP_VOLUME, ContainerPath="/tmp")],  # noqa: S108,
        StopTimeout=STOP_TIMEOUT_SECONDS,
    )
    return template.add_resource(
        ecs.TaskDefinition(
            names.TASK_DEFINITION,
            Family=Sub(names.TASK_FAMILY.format(stack=names.OWN_STACK_NAME)),
            RequiresCompatibilities=["FARGATE"],
            NetworkMode="awsvpc",
            Cpu=Ref(params.task_cpu),
            Memory=Ref(params.task_memory),
            RuntimePlatform=ecs.RuntimePlatform(
                OperatingSystemFamily="LINUX", CpuArchitecture="X86_64"
            ),
            ExecutionRoleArn=roles.execution.GetAtt("Arn"),
            TaskRoleArn=roles.task.GetAtt("Arn"),
            ContainerDefinitions=[container],
            # A Fargate bind-mount volume without a host path is task-local scratch space: the
            # only writable place with a read-only root file system.
            Volumes=[ecs.Volume(Name=names.TMP_VOLUME)],
            Metadata=guard_skips(
                ecs_task_definition_memory_hard_limit_check="The task's Memory bounds its one "
                "container.",
                ecs_no_environment_secrets_check="Guard cannot read names in Fn::If; secrets are "
                "in Secrets.",
            ),
            # Register a task definition only for an image that exists.
            DependsOn=[image_check],
        )
    )


def add_service(
    template: Template,
    params: ServiceParameters,
    data: DataLink,
    cluster: Cluster,
    task_definition: ecs.TaskDefinition,
    image_check: ImageCheck,
    network: NetworkLink,
    security_groups: SecurityGroups,
    lb: LoadBalancing,
    alarms: Alarms,
) -> ecs.Service:
    return template.add_resource(
        ecs.Service(
            names.SERVICE,
            ServiceName=names.SERVICE_NAME,
            Cluster=Ref(cluster.cluster),
            TaskDefinition=Ref(task_definition),
            # With Spot off, LaunchType exactly as before: the switch to a strategy may replace
            # the service, which its fixed name makes fail (docs/architecture.md, "Fargate Spot").
            LaunchType=If(names.USE_SPOT, NoValue, FARGATE),
            CapacityProviderStrategy=optional_value(names.USE_SPOT, _strategy(params.spot)),
            # With auto scaling the count is left out, so an update (a release) never resets
            # the count auto scaling chose; CloudFormation starts a new service at 1 and the
            # scalable target raises it to the minimum.
            DesiredCount=If(names.ENABLE_AUTO_SCALING, NoValue, Ref(params.desired_count)),
            HealthCheckGracePeriodSeconds=Ref(params.health_check_grace_period),
            DeploymentConfiguration=ecs.DeploymentConfiguration(
                MinimumHealthyPercent=100,
                MaximumPercent=200,
                DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
                Alarms=ecs.DeploymentAlarms(
                    AlarmNames=alarms.deployment_alarms(),
                    Enable=True,
                    Rollback=True,
                ),
            ),
            NetworkConfiguration=ecs.NetworkConfiguration(
                AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                    Subnets=network.list("TaskSubnetIds"),
                    SecurityGroups=[Ref(security_groups.tasks), data.client_security_group()],
                    AssignPublicIp=network.value("TaskAssignPublicIp"),
                )
            ),
            LoadBalancers=[
                ecs.LoadBalancer(
                    ContainerName=names.CONTAINER_NAME,
                    ContainerPort=Ref(params.container_port),
                    TargetGroupArn=Ref(lb.target_group),
                )
            ],
            EnableECSManagedTags=True,
            PropagateTags="SERVICE",
            Metadata={"ForwardingListener": lb.forwarding_listener()}
            | guard_skips(
                ecs_service_assign_public_ip_disabled_check="Public only if the VPC has no private "
                "subnet with egress.",
            ),
            # Fail fast on a missing image, before ECS starts tasks that cannot pull it.
            DependsOn=[image_check],
        )
    )
