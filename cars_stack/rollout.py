"""The path every change takes: review, confirm, execute, follow, verify.

Nothing created is left behind unmentioned: a change set that is not executed is deleted (or, when
deletion fails, named with the command that deletes it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cars_stack import changeset, protection, render, verify
from cars_stack.changeset import ChangeSet
from cars_stack.errors import Aborted, CarsStackError, DeploymentFailed
from cars_stack.events import Outcome, follow, newest_event_id
from cars_stack.runtime import Context
from cars_stack.stack import describe


@dataclass
class Plan:
    change_set: ChangeSet
    headline: str
    image_only: bool = False
    verify_version: str | None = None
    verify_timeout: float = 300
    summary_file: Path | None = None
    no_execute: bool = False
    timeout_minutes: float = 30
    # Delete an unexecuted change set on the way out (not one somebody else created).
    owned: bool = True
    # --allow-data-loss: execute a change set that replaces or deletes what holds data.
    allow_data_loss: bool = False


def _cleanup_hint(ctx: Context, change_set: ChangeSet) -> str:
    """Delete the unexecuted change set (and a CREATE one's empty stack); say what happened."""
    if not changeset.delete(ctx, change_set):
        return (
            f"change set {change_set.name} was left on stack {change_set.stack_name}: "
            "delete it with "
            f"aws cloudformation delete-change-set --stack-name {change_set.stack_name} "
            f"--change-set-name {change_set.name}"
        )
    if change_set.change_type == "CREATE":
        stack = describe(ctx.client("cloudformation"), change_set.stack_name)
        if stack is not None and stack.is_new:
            ctx.client("cloudformation").delete_stack(StackName=stack.stack_id)
    return f"change set {change_set.name} deleted; nothing was executed"


@contextlib.contextmanager
def unexecuted(ctx: Context, change_set: ChangeSet, *, owned: bool = True) -> Iterator[None]:
    """Until execution, any way out (refusal, Ctrl-C, error) removes or names the change set."""

    def way_out() -> str:
        if owned:
            return _cleanup_hint(ctx, change_set)
        return f"change set {change_set.name} left as it was"

    try:
        yield
    except KeyboardInterrupt:
        raise Aborted("interrupted before execution", hints=(way_out(),)) from None
    except CarsStackError as error:
        if not change_set.executed:
            error.hints = (*error.hints, way_out())
        raise
    except Exception:
        if not change_set.executed and owned:
            ctx.warn(_cleanup_hint(ctx, change_set))
        raise


def _follow_hints(ctx: Context, change_set: ChangeSet) -> tuple[str, ...]:
    name, region = change_set.stack_name, ctx.region
    stop = (
        f"cancel it:  aws cloudformation cancel-update-stack --stack-name {name} --region {region}"
        if change_set.change_type == "UPDATE"
        else f"stop it:    aws cloudformation delete-stack --stack-name {name} --region {region}"
    )
    return (
        "the stack operation goes on in CloudFormation;",
        f"follow it:  cars-stack status --stack-name {name} --region {region}",
        f"            aws cloudformation describe-stack-events --stack-name {name} "
        f"--region {region}",
        stop,
    )


def execute_and_follow(ctx: Context, change_set: ChangeSet, *, timeout_minutes: float) -> Outcome:
    cfn = ctx.client("cloudformation")
    stack = describe(cfn, change_set.stack_name)
    stack_id = stack.stack_id if stack else change_set.stack_name
    marker = newest_event_id(ctx, stack_id)
    changeset.execute(ctx, change_set)
    ctx.say(f"Executing {change_set.name} on {change_set.stack_name}; following its events:")
    try:
        outcome = follow(
            ctx,
            stack_id,
            after_event=marker,
            timeout_minutes=timeout_minutes,
            expected_resources=len(change_set.changes),
        )
    except KeyboardInterrupt:
        raise Aborted("stopped following", hints=_follow_hints(ctx, change_set)) from None
    if outcome.succeeded:
        ctx.say(f"Stack {change_set.stack_name}: {outcome.status}")
        return outcome
    cause = f"; first failure: {outcome.first_failure}" if outcome.first_failure else ""
    if outcome.timed_out and not outcome.cancelled:
        raise DeploymentFailed(
            f"stack {change_set.stack_name} still {outcome.status} after {timeout_minutes:g} min",
            hints=_follow_hints(ctx, change_set),
        )
    if outcome.timed_out:
        raise DeploymentFailed(
            f"stack {change_set.stack_name} timed out after {timeout_minutes:g} min: update "
            f"cancelled, stack {outcome.status}{cause}"
        )
    raise DeploymentFailed(f"stack {change_set.stack_name} ended {outcome.status}{cause}")


def _announce_left_for_review(ctx: Context, change_set: ChangeSet) -> None:
    # A GitHub Actions step gets the name as an output without parsing text.
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with open(github_output, "a", encoding="utf-8") as sink:
            sink.write(f"change_set_name={change_set.name}\n")
    ctx.say(f"Change set left for review: {change_set.name}")
    ctx.say(
        f"Execute it with: cars-stack execute {change_set.name} "
        f"--stack-name {change_set.stack_name}"
    )


def no_changes(ctx: Context, result: dict[str, Any]) -> int:
    ctx.say(f"No changes: stack {ctx.stack_name} already matches what was asked")
    result.update(changed=False, executed=False)
    ctx.emit(result)
    return 0


def run(ctx: Context, plan: Plan, *, result: dict[str, Any]) -> int:
    """Review, then either leave the change set for later or confirm, execute and follow it."""
    change_set = plan.change_set
    with unexecuted(ctx, change_set, owned=plan.owned):
        # ``execute`` has described its change set already; one just created is not ready yet.
        if change_set.status != "CREATE_COMPLETE":
            try:
                changeset.wait_until_created(ctx, change_set)
            except changeset.NoChanges:
                changeset.delete(ctx, change_set)
                return no_changes(ctx, result)
            changeset.load(ctx, change_set)
        ctx.say(render.change_set_table(change_set))
        if plan.image_only:
            changeset.refuse_unless_image_only(change_set)
        # Every change set passes the data guard: only the data stack has these logical IDs.
        losing = protection.refuse_data_loss(change_set, allowed=plan.allow_data_loss)
        for change in losing:
            ctx.warn(
                f"DATA LOSS allowed by {protection.ALLOW_DATA_LOSS_FLAG}: "
                f"{protection.data_loss_line(change)}"
            )
        if plan.summary_file is not None:
            markdown = render.change_set_markdown(change_set, headline=plan.headline)
            plan.summary_file.write_text(markdown, encoding="utf-8")
        result["change_set"] = change_set.as_dict()
        if plan.no_execute:
            _announce_left_for_review(ctx, change_set)
            result["change_set_name"] = change_set.name
            result["executed"] = False
            ctx.emit(result)
            return 0
        ctx.confirm(f"{plan.headline}: execute change set {change_set.name}?")
    lifted = (
        protection.policy_lifted(ctx.for_stack(change_set.stack_name))
        if losing
        else contextlib.nullcontext()
    )
    with lifted:
        outcome = execute_and_follow(ctx, change_set, timeout_minutes=plan.timeout_minutes)
    result.update(executed=True, stack_status=outcome.status)
    stack = describe(ctx.client("cloudformation"), change_set.stack_name)
    outputs = stack.outputs if stack else {}
    result["outputs"] = outputs
    if outputs:
        ctx.say(render.key_values(sorted(outputs.items())))
    if plan.verify_version is not None:
        verify.wait_for_version(
            ctx, outputs, plan.verify_version, timeout_seconds=plan.verify_timeout
        )
        result["verified"] = True
    ctx.emit(result)
    return 0
