"""Follow a stack operation through its events until CloudFormation reaches a final status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cars_stack import render
from cars_stack.errors import DeploymentFailed
from cars_stack.runtime import Context
from cars_stack.stack import SUCCESS_STATUSES, Stack, describe, is_terminal

# Follow-on failures that only say another resource failed first; the first real cause is wanted.
_KNOCK_ON = ("Resource creation cancelled", "Resource update cancelled", "cancelled")


@dataclass
class Outcome:
    status: str
    first_failure: str | None = None
    timed_out: bool = False
    cancelled: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS_STATUSES and not self.timed_out


def newest_event_id(ctx: Context, stack_id: str) -> str | None:
    """The marker before an operation starts: only events after it belong to the operation."""
    events = ctx.client("cloudformation").describe_stack_events(StackName=stack_id)["StackEvents"]
    return events[0]["EventId"] if events else None


def _new_events(ctx: Context, stack_id: str, after: str | None, seen: set[str]) -> list[dict]:
    """Events newer than ``after`` not yet printed, oldest first (the API answers newest first)."""
    cfn = ctx.client("cloudformation")
    fresh: list[dict[str, Any]] = []
    request = {"StackName": stack_id}
    while True:
        page = cfn.describe_stack_events(**request)
        reached_marker = False
        for event in page["StackEvents"]:
            if event["EventId"] == after:
                reached_marker = True
                break
            if event["EventId"] not in seen:
                fresh.append(event)
        token = page.get("NextToken")
        if reached_marker or not token:
            break
        request["NextToken"] = token
    fresh.reverse()
    return fresh


def _failure_reason(event: dict[str, Any]) -> str | None:
    status = event.get("ResourceStatus", "")
    reason = event.get("ResourceStatusReason") or ""
    if not status.endswith("_FAILED") or not reason:
        return None
    if any(reason.strip().startswith(marker) for marker in _KNOCK_ON):
        return None
    return f"{event.get('LogicalResourceId')} {status}: {reason}"


def follow(
    ctx: Context,
    stack_id: str,
    *,
    after_event: str | None,
    timeout_minutes: float,
    expected_resources: int = 0,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> Outcome:
    """Print events as they come; past the timeout, cancel an update and follow its rollback.

    ``on_event`` sees each event as it is printed, while the operation still runs.
    """
    cfn = ctx.client("cloudformation")
    deadline = ctx.now() + timeout_minutes * 60
    outcome = Outcome(status="")
    seen: set[str] = set()
    done: set[str] = set()
    while True:
        # Status first, then events: a final status is never returned before its last events.
        stack = describe(cfn, stack_id)
        outcome.status = stack.status if stack else "DELETE_COMPLETE"
        for event in _new_events(ctx, stack_id, after_event, seen):
            seen.add(event["EventId"])
            outcome.events.append(event)
            if event.get("ResourceType") != "AWS::CloudFormation::Stack" and event.get(
                "ResourceStatus", ""
            ).endswith("_COMPLETE"):
                done.add(event["LogicalResourceId"])
            ctx.say(render.event_line(event, len(done), expected_resources))
            if on_event is not None:
                on_event(event)
            if outcome.first_failure is None:
                outcome.first_failure = _failure_reason(event)
        if is_terminal(outcome.status):
            if stack and outcome.first_failure is None and not outcome.succeeded:
                outcome.first_failure = stack.status_reason
            return outcome
        if ctx.now() > deadline and not outcome.timed_out:
            if outcome.status == "UPDATE_IN_PROGRESS":
                outcome.timed_out = outcome.cancelled = True
                ctx.say(f"Timed out after {timeout_minutes:g} min: cancelling the update")
                cfn.cancel_update_stack(StackName=stack_id)
            elif not _past_the_point_of_cancelling(outcome.status):
                # A create or a delete cannot be cancelled: stop watching and say so.
                outcome.timed_out = True
                return outcome
        ctx.pause()


def _past_the_point_of_cancelling(status: str) -> bool:
    """A rollback or a clean-up is already on its way to a final status: keep following it."""
    return "ROLLBACK" in status or "CLEANUP" in status


def delete_and_follow(
    ctx: Context, stack: Stack, *, timeout_minutes: float, what: str, then: str = ""
) -> Outcome:
    """DeleteStack (through the CloudFormation role when one is given) followed to its end; a
    deletion that ends anywhere but DELETE_COMPLETE raises, naming `what` and its first failure
    (`then`: what that leaves, e.g. "; the service was not touched")."""
    marker = newest_event_id(ctx, stack.stack_id)
    request = {"StackName": stack.stack_id}
    if ctx.cfn_role_arn:
        request["RoleARN"] = ctx.cfn_role_arn
    ctx.client("cloudformation").delete_stack(**request)
    outcome = follow(ctx, stack.stack_id, after_event=marker, timeout_minutes=timeout_minutes)
    if outcome.status != "DELETE_COMPLETE":
        cause = f": {outcome.first_failure}" if outcome.first_failure else ""
        raise DeploymentFailed(f"{what} ended {outcome.status}{cause}{then}")
    return outcome
