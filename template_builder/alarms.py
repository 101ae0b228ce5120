"""The service's alarms, and who hears them.

Deployment alarms (ECS rolls a release back when one fires during its deployment) catch tasks that
pass health checks but fail requests; the circuit breaker catches tasks that never become healthy.
They measure a 5xx *rate*, not a count: 10 errors a minute is an outage at 20 requests a minute and
0.17% at 6,000. The other alarms page (with AlarmTopicArn) but never roll back: unhealthy targets
are what the circuit breaker already acts on during a release, and a slow p99 follows the database
and the traffic as often as the release, so rolling back on them would undo good releases.
"""

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template, cloudwatch

from template_builder import names
from template_builder.load_balancer import LoadBalancing
from template_builder.metadata import guard_skips
from template_builder.parameters import AlarmParameters, optional_value

NAMESPACE = "AWS/ApplicationELB"
# Deployment alarms: 1-minute rates, 2 bad minutes out of 3. ECS derives the bake time after a
# rollout from the alarms' window, so 3 minutes keeps a release short while one bad minute (a
# client retry storm, one task restarting) does not roll it back; a failing release trips within
# about 3 minutes of its first task taking traffic, while ECS still watches the deployment.
RATE_PERIOD_SECONDS = 60
RATE_EVALUATION_PERIODS = 3
RATE_DATAPOINTS_TO_ALARM = 2
# Under this many requests a minute a rate says nothing (one error in 19 is 5.3%): the rate is 0.
MIN_REQUESTS_PER_PERIOD = 20
# Unhealthy targets for 5 minutes in a row: longer than ECS takes to replace one failing task
# (3 failed checks, a new task, 2 good checks: about 2 minutes): it pages when that is not healing.
UNHEALTHY_PERIOD_SECONDS = 60
UNHEALTHY_EVALUATION_PERIODS = 5
# p99 over 5 minutes, above the threshold twice in a row: slowness that lasts, not one spike.
LATENCY_PERIOD_SECONDS = 300
LATENCY_EVALUATION_PERIODS = 2


@dataclass(frozen=True)
class Alarms:
    load_balancer_5xx: cloudwatch.Alarm
    target_5xx: cloudwatch.Alarm
    unhealthy_targets: cloudwatch.Alarm
    latency_p99: cloudwatch.Alarm

    def deployment_alarms(self) -> list[Ref]:
        """What ECS watches during a release: the error rates, nothing else."""
        return [Ref(self.load_balancer_5xx), Ref(self.target_5xx)]


def _metric(query_id: str, metric: str, dimensions: list, stat: str, period: int):
    return cloudwatch.MetricDataQuery(
        Id=query_id,
        MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(Namespace=NAMESPACE, MetricName=metric, Dimensions=dimensions),
            Period=period,
            Stat=stat,
        ),
        ReturnData=False,
    )


def error_rate(include_errors_in_requests: bool) -> str:
    """5xx per 100 requests of `e` (errors) and `r` (requests). 5xx metrics are reported only
    when non-zero, hence FILL. ELB 5xx answered before a target was chosen (503: no healthy
    target) are not in RequestCount, so the load balancer's rate counts them in; its 502/504 are
    then counted twice, which at worst halves the rate (an outage still reads 50% or more)."""
    n = "(FILL(r,0)+FILL(e,0))" if include_errors_in_requests else "FILL(r,0)"
    return f"IF({n}>={MIN_REQUESTS_PER_PERIOD},100*FILL(e,0)/{n},0)"


def _alarm(logical_id: str, suffix: str, description: str, params: AlarmParameters, **props):
    topic = optional_value(names.HAS_ALARM_TOPIC, [Ref(params.topic_arn)])
    return cloudwatch.Alarm(
        logical_id,
        AlarmName=Sub(f"${{AWS::StackName}}-{suffix}"),
        AlarmDescription=description,
        AlarmActions=topic,
        OKActions=topic,
        ComparisonOperator="GreaterThanThreshold",
        # No traffic is not a failure.
        TreatMissingData="notBreaching",
        Metadata=guard_skips(
            cloudwatch_alarm_action_check="Notifies only with AlarmTopicArn; ECS acts on 5xx.",
        ),
        **props,
    )


def _rate_alarm(logical_id, suffix, description, params, errors, dimensions, elb_errors):
    return _alarm(
        logical_id,
        suffix,
        description,
        params,
        Metrics=[
            _metric("e", errors, dimensions, "Sum", RATE_PERIOD_SECONDS),
            _metric("r", "RequestCount", dimensions, "Sum", RATE_PERIOD_SECONDS),
            cloudwatch.MetricDataQuery(
                Id="rate", Expression=error_rate(elb_errors), ReturnData=True
            ),
        ],
        EvaluationPeriods=RATE_EVALUATION_PERIODS,
        DatapointsToAlarm=RATE_DATAPOINTS_TO_ALARM,
        Threshold=Ref(params.error_rate_percent),
    )


def add_alarms(template: Template, params: AlarmParameters, lb: LoadBalancing) -> Alarms:
    load_balancer = cloudwatch.MetricDimension(
        Name="LoadBalancer", Value=GetAtt(lb.load_balancer, "LoadBalancerFullName")
    )
    target_group = cloudwatch.MetricDimension(
        Name="TargetGroup", Value=GetAtt(lb.target_group, "TargetGroupFullName")
    )
    targets = [load_balancer, target_group]
    return Alarms(
        load_balancer_5xx=template.add_resource(
            _rate_alarm(
                names.LOAD_BALANCER_5XX_ALARM,
                "alb-5xx",
                "5xx % from the load balancer itself",
                params,
                "HTTPCode_ELB_5XX_Count",
                [load_balancer],
                elb_errors=True,
            )
        ),
        target_5xx=template.add_resource(
            _rate_alarm(
                names.TARGET_5XX_ALARM,
                "target-5xx",
                "5xx % from the API tasks",
                params,
                "HTTPCode_Target_5XX_Count",
                targets,
                elb_errors=False,
            )
        ),
        unhealthy_targets=template.add_resource(
            _alarm(
                names.UNHEALTHY_TARGETS_ALARM,
                "unhealthy",
                "Tasks failing health checks",
                params,
                Namespace=NAMESPACE,
                MetricName="UnHealthyHostCount",
                Dimensions=targets,
                Statistic="Maximum",
                Period=UNHEALTHY_PERIOD_SECONDS,
                EvaluationPeriods=UNHEALTHY_EVALUATION_PERIODS,
                Threshold=0,
            )
        ),
        latency_p99=template.add_resource(
            _alarm(
                names.LATENCY_ALARM,
                "p99",
                "p99 response time of the API tasks",
                params,
                Namespace=NAMESPACE,
                MetricName="TargetResponseTime",
                Dimensions=targets,
                ExtendedStatistic="p99",
                # Under 1,000 requests a period (10/(1-0.99)) CloudWatch deems a p99 not
                # significant: the state then stays as it was instead of following one slow request.
                EvaluateLowSampleCountPercentile="ignore",
                Period=LATENCY_PERIOD_SECONDS,
                EvaluationPeriods=LATENCY_EVALUATION_PERIODS,
                Threshold=Ref(params.latency_p99_seconds),
            )
        ),
    )
