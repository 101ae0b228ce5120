"""Fixtures for the cars-stack suite: one moto server per session, Stubber-wrapped clients, the CLI.

moto runs in server mode (a real HTTP endpoint reached through AWS_ENDPOINT_URL, exactly as the
command reaches AWS); every test starts from an empty moto via its /moto-api/reset endpoint. Answers
moto cannot produce come from botocore's Stubber, shaped like the CloudFormation API reference.
"""

from __future__ import annotations

import copy
import io
import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cfn_flip import load_yaml
from moto.server import ThreadedMotoServer

from cars_stack.cli import main
from cars_stack.runtime import Runtime
from rehearsal.moto import (
    as_embedded_demo,
    network_answers,
    push_image,
    without_custom_resources,
)
from template_builder.names import (
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


def moto_network() -> dict[str, str]:
    """What Custom::VpcLookup answers in this test's moto: its handler's own code run against it.
    (The image check's digest stays a placeholder: tests push their own images, or none.)"""
    return {**network_answers(), "ImageCheckImageDigest": "sha256:" + "0" * 64}


@pytest.fixture
def real_template_path() -> Path:
    return REAL_TEMPLATE


@pytest.fixture(scope="session")
def real_template() -> dict[str, Any]:
    return load_yaml(REAL_TEMPLATE.read_text(encoding="utf-8"))


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
