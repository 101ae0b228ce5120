"""Render the templates and resolve them for a given set of parameters (cloud-radar).

`resolve()` answers with the template CloudFormation would act on: conditions evaluated,
intrinsic functions resolved, conditional resources gone. Custom::VpcLookup's attributes get
realistic values, the way the Lambda answers, so the Fn::Split of its lists resolves.
"""

import copy
import json
from functools import cache

import pytest
from cloud_radar.cf.unit import Template

from template_builder import names
from template_builder.github_oidc import build_github_oidc_template
from template_builder.registry import build_registry_template
from template_builder.service_stack import build_template

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
STACK_UUID = "5b0c3a10-0000-11ef-9d4b-0a1b2c3d4e5f"
VPC_LOOKUP_ANSWER = {
    "VpcId": "vpc-0123456789abcdef0",
    "VpcCidr": "10.20.0.0/16",
    "PublicSubnetIds": "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2",
    "TaskSubnetIds": "subnet-0bbbbbbbbbbbbbbb1,subnet-0bbbbbbbbbbbbbbb2",
    "AvailabilityZones": "eu-west-1a,eu-west-1b",
    "TaskAssignPublicIp": "DISABLED",
}
DATABASE_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:api-cars/database-AbCdEf"
REDIS_PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/api-cars/redis-url"
CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT_ID}:certificate/0b6d6f2e-1111-4a2b-9c3d-123456789abc"


@cache
def service_template() -> dict:
    return build_template().to_dict()


@cache
def registry_template() -> dict:
    return build_registry_template().to_dict()


@cache
def oidc_template() -> dict:
    return build_github_oidc_template().to_dict()


def _without_novalue(value):
    # cloud-radar resolves AWS::NoValue to "" and leaves it inside lists; CloudFormation drops it.
    if isinstance(value, dict):
        return {k: _without_novalue(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_novalue(v) for v in value if v != Template.NoValue]
    return value


def resolve(
    template: dict | None = None, stack_name: str = names.DEFAULT_STACK_NAME, **parameters
) -> dict:
    """The template resolved for `parameters` (ImageTag defaults to v1.0.0)."""
    body = copy.deepcopy(template or service_template())
    if names.VPC_LOOKUP in body["Resources"]:
        body["Resources"][names.VPC_LOOKUP]["Metadata"] = {
            "Cloud-Radar": {"attribute-values": VPC_LOOKUP_ANSWER}
        }
    for parameter in body.get("Parameters", {}).values():
        # CloudFormation hands every parameter value to Ref as a string, Numbers included.
        if "Default" in parameter:
            parameter["Default"] = str(parameter["Default"])
    if names.IMAGE_TAG in body.get("Parameters", {}):
        parameters.setdefault(names.IMAGE_TAG, "v1.0.0")
    radar = Template(json.loads(json.dumps(body)))
    radar.StackName = stack_name
    radar.AccountId = ACCOUNT_ID
    # Fixed, as a real stack's id is for its whole life; cloud-radar reads it from the class and
    # draws a new one on every render when it is empty.
    Template.StackId = (
        f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{stack_name}/{STACK_UUID}"
    )
    radar.create_stack({k: str(v) for k, v in parameters.items()}, region=REGION)
    return _without_novalue(radar.template)


def conditions_for(template: dict, **parameters) -> dict[str, bool]:
    """The value of every condition for `parameters`, as cloud-radar evaluates them."""
    return resolve(template, **parameters)["Conditions"]


def variant(template: dict, **parameters) -> dict:
    """The template CloudFormation would act on for `parameters`, with its conditions decided by
    cloud-radar: conditional resources and outputs kept or dropped, Fn::If branches chosen,
    AWS::NoValue removed, the parameters' defaults set to the values given. Every Ref, GetAtt
    and Sub stays in place, so cfn-lint still checks how resources refer to each other."""
    conditions = conditions_for(template, **parameters)
    novalue = object()

    def walk(value):
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                name, when_true, when_false = value["Fn::If"]
                return walk(when_true if conditions[name] else when_false)
            if value == {"Ref": "AWS::NoValue"}:
                return novalue
            kept = {k: walk(v) for k, v in value.items()}
            return {k: v for k, v in kept.items() if v is not novalue}
        if isinstance(value, list):
            return [v for v in (walk(item) for item in value) if v is not novalue]
        return value

    body = copy.deepcopy(template)
    body.pop("Conditions", None)
    for name, value in parameters.items():
        body["Parameters"][name]["Default"] = value
    for section in ("Resources", "Outputs"):
        for logical_id, item in list(body.get(section, {}).items()):
            condition = item.pop("Condition", None)
            if condition is not None and not conditions[condition]:
                del body[section][logical_id]
    for section in ("Resources", "Outputs"):
        body[section] = walk(body[section])
    return body


def resources_of_type(resolved: dict, resource_type: str) -> dict[str, dict]:
    return {k: r for k, r in resolved["Resources"].items() if r["Type"] == resource_type}


class Render:
    """What the tests use, as one fixture (tests import nothing from conftest)."""

    account_id = ACCOUNT_ID
    region = REGION
    stack_uuid = STACK_UUID
    vpc = VPC_LOOKUP_ANSWER
    database_secret = DATABASE_SECRET
    redis_parameter = REDIS_PARAMETER
    certificate = CERTIFICATE

    service = staticmethod(service_template)
    registry = staticmethod(registry_template)
    oidc = staticmethod(oidc_template)
    resolve = staticmethod(resolve)
    conditions_for = staticmethod(conditions_for)
    variant = staticmethod(variant)
    of_type = staticmethod(resources_of_type)


@pytest.fixture(scope="session")
def render() -> Render:
    return Render()


@pytest.fixture(scope="module")
def default_stack() -> dict:
    """The service stack as `aws cloudformation deploy ... ImageTag=v1.0.0` would create it."""
    return resolve()
