"""The identity stack: a Cognito user pool for machines only, kept when the stack goes, with the
API's scopes and one client-credentials client; or an existing issuer passed through; and its
outputs exported under the names the service stack imports."""

import json
import re

import pytest
from cfnlint.api import ManualArgs, lint

from template_builder import names
from template_builder.identity.cognito import DERIVED_DOMAIN_PREFIX

STACK = "api-cars-identity"
EXISTING = {
    names.AUTH_ISSUER: "https://example.eu.auth0.com/",
    names.AUTH_AUDIENCE: "https://cars.example.com",
    names.AUTH_TOKEN_URL: "https://example.eu.auth0.com/oauth/token",
}


def created(render, **parameters) -> dict:
    return render.resolve(render.identity(), stack_name=STACK, **parameters)


def outputs(resolved: dict) -> dict[str, str]:
    return {name: output["Value"] for name, output in resolved["Outputs"].items()}


@pytest.fixture(scope="module")
def pool(render) -> dict:
    return created(render)


def props(resolved: dict, logical_id: str) -> dict:
    return resolved["Resources"][logical_id]["Properties"]


def test_by_default_it_creates_the_pool_its_domain_the_scopes_and_one_machine_client(pool):
    assert {k: r["Type"] for k, r in pool["Resources"].items()} == {
        names.USER_POOL: "AWS::Cognito::UserPool",
        names.USER_POOL_DOMAIN: "AWS::Cognito::UserPoolDomain",
        names.RESOURCE_SERVER: "AWS::Cognito::UserPoolResourceServer",
        names.MACHINE_CLIENT: "AWS::Cognito::UserPoolClient",
    }


def test_the_pool_is_for_machines_nobody_signs_up(pool):
    user_pool = props(pool, names.USER_POOL)
    assert user_pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert user_pool["UserPoolName"] == "api-cars-identity-machines"


@pytest.mark.parametrize(
    "logical_id", [names.USER_POOL, names.RESOURCE_SERVER, names.MACHINE_CLIENT]
)
def test_the_issuer_and_the_credentials_outlive_a_delete_or_a_replacement(pool, logical_id):
    resource = pool["Resources"][logical_id]
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_the_pool_refuses_deletion_and_the_domain_holding_nothing_is_not_kept(pool):
    assert props(pool, names.USER_POOL)["DeletionProtection"] == "ACTIVE"
    assert "DeletionPolicy" not in pool["Resources"][names.USER_POOL_DOMAIN]


def test_the_resource_server_holds_the_apis_scopes(pool):
    server = props(pool, names.RESOURCE_SERVER)
    assert server["Identifier"] == names.RESOURCE_SERVER_ID
    assert [s["ScopeName"] for s in server["Scopes"]] == ["cars:write", "cars:read"]


