"""A template moto's server can deploy, and the answers of the custom resources it cannot run.

The real template minus its Lambda-backed custom resources: moto's CloudFormation cannot invoke
their functions. What those functions would answer is computed by the project's own handler code
(lambdas/vpc_lookup.py's ``lookup``, lambdas/image_check.py's ``check``) run against moto's EC2 and
ECR through boto3, as the Lambda would run it against AWS. Shared by the stack tests
(tests/stack/conftest.py) and the rehearsal (``python -m rehearsal``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from collections.abc import Callable
from typing import Any

import boto3
from cloud_radar.cf.unit import Template as RadarTemplate

from lambdas import image_check, vpc_lookup
from template_builder import names
from template_builder.names import (
    ACCESS_LOGS,
    AUTH_DISABLED,
    AUTO_SCALING,
    DATA_STACK_NAME,
    DESIRED_COUNT,
    EMBEDDED_DEMO_DATABASE,
    IDENTITY_STACK_NAME,
    IMAGE_TAG,
    LOAD_BALANCER_DELETION_PROTECTION,
    NETWORK_STACK_NAME,
)

REGION = "eu-west-1"
REPOSITORY = "api-cars"


# --- a template moto can deploy ----------------------------------------------------------------
_REF_IN_SUB = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9]+))?\}")


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(m.group(1) for m in _REF_IN_SUB.finditer(text))
            found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


_NETWORK_IMPORT = re.compile(r"\$\{" + NETWORK_STACK_NAME + r"\}-(\w+)")


def _substitute(node: Any, replace: Callable[[str, str], Any], removed: set[str]) -> Any:
    if isinstance(node, dict):
        imported = node.get("Fn::ImportValue") if set(node) == {"Fn::ImportValue"} else None
        name = imported.get("Fn::Sub") if isinstance(imported, dict) else None
        match = _NETWORK_IMPORT.fullmatch(name) if isinstance(name, str) else None
        if match:
            # The network stack's export of the lookup's attribute: what the lookup answers.
            return replace(names.VPC_LOOKUP, match.group(1))
        if set(node) == {"Fn::GetAtt"}:
            value = node["Fn::GetAtt"]
            target, attribute = value if isinstance(value, list) else str(value).split(".", 1)
            if target in removed:
                return replace(target, attribute)
        return {k: _substitute(v, replace, removed) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(item, replace, removed) for item in node]
    return node


def _imports(node: Any, parameters: dict[str, Any]) -> dict[str, str]:
    """A placeholder for each export the template imports (cloud-radar resolves both branches
    of an Fn::If, so even an import the defaults leave out must resolve)."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        if "Fn::ImportValue" in node:
            name = node["Fn::ImportValue"]["Fn::Sub"]
            for key, spec in parameters.items():
                name = name.replace(f"${{{key}}}", str(spec.get("Default", "")))
            found[name] = "not-imported"
        for value in node.values():
            found |= _imports(value, parameters)
    elif isinstance(node, list):
        for item in node:
            found |= _imports(item, parameters)
    return found


def _conditions(doc: dict[str, Any]) -> dict[str, bool]:
    """Every condition for the parameters' defaults (what the tests deploy with), as cloud-radar
    decides them for tests/template too."""
    body = json.loads(json.dumps(doc))
    for parameter in body.get("Parameters", {}).values():
        if "Default" in parameter:
            parameter["Default"] = str(parameter["Default"])
    with contextlib.redirect_stdout(io.StringIO()):  # cloud-radar prints the template object
        radar = RadarTemplate(body, imports=_imports(body, body.get("Parameters", {})))
        radar.create_stack({IMAGE_TAG: "v1.0.0"}, region=REGION)
    return radar.template["Conditions"]


