"""The alarms: deployment alarms measure a 5xx rate with a minimum request count and roll a
release back; the paging alarms never roll back; with AlarmTopicArn every alarm notifies it."""

import json
import re
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext

import pytest
from cfnlint.api import ManualArgs, lint

from template_builder import alarms, names

RATE_ALARMS = [names.LOAD_BALANCER_5XX_ALARM, names.TARGET_5XX_ALARM]
ALL_ALARMS = [*RATE_ALARMS, names.UNHEALTHY_TARGETS_ALARM, names.LATENCY_ALARM]
TOPIC = "arn:aws:sns:eu-west-1:123456789012:api-cars-alarms"


def props(resolved: dict, logical_id: str) -> dict:
    return resolved["Resources"][logical_id]["Properties"]


def queries(alarm: dict) -> dict[str, dict]:
    return {query["Id"]: query for query in alarm["Metrics"]}


def rate(expression: str, errors: int | None, requests: int | None) -> Decimal:
    """One minute of the alarm's metric math, evaluated point-wise as CloudWatch does: FILL
    replaces a missing point, IF chooses by its condition (the other branch may divide by 0)."""
    with localcontext() as context:
        context.traps[DivisionByZero] = context.traps[InvalidOperation] = False
        functions = {
            "FILL": lambda value, fill: Decimal(fill if value is None else value),
            "IF": lambda condition, when_true, when_false: when_true if condition else when_false,
        }
        # The expression is our own template's text, restricted to these names and numbers.
        assert set(re.findall(r"[A-Za-z_]+", expression)) <= {"FILL", "IF", "e", "r"}
        return eval(expression, {"__builtins__": {}}, functions | {"e": errors, "r": requests})


def test_the_deployment_alarms_are_exactly_the_5xx_rate_alarms(default_stack):
    deployment = props(default_stack, names.SERVICE)["DeploymentConfiguration"]["Alarms"]
    assert deployment == {"AlarmNames": RATE_ALARMS, "Enable": True, "Rollback": True}


@pytest.mark.parametrize(
    ("alarm", "errors", "dimensions"),
    [
        (names.LOAD_BALANCER_5XX_ALARM, "HTTPCode_ELB_5XX_Count", {"LoadBalancer"}),
        (names.TARGET_5XX_ALARM, "HTTPCode_Target_5XX_Count", {"LoadBalancer", "TargetGroup"}),
    ],
)
def test_each_5xx_alarm_is_errors_over_requests_of_the_same_dimensions(
    default_stack, alarm, errors, dimensions
):
    metrics = queries(props(default_stack, alarm))
    assert set(metrics) == {"e", "r", "rate"}
    for query_id, metric_name in (("e", errors), ("r", "RequestCount")):
        stat = metrics[query_id]["MetricStat"]
        assert stat["Metric"]["MetricName"] == metric_name
        assert stat["Metric"]["Namespace"] == "AWS/ApplicationELB"
        assert {d["Name"] for d in stat["Metric"]["Dimensions"]} == dimensions
        assert (stat["Stat"], stat["Period"]) == ("Sum", 60)
    # PutMetricAlarm takes exactly one query returning data: the rate.
    assert [q for q, m in metrics.items() if m["ReturnData"]] == ["rate"]


def test_the_5xx_alarms_trip_on_the_rate_parameter_in_2_of_3_minutes(render):
    resolved = render.resolve(ErrorRateAlarmPercent=7)
    for alarm in RATE_ALARMS:
        spec = props(resolved, alarm)
        assert (spec["Threshold"], spec["ComparisonOperator"]) == ("7", "GreaterThanThreshold")
        assert (spec["EvaluationPeriods"], spec["DatapointsToAlarm"]) == (3, 2)
        assert spec["TreatMissingData"] == "notBreaching"
        assert "MetricName" not in spec


@pytest.mark.parametrize(
    ("errors", "requests", "percent"),
    [
        (10, 6000, Decimal("0.1666666666666666666666666667")),  # the old count alarm's 10 a minute
        (3, 20, 15),
        (19, 19, 0),  # under the minimum request count: no rate
        (None, 100, 0),  # 5xx metrics are not reported when zero
        (None, None, 0),
    ],
)
def test_the_target_rate_is_5xx_per_100_requests_guarded_by_a_minimum(
    default_stack, errors, requests, percent
):
    expression = queries(props(default_stack, names.TARGET_5XX_ALARM))["rate"]["Expression"]
    assert rate(expression, errors, requests) == percent


