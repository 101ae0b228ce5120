"""`cars-stack status` shows predictive scaling's forecast (GetPredictiveScalingForecast, which moto
does not model: Stubber answers shaped like the Application Auto Scaling API reference), in one
line whatever AWS answers; `cars-stack deploy` refuses scaling bounds a template Rule cannot
compare."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from template_builder.names import (
    AUTO_SCALING,
    BUSINESS_HOURS,
    BUSINESS_HOURS_MIN_COUNT,
    BUSINESS_HOURS_TIMEZONE,
    CLUSTER,
    PREDICTIVE_MODE,
    PREDICTIVE_POLICY_NAME,
    PREDICTIVE_SCALING,
    SERVICE,
)
from tests.stack.answers import no_such_stack
from tests.stack.demo import DEMO_SERVICE

REGION = "eu-west-1"
STACK = "api-cars"
STACK_ID = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{STACK}/1c2fa620-982a-11e3-aff7"
CLUSTER_NAME = "api-cars-cluster"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:123456789012:service/{CLUSTER_NAME}/api"
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday
FORECAST_ONLY = {AUTO_SCALING: "true", PREDICTIVE_SCALING: "cpu", PREDICTIVE_MODE: "ForecastOnly"}
HOURS = "cron(0 8 ? * MON-FRI *)|cron(0 19 ? * MON-FRI *)"


class Aws:
    def __init__(self) -> None:
        services = ("cloudformation", "ecs", "ecr", "application-autoscaling")
        self.clients = {name: boto3.client(name, region_name=REGION) for name in services}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def aws() -> Iterator[Aws]:
    stubbed = Aws()
    for stub in stubbed.stubs.values():
        stub.activate()
    yield stubbed
    for stub in stubbed.stubs.values():
        stub.deactivate()


def _expect_service_stack(aws: Aws, parameters: dict[str, str], *, created: bool = True) -> None:
    cfn = aws.stubs["cloudformation"]
    cfn.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackId": STACK_ID,
                    "StackName": STACK,
                    "CreationTime": T0 - timedelta(days=3),
                    "StackStatus": "UPDATE_COMPLETE",
                    "Parameters": [
                        {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                    ],
                }
            ]
        },
        {"StackName": STACK},
    )
    # Before its first create completes, a stack holds neither the cluster nor the service.
    resources = [
        (CLUSTER, CLUSTER_NAME, "AWS::ECS::Cluster"),
        (SERVICE, SERVICE_ARN, "AWS::ECS::Service"),
    ]
    cfn.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": logical,
                    "PhysicalResourceId": physical,
                    "ResourceType": kind,
                    "LastUpdatedTimestamp": T0,
                    "ResourceStatus": "UPDATE_COMPLETE",
                }
                for logical, physical, kind in (resources if created else [])
            ]
        },
        {"StackName": STACK},
    )
    if not created:
        return
    aws.stubs["ecs"].add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceArn": SERVICE_ARN,
                    "serviceName": "api",
                    "runningCount": 3,
                    "desiredCount": 3,
                    "deployments": [{"status": "PRIMARY", "rolloutState": "COMPLETED"}],
                }
            ],
            "failures": [],
        },
        {"cluster": CLUSTER_NAME, "services": [SERVICE_ARN]},
    )


FORECAST_REQUEST = {
    "ServiceNamespace": "ecs",
    "ResourceId": f"service/{CLUSTER_NAME}/api",
    "ScalableDimension": "ecs:service:DesiredCount",
    "PolicyName": PREDICTIVE_POLICY_NAME,
    "StartTime": ANY,
    "EndTime": ANY,
}


def _forecast(capacity: list[float]) -> dict[str, Any]:
    """GetPredictiveScalingForecast's answer: hourly points from T0 (API reference)."""
    hours = [T0 + timedelta(hours=n) for n in range(len(capacity))]
    return {
        "LoadForecast": [
            {
                "Timestamps": hours,
                "Values": [value * 55.0 for value in capacity],
                "MetricSpecification": {
                    "TargetValue": 60.0,
                    "PredefinedMetricPairSpecification": {
                        "PredefinedMetricType": "ECSServiceCPUUtilization"
                    },
                },
            }
        ],
        "CapacityForecast": {"Timestamps": hours, "Values": capacity},
        "UpdateTime": T0 - timedelta(minutes=55),
    }


def _status(cli, aws: Aws, *extra: str):
    no_such_stack(aws.stubs["cloudformation"], "api-cars-data")
    result = cli("status", *extra, clients=aws.clients)
    aws.done()
    return result


def _row(result, key: str) -> str:
    (line,) = [line for line in result.out.splitlines() if line.startswith(key + " ")]
    return line[len(key) :].strip()


def test_status_shows_the_forecast_range_and_its_peak(cli, aws) -> None:
    _expect_service_stack(aws, FORECAST_ONLY)
    capacity = [2.0, 2.0, 3.0, 5.0, 4.0, 2.0]
    aws.stubs["application-autoscaling"].add_response(
        "get_predictive_scaling_forecast", _forecast(capacity), FORECAST_REQUEST
    )
    result = _status(cli, aws)
    assert result.code == 0, result.err
    assert _row(result, "Predictive") == (
        "ForecastOnly on cpu: next 48 h 2-5 tasks, peak at Wed 15:00 UTC "
        "(forecast of Wed 11:05 UTC)"
    )


