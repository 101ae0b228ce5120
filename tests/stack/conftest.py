"""Fixtures for the cars-stack suite: one moto server per session, Stubber-wrapped clients, the CLI.

moto runs in server mode (a real HTTP endpoint reached through AWS_ENDPOINT_URL, exactly as the
command reaches AWS); every test starts from an empty moto via its /moto-api/reset endpoint. Answers
moto cannot produce come from botocore's Stubber, shaped like the CloudFormation API reference.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cfn_flip import load_yaml
from cloud_radar.cf.unit import Template as RadarTemplate
from moto.server import ThreadedMotoServer

from cars_stack.cli import main
from cars_stack.runtime import Runtime
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
    NETWORK_STACK_NAME,
    PERMISSIONS_BOUNDARY_ARN,
    SERVICE_TEMPLATE_FILE,
)
from tests.stack.demo import DEMO_SERVICE

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_TEMPLATE = REPO_ROOT / SERVICE_TEMPLATE_FILE


# --- moto server -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Every test talks to moto with fake credentials, never to AWS or a developer's profile."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "GITHUB_OUTPUT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    return moto_endpoint


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


@pytest.fixture
def aws() -> Callable[[str], Any]:
    """A boto3 client factory for moto (the test's own view of AWS)."""
    return client


# --- running the command -----------------------------------------------------------------------
@dataclass
class Result:
    code: int
    out: str
    err: str
    asked: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


def run_cli(
    *argv: str,
    answers: tuple[str, ...] = (),
    clients: dict[str, Any] | None = None,
    sleep: Callable[[float], None] | None = None,
    now: Callable[[], float] | None = None,
) -> Result:
    """The command as a user runs it, minus the waiting: polls do not sleep."""
    out, err = io.StringIO(), io.StringIO()
    asked: list[str] = []
    pending = list(answers)

    def ask(question: str) -> str:
        asked.append(question)
        if not pending:
            raise AssertionError(f"unexpected question: {question}")
        return pending.pop(0)

    runtime = Runtime(
        poll_seconds=0,
        sleep=sleep or (lambda _: None),
        ask=ask,
        stdout=out,
        stderr=err,
        clients=clients or {},
    )
    if now is not None:
        runtime.now = now
    code = main(list(argv), runtime)
    return Result(code, out.getvalue(), err.getvalue(), asked)


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


def moto_network() -> dict[str, str]:
    """What Custom::VpcLookup would answer in moto's default VPC."""
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])[
        "Subnets"
    ]
    subnet_ids = ",".join(s["SubnetId"] for s in subnets[:2])
    return {
        "VpcLookupVpcId": vpc["VpcId"],
        "VpcLookupVpcCidr": vpc["CidrBlock"],
        "VpcLookupPublicSubnetIds": subnet_ids,
        "VpcLookupTaskSubnetIds": subnet_ids,
        "VpcLookupAvailabilityZones": ",".join(s["AvailabilityZone"] for s in subnets[:2]),
        "VpcLookupTaskAssignPublicIp": "ENABLED",
        "ImageCheckImageDigest": "sha256:" + "0" * 64,
    }


@pytest.fixture
def real_template_path() -> Path:
    return REAL_TEMPLATE


@pytest.fixture(scope="session")
def real_template() -> dict[str, Any]:
    return load_yaml(REAL_TEMPLATE.read_text(encoding="utf-8"))


# moto's CloudFormation cannot build Aurora or ElastiCache, so no data stack can export anything
# there: the suite deploys the service as the embedded demo (what its Rules accept without one),
# and with writes open unless a test wires it to an identity stack of its own.
EMBEDDED_DEMO = {DATA_STACK_NAME: "", EMBEDDED_DEMO_DATABASE: "true", DESIRED_COUNT: 1}
EMBEDDED_DEMO[AUTO_SCALING] = "false"
EMBEDDED_DEMO[ACCESS_LOGS] = "false"  # no data stack to own the log bucket: the demo opts out
AUTH_OFF = {IDENTITY_STACK_NAME: "", AUTH_DISABLED: "true"}


