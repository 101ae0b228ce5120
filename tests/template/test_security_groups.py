"""Security groups are exactly: the load balancer open on 80/443 to the internet and talking only
to the tasks; the tasks open only to the load balancer on the container port."""

from template_builder import names


def rules(resources: dict, group: str, direction: str) -> set[tuple]:
    """(protocol, from, to, peer) of `group`'s inline rules and standalone rule resources."""
    inline = resources[group]["Properties"].get(f"SecurityGroup{direction}", [])
    found = {
        (
            r["IpProtocol"],
            int(r["FromPort"]),
            int(r["ToPort"]),
            r.get("CidrIp")
            or r.get("SourceSecurityGroupId")
            or r.get("DestinationSecurityGroupId"),
        )
        for r in inline
    }
    for resource in resources.values():
        props = resource["Properties"]
        if resource["Type"] == f"AWS::EC2::SecurityGroup{direction}" and props["GroupId"] == (
            f"{group}.GroupId"
        ):
            peer = props.get("SourceSecurityGroupId") or props.get("CidrIp")
            found.add((props["IpProtocol"], int(props["FromPort"]), int(props["ToPort"]), peer))
    return found


def test_the_load_balancer_accepts_http_and_https_from_anywhere_and_nothing_else(default_stack):
    assert rules(default_stack["Resources"], names.LOAD_BALANCER_SECURITY_GROUP, "Ingress") == {
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
    }


def test_the_load_balancer_talks_only_to_the_tasks_on_the_container_port(default_stack):
    assert rules(default_stack["Resources"], names.LOAD_BALANCER_SECURITY_GROUP, "Egress") == {
        ("tcp", 8000, 8000, f"{names.TASK_SECURITY_GROUP}.GroupId"),
    }


def test_the_tasks_accept_only_the_load_balancer_on_the_container_port(render):
    resources = render.resolve(ContainerPort=8080)["Resources"]
    assert rules(resources, names.TASK_SECURITY_GROUP, "Ingress") == {
        ("tcp", 8080, 8080, f"{names.LOAD_BALANCER_SECURITY_GROUP}.GroupId"),
    }


def test_the_tasks_reach_https_anywhere_and_databases_only_inside_the_vpc(render, default_stack):
    vpc_cidr = render.vpc["VpcCidr"]
    assert rules(default_stack["Resources"], names.TASK_SECURITY_GROUP, "Egress") == {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 5432, 5432, vpc_cidr),
        ("tcp", 6379, 6379, vpc_cidr),
    }


def test_there_are_only_the_two_groups_and_one_standalone_rule(render, default_stack):
    assert set(render.of_type(default_stack, "AWS::EC2::SecurityGroup")) == {
        names.LOAD_BALANCER_SECURITY_GROUP,
        names.TASK_SECURITY_GROUP,
    }
    assert set(render.of_type(default_stack, "AWS::EC2::SecurityGroupIngress")) == {
        names.TASK_INGRESS_FROM_LOAD_BALANCER
    }
    assert not render.of_type(default_stack, "AWS::EC2::SecurityGroupEgress")


def test_both_groups_live_in_the_vpc_the_lookup_found(render, default_stack):
    for group in (names.LOAD_BALANCER_SECURITY_GROUP, names.TASK_SECURITY_GROUP):
        assert default_stack["Resources"][group]["Properties"]["VpcId"] == render.vpc["VpcId"]
