"""Predictive scaling and the business-hours floor (template_builder/scaling.py): each adds exactly
its resource or property to the default stack, only with auto scaling on, with the values the
CloudFormation reference asks for."""

import pytest

from template_builder import names

FORECAST_ONLY = {names.PREDICTIVE_SCALING: "cpu"}  # PredictiveMode's default: ForecastOnly
REQUESTS = {names.PREDICTIVE_SCALING: "requests", names.PREDICTIVE_MODE: "ForecastAndScale"}


def differences(before: dict, after: dict) -> dict:
    """Per resource of either, the properties that differ ("added" / "removed" for a resource)."""
    changed = {}
    for logical_id in sorted(set(before["Resources"]) | set(after["Resources"])):
        old, new = before["Resources"].get(logical_id), after["Resources"].get(logical_id)
        if old is None or new is None:
            changed[logical_id] = "added" if old is None else "removed"
        elif old != new:
            keys = set(old["Properties"]) | set(new["Properties"])
            changed[logical_id] = sorted(
                k for k in keys if old["Properties"].get(k) != new["Properties"].get(k)
            )
    return changed


def predictive(resolved: dict) -> dict:
    return resolved["Resources"][names.PREDICTIVE_SCALING_POLICY]["Properties"]


def test_predictive_scaling_is_off_by_default(default_stack):
    assert names.PREDICTIVE_SCALING_POLICY not in default_stack["Resources"]
    target = default_stack["Resources"][names.SCALABLE_TARGET]["Properties"]
    assert "ScheduledActions" not in target


@pytest.mark.parametrize("options", [FORECAST_ONLY, REQUESTS], ids=["cpu", "requests"])
def test_predictive_scaling_adds_exactly_its_policy(render, default_stack, options):
    assert differences(default_stack, render.resolve(**options)) == {
        names.PREDICTIVE_SCALING_POLICY: "added"
    }


def test_forecast_only_on_cpu_forecasts_the_cpu_pair_to_the_cpu_target(render):
    policy = predictive(render.resolve(**FORECAST_ONLY, CpuTargetPercent=55))
    assert policy["PolicyType"] == "PredictiveScaling"
    assert policy["ScalingTargetId"] == names.SCALABLE_TARGET
    configuration = policy["PredictiveScalingPolicyConfiguration"]
    assert configuration["Mode"] == "ForecastOnly"
    # Left out: Application Auto Scaling's defaults, HonorMaxCapacity and a 300 s buffer.
    assert "MaxCapacityBreachBehavior" not in configuration
    assert "SchedulingBufferTime" not in configuration
    assert configuration["MetricSpecifications"] == [
        {
            "TargetValue": "55",
            "PredefinedMetricPairSpecification": {
                "PredefinedMetricType": "ECSServiceCPUUtilization"
            },
        }
    ]


def test_forecast_and_scale_on_requests_labels_the_target_group_as_target_tracking_does(render):
    resolved = render.resolve(**REQUESTS, RequestsPerTargetPerMinute=800)
    configuration = predictive(resolved)["PredictiveScalingPolicyConfiguration"]
    assert configuration["Mode"] == "ForecastAndScale"
    (specification,) = configuration["MetricSpecifications"]
    assert specification["TargetValue"] == "800"
    tracking = resolved["Resources"][names.REQUEST_SCALING_POLICY]["Properties"]
    label = tracking["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
        "ResourceLabel"
    ]
    assert label == "LoadBalancer.LoadBalancerFullName/TargetGroup.TargetGroupFullName"
    assert specification["PredefinedMetricPairSpecification"] == {
        "PredefinedMetricType": "ALBRequestCount",
        "ResourceLabel": label,
    }


def test_the_policy_name_is_the_one_status_asks_the_forecast_of(render):
    assert predictive(render.resolve(**FORECAST_ONLY))["PolicyName"] == names.PREDICTIVE_POLICY_NAME


