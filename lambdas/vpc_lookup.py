"""Custom::VpcLookup: the VPC and subnets the service runs in, found at deploy time.

Properties: ``VpcId`` and/or ``VpcTags`` (tag key -> value) narrow the search; with neither, the
region's default VPC. ``PublicSubnetIds`` and ``TaskSubnetIds`` (comma-separated) name the subnets
outright: the lookup then only validates them. The PhysicalResourceId is the VPC id, so an Update
that finds the same VPC keeps it. See docs/custom-resources.md for the rules.
"""

from lambdas.protocol import Failed, answer, prop

IMPORT_ERROR = None
try:
    import boto3
except Exception as error:  # reported on the first event, as crhelper does
    IMPORT_ERROR = error

# Regions where Fargate runs only in some zones, by zone ID (the same ID in every account):
# "Supported Regions for Amazon ECS on AWS Fargate", Amazon ECS Developer Guide (Linux containers).
FARGATE_ZONE_IDS = {
    "us-west-1": {"usw1-az1", "usw1-az3"},
    "ap-northeast-1": {"apne1-az1", "apne1-az2", "apne1-az4"},
    "cn-north-1": {"cnn1-az1", "cnn1-az2"},
}
# Route targets that carry 0.0.0.0/0 out of the VPC other than an internet gateway: NAT gateways,
# transit gateways, NAT instances and firewall appliances (instance or network interface), peering,
# virtual private gateways, gateway load balancer and firewall endpoints (vpce- in GatewayId),
# local and carrier gateways, Cloud WAN.
EGRESS_TARGETS = (
    "NatGatewayId",
    "TransitGatewayId",
    "NetworkInterfaceId",
    "InstanceId",
    "VpcPeeringConnectionId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "CoreNetworkArn",
    "GatewayId",
)
PUBLIC, PRIVATE = "public", "private"


def every(client, operation, key, /, **kwargs):
    """All items of a describe call, following NextToken across pages."""
    pages = client.get_paginator(operation).paginate(**kwargs)
    return [item for page in pages for item in page[key]]


def egress(table, /):
    """PUBLIC when 0.0.0.0/0 goes to an internet gateway, PRIVATE to any other target, else None."""
    for route in table["Routes"]:
        if route.get("DestinationCidrBlock") != "0.0.0.0/0" or route.get("State") == "blackhole":
            continue
        if (route.get("GatewayId") or "").startswith("igw-"):
            return PUBLIC
        if any(route.get(target) not in (None, "", "local") for target in EGRESS_TARGETS):
            return PRIVATE
    return None


def subnet_list(properties, name, /):
    text = prop(properties, name, str, False)
    return [item.strip() for item in text.split(",") if item.strip()] if text else []


def find_vpc(ec2, vpc_id, tags, named_subnets, /):
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in tags.items()]
    if vpc_id:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    if not filters and named_subnets:
        # Named subnets without VpcId or VpcTags: their VPC is the one.
        filters = [{"Name": "vpc-id", "Values": [named_subnets[0]["VpcId"]]}]
    filters = filters or [{"Name": "is-default", "Values": ["true"]}]
    criteria = " ".join(f"{f['Name']}={f['Values'][0]}" for f in filters)
    where = f"{criteria} in {ec2.meta.region_name}"
    vpcs = every(ec2, "describe_vpcs", "Vpcs", Filters=filters)
    if not vpcs:
        raise Failed(f"no VPC matches {where}")
    if len(vpcs) > 1:
        names = ", ".join(sorted(vpc["VpcId"] for vpc in vpcs))
        raise Failed(f"{len(vpcs)} VPCs match {where}: {names}; set VpcId or more VpcTags")
    return vpcs[0]


def one_per_zone(subnets, /):
    """Zone -> subnet: the largest, then the lowest id; never free addresses, which drift."""
    chosen = {}
    for subnet in sorted(
        subnets, key=lambda s: (int(s.get("CidrBlock", "/99").split("/")[1]), s["SubnetId"])
    ):
        chosen.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    return chosen


def named(subnets, kind_of, vpc_id, name, /):
    """Zone -> subnet for the subnets a parameter names, each checked."""
    chosen = {}
    for subnet in subnets:
        if subnet["VpcId"] != vpc_id:
            raise Failed(f"{name}: {subnet['SubnetId']} is in {subnet['VpcId']}, not in {vpc_id}")
        zone = subnet["AvailabilityZone"]
        if zone in chosen:
            raise Failed(f"{name}: {chosen[zone]} and {subnet['SubnetId']} are both in {zone}")
        chosen[zone] = subnet["SubnetId"]
    if name == "PublicSubnetIds":
        not_public = sorted(s["SubnetId"] for s in subnets if kind_of(s) != PUBLIC)
        if not_public:
            raise Failed(f"{name}: {', '.join(not_public)} have no route to an internet gateway")
    return chosen


