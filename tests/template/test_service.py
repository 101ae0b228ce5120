"""The running service: task definition, deployment safety, load balancer and health checks."""

import pytest

from template_builder import names
from template_builder.parameters import FARGATE_MEMORY_BY_CPU

API_DRAIN_SECONDS = 20  # SHUTDOWN_GRACE_SECONDS, the API's own drain (contract)


def props(resolved: dict, logical_id: str) -> dict:
    return resolved["Resources"][logical_id]["Properties"]


def container(resolved: dict) -> dict:
    return props(resolved, names.TASK_DEFINITION)["ContainerDefinitions"][0]


def test_the_task_runs_on_fargate_with_the_chosen_size(render):
    task = props(render.resolve(TaskCpu=1024, TaskMemory=4096), names.TASK_DEFINITION)
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    assert (task["Cpu"], task["Memory"]) == ("1024", "4096")


def test_the_container_runs_as_the_non_root_user_on_a_read_only_root(default_stack):
    api = container(default_stack)
    assert api["User"] == "10001"
    assert api["ReadonlyRootFilesystem"] is True


def test_tmp_is_the_one_writable_task_local_volume(default_stack):
    api = container(default_stack)
    task = props(default_stack, names.TASK_DEFINITION)
    assert api["MountPoints"] == [{"ContainerPath": "/tmp", "SourceVolume": names.TMP_VOLUME}]
    # No host path and no EFS: Fargate's ephemeral task storage.
    assert task["Volumes"] == [{"Name": names.TMP_VOLUME}]


def test_ecs_waits_longer_than_the_api_drains_before_killing_it(default_stack):
    assert container(default_stack)["StopTimeout"] > API_DRAIN_SECONDS


def _target_group(resolved: dict) -> dict:
    (group,) = [
        r["Properties"]
        for r in resolved["Resources"].values()
        if r["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"
    ]
    return group


def test_on_sigterm_the_api_fails_its_checks_until_the_alb_stops_sending_within_stop_timeout(
    default_stack,
):
    api = container(default_stack)
    drain = {e["Name"]: e["Value"] for e in api["Environment"]}["SHUTDOWN_DRAIN_SECONDS"]
    group = _target_group(default_stack)
    unhealthy_after = int(group["HealthCheckIntervalSeconds"]) * int(
        group["UnhealthyThresholdCount"]
    )
    # The drain is the ALB's time to mark the task unhealthy, capped so that in-flight requests
    # still have one check timeout before SIGKILL.
    cap = int(api["StopTimeout"]) - int(group["HealthCheckTimeoutSeconds"])
    assert float(drain) == min(unhealthy_after, cap)
    assert float(drain) < int(api["StopTimeout"])
    # And the cap does not bind: the task keeps serving until the ALB has stopped sending.
    assert float(drain) == unhealthy_after


def test_the_container_checks_its_own_health_without_curl(default_stack):
    check = container(default_stack)["HealthCheck"]
    assert check["Command"] == ["CMD", "python", "-m", "api.healthcheck"]


def test_the_api_listens_on_the_container_port(render):
    api = container(render.resolve(ContainerPort=8080))
    assert api["PortMappings"][0]["ContainerPort"] == "8080"
    assert {"Name": "PORT", "Value": "8080"} in api["Environment"]


def test_logs_go_to_the_stack_log_group_with_retention(render):
    resolved = render.resolve(LogRetentionDays=14)
    options = container(resolved)["LogConfiguration"]["Options"]
    assert options["awslogs-group"] == names.LOG_GROUP
    assert options["awslogs-region"] == render.region
    assert props(resolved, names.LOG_GROUP)["RetentionInDays"] == "14"


def test_the_cluster_has_container_insights(default_stack):
    settings = props(default_stack, names.CLUSTER)["ClusterSettings"]
    assert {"Name": "containerInsights", "Value": "enabled"} in settings


def test_a_failing_deployment_rolls_back_by_circuit_breaker_and_by_alarms(default_stack):
    deployment = props(default_stack, names.SERVICE)["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert deployment["Alarms"] == {
        "AlarmNames": [names.LOAD_BALANCER_5XX_ALARM, names.TARGET_5XX_ALARM],
        "Enable": True,
        "Rollback": True,
    }
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)


def test_the_service_waits_for_the_image_check_so_a_missing_image_fails_fast(render):
    resources = render.service()["Resources"]
    assert names.IMAGE_CHECK in resources[names.SERVICE]["DependsOn"]
    assert names.IMAGE_CHECK in resources[names.TASK_DEFINITION]["DependsOn"]


def test_tasks_run_where_the_lookup_says_with_public_ips_only_if_it_says_so(render, default_stack):
    network = props(default_stack, names.SERVICE)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["Subnets"] == render.vpc["TaskSubnetIds"].split(",")
    assert network["AssignPublicIp"] == render.vpc["TaskAssignPublicIp"]
    assert network["SecurityGroups"] == [
        names.TASK_SECURITY_GROUP,
        render.data_outputs[names.OUTPUT_CLIENT_SECURITY_GROUP],
    ]