@pytest.mark.parametrize("options", ["predictive", "business-hours", "both"])
def test_without_auto_scaling_neither_option_adds_anything(render, options):
    chosen = {
        "predictive": REQUESTS,
        "business-hours": render.business_hours,
        "both": {**REQUESTS, **render.business_hours},
    }[options]
    fixed = render.resolve(AutoScaling="false")
    assert differences(fixed, render.resolve(AutoScaling="false", **chosen)) == {}
    assert not render.of_type(fixed, "AWS::ApplicationAutoScaling::ScalingPolicy")


def test_business_hours_add_exactly_the_scheduled_actions_of_the_scalable_target(
    render, default_stack
):
    assert differences(default_stack, render.resolve(**render.business_hours)) == {
        names.SCALABLE_TARGET: ["ScheduledActions"]
    }


def test_business_hours_raise_the_minimum_at_the_start_and_restore_it_at_the_end(render):
    resolved = render.resolve(**render.business_hours, AutoScalingMinCount=2, AutoScalingMaxCount=9)
    target = resolved["Resources"][names.SCALABLE_TARGET]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == ("2", "9")
    start, end = target["ScheduledActions"]
    assert start == {
        "ScheduledActionName": "open",
        "Schedule": "cron(0 8 ? * MON-FRI *)",
        "Timezone": "Europe/Paris",
        "ScalableTargetAction": {"MinCapacity": "4", "MaxCapacity": "9"},
    }
    assert end == {
        "ScheduledActionName": "close",
        "Schedule": "cron(0 19 ? * MON-FRI *)",
        "Timezone": "Europe/Paris",
        "ScalableTargetAction": {"MinCapacity": "2"},
    }


def test_the_schedules_are_in_utc_unless_a_time_zone_is_given(render):
    hours = {names.BUSINESS_HOURS: render.business_hours[names.BUSINESS_HOURS]}
    target = render.resolve(**hours)["Resources"][names.SCALABLE_TARGET]["Properties"]
    assert {a["Timezone"] for a in target["ScheduledActions"]} == {"UTC"}
    assert {a["ScalableTargetAction"]["MinCapacity"] for a in target["ScheduledActions"]} == {
        "4",  # BusinessHoursMinCount's default
        "2",  # AutoScalingMinCount's
    }


@pytest.mark.parametrize(
    "hours",
    [
        "cron(0 8 ? * MON-FRI *)",  # a start without an end
        "|cron(0 19 ? * MON-FRI *)",
        "cron(0 8 ? * MON-FRI *)|cron(0 19 ? * MON-FRI *)|cron(0 12 ? * MON-FRI *)",
        "rate(1 hour)|rate(2 hours)",
        "0 8 * * 1-5|0 19 * * 1-5",
    ],
)
def test_business_hours_take_exactly_two_cron_schedules(render, hours):
    with pytest.raises(ValueError, match=names.BUSINESS_HOURS):
        render.resolve(BusinessHours=hours)


def test_a_floor_of_zero_is_refused(render):
    with pytest.raises(ValueError, match=names.BUSINESS_HOURS_MIN_COUNT):
        render.resolve(**render.business_hours | {names.BUSINESS_HOURS_MIN_COUNT: "0"})


def test_both_options_add_the_policy_and_the_scheduled_actions(render, default_stack):
    both = render.resolve(**REQUESTS, **render.business_hours)
    assert differences(default_stack, both) == {
        names.PREDICTIVE_SCALING_POLICY: "added",
        names.SCALABLE_TARGET: ["ScheduledActions"],
    }


@pytest.mark.parametrize("options", ["off", "both"])
def test_a_tag_change_with_the_options_on_still_changes_only_the_release(render, options):
    chosen = {} if options == "off" else {**REQUESTS, **render.business_hours}
    before = render.resolve(ImageTag="v1.0.0", **chosen)
    after = render.resolve(ImageTag="v1.1.0", **chosen)
    assert differences(before, after) == {
        names.TASK_DEFINITION: ["ContainerDefinitions"],
        names.IMAGE_CHECK: [names.IMAGE_TAG],
    }
