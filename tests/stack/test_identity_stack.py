"""The identity stack through cars-stack on moto: deployed after the data stack and before the
service, which imports its issuer; `status` says whether writes are protected and by whom.

moto's CloudFormation models no AWS::Cognito::* resource (it skips each with "not supported by
moto's CloudFormation implementation"), so the user pool itself is proven by the render tests
(tests/template/test_identity_stack.py) and only on AWS; here the real identity template runs in
its other mode, an existing issuer, which creates nothing but exports the same outputs. moto also
computes no outputs (so no exports) for a stack made through a change set: where a test needs
them, the test creates the stack itself (CreateStack), as a stack deployed earlier would be.
The full order (data, identity, service) is a Stubber conversation in test_data_stack.py: moto
cannot build the data stack, nor answer UpdateTerminationProtection.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from template_builder.names import (
    AUTH_DISABLED,
    DEFAULT_IDENTITY_STACK_NAME,
    IDENTITY_STACK_NAME,
    IDENTITY_TEMPLATE_FILE,
    OUTPUT_ISSUER,
    TASK_DEFINITION,
    WRITE_ACCESS_OPEN,
)
from tests.stack.conftest import (
    REPO_ROOT,
    as_embedded_demo,
    moto_network,
    push_image,
    without_custom_resources,
)
from tests.stack.demo import DEMO_SERVICE

ISSUER = "https://example.eu.auth0.com/"
EXISTING_ISSUER = (
    "--identity-param",
    f"AuthIssuer={ISSUER}",
    "--identity-param",
    "AuthAudience=https://cars.example.com",
    "--identity-param",
    "AuthTokenUrl=https://example.eu.auth0.com/oauth/token",
)
IDENTITY_TEMPLATE = REPO_ROOT / IDENTITY_TEMPLATE_FILE


@pytest.fixture(scope="module")
def protected_document(real_template: dict[str, Any]) -> dict[str, Any]:
    """The service as the demo, but wired to the identity stack (its defaults)."""
    return without_custom_resources(as_embedded_demo(real_template, auth_off=False), {})


@pytest.fixture
def protected_template(protected_document: dict[str, Any], tmp_path: Path) -> Path:
    document = copy.deepcopy(protected_document)
    for name, value in moto_network().items():
        if name in document["Parameters"]:
            document["Parameters"][name]["Default"] = value
    path = tmp_path / "api-cars-protected.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _create(aws, name: str, template: Path, **parameters: str) -> None:
    """A stack created directly, so that moto computes its outputs and exports."""
    aws("cloudformation").create_stack(
        StackName=name,
        TemplateBody=template.read_text(encoding="utf-8"),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )


def _existing_issuer_stack(aws) -> None:
    pairs = dict(p.split("=", 1) for p in EXISTING_ISSUER[1::2])
    _create(aws, DEFAULT_IDENTITY_STACK_NAME, IDENTITY_TEMPLATE, **pairs)


def _stack_names_in_creation_order(aws) -> list[str]:
    stacks = aws("cloudformation").describe_stacks()["Stacks"]
    return [s["StackName"] for s in sorted(stacks, key=lambda s: s["CreationTime"])]


def _environment(aws) -> dict[str, str]:
    cfn, ecs = aws("cloudformation"), aws("ecs")
    resources = cfn.describe_stack_resources(StackName="api-cars")["StackResources"]
    # moto lists the resources it skipped without a LogicalResourceId.
    arn = next(r for r in resources if r.get("LogicalResourceId") == TASK_DEFINITION)
    task = ecs.describe_task_definition(taskDefinition=arn["PhysicalResourceId"])
    container = task["taskDefinition"]["containerDefinitions"][0]
    return {e["name"]: e["value"] for e in container["environment"]}


def test_only_identity_deploys_the_identity_template_with_its_parameters(cli, aws) -> None:
    result = cli("deploy", "--only", "identity", *EXISTING_ISSUER, "--yes")
    assert result.code == 0, result.err
    (stack,) = aws("cloudformation").describe_stacks()["Stacks"]
    assert stack["StackName"] == DEFAULT_IDENTITY_STACK_NAME
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["AuthIssuer"] == ISSUER
    assert parameters["AuthAudience"] == "https://cars.example.com"


def test_the_service_after_the_identity_stack_is_wired_to_it_by_name(
    cli, aws, protected_template: Path
) -> None:
    """What the task then gets from the imports is the render tests' (tests/template): moto
    resolves no Fn::ImportValue when it executes a change set, so this one stays for review."""
    _existing_issuer_stack(aws)
    push_image("v1.0.0")
    result = cli(
        "deploy", "--only", "service", "--param", "DataStackName=", "--template-file",
        str(protected_template), "--image-tag", "v1.0.0", "--no-execute", "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    parameters = result.json()["change_set"]["parameters"]
    assert parameters[IDENTITY_STACK_NAME] == DEFAULT_IDENTITY_STACK_NAME
    assert parameters.get(AUTH_DISABLED, "false") == "false"  # the default: not given
    assert "Writes will be OPEN" not in result.err


def test_status_says_writes_are_protected_by_the_identity_stacks_issuer(
    cli, aws, protected_template: Path
) -> None:
    _existing_issuer_stack(aws)
    _create(aws, "api-cars", protected_template, ImageTag="v1.0.0")
    result = cli("status")
    assert result.code == 0, result.err
    assert f"Writes       protected by {ISSUER} (identity stack api-cars-identity)" in result.out
    assert "Token URL    https://example.eu.auth0.com/oauth/token" in result.out
    access = cli("status", "--output", "json").json()["write_access"]
    assert access["protected"] is True
    assert access["issuer"] == ISSUER


def test_deploy_with_auth_disabled_says_so_and_the_task_gets_auth_disabled(
    cli, aws, moto_template: Path
) -> None:
    push_image("v1.0.0")
    deployed = cli(
        "deploy", *DEMO_SERVICE, "--template-file", str(moto_template), "--image-tag", "v1.0.0",
        "--yes",
    )  # fmt: skip
    assert deployed.code == 0, deployed.err
    assert f"Writes will be {WRITE_ACCESS_OPEN}" in deployed.out
    environment = _environment(aws)
    assert environment["AUTH_DISABLED"] == "true"
    assert not {k for k in environment if k.startswith("AUTH_") and k != "AUTH_DISABLED"}


def test_status_says_plainly_that_anyone_can_write_with_auth_disabled(
    cli, aws, moto_template: Path
) -> None:
    _create(aws, "api-cars", moto_template, ImageTag="v1.0.0")
    result = cli("status")
    assert result.code == 0, result.err
    assert f"Writes       {WRITE_ACCESS_OPEN}" in result.out
    assert cli("status", "--output", "json").json()["write_access"]["protected"] is False


def test_status_of_a_stack_without_the_output_says_it_does_not_know(cli, aws, deployed) -> None:
    """A change-set-made stack on moto has no outputs, like a stack from before this output."""
    result = cli("status", "--output", "json")
    access = result.json()["write_access"]
    assert access["protected"] is None
    assert access["says"].startswith("unknown: the stack has no WriteAccess output")


def test_the_service_alone_needs_its_identity_stack(cli, protected_template: Path) -> None:
    push_image("v1.0.0")
    result = cli(
        "deploy", "--only", "service", "--param", "DataStackName=", "--template-file",
        str(protected_template), "--image-tag", "v1.0.0", "--yes",
    )  # fmt: skip
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        "cars-stack deploy: identity stack api-cars-identity is missing: deploy it first "
        "(cars-stack deploy --only identity), or pass --param AuthDisabled=true for a service "
        "anyone can write to"
    )


def test_a_half_given_existing_issuer_is_refused_by_the_templates_rules_before_any_change(
    cli, aws
) -> None:
    """moto does not evaluate Rules (tests/template does, with the same assertions): what this
    proves is that --identity-param reaches the identity template and bad keys are one line."""
    result = cli("deploy", "--only", "identity", "--identity-param", "NoSuchKey=1", "--yes")
    assert result.code == 2
    assert "NoSuchKey" in result.err.splitlines()[0]
    assert aws("cloudformation").describe_stacks()["Stacks"] == []


def test_only_identity_refuses_service_parameters(cli) -> None:
    result = cli("deploy", "--only", "identity", "--param", "DesiredCount=3")
    assert result.code == 2
    assert result.err == (
        "cars-stack deploy: --param and --image-tag set the service stack, which --only identity "
        "does not deploy\n"
    )


def test_the_identity_outputs_are_exported_under_the_names_the_service_imports(aws) -> None:
    _existing_issuer_stack(aws)
    exports = {e["Name"]: e.get("Value") for e in aws("cloudformation").list_exports()["Exports"]}
    assert exports[f"{DEFAULT_IDENTITY_STACK_NAME}-{OUTPUT_ISSUER}"] == ISSUER


def test_destroy_keeps_the_identity_stack_saying_so(cli, aws, protected_template: Path) -> None:
    _existing_issuer_stack(aws)
    _create(aws, "api-cars", protected_template, ImageTag="v1.0.0")
    result = cli("destroy", "--yes")
    assert result.code == 0, result.err
    assert "identity stack api-cars-identity, its issuer and its clients' credentials" in result.out
    names = [s["StackName"] for s in aws("cloudformation").describe_stacks()["Stacks"]]
    assert DEFAULT_IDENTITY_STACK_NAME in names