def as_embedded_demo(document: dict[str, Any], *, auth_off: bool = True) -> dict[str, Any]:
    """The template with the demo's parameter values as its defaults (and writes open)."""
    doc = copy.deepcopy(document)
    for name, value in (EMBEDDED_DEMO | (AUTH_OFF if auth_off else {})).items():
        doc["Parameters"][name]["Default"] = value
    return doc


@pytest.fixture(scope="session")
def moto_document(real_template: dict[str, Any]) -> dict[str, Any]:
    """Derived once; each test fills in the network of its own (freshly reset) moto."""
    return without_custom_resources(as_embedded_demo(real_template), {})


def _write_moto_template(moto_document: dict[str, Any], path: Path) -> Path:
    document = copy.deepcopy(moto_document)
    for name, value in moto_network().items():
        if name in document["Parameters"]:
            document["Parameters"][name]["Default"] = value
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def moto_template(moto_document: dict[str, Any], tmp_path: Path) -> Path:
    return _write_moto_template(moto_document, tmp_path / "api-cars-moto.json")


@pytest.fixture
def bounded_moto_template(real_template: dict[str, Any], tmp_path: Path) -> Path:
    """The moto template with its roles' PermissionsBoundary kept (the conditions are decided on
    the defaults): a placeholder default; the value the roles get is the one deployed."""
    document = as_embedded_demo(real_template)
    placeholder = "arn:aws:iam::123456789012:policy/placeholder"
    document["Parameters"][PERMISSIONS_BOUNDARY_ARN]["Default"] = placeholder
    bounded = without_custom_resources(document, {})
    return _write_moto_template(bounded, tmp_path / "api-cars-moto-bounded.json")


def push_image(tag: str, repository: str = "api-cars") -> None:
    ecr = client("ecr")
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + tag.encode().hex().ljust(64, "0")[:64]},
        "layers": [],
    }
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)


@pytest.fixture(name="push_image")
def push_image_fixture() -> Callable[..., None]:
    return push_image


@pytest.fixture
def deployed(moto_template: Path) -> Path:
    """A stack created through cars-stack deploy (a CREATE change set) running v1.0.0."""
    push_image("v1.0.0")
    result = run_cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(moto_template),
        "--image-tag",
        "v1.0.0",
        "--yes",
    )
    assert result.code == 0, result.err
    return moto_template


@pytest.fixture
def busy_stack() -> str:
    """A stack moto keeps in CREATE_IN_PROGRESS: its custom resource's Lambda never answers."""
    role_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": role_policy},
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context): pass"},
                },
            },
            "Pending": {
                "Type": "Custom::Pending",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]}},
            },
        }
    }
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName="busy", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
    )
    assert cfn.describe_stacks(StackName="busy")["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    return "busy"


# --- Stubber -----------------------------------------------------------------------------------
@dataclass
class Stubbed:
    cfn: Any
    ecr: Any
    ecs: Any
    logs: Any
    cfn_stub: Stubber
    ecr_stub: Stubber
    ecs_stub: Stubber
    logs_stub: Stubber

    @property
    def clients(self) -> dict[str, Any]:
        return {"cloudformation": self.cfn, "ecr": self.ecr, "ecs": self.ecs, "logs": self.logs}

    def done(self) -> None:
        for stub in (self.cfn_stub, self.ecr_stub, self.ecs_stub, self.logs_stub):
            stub.assert_no_pending_responses()


@pytest.fixture
def stubbed() -> Iterator[Stubbed]:
    cfn, ecr, ecs, logs = (client(s) for s in ("cloudformation", "ecr", "ecs", "logs"))
    with (
        Stubber(cfn) as cfn_stub,
        Stubber(ecr) as ecr_stub,
        Stubber(ecs) as ecs_stub,
        Stubber(logs) as logs_stub,
    ):
        yield Stubbed(cfn, ecr, ecs, logs, cfn_stub, ecr_stub, ecs_stub, logs_stub)
