"""Deletion protection set by a template parameter, for the data stack's Aurora cluster
(``DeletionProtection``) and the service's load balancer (``LoadBalancerDeletionProtection``).

CloudFormation cannot delete a protected cluster or load balancer, so a first create that fails
half-way with protection on would end ROLLBACK_FAILED, with a resource nobody can remove without a
hand. So the first create runs with the parameter "false"; once it succeeded, a second reviewed
change set, changing that parameter only, turns it on; before the stack is deleted, a reviewed
change set turns it off again.
"""

from __future__ import annotations

from typing import Any

from cars_stack import changeset, rollout
from cars_stack.errors import CarsStackError
from cars_stack.runtime import Context
from cars_stack.stack import Stack, describe
from cars_stack.template import Template


def on_create(template: Template, given: dict[str, str], parameter: str) -> tuple[dict, bool]:
    """The value the first create takes, and whether protection goes on after it (the value the
    user gave, else the template's default)."""
    if parameter not in template.parameters:
        return {}, False
    wanted = given.get(parameter, str(template.parameters[parameter].get("Default")))
    return {parameter: "false"}, wanted == "true"


def is_off(stack: Stack, parameter: str) -> bool:
    return stack.parameters.get(parameter) == "false"


def is_on(stack: Stack, parameter: str) -> bool:
    return stack.parameters.get(parameter) == "true"


def _change_set(
    ctx: Context, stack: Stack, parameter: str, *, on: bool, purpose: str, description: str
) -> changeset.ChangeSet:
    """A change set that sets ``parameter`` and keeps every other value and the template."""
    parameters: list[dict[str, Any]] = [
        {"ParameterKey": parameter, "ParameterValue": "true" if on else "false"}
    ] + [
        {"ParameterKey": key, "UsePreviousValue": True}
        for key in stack.parameters
        if key != parameter
    ]
    return changeset.create(
        ctx,
        name=changeset.new_name(purpose),
        change_type="UPDATE",
        parameters=parameters,
        description=description,
    )


def turn_on(
    ctx: Context,
    parameter: str,
    *,
    headline: str,
    description: str,
    later_hint: str,
    timeout_minutes: float,
) -> dict[str, Any]:
    """The second change set after a first create: only ``parameter`` changes."""
    stack = describe(ctx.client("cloudformation"), ctx.stack_name)
    assert stack is not None  # just created
    result: dict[str, Any] = {"stack_name": ctx.stack_name, "action": "deletion-protection"}
    change_set = _change_set(
        ctx, stack, parameter, on=True, purpose="deletion-protection", description=description
    )
    plan = rollout.Plan(change_set=change_set, headline=headline, timeout_minutes=timeout_minutes)
    try:
        rollout.run(ctx, plan, result=result)
    except CarsStackError as error:
        error.hints = (*error.hints, later_hint)
        raise
    return result


def lift(
    ctx: Context,
    stack: Stack,
    parameter: str,
    *,
    headline: str,
    description: str,
    timeout_minutes: float,
) -> dict[str, Any] | None:
    """Before a delete: a reviewed change set that turns ``parameter`` off, if it is on."""
    if not is_on(stack, parameter):
        return None
    change_set = _change_set(
        ctx,
        stack,
        parameter,
        on=False,
        purpose="lift-deletion-protection",
        description=description,
    )
    plan = rollout.Plan(change_set=change_set, headline=headline, timeout_minutes=timeout_minutes)
    result: dict[str, Any] = {"stack_name": stack.name, "action": "lift-protection"}
    rollout.run(ctx, plan, result=result)
    return result