def test_the_client_gets_tokens_by_client_credentials_with_a_generated_secret(render, pool):
    client = props(pool, names.MACHINE_CLIENT)
    assert client["GenerateSecret"] is True
    assert client["AllowedOAuthFlows"] == ["client_credentials"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthScopes"] == ["api-cars/cars:write", "api-cars/cars:read"]
    assert client["AccessTokenValidity"] == "60"
    assert client["TokenValidityUnits"] == {"AccessToken": "minutes"}
    # A client may be granted scopes only once they exist.
    assert (
        names.RESOURCE_SERVER in render.identity()["Resources"][names.MACHINE_CLIENT]["DependsOn"]
    )


def test_the_domain_prefix_is_derived_from_stack_and_account_unless_given(render, pool):
    derived = f"{STACK}-{render.account_id}"
    assert DERIVED_DOMAIN_PREFIX == "${AWS::StackName}-${AWS::AccountId}"
    assert props(pool, names.USER_POOL_DOMAIN)["Domain"] == derived
    given = created(render, DomainPrefix="cars-login")
    assert props(given, names.USER_POOL_DOMAIN)["Domain"] == "cars-login"
    assert outputs(given)[names.OUTPUT_TOKEN_URL] == (
        f"https://cars-login.auth.{render.region}.amazoncognito.com/oauth2/token"
    )


def test_the_outputs_are_what_a_machine_and_the_service_need(render, pool):
    assert outputs(pool) == {
        names.OUTPUT_ISSUER: f"https://cognito-idp.{render.region}.amazonaws.com/{names.USER_POOL}",
        names.OUTPUT_AUDIENCE: names.MACHINE_CLIENT,  # cloud-radar's Ref: the client id
        names.OUTPUT_TOKEN_URL: f"https://{STACK}-{render.account_id}.auth.{render.region}"
        ".amazoncognito.com/oauth2/token",
        names.OUTPUT_WRITE_SCOPE: "api-cars/cars:write",
        names.OUTPUT_READ_SCOPE: "api-cars/cars:read",
        names.OUTPUT_USER_POOL_ID: names.USER_POOL,
    }


def test_every_output_is_exported_under_the_name_the_service_imports(pool):
    assert {name: o["Export"]["Name"] for name, o in pool["Outputs"].items()} == {
        name: names.EXPORT.format(stack=STACK, output=name) for name in pool["Outputs"]
    }


def test_an_existing_issuer_creates_no_pool_and_is_exported_as_given(render):
    resolved = created(render, **EXISTING)
    assert {k: r["Type"] for k, r in resolved["Resources"].items()} == {
        names.EXISTING_ISSUER: "AWS::CloudFormation::WaitConditionHandle"
    }
    assert outputs(resolved) == {
        names.OUTPUT_ISSUER: EXISTING[names.AUTH_ISSUER],
        names.OUTPUT_AUDIENCE: EXISTING[names.AUTH_AUDIENCE],
        names.OUTPUT_TOKEN_URL: EXISTING[names.AUTH_TOKEN_URL],
        names.OUTPUT_WRITE_SCOPE: "cars:write",
        names.OUTPUT_READ_SCOPE: "cars:read",
    }


def test_another_pools_scopes_are_named_with_its_resource_server(render):
    resolved = created(
        render, **EXISTING, WriteScopeName="orders/cars:write", ReadScopeName="orders/cars:read"
    )
    assert outputs(resolved)[names.OUTPUT_WRITE_SCOPE] == "orders/cars:write"
    assert outputs(resolved)[names.OUTPUT_READ_SCOPE] == "orders/cars:read"


# --- Rules: an existing issuer is given whole; the pool takes none of its settings -------------
def test_the_defaults_and_a_whole_existing_issuer_pass_the_rules(render):
    assert render.rule_failures(render.identity()) == []
    assert render.rule_failures(render.identity(), **EXISTING) == []


@pytest.mark.parametrize(
    "change",
    [
        {names.AUTH_AUDIENCE: ""},
        {names.AUTH_TOKEN_URL: ""},
        {names.DOMAIN_PREFIX: "cars-login"},
    ],
)
def test_a_half_given_existing_issuer_is_refused(render, change):
    (failure,) = render.rule_failures(render.identity(), **{**EXISTING, **change})
    assert failure.startswith("AuthIssuer needs AuthAudience and AuthTokenUrl")


@pytest.mark.parametrize(
    "change",
    [
        {names.AUTH_AUDIENCE: "https://cars.example.com"},
        {names.AUTH_TOKEN_URL: "https://example.eu.auth0.com/oauth/token"},
        {names.WRITE_SCOPE_NAME: "orders/cars:write"},
        {names.READ_SCOPE_NAME: "orders/cars:read"},
    ],
)
def test_issuer_settings_without_an_issuer_are_refused_not_ignored(render, change):
    (failure,) = render.rule_failures(render.identity(), **change)
    assert "go with AuthIssuer only" in failure


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (names.AUTH_ISSUER, "http://example.eu.auth0.com/"),
        (names.AUTH_TOKEN_URL, "http://example.eu.auth0.com/oauth/token"),
        (names.DOMAIN_PREFIX, "Cars_Login"),
    ],
)
def test_plain_http_and_bad_prefixes_do_not_match_their_patterns(render, name, value):
    pattern = render.identity()["Parameters"][name]["AllowedPattern"]
    assert re.fullmatch(pattern, value) is None


@pytest.mark.parametrize("mode", ["user-pool", "existing-issuer"])
def test_each_mode_passes_cfn_lint_once_decided(render, mode):
    variant = render.variant(render.identity(), **(EXISTING if mode == "existing-issuer" else {}))
    # W2001: a mode leaves the other mode's parameters unused, as expected.
    config = ManualArgs(regions=[render.region], ignore_checks=["W2001"])
    assert lint(json.dumps(variant), config=config) == []
