"""Custom::VpcLookup: the VPC and subnets the service runs in, found at deploy time.

Properties: ``VpcId`` and/or ``VpcTags`` (tag key -> value) narrow the search; with neither, the
region's default VPC. The PhysicalResourceId is the VPC id, so an Update that finds the same VPC
keeps it. See docs/custom-resources.md for the rules (what counts as public, which subnet per zone).
"""

from lambdas.protocol import Failed, answer, prop

IMPORT_ERROR = None
try:
    import boto3
except Exception as error:  # reported on the first event, as crhelper does
    IMPORT_ERROR = error


def every(client, operation, key, /, **kwargs):
    """All items of a describe call, following NextToken across pages."""
    pages = client.get_paginator(operation).paginate(**kwargs)
    return [item for page in pages for item in page[key]]


def default_route(table, /):
    """'igw-' or 'nat-' when the table sends 0.0.0.0/0 to an internet or NAT gateway."""
    for route in table["Routes"]:
        if route.get("DestinationCidrBlock") == "0.0.0.0/0" and route.get("State") != "blackhole":
            return (route.get("GatewayId") or route.get("NatGatewayId") or "")[:4]
    return None


def lookup(properties, /):
    vpc_id = prop(properties, "VpcId", str, False)
    tags = prop(properties, "VpcTags", dict, False) or {}
    if not all(isinstance(text, str) for text in [*tags, *tags.values()]):
        raise Failed("property VpcTags must map tag keys to string values")
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in tags.items()]
    if vpc_id:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    filters = filters or [{"Name": "is-default", "Values": ["true"]}]
    ec2 = boto3.client("ec2")
    criteria = " ".join(f"{f['Name']}={f['Values'][0]}" for f in filters)
    where = f"{criteria} in {ec2.meta.region_name}"

    vpcs = every(ec2, "describe_vpcs", "Vpcs", Filters=filters)
    if not vpcs:
        raise Failed(f"no VPC matches {where}")
    if len(vpcs) > 1:
        names = ", ".join(sorted(vpc["VpcId"] for vpc in vpcs))
        raise Failed(f"{len(vpcs)} VPCs match {where}: {names}; set VpcId or more VpcTags")
    vpc = vpcs[0]
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]

    # A subnet without an explicit association follows the VPC's main route table.
    route_of = {}
    for table in every(ec2, "describe_route_tables", "RouteTables", Filters=vpc_filter):
        for association in table.get("Associations", []):
            key = "main" if association.get("Main") else association.get("SubnetId")
            route_of[key] = default_route(table)
    subnets_by_route = {"igw-": {}, "nat-": {}}
    # One subnet a zone: the largest, then the lowest id; never free addresses, which drift.
    for subnet in sorted(
        every(ec2, "describe_subnets", "Subnets", Filters=vpc_filter),
        key=lambda s: (int(s.get("CidrBlock", "/99").split("/")[1]), s["SubnetId"]),
    ):
        zones = subnets_by_route.get(route_of.get(subnet["SubnetId"], route_of.get("main")))
        if zones is not None:
            zones.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])

    public = subnets_by_route["igw-"]
    # Tasks go where the load balancer also has a subnet, or it cannot reach them.
    private = {zone: s for zone, s in subnets_by_route["nat-"].items() if zone in public}
    task, assign_public_ip = (private, "DISABLED") if len(private) > 1 else (public, "ENABLED")
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


def handler(event, context):
    answer(event, context, lookup, IMPORT_ERROR)
