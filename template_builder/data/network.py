"""Security groups of the data tier and the database's subnet group.

The database and the cache each admit exactly one peer: the data-client security group this
stack creates and exports, which the service's tasks wear. No CIDR rule points at the data tier.
The client group may send only to those two groups; the data tier's groups send nothing (an
explicit rule to the loopback address replaces EC2's default allow-all egress, the way AWS
documents removing it). Rules between groups are separate resources, so no group refers to
another inside its own definition.
"""

from dataclasses import dataclass

from troposphere import GetAtt, Sub, Tags, Template, ec2, rds

from template_builder import names
from template_builder.network_link import NetworkLink

POSTGRES_PORT = 5432
# ElastiCache Serverless: 6379 for the primary endpoint, 6380 for reads from replicas.
CACHE_PORTS = (6379, 6380)
NO_EGRESS = ec2.SecurityGroupRule(
    IpProtocol="icmp",
    FromPort=-1,
    ToPort=-1,
    CidrIp="127.0.0.1/32",
    Description="Sends nothing (replaces the default allow-all egress)",
)


@dataclass(frozen=True)
class DataNetwork:
    client: ec2.SecurityGroup
    database: ec2.SecurityGroup
    cache: ec2.SecurityGroup
    subnet_group: rds.DBSubnetGroup


def _group(logical_id: str, description: str, vpc_id, suffix: str, **extra) -> ec2.SecurityGroup:
    return ec2.SecurityGroup(
        logical_id,
        GroupDescription=description,
        VpcId=vpc_id,
        SecurityGroupEgress=[NO_EGRESS],
        Tags=Tags(Name=Sub(f"${{AWS::StackName}}-{suffix}")),
        **extra,
    )


def _link(template, client, server, ports: tuple[int, int], what: str, ids: tuple, **extra):
    """Ingress on `server` from `client` and the matching egress on `client`."""
    ingress_id, egress_id = ids
    low, high = ports
    template.add_resource(
        ec2.SecurityGroupIngress(
            ingress_id,
            GroupId=GetAtt(server, "GroupId"),
            IpProtocol="tcp",
            FromPort=low,
            ToPort=high,
            SourceSecurityGroupId=GetAtt(client, "GroupId"),
            Description=f"{what} from the data clients only",
            **extra,
        )
    )
    template.add_resource(
        ec2.SecurityGroupEgress(
            egress_id,
            GroupId=GetAtt(client, "GroupId"),
            IpProtocol="tcp",
            FromPort=low,
            ToPort=high,
            DestinationSecurityGroupId=GetAtt(server, "GroupId"),
            Description=f"To {what}",
            **extra,
        )
    )


def add_data_network(template: Template, network_link: NetworkLink) -> DataNetwork:
    vpc_id = network_link.vpc_id
    client = template.add_resource(
        _group(
            names.CLIENT_SECURITY_GROUP,
            "api-cars data clients: wear it to reach the database and the cache",
            vpc_id,
            "data-clients",
        )
    )
    database = template.add_resource(
        _group(
            names.DATABASE_SECURITY_GROUP,
            "api-cars database: PostgreSQL from the data clients only",
            vpc_id,
            "database",
        )
    )
    cache = template.add_resource(
        _group(
            names.CACHE_SECURITY_GROUP,
            "api-cars cache: Valkey from the data clients only",
            vpc_id,
            "cache",
            Condition=names.HAS_CACHE,
        )
    )
    _link(
        template,
        client,
        database,
        (POSTGRES_PORT, POSTGRES_PORT),
        "PostgreSQL",
        (names.DATABASE_INGRESS_FROM_CLIENTS, names.CLIENT_EGRESS_TO_DATABASE),
    )
    _link(
        template,
        client,
        cache,
        CACHE_PORTS,
        "Valkey",
        (names.CACHE_INGRESS_FROM_CLIENTS, names.CLIENT_EGRESS_TO_CACHE),
        Condition=names.HAS_CACHE,
    )
    subnet_group = template.add_resource(
        rds.DBSubnetGroup(
            names.DATABASE_SUBNET_GROUP,
            DBSubnetGroupDescription=Sub("api-cars database subnets of ${AWS::StackName}"),
            # The lookup's task subnets: one per zone, at least two zones (it fails otherwise),
            # private with NAT when the VPC has them, the default VPC's subnets otherwise.
            SubnetIds=network_link.list("TaskSubnetIds"),
        )
    )
    return DataNetwork(client=client, database=database, cache=cache, subnet_group=subnet_group)
