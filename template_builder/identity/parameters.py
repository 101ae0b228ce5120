"""Parameters of the identity stack, the conditions they drive and their rules.

Two modes, one of them by default: a Cognito user pool (AuthIssuer empty), or an existing issuer
(Auth0, Okta, Entra ID, another pool) named by AuthIssuer with its audience and token endpoint.
The Rules refuse a half-given issuer, and issuer settings beside the pool they would not reach.
"""

from dataclasses import dataclass

from troposphere import And, Condition, Equals, Not, Parameter, Ref, Template

from template_builder import names
from template_builder.parameters import add_grouped, is_set

# Cognito's rule for a prefix domain: lower-case letters, digits and hyphens, no leading or
# trailing hyphen, at most 63 characters (and not containing aws, amazon or cognito).
DOMAIN_PREFIX_PATTERN = r"^$|^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
HTTPS_URL_PATTERN = r"^$|^https://\S+$"
SCOPE_PATTERN = r"^\S+$"


@dataclass(frozen=True)
class IdentityParameters:
    domain_prefix: Parameter
    access_token_minutes: Parameter
    issuer: Parameter
    audience: Parameter
    token_url: Parameter
    write_scope_name: Parameter
    read_scope_name: Parameter


def _text(name: str, description: str, pattern: str, default: str = "") -> Parameter:
    return Parameter(
        name, Type="String", Default=default, Description=description, AllowedPattern=pattern
    )


def add_identity_parameters(template: Template) -> IdentityParameters:
    pool = "Amazon Cognito user pool for machine clients (the default)"
    domain_prefix = add_grouped(
        template,
        pool,
        "Domain prefix (optional)",
        Parameter(
            names.DOMAIN_PREFIX,
            Type="String",
            Default="",
            Description="Prefix of the Cognito domain serving the token endpoint; unique in the "
            "Region. Empty: <stack name>-<account id> (the stack name must then be lower case).",
            AllowedPattern=DOMAIN_PREFIX_PATTERN,
            ConstraintDescription="must be empty or lower-case letters, digits and hyphens",
        ),
    )
    access_token_minutes = add_grouped(
        template,
        pool,
        "Access token validity (minutes)",
        Parameter(
            names.ACCESS_TOKEN_MINUTES,
            Type="Number",
            Default=60,
            MinValue=5,
            MaxValue=1440,
            Description="How long an access token from the token endpoint is valid.",
        ),
    )
    existing = "Or an existing issuer instead (no user pool is created)"
    issuer = add_grouped(
        template,
        existing,
        "Issuer URL",
        _text(
            names.AUTH_ISSUER,
            "OIDC issuer (https) the service trusts instead of a new pool: Auth0, Okta, Entra ID, "
            "another pool. Empty: create the pool.",
            HTTPS_URL_PATTERN,
        ),
    )
    audience = add_grouped(
        template,
        existing,
        "Audience",
        _text(
            names.AUTH_AUDIENCE,
            "With AuthIssuer: the aud its tokens carry for this API (a Cognito pool: the app "
            "client id, checked against client_id).",
            r"^\S*$",
        ),
    )
    token_url = add_grouped(
        template,
        existing,
        "Token endpoint",
        _text(
            names.AUTH_TOKEN_URL,
            "With AuthIssuer: its token endpoint (machines get tokens there; the docs page too).",
            HTTPS_URL_PATTERN,
        ),
    )
    write_scope_name = add_grouped(
        template,
        existing,
        "Write scope",
        _text(
            names.WRITE_SCOPE_NAME,
            "With AuthIssuer: the scope writes need, as its tokens carry it (another Cognito "
            "pool: <resource server id>/cars:write).",
            SCOPE_PATTERN,
            names.WRITE_SCOPE,
        ),
    )
    read_scope_name = add_grouped(
        template,
        existing,
        "Read scope",
        _text(
            names.READ_SCOPE_NAME,
            "With AuthIssuer: the scope reads need when the service sets AuthReadScope=true.",
            SCOPE_PATTERN,
            names.READ_SCOPE,
        ),
    )
    template.add_condition(names.HAS_DOMAIN_PREFIX, is_set(domain_prefix))
    template.add_condition(names.CREATES_USER_POOL, Equals(Ref(issuer), ""))
    template.add_condition(names.USES_EXISTING_ISSUER, Not(Condition(names.CREATES_USER_POOL)))
    _add_mode_rules(template, domain_prefix, issuer, audience, token_url, write_scope_name,
                    read_scope_name)  # fmt: skip
    return IdentityParameters(
        domain_prefix=domain_prefix,
        access_token_minutes=access_token_minutes,
        issuer=issuer,
        audience=audience,
        token_url=token_url,
        write_scope_name=write_scope_name,
        read_scope_name=read_scope_name,
    )


def _add_mode_rules(template, domain_prefix, issuer, audience, token_url, write, read) -> None:
    def rule(name: str, condition, assertion, description: str) -> None:
        template.add_rule(
            name,
            {
                "RuleCondition": condition,
                "Assertions": [{"Assert": assertion, "AssertDescription": description}],
            },
        )

    rule(
        names.EXISTING_ISSUER_RULE,
        is_set(issuer),
        And(is_set(audience), is_set(token_url), Equals(Ref(domain_prefix), "")),
        "AuthIssuer needs AuthAudience and AuthTokenUrl, and takes no DomainPrefix "
        "(no pool is created)",
    )
    rule(
        names.USER_POOL_RULE,
        Equals(Ref(issuer), ""),
        And(
            Equals(Ref(audience), ""),
            Equals(Ref(token_url), ""),
            Equals(Ref(write), names.WRITE_SCOPE),
            Equals(Ref(read), names.READ_SCOPE),
        ),
        "AuthAudience, AuthTokenUrl, WriteScopeName and ReadScopeName go with AuthIssuer only "
        "(the pool has its own)",
    )
