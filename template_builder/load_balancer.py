"""The public Application Load Balancer, its target group and listeners.

Without a certificate, port 80 forwards to the tasks. With one (`UseHttps`), 443 forwards and 80
answers a permanent redirect. Health checks every 10 s with 2 good answers to join and 3 bad to
leave, and a 30 s deregistration delay (the API drains in 20 s), make a rollout take about a minute.

Guard rails (docs/architecture.md): access logs on unless AccessLogs=false, to AccessLogBucketName
or else the data stack's bucket (template_builder/access_logs.py); deletion protection, which
cars-stack turns on after the first create and lifts in the reviewed change set of `destroy`.
"""

from dataclasses import dataclass

from troposphere import And, Equals, If, Not, NoValue, Ref, Sub, Template
from troposphere import elasticloadbalancingv2 as elb

from template_builder import names
from template_builder.data_link import DataLink
from template_builder.metadata import checkov_skips, guard_skips
from template_builder.network import HTTP_PORT, HTTPS_PORT, SecurityGroups
from template_builder.network_link import NetworkLink
from template_builder.parameters import ServiceParameters

HEALTH_CHECK_INTERVAL_SECONDS = 10
HEALTH_CHECK_TIMEOUT_SECONDS = 5
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 3
DEREGISTRATION_DELAY_SECONDS = 30
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class LoadBalancing:
    load_balancer: elb.LoadBalancer
    target_group: elb.TargetGroup
    http_listener: elb.Listener
    https_listener: elb.Listener

    def forwarding_listener(self) -> If:
        """The listener forwarding to the target group: HTTPS with a certificate, else HTTP.

        ECS refuses a target group no listener uses yet, so the service must wait for this
        listener, which is conditional. DependsOn cannot be conditional; a Ref in the service's
        Metadata can, and CloudFormation orders resources by every Ref, Metadata included.
        """
        return If(names.USE_HTTPS, Ref(self.https_listener), Ref(self.http_listener))


def _add_access_log_choice(template: Template, params: ServiceParameters, data: DataLink) -> None:
    """Logs go to AccessLogBucketName, else to the data stack's bucket; with neither, a Rule
    refuses AccessLogs=true: going without logs is a choice to make (AccessLogs=false, as the
    embedded demo does), never an accident."""
    template.add_condition(names.ENABLE_ACCESS_LOGS, Equals(Ref(params.access_logs), "true"))
    template.add_rule(
        names.ACCESS_LOG_BUCKET_RULE,
        {
            "RuleCondition": And(
                Equals(Ref(params.access_logs), "true"), Equals(Ref(data.data_stack_name), "")
            ),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(params.access_log_bucket_name), "")),
                    "AssertDescription": "AccessLogs=true needs a data stack or "
                    "AccessLogBucketName",
                }
            ],
        },
    )


def _access_log_attributes(params: ServiceParameters, data: DataLink) -> list:
    bucket = If(
        names.HAS_ACCESS_LOG_BUCKET,
        Ref(params.access_log_bucket_name),
        data.imported(names.OUTPUT_ACCESS_LOG_BUCKET),
    )
    when_on = [
        elb.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=bucket),
        elb.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=Sub(names.OWN_STACK_NAME)),
    ]
    return [
        elb.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value=Ref(params.access_logs)),
        *(If(names.ENABLE_ACCESS_LOGS, attribute, NoValue) for attribute in when_on),
    ]


