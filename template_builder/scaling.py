"""Target-tracking auto scaling on CPU and on requests per task, when `EnableAutoScaling`.

No RoleARN: Application Auto Scaling uses its ECS service-linked role, created on first use.
"""

from dataclasses import dataclass

from troposphere import Ref, Sub, Template, ecs
from troposphere import applicationautoscaling as aas

from template_builder import names
from template_builder.ecs import Cluster
from template_builder.load_balancer import LoadBalancing
from template_builder.parameters import ServiceParameters

# Add tasks quickly, remove them slowly: a spike costs more than a few idle minutes.
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300


@dataclass(frozen=True)
class Scaling:
    target: aas.ScalableTarget
    cpu: aas.ScalingPolicy
    requests: aas.ScalingPolicy


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


def add_auto_scaling(
    template: Template,
    params: ServiceParameters,
    cluster: Cluster,
    service: ecs.Service,
    lb: LoadBalancing,
) -> Scaling:
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
                PredefinedMetricType="ALBRequestCountPerTarget",
                ResourceLabel=Sub(
                    "${LoadBalancer}/${TargetGroup}",
                    LoadBalancer=lb.load_balancer.GetAtt("LoadBalancerFullName"),
                    TargetGroup=lb.target_group.GetAtt("TargetGroupFullName"),
                ),
            ),
        )
    )
    return Scaling(target=target, cpu=cpu, requests=requests)