def test_status_as_json_carries_the_hourly_capacity_and_load(cli, aws) -> None:
    _expect_service_stack(aws, FORECAST_ONLY)
    aws.stubs["application-autoscaling"].add_response(
        "get_predictive_scaling_forecast", _forecast([2.0, 4.0]), FORECAST_REQUEST
    )
    document = _status(cli, aws, "--output", "json").json()["predictive_scaling"]
    assert (document["predicts"], document["mode"]) == ("cpu", "ForecastOnly")
    assert [p["value"] for p in document["capacity"]] == [2.0, 4.0]
    assert [p["time"] for p in document["capacity"]] == [
        str(T0),
        str(T0 + timedelta(hours=1)),
    ]
    assert [[p["value"] for p in load] for load in document["load"]] == [[110.0, 220.0]]


def test_a_new_policy_without_a_forecast_says_it_needs_a_day_of_metrics(cli, aws) -> None:
    _expect_service_stack(aws, {**FORECAST_ONLY, PREDICTIVE_MODE: "ForecastAndScale"})
    aws.stubs["application-autoscaling"].add_response(
        "get_predictive_scaling_forecast",
        {"LoadForecast": [], "CapacityForecast": {"Timestamps": [], "Values": []}},
        FORECAST_REQUEST,
    )
    result = _status(cli, aws)
    assert result.code == 0, result.err
    assert _row(result, "Predictive") == (
        "ForecastAndScale on cpu: no forecast yet (it needs 24 h of metrics)"
    )


@pytest.mark.parametrize(
    ("code", "message", "status"),
    [
        (
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/api-cars-PublishRole/gh is not "
            "authorized to perform: application-autoscaling:GetPredictiveScalingForecast",
            400,
        ),
        ("ValidationException", "No scaling policy found for service namespace: ecs", 400),
    ],
)
def test_a_refused_forecast_is_one_line_and_status_still_succeeds(
    cli, aws, code, message, status
) -> None:
    _expect_service_stack(aws, FORECAST_ONLY)
    aws.stubs["application-autoscaling"].add_client_error(
        "get_predictive_scaling_forecast",
        service_error_code=code,
        service_message=message,
        http_status_code=status,
        expected_params=FORECAST_REQUEST,
    )
    result = _status(cli, aws)
    assert result.code == 0, result.err
    assert _row(result, "Predictive") == (f"ForecastOnly on cpu: no forecast ({code}: {message})")
    assert "Traceback" not in result.out + result.err


@pytest.mark.parametrize(
    "parameters",
    [
        {},  # a stack from before the option
        {AUTO_SCALING: "true", PREDICTIVE_SCALING: "off"},
        {AUTO_SCALING: "false", PREDICTIVE_SCALING: "cpu"},  # no scalable target
    ],
    ids=["no-parameter", "off", "auto-scaling-off"],
)
def test_without_a_predictive_policy_status_says_off_and_asks_nothing(cli, aws, parameters) -> None:
    _expect_service_stack(aws, parameters)
    result = _status(cli, aws)  # no GetPredictiveScalingForecast answer is stubbed
    assert result.code == 0, result.err
    assert _row(result, "Predictive") == "off"
    assert not [line for line in result.out.splitlines() if line.startswith("Floor ")]


def test_status_shows_the_business_hours_floor_from_the_parameters(cli, aws) -> None:
    _expect_service_stack(
        aws,
        {
            AUTO_SCALING: "true",
            BUSINESS_HOURS: HOURS,
            BUSINESS_HOURS_MIN_COUNT: "4",
            BUSINESS_HOURS_TIMEZONE: "Europe/Paris",
        },
    )
    result = _status(cli, aws)
    assert result.code == 0, result.err
    assert _row(result, "Floor") == (
        "at least 4 tasks from cron(0 8 ? * MON-FRI *) to cron(0 19 ? * MON-FRI *) (Europe/Paris)"
    )


def test_a_stack_without_its_service_yet_says_so_and_asks_nothing(cli, aws) -> None:
    _expect_service_stack(aws, FORECAST_ONLY, created=False)
    result = _status(cli, aws)  # no DescribeServices, no GetPredictiveScalingForecast
    assert result.code == 0, result.err
    assert _row(result, "Predictive") == (
        "ForecastOnly on cpu: no forecast (the stack has no service yet)"
    )


# --- deploy: what Rules cannot compare ------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "says"),
    [
        (
            [f"{BUSINESS_HOURS}={HOURS}", f"{BUSINESS_HOURS_MIN_COUNT}=8"],
            "BusinessHoursMinCount=8 is above AutoScalingMaxCount=6",
        ),
        (["AutoScalingMinCount=7"], "AutoScalingMinCount=7 is above AutoScalingMaxCount=6"),
    ],
)
def test_deploy_refuses_a_minimum_above_the_maximum_before_any_change_set(
    cli, aws_env, real_template_path, push_image, params, says
) -> None:
    push_image("v1.0.0")
    extra = [arg for param in params for arg in ("--param", param)]
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        *extra,
        "--template-file",
        str(real_template_path),
        "--image-tag",
        "v1.0.0",
        "--yes",
    )
    assert result.code == 2
    assert result.err.splitlines() == [
        f"cars-stack deploy: {says}: raise AutoScalingMaxCount or lower {says.split('=', 1)[0]}"
    ]
    stacks = boto3.client("cloudformation", region_name=REGION).list_stacks()["StackSummaries"]
    assert stacks == []


def test_deploy_lets_a_floor_within_the_maximum_through_to_the_change_set(
    cli, aws_env, real_template_path, push_image
) -> None:
    """The same deploy with the floor at the maximum passes the check (and stops later, at the
    network stack's missing exports, which this test does not create)."""
    push_image("v1.0.0")
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--param",
        f"{BUSINESS_HOURS}={HOURS}",
        "--param",
        f"{BUSINESS_HOURS_MIN_COUNT}=6",
        "--template-file",
        str(real_template_path),
        "--image-tag",
        "v1.0.0",
        "--yes",
    )
    assert "is above AutoScalingMaxCount" not in result.err
    assert result.err.startswith("cars-stack deploy: stack api-cars-network"), result.err