@pytest.mark.parametrize(
    ("errors", "requests", "percent"),
    [
        (30, None, 100),  # 503 with no healthy target: not in RequestCount at all
        (5, 95, 5),
        (10, 5, 0),  # 15 requests in all: under the minimum
    ],
)
def test_the_load_balancer_rate_counts_its_own_5xx_as_requests(
    default_stack, errors, requests, percent
):
    expression = queries(props(default_stack, names.LOAD_BALANCER_5XX_ALARM))["rate"]["Expression"]
    assert rate(expression, errors, requests) == percent


def test_the_minimum_request_count_is_the_named_constant(default_stack):
    for alarm in RATE_ALARMS:
        expression = queries(props(default_stack, alarm))["rate"]["Expression"]
        assert expression.startswith("IF(") and f">={alarms.MIN_REQUESTS_PER_PERIOD}," in expression


def test_unhealthy_targets_page_after_5_minutes(default_stack):
    spec = props(default_stack, names.UNHEALTHY_TARGETS_ALARM)
    assert spec["MetricName"] == "UnHealthyHostCount"
    assert {d["Name"] for d in spec["Dimensions"]} == {"LoadBalancer", "TargetGroup"}
    assert (spec["Statistic"], spec["Period"], spec["EvaluationPeriods"]) == ("Maximum", 60, 5)
    assert (spec["Threshold"], spec["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_p99_latency_pages_above_the_parameter_with_enough_samples(render):
    spec = props(render.resolve(LatencyAlarmP99Seconds=2), names.LATENCY_ALARM)
    assert (spec["MetricName"], spec["ExtendedStatistic"]) == ("TargetResponseTime", "p99")
    assert {d["Name"] for d in spec["Dimensions"]} == {"LoadBalancer", "TargetGroup"}
    assert spec["Threshold"] == "2"
    assert spec["EvaluateLowSampleCountPercentile"] == "ignore"
    assert (spec["Period"], spec["EvaluationPeriods"]) == (300, 2)


def test_without_a_topic_no_alarm_has_actions_and_the_output_says_so(default_stack):
    for alarm in ALL_ALARMS:
        spec = props(default_stack, alarm)
        assert "AlarmActions" not in spec and "OKActions" not in spec
    assert "alarms page nobody" in default_stack["Outputs"][names.OUTPUT_ALARM_TOPIC]["Value"]


def test_with_a_topic_every_alarm_notifies_it_on_alarm_and_on_ok(render):
    resolved = render.resolve(AlarmTopicArn=TOPIC)
    assert render.of_type(resolved, "AWS::CloudWatch::Alarm").keys() == set(ALL_ALARMS)
    for alarm in ALL_ALARMS:
        spec = props(resolved, alarm)
        assert (spec["AlarmActions"], spec["OKActions"]) == ([TOPIC], [TOPIC])
    assert resolved["Outputs"][names.OUTPUT_ALARM_TOPIC]["Value"] == TOPIC


@pytest.mark.parametrize(
    "topic",
    [
        "arn:aws:sns:eu-west-1:123456789012:alarms.fifo",  # alarms cannot notify FIFO topics
        "arn:aws:sqs:eu-west-1:123456789012:alarms",
        "arn:aws:sns:eu-west-1:1234:alarms",
        "alarms",
    ],
)
def test_an_alarm_topic_that_is_not_a_standard_sns_topic_arn_is_refused(render, topic):
    with pytest.raises(ValueError, match="AllowedPattern for parameter AlarmTopicArn"):
        render.resolve(AlarmTopicArn=topic)


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("ErrorRateAlarmPercent", 0), ("ErrorRateAlarmPercent", 51), ("LatencyAlarmP99Seconds", 61)],
)
def test_alarm_thresholds_out_of_bounds_are_refused(render, parameter, value):
    with pytest.raises(
        ValueError, match=f"(below|above) the (minimum|maximum) value for parameter {parameter}"
    ):
        render.resolve(**{parameter: value})


def test_the_template_with_a_topic_passes_cfn_lint(render):
    variant = render.variant(render.service(), AlarmTopicArn=TOPIC)
    config = ManualArgs(regions=["eu-west-1"], ignore_checks=["W2001"])
    assert lint(json.dumps(variant), config=config) == []
