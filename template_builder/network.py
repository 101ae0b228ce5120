"""Security groups: the load balancer's, open to the internet on 80/443, and the tasks', open
the load balancer on the container port.

The VPC comes from the network stack (network_link.py); no VPC, subnet or security-group ID is
written anywhere. Every group lists its egress explicitly, which replaces EC2's default allow-all
egress rule.
"""

from dataclasses import dataclass

from troposphere import GetAtt, If, Ref, Sub, Tags, Template, ec2

from template_builder import names
from template_builder.metadata import checkov_skips
from template_builder.network_link import NetworkLink
from template_builder.parameters import ServiceParameters

ANYWHERE = "0.0.0.0/0"
HTTP_PORT = 80
HTTPS_PORT = 443
# Where the tasks may connect: HTTPS anywhere (ECR, CloudWatch Logs, Secrets Manager/SSM through
# the internet gateway or NAT), and PostgreSQL and Redis inside the VPC only.
TASK_EGRESS_ANYWHERE = {HTTPS_PORT: "HTTPS to AWS APIs (ECR, Logs, Secrets Manager, SSM)"}
TASK_EGRESS_IN_VPC = {5432: "PostgreSQL in the VPC", 6379: "Redis in the VPC"}


@dataclass(frozen=True)
class SecurityGroups:
    load_balancer: ec2.SecurityGroup
    tasks: ec2.SecurityGroup


def _tcp(port, description: str, **peer) -> dict:
    rule = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "Description": description}
    return rule | peer


def add_security_groups(
    template: Template, params: ServiceParameters, network: NetworkLink
) -> SecurityGroups:
    vpc_id = network.vpc_id
    vpc_cidr = network.value("VpcCidr")
    tasks = template.add_resource(
        ec2.SecurityGroup(
            names.TASK_SECURITY_GROUP,
            GroupDescription="api-cars tasks: HTTP from the load balancer only",
            VpcId=vpc_id,
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(**_tcp(port, why, CidrIp=ANYWHERE))
                for port, why in TASK_EGRESS_ANYWHERE.items()
            ]
            + [
                ec2.SecurityGroupRule(**_tcp(port, why, CidrIp=vpc_cidr))
                for port, why in TASK_EGRESS_IN_VPC.items()
            ],
            Tags=Tags(Name=Sub("${AWS::StackName}-tasks")),
        )
    )
    public = If(names.VPC_ORIGIN, vpc_cidr, ANYWHERE)
    load_balancer = template.add_resource(
        ec2.SecurityGroup(
            names.LOAD_BALANCER_SECURITY_GROUP,
            GroupDescription="api-cars load balancer: HTTP and HTTPS from the internet",
            VpcId=vpc_id,
            # public-alb: none here; the edge stack owns the rule from CloudFront's prefix list
            # (created before this one goes: docs/architecture.md, "Edge"). vpc-origin: the VPC.
            SecurityGroupIngress=If(
                names.CDN_ONLY,
                [],
                [
                    ec2.SecurityGroupRule(**_tcp(HTTP_PORT, "HTTP from anywhere", CidrIp=public)),
                    ec2.SecurityGroupRule(**_tcp(HTTPS_PORT, "HTTPS from anywhere", CidrIp=public)),
                ],
            ),
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    **_tcp(
                        Ref(params.container_port),
                        "To the tasks on the container port",
                        DestinationSecurityGroupId=GetAtt(tasks, "GroupId"),
                    )
                )
            ],
            Tags=Tags(Name=Sub("${AWS::StackName}-alb")),
            Metadata=checkov_skips(
                CKV_AWS_260="A public load balancer: port 80 must be reachable from the "
                "internet (it forwards, or redirects to HTTPS when a certificate is given).",
            ),
        )
    )
    # A separate rule: inline on either group, the two groups would reference each other.
    template.add_resource(
        ec2.SecurityGroupIngress(
            names.TASK_INGRESS_FROM_LOAD_BALANCER,
            GroupId=GetAtt(tasks, "GroupId"),
            **_tcp(
                Ref(params.container_port),
                "From the load balancer on the container port",
                SourceSecurityGroupId=GetAtt(load_balancer, "GroupId"),
            ),
        )
    )
    return SecurityGroups(load_balancer=load_balancer, tasks=tasks)
