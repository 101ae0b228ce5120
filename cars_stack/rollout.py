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

from botocore.exceptions import BotoCoreError, ClientError

from cars_stack import changeset, protection, render, replacement, verify
from cars_stack.changeset import ChangeSet
from cars_stack.diagnose import RolloutDiagnosis
from cars_stack.errors import Aborted, CarsStackError, DeploymentFailed
from cars_stack.events import Outcome, follow, newest_event_id
from cars_stack.runtime import Context
from cars_stack.stack import Stack, describe


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
    # --allow-replacement: execute a change set that replaces the load balancer, a listener or
    # the target group (never the fixed-name service: that can only fail).
    allow_replacement: bool = False


def _removal_commands(ctx: Context, change_set: ChangeSet, *, with_stack: bool) -> str:
    where = f"--stack-name {change_set.stack_name} --region {ctx.region}"
    commands = f"aws cloudformation delete-change-set {where} --change-set-name {change_set.name}"
    if with_stack:
        commands += f"; then the empty stack: aws cloudformation delete-stack {where}"
    return commands


def _empty_stack(ctx: Context, change_set: ChangeSet) -> Stack | None:
    """The REVIEW_IN_PROGRESS stack a CREATE change set brought along, if it is still there."""
    if change_set.change_type != "CREATE":
        return None
    stack = describe(ctx.client("cloudformation"), change_set.stack_name)
    return stack if stack is not None and stack.is_new else None


def _cleanup_hint(ctx: Context, change_set: ChangeSet) -> str:
    """Delete the unexecuted change set (and a CREATE one's empty stack); say what happened."""
    if not changeset.delete(ctx, change_set):
        return (
            f"change set {change_set.name} was left on stack {change_set.stack_name}: delete it "
            "with "
            + _removal_commands(ctx, change_set, with_stack=change_set.change_type == "CREATE")
        )
    empty = _empty_stack(ctx, change_set)
    if empty is None:
        return f"change set {change_set.name} deleted; nothing was executed"
    try:
        ctx.client("cloudformation").delete_stack(StackName=empty.stack_id)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "?")
        return (
            f"change set {change_set.name} deleted, but not the empty stack {empty.name} "
            f"(REVIEW_IN_PROGRESS; DeleteStack answered {code}): delete it with "
            f"aws cloudformation delete-stack --stack-name {empty.name} --region {ctx.region}"
        )
    return (
        f"change set {change_set.name} and the empty stack {empty.name} (REVIEW_IN_PROGRESS) "
        "deleted; nothing was executed"
    )


def _left_as_it_was(ctx: Context, change_set: ChangeSet) -> str:
    """Somebody else's change set: not deleted, but what is left and how to remove it is said."""
    with_stack = _empty_stack(ctx, change_set) is not None
    kept = (
        f" and the empty stack {change_set.stack_name} (REVIEW_IN_PROGRESS)" if with_stack else ""
    )
    return (
        f"change set {change_set.name} left as it was (AVAILABLE){kept}; to remove it: "
        + _removal_commands(ctx, change_set, with_stack=with_stack)
    )


@contextlib.contextmanager
def unexecuted(ctx: Context, change_set: ChangeSet, *, owned: bool = True) -> Iterator[None]:
    """Until execution has started, any way out (refusal, Ctrl-C, an AWS error, ExecuteChangeSet
    itself failing) removes the change set this run created, or names what is left."""

    def way_out() -> str:
        try:
            return _cleanup_hint(ctx, change_set) if owned else _left_as_it_was(ctx, change_set)
        except (ClientError, BotoCoreError):
            # The way out must not hide the failure that led to it.
            return (
                f"could not check what is left of change set {change_set.name}; remove it with "
                + _removal_commands(ctx, change_set, with_stack=change_set.change_type == "CREATE")
            )

    try:
        yield
    except KeyboardInterrupt:
        raise Aborted("interrupted before execution", hints=(way_out(),)) from None
    except CarsStackError as error:
        if not change_set.executed:
            error.hints = (*error.hints, way_out())
        raise
    except (ClientError, BotoCoreError) as error:
        # main() prints the AWS error as its one line; what was cleaned up follows as a hint.
        if not change_set.executed:
            error.cars_stack_hints = (way_out(),)  # type: ignore[union-attr]
        raise
    except Exception:
        if not change_set.executed:
            ctx.warn(way_out())
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


def start_execution(ctx: Context, change_set: ChangeSet) -> tuple[str, str | None]:
    """Execute the change set; the stack ID and the event marker to follow it from."""
    cfn = ctx.client("cloudformation")
    stack = describe(cfn, change_set.stack_name)
    stack_id = stack.stack_id if stack else change_set.stack_name
    marker = newest_event_id(ctx, stack_id)
    changeset.execute(ctx, change_set)
    return stack_id, marker


def follow_execution(
    ctx: Context,
    change_set: ChangeSet,
    stack_id: str,
    marker: str | None,
    *,
    timeout_minutes: float,
) -> Outcome:
    ctx.say(f"Executing {change_set.name} on {change_set.stack_name}; following its events:")
    try:
        outcome = follow(
            ctx,
            stack_id,
            after_event=marker,
            timeout_minutes=timeout_minutes,
            expected_resources=len(change_set.changes),
            on_event=RolloutDiagnosis(ctx, change_set.stack_name),
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
    # Lifted (--allow-data-loss) from just before the execute until the update has ended, or a
    # failure on the way.
    with contextlib.ExitStack() as policy_lift:
        return _review_and_execute(ctx, plan, result, policy_lift)


def _review_and_execute(
    ctx: Context, plan: Plan, result: dict[str, Any], policy_lift: contextlib.ExitStack
) -> int:
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
        # ... and the replacement guard: only the service stack has these resource types.
        if replacement.refuse_replacement(ctx, change_set, allowed=plan.allow_replacement):
            ctx.warn(f"Replacements allowed by {replacement.ALLOW_REPLACEMENT_FLAG}")
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
        if losing:
            policy_lift.enter_context(
                protection.policy_lifted(ctx.for_stack(change_set.stack_name))
            )
        stack_id, marker = start_execution(ctx, change_set)
    try:
        outcome = follow_execution(
            ctx, change_set, stack_id, marker, timeout_minutes=plan.timeout_minutes
        )
    finally:
        policy_lift.close()
    result.update(executed=True, stack_status=outcome.status)
    stack = describe(ctx.client("cloudformation"), change_set.stack_name)
    outputs = stack.outputs if stack else {}
    result["outputs"] = outputs
    if outputs:
        ctx.say(render.key_values(sorted(outputs.items())))
    if plan.verify_version is not None:
        urls = verify.service_outputs(ctx, stack) if stack else outputs
        verify.wait_for_version(ctx, urls, plan.verify_version, timeout_seconds=plan.verify_timeout)
        result["verified"] = True
    ctx.emit(result)
    return 0