def _resolve_ifs(conditions: dict[str, bool], node: Any) -> Any:
    """Decide every ``Fn::If`` with the parameters' defaults, dropping ``AWS::NoValue``.

    moto keeps a None where CloudFormation drops an ``AWS::NoValue`` list item, and its update
    path does not evaluate ``Fn::If`` inside lists; the tests deploy with the defaults, so deciding
    the conditions up front gives moto the template CloudFormation would evaluate.
    """
    no_value = {"Ref": "AWS::NoValue"}

    def decide(value: Any) -> Any:
        while isinstance(value, dict) and set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            value = when_true if conditions[name] else when_false
        return value

    node = decide(node)
    if isinstance(node, dict):
        resolved = {k: _resolve_ifs(conditions, v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v != no_value}
    if isinstance(node, list):
        return [_resolve_ifs(conditions, item) for item in node if decide(item) != no_value]
    return node


def without_custom_resources(
    document: dict[str, Any], attributes: dict[str, str]
) -> dict[str, Any]:
    """The real template minus its Lambda-backed custom resources (moto cannot run them).

    Each ``Fn::GetAtt`` of a removed custom resource, and each import of the network stack's
    exports of Custom::VpcLookup's answer, becomes a parameter holding what the Lambda
    would have answered (``attributes``, keyed ``LogicalIdAttribute``), except ImageCheck.ImageUri,
    which stays tied to ImageTag. Resources that only served the custom resources (their functions,
    roles, log groups) go too. The real template is never changed.
    """
    doc = json.loads(json.dumps(document))
    conditions = _conditions(doc)
    resources: dict[str, Any] = doc["Resources"]
    removed = {
        lid for lid, res in resources.items() if str(res.get("Type", "")).startswith("Custom::")
    }
    while True:
        refs_from_kept: set[str] = set()
        refs_from_removed: set[str] = set()
        for lid, res in resources.items():
            refs = _references(res) | set(
                [res["DependsOn"]]
                if isinstance(res.get("DependsOn"), str)
                else res.get("DependsOn", [])
            )
            (refs_from_removed if lid in removed else refs_from_kept).update(refs)
        refs_from_kept |= _references(doc.get("Outputs", {}))
        only_theirs = (refs_from_removed - refs_from_kept - removed) & set(resources)
        if not only_theirs:
            break
        removed |= only_theirs
    parameters = doc.setdefault("Parameters", {})

    def replace(target: str, attribute: str) -> Any:
        if attribute == "ImageUri":
            registry = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com"
            return {"Fn::Sub": registry + "/${RepositoryName}:${ImageTag}"}
        name = f"{target}{attribute}"
        parameters[name] = {"Type": "String", "Default": attributes.get(name, f"test-{attribute}")}
        return {"Ref": name}

    for lid in removed:
        resources.pop(lid)
    doc["Resources"] = _substitute(resources, replace, removed)
    if "Outputs" in doc:
        doc["Outputs"] = _substitute(doc["Outputs"], replace, removed)
    # moto creates resources whose Condition is false; CloudFormation leaves them out.
    for section in ("Resources", "Outputs"):
        items = doc.get(section, {})
        for lid in [k for k, v in items.items() if "Condition" in v]:
            if not conditions[items[lid].pop("Condition")]:
                items.pop(lid)
        doc[section] = _resolve_ifs(conditions, items)
    for res in doc["Resources"].values():
        depends = res.get("DependsOn")
        if isinstance(depends, str) and depends in removed:
            res.pop("DependsOn")
        elif isinstance(depends, list):
            res["DependsOn"] = [d for d in depends if d not in removed] or None
            if res["DependsOn"] is None:
                res.pop("DependsOn")
    return doc


# moto's CloudFormation cannot build Aurora or ElastiCache, so no data stack can export anything
# there: the suite deploys the service as the embedded demo (what its Rules accept without one),
# and with writes open unless a test wires it to an identity stack of its own.
EMBEDDED_DEMO = {DATA_STACK_NAME: "", EMBEDDED_DEMO_DATABASE: "true", DESIRED_COUNT: 1}
EMBEDDED_DEMO[AUTO_SCALING] = "false"
EMBEDDED_DEMO[ACCESS_LOGS] = "false"  # no data stack to own the log bucket: the demo opts out
AUTH_OFF = {IDENTITY_STACK_NAME: "", AUTH_DISABLED: "true"}


# What deploys the service alone as that demo (tests/stack/demo.py says why each one).
DEMO_SERVICE = (
    "--only",
    "service",
    "--param",
    "DataStackName=",
    "--param",
    "AuthDisabled=true",
    "--param",
    f"{LOAD_BALANCER_DELETION_PROTECTION}=false",
)


def as_embedded_demo(document: dict[str, Any], *, auth_off: bool = True) -> dict[str, Any]:
    """The template with the demo's parameter values as its defaults (and writes open), and
    without the exports the edge stack imports: moto evaluates an export's value while an update
    of the stack is still replacing what it refers to, and answers DescribeStacks with HTTP 500
    (moto/cloudformation/parsing.py, OutputMap.exports). No edge stack runs on moto (its
    CloudFront and WAF resources are not modelled); the exports are proven by the render tests."""
    doc = copy.deepcopy(document)
    for name, value in (EMBEDDED_DEMO | (AUTH_OFF if auth_off else {})).items():
        doc["Parameters"][name]["Default"] = value
    for output in doc.get("Outputs", {}).values():
        output.pop("Export", None)
    return doc


def push_image(tag: str, repository: str = REPOSITORY) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + tag.encode().hex().ljust(64, "0")[:64]},
        "layers": [],
    }
    # Pushing the same manifest under the same tag again changes nothing, as with docker push.
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
        ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


def give_default_vpc_an_internet_gateway(ec2: Any) -> str:
    """moto's default VPC has no internet gateway; every AWS default VPC has one, with a
    0.0.0.0/0 route in its main route table. Added through EC2's own API (idempotent)."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    attached = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}]
    )["InternetGateways"]
    if attached:
        return attached[0]["InternetGatewayId"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc["VpcId"])
    (main,) = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"]
    ec2.create_route(
        RouteTableId=main["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway
    )
    return gateway


def network_answers() -> dict[str, str]:
    """What Custom::VpcLookup answers with no properties (the default VPC), keyed
    ``VpcLookup<Attribute>``: its handler's own code run against the endpoint boto3 reaches
    (AWS_ENDPOINT_URL: moto's server)."""
    give_default_vpc_an_internet_gateway(boto3.client("ec2", region_name=REGION))
    _, network = vpc_lookup.lookup({})
    return {f"{names.VPC_LOOKUP}{key}": value for key, value in network.items()}


def image_answers(image_tag: str, repository: str = REPOSITORY) -> dict[str, str]:
    """What Custom::ImageCheck answers for the image: its handler's own ``check``."""
    _, image = image_check.check({"RepositoryName": repository, "ImageTag": image_tag})
    return {"ImageCheckImageDigest": image["ImageDigest"]}


def moto_template(document: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """The embedded demo of ``document`` without custom resources, the answers as defaults."""
    doc = without_custom_resources(as_embedded_demo(document), {})
    for name, value in answers.items():
        if name in doc["Parameters"]:
            doc["Parameters"][name]["Default"] = value
    return doc
