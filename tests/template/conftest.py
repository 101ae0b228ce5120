"""Render the templates and resolve them for a given set of parameters (cloud-radar).

`resolve()` answers with the template CloudFormation would act on: conditions evaluated,
intrinsic functions resolved, conditional resources gone. Custom::VpcLookup's attributes (in the
network stack) and the network stack's exports of them get realistic values, the way the Lambda
answers, so the Fn::Split of its lists resolves; the data and registry stacks' exports and the
secrets' dynamic references get values the way AWS would fill them in.
Like CloudFormation, `resolve()` refuses parameters that fail the template's Rules (cloud-radar
does not evaluate Rules: `rule_failures` does).
"""

import copy
import json
from functools import cache

import pytest
from cloud_radar.cf.unit import Template

from template_builder import names
from template_builder.data.stack import build_data_template
from template_builder.edge.global_stack import build_edge_global_template
from template_builder.edge.stack import build_edge_template
from template_builder.github_oidc import build_github_oidc_template
from template_builder.identity.stack import build_identity_template
from template_builder.network_stack import build_network_template
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
# What a data stack named api-cars-data exports (the shapes AWS gives these values).
DATA_STACK_OUTPUTS = {
    names.OUTPUT_WRITER_ENDPOINT: "db.cluster-c0ffee.eu-west-1.rds.amazonaws.com",
    names.OUTPUT_READER_ENDPOINT: "db.cluster-ro-c0ffee.eu-west-1.rds.amazonaws.com",
    names.OUTPUT_DATABASE_PORT: "5432",
    names.OUTPUT_DATABASE_NAME: "cars",
    names.OUTPUT_DATABASE_SECRET_ARN: (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:DatabaseSecret-Xy12Ab"
    ),
    names.OUTPUT_CACHE_ENDPOINT: "api-cars-data-c0ffee.serverless.euw1.cache.amazonaws.com",
    names.OUTPUT_CACHE_PORT: "6379",
    names.OUTPUT_CACHE_SECRET_ARN: (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:CacheSecret-Cd34Ef"
    ),
    names.OUTPUT_CLIENT_SECURITY_GROUP: "sg-0ccccccccccccccc1",
    names.OUTPUT_DATA_VPC_ID: "vpc-0da7a0da7a0da7a00",
    names.OUTPUT_ACCESS_LOG_BUCKET: f"api-cars-data-alb-{ACCOUNT_ID}-{REGION}-2d3fb730",
    names.OUTPUT_IMPORT_BUCKET: f"api-cars-data-imports-{ACCOUNT_ID}-{REGION}-2d3fb730",
}
# What an identity stack named api-cars-identity exports (a Cognito pool's shapes).
IDENTITY_STACK_OUTPUTS = {
    names.OUTPUT_ISSUER: f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_AbCdEf123",
    names.OUTPUT_AUDIENCE: "1example23456789abcdefghij",
    names.OUTPUT_TOKEN_URL: f"https://api-cars-identity-{ACCOUNT_ID}.auth.{REGION}"
    ".amazoncognito.com/oauth2/token",
    names.OUTPUT_WRITE_SCOPE: "api-cars/cars:write",
    names.OUTPUT_READ_SCOPE: "api-cars/cars:read",
    names.OUTPUT_USER_POOL_ID: f"{REGION}_AbCdEf123",
}
# What a service stack named api-cars exports for the edge stack (the shapes AWS gives them).
SERVICE_STACK_OUTPUTS = {
    names.OUTPUT_LOAD_BALANCER_DNS: "api-cars-LoadBal-AbCdEf-123456789.eu-west-1.elb.amazonaws.com",
    names.OUTPUT_LOAD_BALANCER_ARN: f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:"
    "loadbalancer/app/api-cars-LoadBal-AbCdEf/0123456789abcdef",
    names.OUTPUT_LISTENER_ARN: f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:"
    "listener/app/api-cars-LoadBal-AbCdEf/0123456789abcdef/fedcba9876543210",
    names.OUTPUT_TARGET_GROUP_ARN: f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:"
    "targetgroup/api-ca-Targe-AbCdEf/0123456789abcdef",
    names.OUTPUT_ALB_SECURITY_GROUP: "sg-0a1b2c3d4e5f60718",
}
CLOUDFRONT_PREFIX_LIST = "pl-4fa04526"
EDGE_CERTIFICATE = (
    f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/1c2d3e4f-1111-4a2b-9c3d-123456789abc"
)
CLOUDFRONT_WEB_ACL = (
    f"arn:aws:wafv2:us-east-1:{ACCOUNT_ID}:global/webacl/api-cars-edge-global-acl/"
    "a1b2c3d4-5678-90ab-cdef-0123456789ab"
)
# The one way to run with writes open: no identity stack, and the explicit switch.
AUTH_OFF = {names.IDENTITY_STACK_NAME: "", names.AUTH_DISABLED: "true"}
IMAGE_CHECK_FUNCTION = (
    f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:api-cars-registry-ImageCheckFunction-AbC123"
)
# The parameters of the embedded demo, the one way to run without a database.
DEMO = {
    names.DATA_STACK_NAME: "",
    names.EMBEDDED_DEMO_DATABASE: "true",
    names.DESIRED_COUNT: "1",
    names.AUTO_SCALING: "false",
    names.ACCESS_LOGS: "false",
}
# A business-hours floor (template_builder/scaling.py): 4 tasks on weekdays 08:00-19:00, Paris time.
BUSINESS_HOURS = {
    names.BUSINESS_HOURS: "cron(0 8 ? * MON-FRI *)|cron(0 19 ? * MON-FRI *)",
    names.BUSINESS_HOURS_MIN_COUNT: "4",
    names.BUSINESS_HOURS_TIMEZONE: "Europe/Paris",
}
SECRET_VALUES = {
    f"{secret}:SecretString:{key}": f"{secret}-{key}-value"
    for secret in (names.DATABASE_SECRET, names.CACHE_SECRET)
    for key in ("username", "password")
} | {f"{names.ORIGIN_SECRET}:SecretString": "origin-header-value"}


