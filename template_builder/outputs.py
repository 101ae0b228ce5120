"""Outputs of the service stack: what `cars-stack status` and the release workflow read."""

from troposphere import GetAtt, If, Output, Ref, Sub, Template, ecs

from template_builder import names
from template_builder.auth_link import AuthLink
from template_builder.data_link import DataLink
from template_builder.ecs import Cluster
from template_builder.exports import exported
from template_builder.load_balancer import LoadBalancing
from template_builder.network import SecurityGroups
from template_builder.parameters import ServiceParameters


def add_outputs(
    template: Template,
    params: ServiceParameters,
    data: DataLink,
    auth: AuthLink,
    cluster: Cluster,
    service: ecs.Service,
    lb: LoadBalancing,
    security_groups: SecurityGroups,
) -> None:
    dns_name = lb.load_balancer.GetAtt("DNSName")
    template.add_output(
        [
            Output(
                names.OUTPUT_SERVICE_URL,
                Description="Base URL of the API",
                Value=Sub(
                    "${Scheme}://${Host}",
                    Scheme=If(names.USE_HTTPS, "https", "http"),
                    Host=If(names.HAS_DOMAIN_NAME, Ref(params.domain_name), dns_name),
                ),
            ),
            Output(
                names.OUTPUT_TRANSPORT,
                Description="Encrypted or not",
                Value=If(names.USE_HTTPS, "HTTPS (port 80 redirects)", names.PLAIN_HTTP),
            ),
            # What the edge stack imports (templates/edge.yaml), the DNS name also for a CNAME.
            exported(names.OUTPUT_LOAD_BALANCER_DNS, None, dns_name),
            exported(names.OUTPUT_LOAD_BALANCER_ARN, None, Ref(lb.load_balancer)),
            exported(names.OUTPUT_LISTENER_ARN, None, lb.forwarding_listener()),
            exported(names.OUTPUT_TARGET_GROUP_ARN, None, Ref(lb.target_group)),
            exported(
                names.OUTPUT_ALB_SECURITY_GROUP,
                None,
                GetAtt(security_groups.load_balancer, "GroupId"),
            ),
            Output(
                names.OUTPUT_CLUSTER_NAME,
                Description="ECS cluster name",
                Value=Ref(cluster.cluster),
            ),
            Output(
                names.OUTPUT_SERVICE_NAME,
                Description="ECS service name",
                Value=service.GetAtt("Name"),
            ),
            Output(
                names.OUTPUT_IMAGE_TAG,
                Description="Image tag the service runs (what /version reports)",
                Value=Ref(params.image_tag),
            ),
            Output(
                names.OUTPUT_LOG_GROUP,
                Description="CloudWatch log group of the API",
                Value=Ref(cluster.log_group),
            ),
            Output(
                names.OUTPUT_DATABASE_MODE,
                Description="Where the API keeps its data",
                Value=data.database_mode(),
            ),
            Output(
                names.OUTPUT_WRITE_ACCESS,
                Description="Writes",
                Value=auth.write_access(),
            ),
            Output(
                names.OUTPUT_ALARM_TOPIC,
                Description="Where the alarms notify",
                Value=If(names.HAS_ALARM_TOPIC, Ref(params.alarms.topic_arn), names.NO_ALARM_TOPIC),
            ),
        ]
    )
