"""``destroy``: delete the stack after the user types its name, and say what stays."""

from __future__ import annotations

from cars_stack.errors import Aborted, DeploymentFailed
from cars_stack.events import follow, newest_event_id
from cars_stack.runtime import Context
from cars_stack.stack import describe, physical_ids
from cars_stack.template import Template
from template_builder.names import REPOSITORY_NAME


def _what_stays(ctx: Context, stack_name: str, parameters: dict[str, str]) -> list[str]:
    """Read before deletion: afterwards the stack's template and resources are gone."""
    cfn = ctx.client("cloudformation")
    stays: list[str] = []
    repository = parameters.get(REPOSITORY_NAME)
    if repository:
        stays.append(f"ECR repository {repository} and its images (not part of this stack)")
    template = Template.of_stack(cfn, stack_name)
    ids = physical_ids(cfn, stack_name)
    resources = template.document.get("Resources") or {}
    for logical_id in template.retained_resources():
        kind = resources[logical_id].get("Type", "")
        stays.append(f"{kind} {ids.get(logical_id, logical_id)} (DeletionPolicy Retain)")
    return stays


def destroy(ctx: Context, *, timeout_minutes: float) -> int:
    cfn = ctx.client("cloudformation")
    stack = describe(cfn, ctx.stack_name)
    if stack is None:
        ctx.say(f"No stack named {ctx.stack_name} in {ctx.region}: nothing to destroy")
        ctx.emit({"stack_name": ctx.stack_name, "deleted": False, "existed": False})
        return 0
    stack.refuse_if_busy()
    stays = [] if stack.is_new else _what_stays(ctx, stack.name, stack.parameters)
    ctx.say(
        f"Stack {stack.name} ({stack.status}) in {ctx.region} will be deleted with its resources."
    )
    ctx.confirm_by_typing(stack.name, f"delete stack {stack.name}")
    marker = newest_event_id(ctx, stack.stack_id)
    request = {"StackName": stack.stack_id}
    if ctx.cfn_role_arn:
        request["RoleARN"] = ctx.cfn_role_arn
    cfn.delete_stack(**request)
    try:
        outcome = follow(ctx, stack.stack_id, after_event=marker, timeout_minutes=timeout_minutes)
    except KeyboardInterrupt:
        raise Aborted(
            "stopped following",
            hints=(
                "the delete goes on in CloudFormation;",
                "follow it:  aws cloudformation describe-stack-events "
                f"--stack-name {stack.stack_id} "
                f"--region {ctx.region}",
            ),
        ) from None
    if outcome.status != "DELETE_COMPLETE":
        cause = f": {outcome.first_failure}" if outcome.first_failure else ""
        raise DeploymentFailed(f"stack {stack.name} ended {outcome.status}{cause}")
    ctx.say(f"Stack {stack.name} deleted.")
    if stays:
        ctx.say("Kept by design:")
        for item in stays:
            ctx.say(f"  - {item}")
    ctx.emit({"stack_name": stack.name, "deleted": True, "existed": True, "kept": stays})
    return 0