@cache
def service_template() -> dict:
    return build_template().to_dict()


@cache
def registry_template() -> dict:
    return build_registry_template().to_dict()


@cache
def oidc_template() -> dict:
    return build_github_oidc_template().to_dict()


@cache
def data_template() -> dict:
    return build_data_template().to_dict()


@cache
def identity_template() -> dict:
    return build_identity_template().to_dict()


def network_template() -> dict:
    return build_network_template().to_dict()


@cache
def edge_template() -> dict:
    return build_edge_template().to_dict()


@cache
def edge_global_template() -> dict:
    return build_edge_global_template().to_dict()


def data_exports(stack: str, outputs: dict[str, str] = DATA_STACK_OUTPUTS) -> dict[str, str]:
    return {
        names.DATA_EXPORT.format(stack=stack, output=output): value
        for output, value in outputs.items()
    }


def network_exports(stack: str) -> dict[str, str]:
    return {
        names.EXPORT.format(stack=stack, output=output): value
        for output, value in VPC_LOOKUP_ANSWER.items()
    }


def registry_exports(stack: str) -> dict[str, str]:
    output = names.OUTPUT_IMAGE_CHECK_SERVICE_TOKEN
    return {names.EXPORT.format(stack=stack, output=output): IMAGE_CHECK_FUNCTION}


def _rule_value(node, values: dict[str, str]):
    """One Rules expression, evaluated as CloudFormation does before it creates anything."""
    if isinstance(node, dict):
        ((function, argument),) = node.items()
        if function == "Ref":
            return values[argument]
        args = [_rule_value(a, values) for a in argument] if isinstance(argument, list) else []
        if function == "Fn::Equals":
            return args[0] == args[1]
        if function == "Fn::And":
            return all(args)
        if function == "Fn::Or":
            return any(args)
        if function == "Fn::Not":
            return not args[0]
        if function == "Fn::Contains":
            return args[1] in args[0]
        raise AssertionError(f"rule function {function} not modelled here")
    if isinstance(node, list):
        return [_rule_value(item, values) for item in node]
    return node


