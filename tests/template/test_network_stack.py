"""The network stack: the one VPC lookup, exported, and the stacks that import its answer."""

import json

import pytest
from cfnlint.api import ManualArgs, lint

from template_builder import names

LINT_CONFIG = ManualArgs(regions=["eu-west-1"], ignore_checks=["W2001"])
SUBNETS = "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2"


def _imports(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        if "Fn::ImportValue" in node:
            found.add(node["Fn::ImportValue"]["Fn::Sub"])
        for value in node.values():
            found |= _imports(value)
    elif isinstance(node, list):
        for value in node:
            found |= _imports(value)
    return found


def _lookup(render, **parameters) -> dict:
    resolved = render.resolve(render.network(), "api-cars-network", **parameters)
    return resolved["Resources"][names.VPC_LOOKUP]["Properties"]


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({}, {}),
        ({"VpcId": "vpc-0123456789abcdef0"}, {"VpcId": "vpc-0123456789abcdef0"}),
        ({"VpcName": "prod"}, {"VpcTags": {"Name": "prod"}}),
        ({"PublicSubnetIds": SUBNETS}, {"PublicSubnetIds": SUBNETS}),
        ({"TaskSubnetIds": SUBNETS}, {"TaskSubnetIds": SUBNETS}),
    ],
)
def test_the_lookup_gets_only_the_filters_and_subnets_given(render, parameters, expected):
    keys = ("VpcId", "VpcTags", "PublicSubnetIds", "TaskSubnetIds")
    assert {k: v for k, v in _lookup(render, **parameters).items() if k in keys} == expected


@pytest.mark.parametrize(
    "value", ["", SUBNETS, "subnet-0123abcd", "subnet-0123abcd , subnet-4567ef01"]
)
def test_named_subnets_accept_comma_separated_ids(render, value):
    spec = render.network()["Parameters"][names.TASK_SUBNET_IDS]
    import re

    assert re.fullmatch(spec["AllowedPattern"], value)


@pytest.mark.parametrize("value", ["subnet-", "sg-0123abcd", "subnet-0123abcd,", "subnet-XYZ12345"])
def test_named_subnets_refuse_what_is_no_subnet_list(render, value):
    import re

    spec = render.network()["Parameters"][names.PUBLIC_SUBNET_IDS]
    assert not re.fullmatch(spec["AllowedPattern"], value)


def test_every_lookup_attribute_is_exported_under_its_own_name(render):
    outputs = render.network()["Outputs"]
    assert set(outputs) == set(names.VPC_LOOKUP_ATTRIBUTES)
    for name, output in outputs.items():
        assert output["Value"] == {"Fn::GetAtt": [names.VPC_LOOKUP, name]}
        assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + name}


def test_the_data_stack_and_the_service_import_the_network_from_one_parameter(render):
    exported = {"${NetworkStackName}-" + name for name in names.VPC_LOOKUP_ATTRIBUTES}
    for template in (render.data(), render.service()):
        assert template["Parameters"][names.NETWORK_STACK_NAME]["Default"] == "api-cars-network"
        network_imports = {i for i in _imports(template) if i.startswith("${NetworkStackName}")}
        assert network_imports and network_imports <= exported
        assert names.VPC_LOOKUP not in template["Resources"]


def test_the_service_imports_only_what_the_other_stacks_export(render):
    exported = {
        names.EXPORT.format(stack="${" + parameter + "}", output=output)
        for parameter, template in (
            (names.DATA_STACK_NAME, render.data()),
            (names.NETWORK_STACK_NAME, render.network()),
            (names.REGISTRY_STACK_NAME, render.registry()),
            (names.IDENTITY_STACK_NAME, render.identity()),
        )
        for output, spec in template["Outputs"].items()
        if "Export" in spec
    }
    assert _imports(render.service()) <= exported


def test_the_tasks_and_the_load_balancer_use_the_imported_subnets(render):
    resources = render.resolve(**render.demo)["Resources"]
    network = resources[names.SERVICE]["Properties"]["NetworkConfiguration"]
    vpc = render.vpc
    assert network["AwsvpcConfiguration"]["Subnets"] == vpc["TaskSubnetIds"].split(",")
    assert network["AwsvpcConfiguration"]["AssignPublicIp"] == vpc["TaskAssignPublicIp"]
    subnets = resources[names.LOAD_BALANCER]["Properties"]["Subnets"]
    assert subnets == vpc["PublicSubnetIds"].split(",")


def test_the_lookup_role_may_only_describe_the_network_and_write_its_logs(render):
    role = render.network()["Resources"][names.VPC_LOOKUP_ROLE]["Properties"]
    (policy,) = role["Policies"]
    actions = sorted(a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"])
    assert actions == [
        "ec2:DescribeRouteTables",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]


@pytest.mark.parametrize(
    "parameters", [{}, {"VpcId": "vpc-0123456789abcdef0", "TaskSubnetIds": SUBNETS}]
)
def test_the_network_template_passes_cfn_lint(render, parameters):
    variant = render.variant(render.network(), **parameters)
    assert lint(json.dumps(variant), config=LINT_CONFIG) == []
