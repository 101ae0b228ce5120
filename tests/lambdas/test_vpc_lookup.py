"""Custom::VpcLookup against moto's EC2 over real topologies, and botocore Stubber for pages."""

import boto3
import pytest
from botocore.stub import Stubber

from lambdas import vpc_lookup

ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


class Network:
    """Builds VPC topologies in moto the way a console user or Terraform would."""

    def __init__(self):
        self.ec2 = boto3.client("ec2")

    def vpc(self, cidr="10.0.0.0/16", name=None):
        vpc_id = self.ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        if name:
            self.ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": name}])
        return vpc_id

    def default_vpc(self):
        (vpc,) = self.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
            "Vpcs"
        ]
        return vpc["VpcId"]

    def main_route_table(self, vpc_id):
        (table,) = self.ec2.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"]
        return table["RouteTableId"]

    def internet_gateway(self, vpc_id):
        igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
        return igw

    def route_table(self, vpc_id, **default_route):
        """A route table whose 0.0.0.0/0 goes to ``GatewayId`` or ``NatGatewayId``, if given."""
        table = self.ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        self.route_default(table, **default_route)
        return table

    def route_default(self, table, **target):
        if target:
            self.ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)

    def subnet(self, vpc_id, cidr, zone, route_table=None):
        subnet = self.ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone)
        subnet_id = subnet["Subnet"]["SubnetId"]
        if route_table:
            self.ec2.associate_route_table(RouteTableId=route_table, SubnetId=subnet_id)
        return subnet_id

    def nat_gateway(self, subnet_id):
        allocation = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = self.ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation)
        return nat["NatGateway"]["NatGatewayId"]

    def public_and_private(self, name, public_zones=ZONES, private_zones=ZONES):
        """A VPC with one public and one NAT-routed private subnet per zone."""
        vpc_id = self.vpc(name=name)
        public_table = self.route_table(vpc_id, GatewayId=self.internet_gateway(vpc_id))
        public = [
            self.subnet(vpc_id, f"10.0.{i}.0/24", zone, public_table)
            for i, zone in enumerate(public_zones)
        ]
        private_table = self.route_table(vpc_id, NatGatewayId=self.nat_gateway(public[0]))
        private = [
            self.subnet(vpc_id, f"10.0.{100 + i}.0/24", zone, private_table)
            for i, zone in enumerate(private_zones)
        ]
        return vpc_id, public, private


@pytest.fixture
def network(aws):
    return Network()


def lookup_data(vpc_id, public, task, assign_public_ip, zones=ZONES, cidr="10.0.0.0/16"):
    return {
        "VpcId": vpc_id,
        "VpcCidr": cidr,
        "PublicSubnetIds": ",".join(public),
        "TaskSubnetIds": ",".join(task),
        "AvailabilityZones": ",".join(zones),
        "TaskAssignPublicIp": assign_public_ip,
    }


def test_default_vpc_is_used_without_properties(
    network, endpoint, make_event, expected_body, context, load_handler
):
    vpc_id = network.default_vpc()
    # AWS gives every default VPC an internet gateway on its main route table; moto does not.
    network.route_default(
        network.main_route_table(vpc_id), GatewayId=network.internet_gateway(vpc_id)
    )
    subnets = network.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    by_zone = sorted((s["AvailabilityZone"], s["SubnetId"]) for s in subnets["Subnets"])
    default_subnets = [subnet for zone, subnet in by_zone]

    load_handler("vpc_lookup")(make_event(), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS",
        "",
        vpc_id,
        lookup_data(vpc_id, default_subnets, default_subnets, "ENABLED", cidr="172.31.0.0/16"),
    )


def test_tagged_vpc_runs_tasks_in_nat_routed_private_subnets(
    network, endpoint, make_event, expected_body, context, load_handler
):
    network.public_and_private("other")
    vpc_id, public, private = network.public_and_private("cars")

    load_handler("vpc_lookup")(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", vpc_id, lookup_data(vpc_id, public, private, "DISABLED")
    )