def add_load_balancer(
    template: Template,
    params: ServiceParameters,
    data: DataLink,
    network: NetworkLink,
    security_groups: SecurityGroups,
) -> LoadBalancing:
    _add_access_log_choice(template, params, data)
    load_balancer = template.add_resource(
        elb.LoadBalancer(
            names.LOAD_BALANCER,
            Type="application",
            # vpc-origin: internal, in the task subnets (private: cars-stack refuses the mode
            # when the network stack has none). Scheme is replacement-only (docs: "Edge").
            Scheme=If(names.VPC_ORIGIN, "internal", "internet-facing"),
            IpAddressType="ipv4",
            Subnets=If(
                names.VPC_ORIGIN, network.list("TaskSubnetIds"), network.list("PublicSubnetIds")
            ),
            SecurityGroups=[Ref(security_groups.load_balancer)],
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(
                    Key="routing.http.drop_invalid_header_fields.enabled", Value="true"
                ),
                elb.LoadBalancerAttributes(
                    Key="deletion_protection.enabled",
                    Value=Ref(params.load_balancer_deletion_protection),
                ),
                *_access_log_attributes(params, data),
            ],
            Metadata=checkov_skips(
                CKV_AWS_91="On unless AccessLogs=false (a Rule refuses it without a bucket).",
                CKV_AWS_150="On after the first create (cars-stack); lifted only by destroy.",
                CKV2_AWS_28="WAF is an account-level choice with its own cost: attach a web ACL "
                "from outside the stack.",
            )
            | guard_skips(
                elbv2_logging_enabled_check="On unless AccessLogs=false; Guard cannot read a Ref.",
                elbv2_deletion_protection_enabled_check="On after the first create (cars-stack).",
            ),
        )
    )
    target_group = template.add_resource(
        elb.TargetGroup(
            names.TARGET_GROUP,
            TargetType="ip",
            Protocol="HTTP",
            Port=Ref(params.container_port),
            VpcId=network.vpc_id,
            HealthCheckProtocol="HTTP",
            HealthCheckPath=Ref(params.health_check_path),
            HealthCheckIntervalSeconds=HEALTH_CHECK_INTERVAL_SECONDS,
            HealthCheckTimeoutSeconds=HEALTH_CHECK_TIMEOUT_SECONDS,
            HealthyThresholdCount=HEALTHY_THRESHOLD,
            UnhealthyThresholdCount=UNHEALTHY_THRESHOLD,
            Matcher=elb.Matcher(HttpCode="200"),
            TargetGroupAttributes=[
                elb.TargetGroupAttribute(
                    Key="deregistration_delay.timeout_seconds",
                    Value=str(DEREGISTRATION_DELAY_SECONDS),
                ),
            ],
        )
    )
    forward = elb.Action(Type="forward", TargetGroupArn=Ref(target_group))
    # public-alb: only the edge stack's listener rule (CloudFront's secret header) forwards.
    deny = elb.Action(
        Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(StatusCode="403")
    )
    forward_unless_cdn_only = If(names.CDN_ONLY, deny, forward)
    redirect = elb.Action(
        Type="redirect",
        RedirectConfig=elb.RedirectConfig(
            Protocol="HTTPS", Port=str(HTTPS_PORT), StatusCode="HTTP_301"
        ),
    )
    http_listener = template.add_resource(
        elb.Listener(
            names.HTTP_LISTENER,
            LoadBalancerArn=Ref(load_balancer),
            Protocol="HTTP",
            Port=HTTP_PORT,
            DefaultActions=[If(names.USE_HTTPS, redirect, forward_unless_cdn_only)],
            Metadata=checkov_skips(
                CKV_AWS_2="Plain HTTP only without CertificateArn (RequireHttps refuses that); "
                "with one, a 301 to HTTPS.",
                CKV_AWS_103="TLS applies to the HTTPS listener (a TLS 1.2+ policy).",
            )
            | guard_skips(
                alb_http_to_https_redirection_check="Plain HTTP only without a CertificateArn.",
            ),
        )
    )
    https_listener = template.add_resource(
        elb.Listener(
            names.HTTPS_LISTENER,
            Condition=names.USE_HTTPS,
            LoadBalancerArn=Ref(load_balancer),
            Protocol="HTTPS",
            Port=HTTPS_PORT,
            Certificates=[elb.Certificate(CertificateArn=Ref(params.certificate_arn))],
            SslPolicy=TLS_POLICY,
            DefaultActions=[forward_unless_cdn_only],
            Metadata=guard_skips(
                elbv2_acm_certificate_required_check="CertificateArn admits only ACM ARNs.",
            ),
        )
    )
    return LoadBalancing(
        load_balancer=load_balancer,
        target_group=target_group,
        http_listener=http_listener,
        https_listener=https_listener,
    )