def rule_failures(template: dict, **parameters) -> list[str]:
    """The AssertDescription of every Rules assertion the parameters fail."""
    values = {
        name: str(parameters.get(name, spec.get("Default", "")))
        for name, spec in template.get("Parameters", {}).items()
    }
    failures = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], values):
            continue
        failures.extend(
            assertion["AssertDescription"]
            for assertion in rule["Assertions"]
            if not _rule_value(assertion["Assert"], values)
        )
    return failures


def _without_novalue(value):
    # cloud-radar resolves AWS::NoValue to "" and leaves it inside lists; CloudFormation drops it.
    if isinstance(value, dict):
        return {k: _without_novalue(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_novalue(v) for v in value if v != Template.NoValue]
    return value


def resolve(
    template: dict | None = None,
    stack_name: str = names.DEFAULT_STACK_NAME,
    *,
    region: str = REGION,
    **parameters,
) -> dict:
    """The template resolved for `parameters` (ImageTag defaults to v1.0.0), in `region`."""
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
    failures = rule_failures(body, **parameters)
    if failures:
        raise ValueError(f"CloudFormation refuses these parameters: {'; '.join(failures)}")

    def stack_named_by(parameter: str) -> str:
        default = body.get("Parameters", {}).get(parameter, {}).get("Default", "")
        return str(parameters.get(parameter, default))

    radar = Template(
        json.loads(json.dumps(body)),
        # cloud-radar resolves both branches of an Fn::If: the imports must resolve even
        # where the condition drops them.
        imports=data_exports(stack_named_by(names.DATA_STACK_NAME))
        | data_exports(stack_named_by(names.IDENTITY_STACK_NAME), IDENTITY_STACK_OUTPUTS)
        | network_exports(stack_named_by(names.NETWORK_STACK_NAME))
        | registry_exports(stack_named_by(names.REGISTRY_STACK_NAME))
        | data_exports(stack_named_by(names.SERVICE_STACK_NAME), SERVICE_STACK_OUTPUTS),
        dynamic_references={"secretsmanager": SECRET_VALUES},
    )
    radar.StackName = stack_name
    radar.AccountId = ACCOUNT_ID
    # Fixed, as a real stack's id is for its whole life; cloud-radar reads it from the class and
    # draws a new one on every render when it is empty.
    Template.StackId = (
        f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/{STACK_UUID}"
    )
    radar.create_stack({k: str(v) for k, v in parameters.items()}, region=region)
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
    demo = DEMO
    auth_off = AUTH_OFF
    business_hours = BUSINESS_HOURS
    data_outputs = DATA_STACK_OUTPUTS
    identity_outputs = IDENTITY_STACK_OUTPUTS
    image_check_function = IMAGE_CHECK_FUNCTION
    secret_values = SECRET_VALUES
    service_outputs = SERVICE_STACK_OUTPUTS
    prefix_list = CLOUDFRONT_PREFIX_LIST
    edge_certificate = EDGE_CERTIFICATE
    cloudfront_web_acl = CLOUDFRONT_WEB_ACL

    service = staticmethod(service_template)
    data = staticmethod(data_template)
    identity = staticmethod(identity_template)
    network = staticmethod(network_template)
    edge = staticmethod(edge_template)
    edge_global = staticmethod(edge_global_template)
    rule_failures = staticmethod(rule_failures)
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
    """The service stack as `aws cloudformation deploy ... ImageTag=v1.0.0` would create it
    (beside the data stack api-cars-data)."""
    return resolve()


@pytest.fixture(scope="module")
def demo_stack() -> dict:
    """The service stack as the embedded demo: no data stack, no database secret."""
    return resolve(**DEMO)