def test_subnets_without_an_association_follow_the_main_route_table(
    network, endpoint, make_event, expected_body, context
):
    vpc_id = network.vpc(name="cars")
    network.route_default(
        network.main_route_table(vpc_id), GatewayId=network.internet_gateway(vpc_id)
    )
    public = [network.subnet(vpc_id, f"10.0.{i}.0/24", zone) for i, zone in enumerate(ZONES)]
    private_table = network.route_table(vpc_id, NatGatewayId=network.nat_gateway(public[0]))
    private = [
        network.subnet(vpc_id, f"10.0.{100 + i}.0/24", zone, private_table)
        for i, zone in enumerate(ZONES)
    ]

    vpc_lookup.handler(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", vpc_id, lookup_data(vpc_id, public, private, "DISABLED")
    )


def test_vpc_with_only_public_subnets_gives_tasks_public_ips(
    network, endpoint, make_event, expected_body, context, load_handler
):
    vpc_id, public, _ = network.public_and_private("cars", private_zones=())

    load_handler("vpc_lookup")(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", vpc_id, lookup_data(vpc_id, public, public, "ENABLED")
    )


def test_private_subnets_in_one_zone_fail_rather_than_put_tasks_in_public_subnets(
    network, endpoint, make_event, expected_body, context
):
    vpc_id, _, _ = network.public_and_private("cars", private_zones=ZONES[:1])

    vpc_lookup.handler(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    assert endpoint.only_body() == expected_body(
        "FAILED",
        f"VPC {vpc_id} has private subnets with egress in zones ['eu-west-1a'], of which "
        "['eu-west-1a'] also have a public subnet; the tasks need two (or name the subnets: "
        "TaskSubnetIds)",
        "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab",
    )


def _transit_gateway(network, vpc_id, subnets):
    tgw = network.ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    network.ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=vpc_id, SubnetIds=subnets[:1]
    )
    return {"TransitGatewayId": tgw}


def _nat_instance_interface(network, vpc_id, subnets):
    eni = network.ec2.create_network_interface(SubnetId=subnets[0])["NetworkInterface"]
    return {"NetworkInterfaceId": eni["NetworkInterfaceId"]}


def _nat_instance(network, vpc_id, subnets):
    (instance,) = network.ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnets[0]
    )["Instances"]
    return {"InstanceId": instance["InstanceId"]}


def _peering(network, vpc_id, subnets):
    peer = network.vpc(cidr="10.1.0.0/16")
    connection = network.ec2.create_vpc_peering_connection(VpcId=vpc_id, PeerVpcId=peer)
    return {"VpcPeeringConnectionId": connection["VpcPeeringConnection"]["VpcPeeringConnectionId"]}


def _virtual_private_gateway(network, vpc_id, subnets):
    vgw = network.ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    network.ec2.attach_vpn_gateway(VpcId=vpc_id, VpnGatewayId=vgw)
    return {"GatewayId": vgw}


def _firewall_endpoint(network, vpc_id, subnets):
    endpoint = network.ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName="com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0",
        VpcEndpointType="GatewayLoadBalancer",
        SubnetIds=subnets[:1],
    )
    return {"VpcEndpointId": endpoint["VpcEndpoint"]["VpcEndpointId"]}


def _nat_gateway(network, vpc_id, subnets):
    return {"NatGatewayId": network.nat_gateway(subnets[0])}


EGRESS_KINDS = {
    "nat gateway": _nat_gateway,
    "transit gateway": _transit_gateway,
    "nat instance (network interface)": _nat_instance_interface,
    "nat instance": _nat_instance,
    "peering connection": _peering,
    "virtual private gateway": _virtual_private_gateway,
    "gateway load balancer endpoint": _firewall_endpoint,
}


