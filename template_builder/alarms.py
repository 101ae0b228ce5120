"""Deployment alarms: ECS rolls a release back when these fire during its deployment, which catches
tasks that pass health checks but fail requests (the circuit breaker catches tasks that never
become healthy)."""

from dataclasses import dataclass

from troposphere import Sub, Template, cloudwatch

from template_builder import names
from template_builder.load_balancer import LoadBalancing
from template_builder.metadata import guard_skips

# 10 or more 5xx answers a minute, in 2 of 3 minutes: a real failure, not one unlucky request.
PERIOD_SECONDS = 60
EVALUATION_PERIODS = 3
DATAPOINTS_TO_ALARM = 2
THRESHOLD = 10


@dataclass(frozen=True)
class DeploymentAlarms:
    load_balancer_5xx: cloudwatch.Alarm
    target_5xx: cloudwatch.Alarm


def _alarm(logical_id: str, suffix: str, metric: str, description: str, dimensions: dict):
    return cloudwatch.Alarm(
        logical_id,
        AlarmName=Sub(f"${{AWS::StackName}}-{suffix}"),
        AlarmDescription=description,
        Namespace="AWS/ApplicationELB",
        MetricName=metric,
        Dimensions=[cloudwatch.MetricDimension(Name=k, Value=v) for k, v in dimensions.items()],
        Statistic="Sum",
        Period=PERIOD_SECONDS,
        EvaluationPeriods=EVALUATION_PERIODS,
        DatapointsToAlarm=DATAPOINTS_TO_ALARM,
        Threshold=THRESHOLD,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        # No traffic is not a failure.
        TreatMissingData="notBreaching",
        Metadata=guard_skips(
            cloudwatch_alarm_action_check="A deployment alarm; ECS rolls back on it.",
        ),
    )


def add_deployment_alarms(template: Template, lb: LoadBalancing) -> DeploymentAlarms:
    load_balancer = lb.load_balancer.GetAtt("LoadBalancerFullName")
    target_group = lb.target_group.GetAtt("TargetGroupFullName")
    return DeploymentAlarms(
        load_balancer_5xx=template.add_resource(
            _alarm(
                names.LOAD_BALANCER_5XX_ALARM,
                "alb-5xx",
                "HTTPCode_ELB_5XX_Count",
                "5xx answered by the load balancer itself (no healthy target, timeouts)",
                {"LoadBalancer": load_balancer},
            )
        ),
        target_5xx=template.add_resource(
            _alarm(
                names.TARGET_5XX_ALARM,
                "target-5xx",
                "HTTPCode_Target_5XX_Count",
                "5xx answered by the API tasks",
                {"LoadBalancer": load_balancer, "TargetGroup": target_group},
            )
        ),
    )
