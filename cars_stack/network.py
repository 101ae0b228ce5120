"""The network stack (templates/network.yaml): deployed first, imported by the data stack and the
service (docs/architecture.md, "Stack layout").

It holds no data and needs no protections of its own: CloudFormation refuses to delete it, or to
change an export, while another stack imports it. Before a stack that imports from the network or
the registry stack is changed, the exports it needs are checked, so a missing one is one line that
names the stack to deploy, not a failed change set.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cars_stack import deploy as deploying
from cars_stack.errors import Refused
from cars_stack.runtime import Context
from cars_stack.template import Template, default_template_path
from template_builder.names import (
    NETWORK_STACK_NAME,
    NETWORK_TEMPLATE_FILE,
    REGISTRY_STACK_NAME,
    REGISTRY_TEMPLATE_FILE,
    SERVICE_STACK_NAME,
)

if TYPE_CHECKING:
    from cars_stack.deploy import DeployOptions

# How each imported stack is deployed when an export of it is missing.
_HOW_TO_DEPLOY = {
    NETWORK_STACK_NAME: "cars-stack deploy --only network",
    # The edge stack imports the service's load balancer (exports since CloudFrontOrigin).
    SERVICE_STACK_NAME: "cars-stack deploy --only service",
    REGISTRY_STACK_NAME: (
        f"aws cloudformation deploy --template-file {REGISTRY_TEMPLATE_FILE} "
        "--stack-name {stack} --capabilities CAPABILITY_IAM"
    ),
}


def default_network_template_path() -> Path:
    return default_template_path(NETWORK_TEMPLATE_FILE)


def deploy_network(ctx: Context, options: DeployOptions) -> dict[str, Any]:
    """Create or update the network stack (``ctx`` is aimed at it); its result document."""
    template = Template.from_file(options.network_template_path or default_network_template_path())
    template.check_body_size()
    given = deploying.parse_params(options.network_params, template, flag="--network-param")
    return deploying.deploy_template(ctx, template, given, options)


def _imported_names(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        value = node.get("Fn::ImportValue")
        if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
            found.add(value["Fn::Sub"])
        for item in node.values():
            _imported_names(item, found)
    elif isinstance(node, list):
        for item in node:
            _imported_names(item, found)
    return found


def refuse_missing_exports(ctx: Context, template: Template, values: dict[str, str]) -> None:
    """Refuse, before any change set, when the network or registry stack named by ``values``
    (the parameter values the change set will use) lacks an export the template imports.

    Those imports are unconditional; the data stack's are checked by its own wiring.
    """
    wanted: dict[str, set[str]] = {}
    for text in _imported_names(template.document.get("Resources", {}), set()):
        match = re.fullmatch(r"\$\{(\w+)\}-(\w+)", text)
        if match and match.group(1) in _HOW_TO_DEPLOY and values.get(match.group(1)):
            stack = values[match.group(1)]
            wanted.setdefault(match.group(1), set()).add(f"{stack}-{match.group(2)}")
    if not wanted:
        return
    exported = {
        export["Name"]
        for page in ctx.client("cloudformation").get_paginator("list_exports").paginate()
        for export in page.get("Exports") or []
    }
    for parameter, needed in sorted(wanted.items()):
        missing = sorted(needed - exported)
        if missing:
            stack = values[parameter]
            how = _HOW_TO_DEPLOY[parameter].format(stack=stack)
            raise Refused(
                f"stack {stack} ({parameter}) exports no {', '.join(missing)}: "
                f"deploy or update it first ({how}); nothing was changed"
            )