def test_the_load_balancer_is_public_in_the_public_subnets(render, default_stack):
    lb = props(default_stack, names.LOAD_BALANCER)
    assert lb["Scheme"] == "internet-facing"
    assert lb["Subnets"] == render.vpc["PublicSubnetIds"].split(",")
    assert {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"} in lb[
        "LoadBalancerAttributes"
    ]


def test_the_target_group_checks_health_often_so_a_rollout_takes_about_a_minute(render):
    group = props(render.resolve(HealthCheckPath="/health"), names.TARGET_GROUP)
    assert group["TargetType"] == "ip"
    assert group["HealthCheckPath"] == "/health"
    assert group["HealthCheckIntervalSeconds"] == 10
    seconds_to_healthy = group["HealthCheckIntervalSeconds"] * group["HealthyThresholdCount"]
    assert seconds_to_healthy <= 30
    delay = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}[
        "deregistration_delay.timeout_seconds"
    ]
    assert API_DRAIN_SECONDS < int(delay) <= 60


def test_the_service_sends_the_load_balancer_to_the_named_container(default_stack):
    (target,) = props(default_stack, names.SERVICE)["LoadBalancers"]
    assert target["ContainerName"] == names.CONTAINER_NAME
    assert target["TargetGroupArn"] == names.TARGET_GROUP


def _memory_rule_allows(template: dict, cpu: int, memory: int) -> bool:
    """Evaluate the template's Rules the way CloudFormation does for TaskCpu/TaskMemory."""
    for rule in template["Rules"].values():
        condition = rule["RuleCondition"]["Fn::Equals"]
        if condition == [{"Ref": names.TASK_CPU}, str(cpu)]:
            allowed, value = rule["Assertions"][0]["Assert"]["Fn::Contains"]
            assert value == {"Ref": names.TASK_MEMORY}
            return str(memory) in allowed
    raise AssertionError(f"no rule for TaskCpu {cpu}")


@pytest.mark.parametrize(
    ("cpu", "memory", "valid"),
    [
        (256, 512, True),
        (256, 2048, True),
        (256, 4096, False),
        (512, 512, False),
        (512, 4096, True),
        (1024, 2048, True),
        (1024, 16384, False),
        (2048, 16384, True),
        (4096, 8192, True),
        (4096, 4096, False),
    ],
)
def test_only_valid_fargate_cpu_memory_pairs_pass_the_rules(render, cpu, memory, valid):
    assert _memory_rule_allows(render.service(), cpu, memory) is valid


def test_every_cpu_and_memory_value_offered_is_covered_by_the_rules(render):
    parameters = render.service()["Parameters"]
    assert parameters[names.TASK_CPU]["AllowedValues"] == sorted(FARGATE_MEMORY_BY_CPU)
    offered = set(parameters[names.TASK_MEMORY]["AllowedValues"])
    assert offered == {m for sizes in FARGATE_MEMORY_BY_CPU.values() for m in sizes}
    for cpu in FARGATE_MEMORY_BY_CPU:
        assert any(_memory_rule_allows(render.service(), cpu, m) for m in offered)


def test_every_parameter_is_described_and_grouped_for_the_console(render):
    for template in (render.service(), render.registry(), render.oidc()):
        grouped = [
            name
            for group in template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
            for name in group["Parameters"]
        ]
        assert sorted(grouped) == sorted(template["Parameters"])
        for name, parameter in template["Parameters"].items():
            assert parameter.get("Description"), name


def test_outputs_give_what_status_and_the_workflows_read(render):
    outputs = render.resolve(ImageTag="v3.0.0")["Outputs"]
    assert {k: v["Value"] for k, v in outputs.items()} == {
        names.OUTPUT_SERVICE_URL: "http://LoadBalancer.DNSName",
        names.OUTPUT_LOAD_BALANCER_DNS: "LoadBalancer.DNSName",
        names.OUTPUT_CLUSTER_NAME: names.CLUSTER,
        names.OUTPUT_SERVICE_NAME: "Service.Name",
        names.OUTPUT_IMAGE_TAG: "v3.0.0",
        names.OUTPUT_LOG_GROUP: names.LOG_GROUP,
        names.OUTPUT_DATABASE_MODE: "data stack api-cars-data (Aurora PostgreSQL)",
        names.OUTPUT_WRITE_ACCESS: "protected by the issuer of api-cars-identity",
        names.OUTPUT_ALARM_TOPIC: "none: alarms page nobody",
        names.OUTPUT_TRANSPORT: names.PLAIN_HTTP,
        # Exported for the edge stack (templates/edge.yaml).
        names.OUTPUT_LOAD_BALANCER_ARN: names.LOAD_BALANCER,
        names.OUTPUT_LISTENER_ARN: names.HTTP_LISTENER,
        names.OUTPUT_TARGET_GROUP_ARN: names.TARGET_GROUP,
        names.OUTPUT_ALB_SECURITY_GROUP: f"{names.LOAD_BALANCER_SECURITY_GROUP}.GroupId",
    }
