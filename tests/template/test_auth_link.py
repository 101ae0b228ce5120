"""Who may write: by default the task gets the identity stack's issuer, audience and scopes; writes
go open only with AuthDisabled=true and no identity stack, which the Rules and the WriteAccess
output make plain."""

import json

import pytest
from cfnlint.api import ManualArgs, lint

from template_builder import names

AUTH_VARIABLES = {"AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_WRITE_SCOPE", "AUTH_READ_SCOPE"}


def environment(resolved: dict) -> dict[str, str]:
    container = resolved["Resources"][names.TASK_DEFINITION]["Properties"]
    return {e["Name"]: e["Value"] for e in container["ContainerDefinitions"][0]["Environment"]}


def auth_environment(resolved: dict) -> dict[str, str]:
    return {k: v for k, v in environment(resolved).items() if k.startswith("AUTH_")}


def test_by_default_the_service_trusts_the_identity_stack_api_cars_identity(render):
    parameters = render.service()["Parameters"]
    assert parameters[names.IDENTITY_STACK_NAME]["Default"] == "api-cars-identity"
    assert parameters[names.AUTH_DISABLED]["Default"] == "false"
    assert parameters[names.AUTH_READ_SCOPE]["Default"] == "false"


def test_by_default_the_task_gets_the_identity_stacks_issuer_audience_and_write_scope(
    render, default_stack
):
    out = render.identity_outputs
    assert auth_environment(default_stack) == {
        "AUTH_ISSUER": out[names.OUTPUT_ISSUER],
        "AUTH_AUDIENCE": out[names.OUTPUT_AUDIENCE],
        "AUTH_WRITE_SCOPE": out[names.OUTPUT_WRITE_SCOPE],
    }


def test_the_identity_stacks_name_picks_the_exports(render):
    """The render resolves only the exports of the stack named (conftest keys them by name)."""
    resolved = render.resolve(IdentityStackName="cars-staging-identity")
    assert environment(resolved)["AUTH_ISSUER"] == render.identity_outputs[names.OUTPUT_ISSUER]
    task = render.service()["Resources"][names.TASK_DEFINITION]["Properties"]
    assert {
        "Fn::If": [
            names.HAS_IDENTITY_STACK,
            {
                "Name": "AUTH_ISSUER",
                "Value": {"Fn::ImportValue": {"Fn::Sub": "${IdentityStackName}-Issuer"}},
            },
            {"Ref": "AWS::NoValue"},
        ]
    } in task["ContainerDefinitions"][0]["Environment"]


def test_reads_need_the_read_scope_only_with_auth_read_scope(render, default_stack):
    assert "AUTH_READ_SCOPE" not in environment(default_stack)
    protected = environment(render.resolve(AuthReadScope="true"))
    assert protected["AUTH_READ_SCOPE"] == render.identity_outputs[names.OUTPUT_READ_SCOPE]


def test_auth_disabled_true_gives_the_task_auth_disabled_and_no_issuer(render):
    assert auth_environment(render.resolve(**render.auth_off)) == {"AUTH_DISABLED": "true"}


@pytest.mark.parametrize("parameters", [{}, {names.AUTH_READ_SCOPE: "true"}])
def test_auth_disabled_appears_only_with_auth_disabled_true(render, parameters):
    assert "AUTH_DISABLED" not in environment(render.resolve(**parameters))


def test_the_write_access_output_says_plainly_who_may_write(render, default_stack):
    protected = default_stack["Outputs"][names.OUTPUT_WRITE_ACCESS]["Value"]
    assert protected == "protected by the issuer of api-cars-identity"
    open_ = render.resolve(**render.auth_off)["Outputs"][names.OUTPUT_WRITE_ACCESS]["Value"]
    assert open_ == "OPEN: anyone can write (AuthDisabled=true)" == names.WRITE_ACCESS_OPEN


# --- Rules: an issuer, or the explicit switch; never both, never neither -------------------------
def test_the_defaults_and_auth_off_pass_the_rules(render):
    assert render.rule_failures(render.service(), ImageTag="v1.0.0") == []
    assert render.rule_failures(render.service(), **render.auth_off) == []


def test_no_identity_stack_without_the_explicit_switch_is_refused(render):
    (failure,) = render.rule_failures(render.service(), IdentityStackName="")
    assert failure == "Set IdentityStackName or AuthDisabled=true"
    with pytest.raises(ValueError, match="Set IdentityStackName"):
        render.resolve(IdentityStackName="")


@pytest.mark.parametrize(
    "parameters",
    [
        {names.AUTH_DISABLED: "true"},  # beside the default identity stack
        {names.AUTH_DISABLED: "true", names.IDENTITY_STACK_NAME: "cars-staging-identity"},
        {**{names.IDENTITY_STACK_NAME: "", names.AUTH_DISABLED: "true"}, "AuthReadScope": "true"},
    ],
)
def test_auth_disabled_beside_an_issuer_or_a_read_scope_is_refused(render, parameters):
    (failure,) = render.rule_failures(render.service(), **parameters)
    assert failure.startswith("AuthDisabled=true: no IdentityStackName")


def test_the_demo_may_run_with_the_identity_stack_or_with_auth_off(render):
    assert render.rule_failures(render.service(), **render.demo) == []
    assert render.rule_failures(render.service(), **render.demo, **render.auth_off) == []


@pytest.mark.parametrize("mode", ["reads-need-scope", "auth-off"])
def test_each_auth_mode_passes_cfn_lint_once_decided(render, mode):
    parameters = {names.AUTH_READ_SCOPE: "true"} if mode == "reads-need-scope" else render.auth_off
    variant = render.variant(render.service(), ImageTag="v1.0.0", **parameters)
    # W2001: parameters only the decided conditions read are unused then, as expected.
    config = ManualArgs(regions=[render.region], ignore_checks=["W2001"])
    assert lint(json.dumps(variant), config=config) == []


def test_the_service_imports_only_what_the_identity_stack_exports(render):
    task = render.service()["Resources"][names.TASK_DEFINITION]["Properties"]
    text = json.dumps(task)
    imported = {
        name.split("-", 1)[1]
        for name in (
            part.split('"')[0] for part in text.split('"Fn::Sub": "${IdentityStackName}')[1:]
        )
    }
    assert imported <= set(render.identity()["Outputs"])
    assert imported == {"Issuer", "Audience", "WriteScope", "ReadScope"}