@pytest.mark.parametrize("target", EGRESS_KINDS.values(), ids=EGRESS_KINDS)
def test_private_subnets_count_with_any_egress_target(
    target, network, endpoint, make_event, expected_body, context
):
    vpc_id = network.vpc(name="cars")
    public_table = network.route_table(vpc_id, GatewayId=network.internet_gateway(vpc_id))
    public = [
        network.subnet(vpc_id, f"10.0.{i}.0/24", zone, public_table) for i, zone in enumerate(ZONES)
    ]
    private_table = network.route_table(vpc_id, **target(network, vpc_id, public))
    private = [
        network.subnet(vpc_id, f"10.0.{100 + i}.0/24", zone, private_table)
        for i, zone in enumerate(ZONES)
    ]

    vpc_lookup.handler(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", vpc_id, lookup_data(vpc_id, public, private, "DISABLED")
    )


def test_named_subnets_are_validated_and_used(
    network, endpoint, make_event, expected_body, context
):
    vpc_id, public, private = network.public_and_private("cars")
    properties = {
        "PublicSubnetIds": f"{public[2]},{public[1]}",
        "TaskSubnetIds": ",".join(private[1:]),
    }

    vpc_lookup.handler(make_event(properties=properties), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS",
        "",
        vpc_id,
        lookup_data(vpc_id, public[1:], private[1:], "DISABLED", zones=ZONES[1:]),
    )


def test_named_public_task_subnets_get_public_ips(
    network, endpoint, make_event, expected_body, context
):
    vpc_id, public, _ = network.public_and_private("cars")

    vpc_lookup.handler(make_event(properties={"TaskSubnetIds": ",".join(public[:2])}), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", vpc_id, lookup_data(vpc_id, public[:2], public[:2], "ENABLED", ZONES[:2])
    )


def named_subnet_failure(network, endpoint, make_event, context, properties):
    vpc_lookup.handler(make_event(properties=properties), context)
    body = endpoint.only_body()
    assert body["Status"] == "FAILED"
    return body["Reason"]


def test_named_subnets_of_another_vpc_are_refused(network, endpoint, make_event, context):
    vpc_id, _, private = network.public_and_private("cars")
    _, _, other = network.public_and_private("trucks")
    properties = {"VpcId": vpc_id, "TaskSubnetIds": f"{private[0]},{other[1]}"}

    (described,) = network.ec2.describe_subnets(SubnetIds=[other[1]])["Subnets"]

    reason = named_subnet_failure(network, endpoint, make_event, context, properties)

    assert reason == f"TaskSubnetIds: {other[1]} is in {described['VpcId']}, not in {vpc_id}"


def test_named_task_subnets_in_one_zone_are_refused(network, endpoint, make_event, context):
    vpc_id, _, _ = network.public_and_private("cars")
    second = network.subnet(vpc_id, "10.0.150.0/24", ZONES[0])
    first = network.ec2.describe_subnets(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "cidr-block", "Values": ["10.0.100.0/24"]},
        ]
    )["Subnets"][0]["SubnetId"]

    reason = named_subnet_failure(
        network, endpoint, make_event, context, {"TaskSubnetIds": f"{first},{second}"}
    )

    assert reason == f"TaskSubnetIds: {first} and {second} are both in eu-west-1a"


def test_named_public_subnets_must_route_to_an_internet_gateway(
    network, endpoint, make_event, context
):
    _, public, private = network.public_and_private("cars")
    properties = {"PublicSubnetIds": f"{public[0]},{private[1]}"}

    reason = named_subnet_failure(network, endpoint, make_event, context, properties)

    assert reason == f"PublicSubnetIds: {private[1]} have no route to an internet gateway"


def test_named_task_subnets_may_not_mix_public_and_private(network, endpoint, make_event, context):
    _, public, private = network.public_and_private("cars")
    properties = {"TaskSubnetIds": f"{public[0]},{private[1]}"}

    reason = named_subnet_failure(network, endpoint, make_event, context, properties)

    assert reason == "TaskSubnetIds: mixes public and private subnets; name one kind"


