"""What keeps the data stack's data: the change-set guard, the stack policy, termination protection.

Three layers, each refusing on its own: ``cars-stack`` refuses a change set that replaces or
removes a resource holding data (naming the property that forces it); the stack policy makes
CloudFormation refuse the same for any caller (a plain ``aws cloudformation`` update included);
termination protection makes a plain ``delete-stack`` fail. Deletion protection on the cluster
itself is a template parameter (``DeletionProtection``), lifted only by ``destroy --delete-data``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from cars_stack.changeset import Change, ChangeSet
from cars_stack.errors import Refused
from cars_stack.runtime import Context
from template_builder.data.stack_policy import PROTECTED, stack_policy

ALLOW_DATA_LOSS_FLAG = "--allow-data-loss"

# What the change-set guard refuses to replace or remove: exactly what the stack policy denies.
DATA_HOLDING = tuple(PROTECTED)

_ALLOW_UPDATES = {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}


# A stack policy cannot be removed once set, only replaced: "lifted" is this one.
LIFTED_POLICY: dict[str, Any] = {"Statement": [_ALLOW_UPDATES]}


def _json(policy: dict[str, Any]) -> str:
    return json.dumps(policy, sort_keys=True)


# --- the change-set guard ----------------------------------------------------------------------
def loses_data(change: Change) -> bool:
    if change.logical_id not in DATA_HOLDING:
        return False
    # "Conditional" may replace, depending on a value only known during the update: refused too.
    return change.action == "Remove" or change.replacement in ("True", "Conditional")


def data_loss_line(change: Change) -> str:
    if change.action == "Remove":
        return f"{change.logical_id} [{change.resource_type}] would be deleted"
    forcing = ", ".join(change.recreating) or "a property CloudFormation did not name"
    how = "would be replaced" if change.replacement == "True" else "may be replaced"
    return f"{change.logical_id} [{change.resource_type}] {how} (forced by {forcing})"


def refuse_data_loss(change_set: ChangeSet, *, allowed: bool) -> list[Change]:
    """The changes that lose data; refused unless the user passed the loud option."""
    losing = [c for c in change_set.changes if loses_data(c)]
    if losing and not allowed:
        raise Refused(
            f"change set {change_set.name} would lose data, refused: "
            + "; ".join(data_loss_line(c) for c in losing),
            hints=(
                f"the old one's data goes with it (a snapshot is kept); to do it anyway pass "
                f"{ALLOW_DATA_LOSS_FLAG}",
            ),
        )
    return losing


# --- the stack policy and termination protection -----------------------------------------------
def current_policy(ctx: Context) -> dict[str, Any] | None:
    body = (
        ctx.client("cloudformation")
        .get_stack_policy(StackName=ctx.stack_name)
        .get("StackPolicyBody")
    )
    return json.loads(body) if body else None


def set_policy(ctx: Context, policy: dict[str, Any]) -> None:
    ctx.client("cloudformation").set_stack_policy(
        StackName=ctx.stack_name, StackPolicyBody=_json(policy)
    )


def ensure(ctx: Context, *, termination_protected: bool) -> None:
    """Termination protection on and the stack policy in place (again, if someone lifted them)."""
    cfn = ctx.client("cloudformation")
    if not termination_protected:
        cfn.update_termination_protection(
            StackName=ctx.stack_name, EnableTerminationProtection=True
        )
        ctx.say(f"Termination protection on for {ctx.stack_name}")
    policy = stack_policy()
    current = current_policy(ctx)
    if current is None or _json(current) != _json(policy):
        set_policy(ctx, policy)
        protected = ", ".join(DATA_HOLDING)
        ctx.say(
            f"Stack policy set on {ctx.stack_name}: no update may replace or delete {protected}"
        )


def lift_termination_protection(ctx: Context) -> None:
    ctx.client("cloudformation").update_termination_protection(
        StackName=ctx.stack_name, EnableTerminationProtection=False
    )


@contextlib.contextmanager
def policy_lifted(ctx: Context) -> Iterator[None]:
    """For one execute that the user allowed to lose data; the policy is back however it ends.

    CloudFormation reads the policy while it updates each resource, so restoring it while an
    interrupted update still runs makes the rest of that update fail closed (and roll back).
    """
    ctx.warn(f"Lifting the stack policy of {ctx.stack_name} for this one change set")
    set_policy(ctx, LIFTED_POLICY)
    try:
        yield
    finally:
        set_policy(ctx, stack_policy())
        ctx.warn(f"Stack policy of {ctx.stack_name} restored")
