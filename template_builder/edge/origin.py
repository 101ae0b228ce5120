"""public-alb: what lets CloudFront, and only CloudFront, through the service's public ALB.

The service with CloudFrontOrigin=public-alb has no public ingress and answers 403 by default on
its forwarding listener; this stack owns, on the service's exported security group and listener:
the ingress rule from CloudFront's managed prefix list (one port: the list weighs 55 of a
group's 60 rules), and the listener rule that forwards requests carrying the secret origin header,
which CloudFront adds and nobody else knows. cars-stack creates these before the service drops its
public ingress, so the ALB never admits nobody (docs/architecture.md, "Edge").
"""

from dataclasses import dataclass

from troposphere import If, Ref, Sub, Template, ec2, secretsmanager
from troposphere import elasticloadbalancingv2 as elb

from template_builder import names
from template_builder.edge.parameters import EdgeParameters
from template_builder.exports import imported
from template_builder.metadata import checkov_skips, guard_skips

ONLY = {"Condition": names.PUBLIC_ALB_ORIGIN}
LISTENER_RULE_PRIORITY = 1


@dataclass(frozen=True)
class OriginSecret:
    secret: secretsmanager.Secret

    def header_value(self) -> Sub:
        """The secret's value by dynamic reference: resolved by CloudFormation, never in the
        template or its parameters."""
        return Sub("{{resolve:secretsmanager:${Secret}:SecretString}}", Secret=Ref(self.secret))


def service_value(output: str):
    return imported(names.SERVICE_STACK_NAME, output)


def add_origin_secret(template: Template) -> OriginSecret:
    secret = template.add_resource(
        secretsmanager.Secret(
            names.ORIGIN_SECRET,
            Name=Sub(names.ORIGIN_SECRET_NAME.format(stack=names.OWN_STACK_NAME)),
            Description=f"The {names.ORIGIN_HEADER} header CloudFront sends and the ALB checks",
            GenerateSecretString=secretsmanager.GenerateSecretString(
                PasswordLength=32, ExcludePunctuation=True
            ),
            Metadata=checkov_skips(
                CKV_AWS_149="The AWS managed key: only CloudFormation reads it, to set the header.",
                CKV2_AWS_57="Rotated by a documented procedure (docs: Edge), not a Lambda: the "
                "distribution and the listener rule must change together.",
            ),
            **ONLY,
        )
    )
    return OriginSecret(secret)


def add_cloudfront_only_access(
    template: Template, params: EdgeParameters, secret: OriginSecret
) -> None:
    port = If(names.HAS_ORIGIN_DOMAIN, 443, 80)
    template.add_resource(
        ec2.SecurityGroupIngress(
            names.ORIGIN_INGRESS,
            GroupId=service_value(names.OUTPUT_ALB_SECURITY_GROUP),
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            SourcePrefixListId=Ref(params.prefix_list_id),
            Description="CloudFront (origin-facing managed prefix list)",
            Metadata=guard_skips(
                vpc_sg_open_only_to_authorized_ports_check="CloudFront's prefix list, never "
                "0.0.0.0/0, on 80 or 443: Guard cannot read the Fn::If.",
                vpc_sg_restricted_common_ports_check="CloudFront's prefix list on 80 or 443.",
            ),
            **ONLY,
        )
    )
    template.add_resource(
        elb.ListenerRule(
            names.ORIGIN_LISTENER_RULE,
            ListenerArn=service_value(names.OUTPUT_LISTENER_ARN),
            Priority=LISTENER_RULE_PRIORITY,
            Conditions=[
                elb.Condition(
                    Field="http-header",
                    HttpHeaderConfig=elb.HttpHeaderConfig(
                        HttpHeaderName=names.ORIGIN_HEADER, Values=[secret.header_value()]
                    ),
                )
            ],
            Actions=[
                elb.ListenerRuleAction(
                    Type="forward", TargetGroupArn=service_value(names.OUTPUT_TARGET_GROUP_ARN)
                )
            ],
            **ONLY,
        )
    )