def test_named_task_subnets_need_a_route_out(network, endpoint, make_event, context):
    vpc_id, _, _ = network.public_and_private("cars")
    isolated_table = network.route_table(vpc_id)
    isolated = [
        network.subnet(vpc_id, f"10.0.{200 + i}.0/24", zone, isolated_table)
        for i, zone in enumerate(ZONES[:2])
    ]

    reason = named_subnet_failure(
        network, endpoint, make_event, context, {"TaskSubnetIds": ",".join(isolated)}
    )

    assert reason == f"TaskSubnetIds: {', '.join(sorted(isolated))} have no route out of the VPC"


def test_named_task_subnets_need_a_public_subnet_in_their_zones(
    network, endpoint, make_event, context
):
    _, _, private = network.public_and_private("cars", public_zones=ZONES[:2])

    reason = named_subnet_failure(
        network, endpoint, make_event, context, {"TaskSubnetIds": ",".join(private[1:])}
    )

    assert reason == "TaskSubnetIds: zones ['eu-west-1c'] have no public subnet for the ALB"


def zone_ids(network, subnets):
    described = network.ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
    return {s["SubnetId"]: s["AvailabilityZoneId"] for s in described}


def test_zones_where_fargate_does_not_run_are_left_out(
    network, endpoint, make_event, expected_body, context, monkeypatch
):
    vpc_id, public, private = network.public_and_private("cars")
    ids = zone_ids(network, private)
    # As in us-west-1 or ap-northeast-1: Fargate runs in some zone IDs of the Region only.
    monkeypatch.setitem(
        vpc_lookup.FARGATE_ZONE_IDS, "eu-west-1", {ids[private[0]], ids[private[2]]}
    )

    vpc_lookup.handler(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    kept = [public[0], public[2]]
    assert endpoint.only_body() == expected_body(
        "SUCCESS",
        "",
        vpc_id,
        lookup_data(vpc_id, kept, [private[0], private[2]], "DISABLED", zones=(ZONES[0], ZONES[2])),
    )


def test_named_task_subnets_where_fargate_does_not_run_are_refused(
    network, endpoint, make_event, context, monkeypatch
):
    _, _, private = network.public_and_private("cars")
    ids = zone_ids(network, private)
    monkeypatch.setitem(vpc_lookup.FARGATE_ZONE_IDS, "eu-west-1", {ids[private[0]]})

    reason = named_subnet_failure(
        network, endpoint, make_event, context, {"TaskSubnetIds": ",".join(private[:2])}
    )

    assert reason == f"TaskSubnetIds: Fargate does not run in the zones of {private[1]}"


def test_private_subnet_in_a_zone_without_public_subnet_is_left_out(
    network, endpoint, make_event, expected_body, context
):
    vpc_id, public, private = network.public_and_private("cars", public_zones=ZONES[:2])

    vpc_lookup.handler(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS",
        "",
        vpc_id,
        lookup_data(vpc_id, public, private[:2], "DISABLED", zones=ZONES[:2]),
    )


def test_isolated_subnets_without_a_default_route_are_ignored(
    network, endpoint, make_event, expected_body, context
):
    vpc_id, public, _ = network.public_and_private("cars", private_zones=())
    isolated_table = network.route_table(vpc_id)
    for i, zone in enumerate(ZONES):
        network.subnet(vpc_id, f"10.0.{200 + i}.0/24", zone, isolated_table)

    vpc_lookup.handler(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", vpc_id, lookup_data(vpc_id, public, public, "ENABLED")
    )


def test_largest_subnet_of_a_zone_is_chosen_then_the_lowest_id(
    network, endpoint, make_event, context
):
    vpc_id = network.vpc(name="cars")
    table = network.route_table(vpc_id, GatewayId=network.internet_gateway(vpc_id))
    small = network.subnet(vpc_id, "10.0.0.0/24", ZONES[0], table)
    large = network.subnet(vpc_id, "10.0.16.0/20", ZONES[0], table)
    twins = sorted(network.subnet(vpc_id, f"10.0.{i}.0/24", ZONES[1], table) for i in (1, 2))

    vpc_lookup.handler(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    data = endpoint.only_body()["Data"]
    assert data["PublicSubnetIds"] == f"{large},{twins[0]}"
    assert small not in data["PublicSubnetIds"]


def test_single_zone_vpc_fails_naming_the_zone(
    network, endpoint, make_event, expected_body, context, load_handler
):
    vpc_id, _, _ = network.public_and_private("cars", public_zones=ZONES[:1], private_zones=())

    load_handler("vpc_lookup")(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    assert endpoint.only_body() == expected_body(
        "FAILED",
        f"VPC {vpc_id} has public subnets in zones ['eu-west-1a']; the ALB needs two",
        "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab",
    )


def test_no_matching_vpc_fails(network, endpoint, make_event, expected_body, context, load_handler):
    network.public_and_private("cars")

    load_handler("vpc_lookup")(make_event(properties={"VpcTags": {"Name": "trucks"}}), context)

    assert endpoint.only_body() == expected_body(
        "FAILED",
        "no VPC matches tag:Name=trucks in eu-west-1",
        "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab",
    )


def test_two_matching_vpcs_fail_naming_both(network, endpoint, make_event, expected_body, context):
    first, _, _ = network.public_and_private("cars")
    second, _, _ = network.public_and_private("cars")

    vpc_lookup.handler(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    both = ", ".join(sorted([first, second]))
    assert endpoint.only_body() == expected_body(
        "FAILED",
        f"2 VPCs match tag:Name=cars in eu-west-1: {both}; set VpcId or more VpcTags",
        "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab",
    )


def test_vpc_id_selects_the_vpc_among_twins(network, endpoint, make_event, context):
    network.public_and_private("cars")
    wanted, _, _ = network.public_and_private("cars")

    vpc_lookup.handler(make_event(properties={"VpcId": wanted}), context)

    body = endpoint.only_body()
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", wanted)


def test_vpc_id_and_tags_must_both_match(network, endpoint, make_event, expected_body, context):
    vpc_id, _, _ = network.public_and_private("cars")
    properties = {"VpcId": vpc_id, "VpcTags": {"Name": "trucks"}}

    vpc_lookup.handler(make_event(properties=properties), context)

    assert endpoint.only_body()["Reason"] == (
        f"no VPC matches tag:Name=trucks vpc-id={vpc_id} in eu-west-1"
    )


def test_update_finding_the_same_vpc_keeps_the_physical_id(network, endpoint, make_event, context):
    vpc_id, _, _ = network.public_and_private("cars")
    event = make_event(
        "Update",
        {"VpcId": vpc_id},
        PhysicalResourceId=vpc_id,
        OldResourceProperties={"VpcTags": {"Name": "cars"}},
    )

    vpc_lookup.handler(event, context)

    body = endpoint.only_body()
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", vpc_id)


def test_update_finding_another_vpc_replaces_the_physical_id(
    network, endpoint, make_event, context
):
    old, _, _ = network.public_and_private("cars")
    new, _, _ = network.public_and_private("cars-v2")
    event = make_event("Update", {"VpcTags": {"Name": "cars-v2"}}, PhysicalResourceId=old)

    vpc_lookup.handler(event, context)

    body = endpoint.only_body()
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", new)


def test_empty_properties_mean_the_default_vpc(network, endpoint, make_event, context):
    vpc_id = network.default_vpc()

    vpc_lookup.handler(make_event(properties={"VpcId": "", "VpcTags": {}}), context)

    # moto's default VPC has no internet gateway: the lookup found it and judged its subnets.
    assert endpoint.only_body()["Reason"] == (
        f"VPC {vpc_id} has public subnets in zones []; the ALB needs two"
    )


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"VpcId": 42}, "property VpcId must be a non-empty str, got 42"),
        ({"VpcTags": "Name=cars"}, "property VpcTags must be a non-empty dict, got 'Name=cars'"),
        ({"VpcTags": ["cars"]}, "property VpcTags must be a non-empty dict, got ['cars']"),
        ({"VpcTags": {"Name": 7}}, "property VpcTags must map tag keys to string values"),
    ],
)
def test_wrongly_typed_properties_fail_before_any_aws_call(
    properties, reason, endpoint, make_event, expected_body, context, monkeypatch
):
    monkeypatch.setattr(boto3, "client", lambda *a, **k: pytest.fail("called AWS"))

    vpc_lookup.handler(make_event(properties=properties), context)

    failed_id = "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab"
    assert endpoint.only_body() == expected_body("FAILED", reason, failed_id)


