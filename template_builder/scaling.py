"""Auto scaling, when `EnableAutoScaling`: target tracking on CPU and on requests per task, and two
options, off by default: predictive scaling beside them, and a business-hours floor (scheduled
actions on the scalable target).

No RoleARN: Application Auto Scaling uses its ECS service-linked role, created on first use.
"""

from dataclasses import dataclass

from troposphere import (
    And,
    Condition,
    Equals,
    If,
    Not,
    Parameter,
    Ref,
    Select,
    Split,
    Sub,
    Template,
    ecs,
)
from troposphere import applicationautoscaling as aas

from template_builder import names
from template_builder.ecs import Cluster
from template_builder.load_balancer import LoadBalancing
from template_builder.parameters import ServiceParameters, add_grouped, is_set, optional_value

# Add tasks quickly, remove them slowly: a spike costs more than a few idle minutes.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300

GROUP = "Auto scaling"
# The metric pairs of predictive scaling for an ECS service behind a load balancer: total CPU as
# the load and average CPU as the scaling metric, or the target group's requests per minute and
# requests per task (CloudFormation reference, PredictiveScalingPredefinedMetricPair).
CPU_PAIR = "ECSServiceCPUUtilization"
REQUESTS_PAIR = "ALBRequestCount"
# PredictiveScaling turns it on by naming the pair; its mode is a parameter of its own, so that the
# template never hands Mode a value outside the two it takes (cfn-lint W1030).
PREDICTIONS = [names.PREDICTIVE_SCALING_OFF, names.PREDICTS_CPU, names.PREDICTS_REQUESTS_VALUE]
MODES = ["ForecastOnly", "ForecastAndScale"]
START_ACTION = "open"
END_ACTION = "close"


@dataclass(frozen=True)
class ScalingOptions:
    predictive: Parameter
    mode: Parameter
    business_hours: Parameter
    floor: Parameter
    timezone: Parameter


@dataclass(frozen=True)
class Scaling:
    target: aas.ScalableTarget
    cpu: aas.ScalingPolicy
    requests: aas.ScalingPolicy
    predictive: aas.ScalingPolicy


def _add(template: Template, name: str, description: str, **spec) -> Parameter:
    return add_grouped(template, GROUP, None, Parameter(name, Description=description, **spec))


def add_scaling_parameters(template: Template, auto_scaling_on: str) -> ScalingOptions:
    """The two options' parameters and the conditions they drive. Both options need
    AutoScaling=true: without a scalable target they do nothing."""
    predictive = _add(
        template,
        names.PREDICTIVE_SCALING,
        "Pair to forecast.",
        Type="String",
        Default=names.PREDICTIVE_SCALING_OFF,
        AllowedValues=PREDICTIONS,
    )
    mode = _add(
        template,
        names.PREDICTIVE_MODE,
        "ForecastOnly first.",
        Type="String",
        Default=MODES[0],
        AllowedValues=MODES,
    )
    # Both schedules in one value: the pattern admits both or neither.
    business_hours = _add(
        template,
        names.BUSINESS_HOURS,
        "cron(start)|cron(end)",
        Type="String",
        Default="",
        AllowedPattern=r"^$|^cron\([^)]+\)\|cron\([^)]+\)$",
    )
    floor = _add(
        template,
        names.BUSINESS_HOURS_MIN_COUNT,
        "<= AutoScalingMaxCount.",
        Type="Number",
        Default=4,
        MinValue=1,
        MaxValue=50,
    )
    timezone = _add(
        template,
        names.BUSINESS_HOURS_TIMEZONE,
        "IANA time zone.",
        Type="String",
        Default="UTC",
    )
    template.add_condition(
        names.ENABLE_PREDICTIVE_SCALING,
        And(
            Condition(auto_scaling_on),
            Not(Equals(Ref(predictive), names.PREDICTIVE_SCALING_OFF)),
        ),
    )
    template.add_condition(
        names.PREDICTS_REQUESTS, Equals(Ref(predictive), names.PREDICTS_REQUESTS_VALUE)
    )
    template.add_condition(names.HAS_BUSINESS_HOURS, is_set(business_hours))
    return ScalingOptions(predictive, mode, business_hours, floor, timezone)


def _request_label(lb: LoadBalancing) -> Sub:
    """The target group's ResourceLabel, `<load balancer full name>/<target group full name>`."""
    return Sub(
        "${LoadBalancer}/${TargetGroup}",
        LoadBalancer=lb.load_balancer.GetAtt("LoadBalancerFullName"),
        TargetGroup=lb.target_group.GetAtt("TargetGroupFullName"),
    )


def _short_label(lb: LoadBalancing) -> Sub:
    """The same label in Sub's GetAtt shorthand (fewer bytes; the target-tracking policy keeps its
    form, so that an existing stack's next update leaves it alone)."""
    return Sub(
        f"${{{lb.load_balancer.title}.LoadBalancerFullName}}"
        f"/${{{lb.target_group.title}.TargetGroupFullName}}"
    )


