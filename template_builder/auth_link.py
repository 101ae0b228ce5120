"""Who may write: the service trusts the issuer its identity stack names, or nobody is asked.

With `IdentityStackName` (default api-cars-identity) the service imports the identity stack's
exports (names.EXPORT): issuer, audience, write and read scopes (not the token endpoint: the API
finds it in the issuer's discovery document). That stack holds either a Cognito user pool or an
existing issuer (Auth0, Okta, Entra ID, another pool: template_builder/identity/), so the service
has one shape whatever the issuer (chosen while its template was full; also one set of imports
and of outputs for status). `AuthDisabled=true` with `IdentityStackName` empty is the only way
to run with writes open: the Rules refuse every other combination, the task then gets
AUTH_DISABLED=true (the API refuses to start without an issuer otherwise), and the WriteAccess
output says OPEN.
"""

from dataclasses import dataclass

from troposphere import And, Equals, If, ImportValue, NoValue, Parameter, Ref, Sub, Template, ecs

from template_builder import names
from template_builder.parameters import boolean_parameter, is_set

# What the API reads (contract with api/: AUTH_* variables) from each identity-stack export.
IMPORTED_ENVIRONMENT = {
    "AUTH_ISSUER": names.OUTPUT_ISSUER,
    "AUTH_AUDIENCE": names.OUTPUT_AUDIENCE,
    "AUTH_WRITE_SCOPE": names.OUTPUT_WRITE_SCOPE,
}


def _when(condition: str, name: str, value) -> If:
    return If(condition, ecs.Environment(Name=name, Value=value), NoValue)


@dataclass(frozen=True)
class AuthLink:
    identity_stack_name: Parameter

    def imported(self, output: str) -> ImportValue:
        """The identity stack's export `output` (its name derived from IdentityStackName)."""
        stack = "${" + names.IDENTITY_STACK_NAME + "}"
        return ImportValue(Sub(names.EXPORT.format(stack=stack, output=output)))

    def environment(self) -> list:
        """AUTH_* from the identity stack, or AUTH_DISABLED=true alone."""
        return [
            *(
                _when(names.HAS_IDENTITY_STACK, variable, self.imported(output))
                for variable, output in IMPORTED_ENVIRONMENT.items()
            ),
            _when(
                names.AUTH_PROTECTS_READS, "AUTH_READ_SCOPE", self.imported(names.OUTPUT_READ_SCOPE)
            ),
            If(
                names.HAS_IDENTITY_STACK,
                NoValue,
                ecs.Environment(Name="AUTH_DISABLED", Value="true"),
            ),
        ]

    def write_access(self) -> If:
        """What the WriteAccess output says, plainly."""
        return If(
            names.HAS_IDENTITY_STACK,
            # The stack, not its imported Issuer: an output may not re-export an import (cfn-lint
            # W6001). cars-stack status adds the identity stack's Issuer.
            Sub("protected by the issuer of ${" + names.IDENTITY_STACK_NAME + "}"),
            names.WRITE_ACCESS_OPEN,
        )


def add_auth_link(template: Template) -> AuthLink:
    # A console group without labels, and terse texts: written while the service template was full.
    identity_stack_name = template.add_parameter(
        Parameter(
            names.IDENTITY_STACK_NAME,
            Type="String",
            Default=names.DEFAULT_IDENTITY_STACK_NAME,
            # No AllowedPattern: a wrong name fails the change set on its missing exports.
            Description="Issuer stack, empty with AuthDisabled=true",
        )
    )
    read_scope = template.add_parameter(
        boolean_parameter(names.AUTH_READ_SCOPE, False, "Reads need a scope")
    )
    disabled = template.add_parameter(
        boolean_parameter(names.AUTH_DISABLED, False, "true = ANYONE CAN WRITE")
    )
    for parameter in (identity_stack_name, read_scope, disabled):
        template.add_parameter_to_group(parameter, "Auth")
    template.add_condition(names.HAS_IDENTITY_STACK, is_set(identity_stack_name))
    template.add_condition(names.AUTH_PROTECTS_READS, Equals(Ref(read_scope), "true"))

    def rule(name: str, condition, assertion, description: str) -> None:
        template.add_rule(
            name,
            {
                "RuleCondition": condition,
                "Assertions": [{"Assert": assertion, "AssertDescription": description}],
            },
        )

    no_identity_stack = Equals(Ref(identity_stack_name), "")
    rule(
        names.AUTH_REQUIRED_RULE,
        no_identity_stack,
        Equals(Ref(disabled), "true"),
        "Set IdentityStackName or AuthDisabled=true",
    )
    rule(
        names.AUTH_DISABLED_RULE,
        Equals(Ref(disabled), "true"),
        And(no_identity_stack, Equals(Ref(read_scope), "false")),
        "AuthDisabled=true: no IdentityStackName, AuthReadScope=false",
    )
    return AuthLink(identity_stack_name=identity_stack_name)