# --- answers moto cannot give: pages, blackholes, API errors (shaped as in the EC2 reference) ---

VPC_ID = "vpc-0e9801d129EXAMPLE"
OWNER = "123456789012"


def api_vpc():
    return {
        "CidrBlock": "10.0.0.0/16",
        "DhcpOptionsId": "dopt-19edf471",
        "State": "available",
        "VpcId": VPC_ID,
        "OwnerId": OWNER,
        "InstanceTenancy": "default",
        "CidrBlockAssociationSet": [
            {
                "AssociationId": "vpc-cidr-assoc-062c64cfafEXAMPLE",
                "CidrBlock": "10.0.0.0/16",
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "IsDefault": False,
        "Tags": [{"Key": "Name", "Value": "cars"}],
    }


def api_subnet(number, zone, cidr):
    subnet_id = f"subnet-0{number:02d}f7d5b3EXAMPLE"
    return {
        "AvailabilityZone": zone,
        "AvailabilityZoneId": f"euw1-az{ZONES.index(zone) + 1}",
        "AvailableIpAddressCount": 251,
        "CidrBlock": cidr,
        "DefaultForAz": False,
        "MapPublicIpOnLaunch": False,
        "State": "available",
        "SubnetId": subnet_id,
        "VpcId": VPC_ID,
        "OwnerId": OWNER,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "SubnetArn": f"arn:aws:ec2:eu-west-1:{OWNER}:subnet/{subnet_id}",
    }


def api_route_table(number, associations, default_route):
    table_id = f"rtb-0{number:02d}a1b2c3EXAMPLE"
    return {
        "Associations": [
            {
                **association,
                "RouteTableAssociationId": f"rtbassoc-0{number:02d}{i}EXAMPLE",
                "RouteTableId": table_id,
                "AssociationState": {"State": "associated"},
            }
            for i, association in enumerate(associations)
        ],
        "PropagatingVgws": [],
        "RouteTableId": table_id,
        "Routes": [
            {
                "DestinationCidrBlock": "10.0.0.0/16",
                "GatewayId": "local",
                "Origin": "CreateRouteTable",
                "State": "active",
            },
            {"DestinationCidrBlock": "0.0.0.0/0", "Origin": "CreateRoute", **default_route},
        ],
        "Tags": [],
        "VpcId": VPC_ID,
        "OwnerId": OWNER,
    }


@pytest.fixture
def stubbed_ec2(aws, monkeypatch):
    """An EC2 client answering from a Stubber; the handler's boto3.client returns it."""
    ec2 = boto3.client("ec2")
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: ec2)
    with Stubber(ec2) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def stub_pages(stubber, operation, key, pages, filters):
    for number, items in enumerate(pages):
        response = {key: items}
        params = {"Filters": filters}
        if number < len(pages) - 1:
            response["NextToken"] = f"{operation}-page-{number + 2}"
        if number:
            params["NextToken"] = f"{operation}-page-{number + 1}"
        stubber.add_response(operation, response, params)


def test_every_describe_call_follows_next_token(
    stubbed_ec2, endpoint, make_event, expected_body, context, load_handler
):
    vpc_filter = [{"Name": "vpc-id", "Values": [VPC_ID]}]
    public = [api_subnet(i, zone, f"10.0.{i}.0/24") for i, zone in enumerate(ZONES)]
    private = [api_subnet(10 + i, zone, f"10.0.{10 + i}.0/24") for i, zone in enumerate(ZONES)]
    nat_route = {"NatGatewayId": "nat-05dba92075EXAMPLE", "State": "active"}
    stub_pages(
        stubbed_ec2,
        "describe_vpcs",
        "Vpcs",
        [[api_vpc()]],
        [{"Name": "tag:Name", "Values": ["cars"]}],
    )
    stub_pages(
        stubbed_ec2,
        "describe_route_tables",
        "RouteTables",
        [
            [api_route_table(1, [{"Main": True}], {"GatewayId": "igw-0c0a1b2cEXAMPLE"})],
            [],
            [
                api_route_table(
                    2, [{"Main": False, "SubnetId": s["SubnetId"]} for s in private], nat_route
                )
            ],
        ],
        vpc_filter,
    )
    # Pages end mid-zone and the private subnets come last: all pages are needed.
    stub_pages(
        stubbed_ec2,
        "describe_subnets",
        "Subnets",
        [public[:2], [public[2], private[0]], private[1:]],
        vpc_filter,
    )

    load_handler("vpc_lookup")(make_event(properties={"VpcTags": {"Name": "cars"}}), context)

    ids = [[subnet["SubnetId"] for subnet in subnets] for subnets in (public, private)]
    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", VPC_ID, lookup_data(VPC_ID, ids[0], ids[1], "DISABLED")
    )


