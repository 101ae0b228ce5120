"""The identity stack: the issuer the service trusts (a Cognito user pool for machine clients, or
an existing issuer), deployed before the service and outliving it (docs/architecture.md).

Nothing to protect here beyond the template's own guards: the pool refuses deletion and the pool,
its scopes and its client are kept (Retain) if the stack goes or a change would replace them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cars_stack import deploy as deploying
from cars_stack.errors import Refused
from cars_stack.runtime import Context
from cars_stack.stack import describe
from cars_stack.template import Template, default_template_path
from template_builder.names import (
    AUTH_DISABLED,
    IDENTITY_STACK_NAME,
    IDENTITY_STACK_SUFFIX,
    IDENTITY_TEMPLATE_FILE,
    OUTPUT_AUDIENCE,
    OUTPUT_ISSUER,
    OUTPUT_TOKEN_URL,
    OUTPUT_WRITE_ACCESS,
    WRITE_ACCESS_OPEN,
)

if TYPE_CHECKING:
    from cars_stack.deploy import DeployOptions

# An identity stack the service can import from: created, and not in the middle of a change.
USABLE_STATUSES = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
}


def default_identity_template_path() -> Path:
    return default_template_path(IDENTITY_TEMPLATE_FILE)


def stack_name(ctx: Context, options: DeployOptions, given: dict[str, str] | None) -> str:
    """--identity-stack-name, else the service's IdentityStackName given, else <stack>-identity."""
    return (
        options.identity_stack_name
        or (given or {}).get(IDENTITY_STACK_NAME)
        or ctx.stack_name + IDENTITY_STACK_SUFFIX
    )


def deploy_identity(ctx: Context, options: DeployOptions) -> dict[str, Any]:
    """Create or update the identity stack (``ctx`` is aimed at it); its result document."""
    template = Template.from_file(
        options.identity_template_path or default_identity_template_path()
    )
    template.check_body_size()
    given = deploying.parse_params(options.identity_params, template, flag="--identity-param")
    return deploying.deploy_template(ctx, template, given, options)


def auth_disabled(ctx: Context, template: Template, given: dict[str, str]) -> bool:
    """Whether the service is deployed with AuthDisabled=true: given now, else kept from the
    deployed stack (deploy passes parameters not given as UsePreviousValue), else the default."""
    if AUTH_DISABLED not in template.parameters:
        return False
    if AUTH_DISABLED in given:
        return given[AUTH_DISABLED] == "true"
    stack = describe(ctx.client("cloudformation"), ctx.stack_name)
    if stack is not None and not stack.is_new and AUTH_DISABLED in stack.parameters:
        return stack.parameters[AUTH_DISABLED] == "true"
    return str(template.parameters[AUTH_DISABLED].get("Default")) == "true"


def wire(ctx: Context, template: Template, given: dict[str, str], name: str, *, off: bool) -> None:
    """IdentityStackName for the service: empty with AuthDisabled=true (its Rules want that, and
    say so if the user gave one anyway), else the identity stack, which must be there."""
    if IDENTITY_STACK_NAME not in template.parameters:
        return  # a service template from before authentication
    if off:
        given.setdefault(IDENTITY_STACK_NAME, "")
        ctx.say(f"Writes will be {WRITE_ACCESS_OPEN}")
        return
    name = given.setdefault(IDENTITY_STACK_NAME, name)
    if not name:
        return  # the template's Rules refuse this without AuthDisabled=true, naming both
    stack = describe(ctx.client("cloudformation"), name)
    if stack is None or stack.status not in USABLE_STATUSES:
        state = stack.status if stack else "missing"
        raise Refused(
            f"identity stack {name} is {state}: deploy it first (cars-stack deploy --only "
            f"identity), or pass --param {AUTH_DISABLED}=true for a service anyone can write to"
        )


def write_access(ctx: Context, service_outputs: dict[str, str], identity_name: str | None):
    """Whether writes are protected, and by whom: the service's WriteAccess output, with the
    identity stack's issuer, audience and token endpoint when it names one."""
    said = service_outputs.get(OUTPUT_WRITE_ACCESS)
    document: dict[str, Any] = {"protected": None, "says": said}
    if said is None:
        document["says"] = (
            f"unknown: the stack has no {OUTPUT_WRITE_ACCESS} output (older template)"
        )
        return document
    document["protected"] = said != WRITE_ACCESS_OPEN
    if document["protected"] and identity_name:
        identity = describe(ctx.client("cloudformation"), identity_name)
        outputs = identity.outputs if identity else {}
        document |= {
            "identity_stack": identity_name,
            "issuer": outputs.get(OUTPUT_ISSUER),
            "audience": outputs.get(OUTPUT_AUDIENCE),
            "token_url": outputs.get(OUTPUT_TOKEN_URL),
        }
    return document


def write_access_rows(access: dict[str, Any]) -> list[tuple[str, Any]]:
    if not access.get("protected"):
        return [("Writes", access["says"])]
    if access.get("issuer"):
        return [
            (
                "Writes",
                f"protected by {access['issuer']} (identity stack {access['identity_stack']})",
            ),
            ("Token URL", access.get("token_url")),
        ]
    return [("Writes", access["says"])]