def _target_tracking(logical_id, name, target, value, metric: aas.PredefinedMetricSpecification):
    return aas.ScalingPolicy(
        logical_id,
        Condition=names.ENABLE_AUTO_SCALING,
        PolicyName=name,
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
            PredefinedMetricSpecification=metric,
            TargetValue=value,
            ScaleInCooldown=SCALE_IN_COOLDOWN_SECONDS,
            ScaleOutCooldown=SCALE_OUT_COOLDOWN_SECONDS,
        ),
    )


def _scheduled_floor(params: ServiceParameters, options: ScalingOptions) -> If:
    """Raise the minimum at the start, restore AutoScalingMinCount at the end. Rules cannot compare
    numbers: the start action carries the maximum too, so that Application Auto Scaling checks
    the pair, and `cars-stack deploy` refuses a floor above the maximum first
    (cars_stack/scaling.py)."""

    # A trailing "|": with BusinessHours empty the list still has an element 1, for whoever
    # resolves both branches of the Fn::If (cloud-radar does).
    schedules = Split("|", Sub(f"${{{options.business_hours.title}}}|"))

    def action(name: str, index: int, minimum: Parameter, **maximum) -> aas.ScheduledAction:
        return aas.ScheduledAction(
            ScheduledActionName=name,
            Schedule=Select(index, schedules),
            Timezone=Ref(options.timezone),
            ScalableTargetAction=aas.ScalableTargetAction(MinCapacity=Ref(minimum), **maximum),
        )

    return optional_value(
        names.HAS_BUSINESS_HOURS,
        [
            action(START_ACTION, 0, options.floor, MaxCapacity=Ref(params.auto_scaling_max)),
            action(END_ACTION, 1, params.auto_scaling_min),
        ],
    )


def _predictive(
    target: aas.ScalableTarget,
    params: ServiceParameters,
    options: ScalingOptions,
    lb: LoadBalancing,
) -> aas.ScalingPolicy:
    """Next to target tracking, which still scales in: predictive scaling only ever adds tasks."""
    return aas.ScalingPolicy(
        names.PREDICTIVE_SCALING_POLICY,
        Condition=names.ENABLE_PREDICTIVE_SCALING,
        PolicyName=names.PREDICTIVE_POLICY_NAME,
        PolicyType="PredictiveScaling",
        ScalingTargetId=Ref(target),
        PredictiveScalingPolicyConfiguration=aas.PredictiveScalingPolicyConfiguration(
            Mode=Ref(options.mode),
            MetricSpecifications=[
                aas.PredictiveScalingMetricSpecification(
                    TargetValue=If(
                        names.PREDICTS_REQUESTS,
                        Ref(params.requests_per_target),
                        Ref(params.cpu_target_percent),
                    ),
                    PredefinedMetricPairSpecification=aas.PredictiveScalingPredefinedMetricPair(
                        PredefinedMetricType=If(names.PREDICTS_REQUESTS, REQUESTS_PAIR, CPU_PAIR),
                        ResourceLabel=optional_value(names.PREDICTS_REQUESTS, _short_label(lb)),
                    ),
                )
            ],
        ),
    )


def add_auto_scaling(
    template: Template,
    params: ServiceParameters,
    cluster: Cluster,
    service: ecs.Service,
    lb: LoadBalancing,
) -> Scaling:
    options = add_scaling_parameters(template, names.ENABLE_AUTO_SCALING)
    target = template.add_resource(
        aas.ScalableTarget(
            names.SCALABLE_TARGET,
            Condition=names.ENABLE_AUTO_SCALING,
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Sub(
                "service/${Cluster}/${Service}",
                Cluster=Ref(cluster.cluster),
                Service=service.GetAtt("Name"),
            ),
            MinCapacity=Ref(params.auto_scaling_min),
            MaxCapacity=Ref(params.auto_scaling_max),
            ScheduledActions=_scheduled_floor(params, options),
        )
    )
    cpu = template.add_resource(
        _target_tracking(
            names.CPU_SCALING_POLICY,
            "cpu-target-tracking",
            target,
            Ref(params.cpu_target_percent),
            aas.PredefinedMetricSpecification(
                PredefinedMetricType="ECSServiceAverageCPUUtilization"
            ),
        )
    )
    requests = template.add_resource(
        _target_tracking(
            names.REQUEST_SCALING_POLICY,
            "requests-per-task-target-tracking",
            target,
            Ref(params.requests_per_target),
            aas.PredefinedMetricSpecification(
                PredefinedMetricType="ALBRequestCountPerTarget", ResourceLabel=_request_label(lb)
            ),
        )
    )
    predictive = template.add_resource(_predictive(target, params, options, lb))
    return Scaling(target=target, cpu=cpu, requests=requests, predictive=predictive)