def test_blackholed_nat_route_is_no_egress(
    stubbed_ec2, endpoint, make_event, expected_body, context
):
    vpc_filter = [{"Name": "vpc-id", "Values": [VPC_ID]}]
    public = [api_subnet(i, zone, f"10.0.{i}.0/24") for i, zone in enumerate(ZONES[:2])]
    private = [api_subnet(10 + i, zone, f"10.0.{10 + i}.0/24") for i, zone in enumerate(ZONES)]
    deleted_nat = {"NatGatewayId": "nat-05dba92075EXAMPLE", "State": "blackhole"}
    stub_pages(
        stubbed_ec2,
        "describe_vpcs",
        "Vpcs",
        [[api_vpc()]],
        [{"Name": "vpc-id", "Values": [VPC_ID]}],
    )
    stub_pages(
        stubbed_ec2,
        "describe_route_tables",
        "RouteTables",
        [
            [
                api_route_table(1, [{"Main": True}], {"GatewayId": "igw-0c0a1b2cEXAMPLE"}),
                api_route_table(
                    2, [{"Main": False, "SubnetId": s["SubnetId"]} for s in private], deleted_nat
                ),
            ]
        ],
        vpc_filter,
    )
    stub_pages(stubbed_ec2, "describe_subnets", "Subnets", [public + private], vpc_filter)

    vpc_lookup.handler(make_event(properties={"VpcId": VPC_ID}), context)

    ids = [subnet["SubnetId"] for subnet in public]
    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", VPC_ID, lookup_data(VPC_ID, ids, ids, "ENABLED", zones=ZONES[:2])
    )


def test_aws_api_error_fails_with_its_code_and_message(
    stubbed_ec2, endpoint, make_event, expected_body, context, load_handler
):
    stubbed_ec2.add_client_error(
        "describe_vpcs",
        service_error_code="UnauthorizedOperation",
        service_message="You are not authorized to perform this operation.",
        http_status_code=403,
    )

    load_handler("vpc_lookup")(make_event(), context)

    assert endpoint.only_body() == expected_body(
        "FAILED",
        "ClientError: An error occurred (UnauthorizedOperation) when calling the DescribeVpcs "
        "operation: You are not authorized to perform this operation.",
        "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab",
    )