def lookup(properties, /):
    vpc_id = prop(properties, "VpcId", str, False)
    tags = prop(properties, "VpcTags", dict, False) or {}
    if not all(isinstance(text, str) for text in [*tags, *tags.values()]):
        raise Failed("property VpcTags must map tag keys to string values")
    wanted = {name: subnet_list(properties, name) for name in ("PublicSubnetIds", "TaskSubnetIds")}
    ec2 = boto3.client("ec2")
    ids = sorted({subnet for names in wanted.values() for subnet in names})
    given = every(ec2, "describe_subnets", "Subnets", SubnetIds=ids) if ids else []
    vpc = find_vpc(ec2, vpc_id, tags, given)
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]

    # A subnet without an explicit association follows the VPC's main route table.
    route_of = {}
    for table in every(ec2, "describe_route_tables", "RouteTables", Filters=vpc_filter):
        for association in table.get("Associations", []):
            key = "main" if association.get("Main") else association.get("SubnetId")
            route_of[key] = egress(table)

    def kind_of(subnet):
        return route_of.get(subnet["SubnetId"], route_of.get("main"))

    fargate_zones = FARGATE_ZONE_IDS.get(ec2.meta.region_name)

    def runs_fargate(subnet):
        return fargate_zones is None or subnet.get("AvailabilityZoneId") in fargate_zones

    subnets = every(ec2, "describe_subnets", "Subnets", Filters=vpc_filter)
    by_id = {subnet["SubnetId"]: subnet for subnet in [*subnets, *given]}
    if wanted["PublicSubnetIds"]:
        chosen = [by_id[s] for s in wanted["PublicSubnetIds"]]
        public = named(chosen, kind_of, vpc["VpcId"], "PublicSubnetIds")
    else:
        public = one_per_zone(s for s in subnets if kind_of(s) == PUBLIC)
    if wanted["TaskSubnetIds"]:
        chosen = [by_id[s] for s in wanted["TaskSubnetIds"]]
        task = named(chosen, kind_of, vpc["VpcId"], "TaskSubnetIds")
        check_task_subnets(chosen, kind_of, runs_fargate)
        assign_public_ip = "ENABLED" if kind_of(chosen[0]) == PUBLIC else "DISABLED"
        missing = sorted(zone for zone in task if zone not in public)
        if missing:
            raise Failed(f"TaskSubnetIds: zones {missing} have no public subnet for the ALB")
    else:
        private = one_per_zone(s for s in subnets if kind_of(s) == PRIVATE and runs_fargate(s))
        # Tasks go where the load balancer also has a subnet, or it cannot reach them.
        reachable = {zone: s for zone, s in private.items() if zone in public}
        if private and len(reachable) < 2:
            # Never fall back to public subnets when the VPC has private ones with egress.
            raise Failed(
                f"VPC {vpc['VpcId']} has private subnets with egress in zones {sorted(private)}, "
                f"of which {sorted(reachable)} also have a public subnet; the tasks need two "
                "(or name the subnets: TaskSubnetIds)"
            )
        if private:
            task, assign_public_ip = reachable, "DISABLED"
        else:
            task = {zone: s for zone, s in public.items() if runs_fargate(by_id[s])}
            assign_public_ip = "ENABLED"
    zones = sorted(task)
    if len(zones) < 2:
        raise Failed(f"VPC {vpc['VpcId']} has public subnets in zones {zones}; the ALB needs two")
    return vpc["VpcId"], {
        "VpcId": vpc["VpcId"],
        "VpcCidr": vpc["CidrBlock"],
        "PublicSubnetIds": ",".join(public[zone] for zone in zones),
        "TaskSubnetIds": ",".join(task[zone] for zone in zones),
        "AvailabilityZones": ",".join(zones),
        "TaskAssignPublicIp": assign_public_ip,
    }


def check_task_subnets(chosen, kind_of, runs_fargate, /):
    off_fargate = sorted(s["SubnetId"] for s in chosen if not runs_fargate(s))
    if off_fargate:
        names = ", ".join(off_fargate)
        raise Failed(f"TaskSubnetIds: Fargate does not run in the zones of {names}")
    isolated = sorted(s["SubnetId"] for s in chosen if kind_of(s) is None)
    if isolated:
        raise Failed(f"TaskSubnetIds: {', '.join(isolated)} have no route out of the VPC")
    if len({kind_of(s) for s in chosen}) > 1:
        raise Failed("TaskSubnetIds: mixes public and private subnets; name one kind")


def handler(event, context):
    answer(event, context, lookup, IMPORT_ERROR)
