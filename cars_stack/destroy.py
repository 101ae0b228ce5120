"""``destroy``: delete the service stack after the user types its name, and say what stays.

The load balancer's deletion protection is lifted first, in a reviewed change set
(``cars_stack.deletion_protection``). The data stack stays unless ``--delete-data`` names it: see
``cars_stack.data``; its access-log bucket stays even then.
"""

from __future__ import annotations

from typing import Any

from cars_stack import data, deletion_protection, imports
from cars_stack.errors import Aborted, Refused
from cars_stack.events import delete_and_follow
from cars_stack.runtime import Context
from cars_stack.stack import Stack, describe, physical_ids
from cars_stack.template import Template
from template_builder.names import (
    ACCESS_LOG_BUCKET_NAME,
    DATA_STACK_SUFFIX,
    EDGE_GLOBAL_STACK_SUFFIX,
    EDGE_STACK_SUFFIX,
    IDENTITY_STACK_NAME,
    IMPORT_STACK_SUFFIX,
    LOAD_BALANCER,
    LOAD_BALANCER_DELETION_PROTECTION,
    OUTPUT_LOAD_BALANCER_ARN,
    REPOSITORY_NAME,
)

# States in which CloudFormation takes no change set, so cannot lift the protection itself.
_NO_UPDATES = {"ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED"}


def _what_stays(ctx: Context, stack_name: str, parameters: dict[str, str]) -> list[str]:
    """Read before deletion: afterwards the stack's template and resources are gone."""
    cfn = ctx.client("cloudformation")
    stays: list[str] = []
    repository = parameters.get(REPOSITORY_NAME)
    if repository:
        stays.append(f"ECR repository {repository} and its images (not part of this stack)")
    log_bucket = parameters.get(ACCESS_LOG_BUCKET_NAME)
    if log_bucket:
        stays.append(f"access-log bucket {log_bucket} and its logs (not part of this stack)")
    identity = parameters.get(IDENTITY_STACK_NAME)
    if identity:
        stays.append(f"identity stack {identity}, its issuer and its clients' credentials")
    template = Template.of_stack(cfn, stack_name)
    ids = physical_ids(cfn, stack_name)
    resources = template.document.get("Resources") or {}
    for logical_id in template.retained_resources():
        kind = resources[logical_id].get("Type", "")
        stays.append(f"{kind} {ids.get(logical_id, logical_id)} (DeletionPolicy Retain)")
    return stays


def _refuse_if_protection_cannot_be_lifted(ctx: Context, stack: Stack) -> None:
    """In these states no change set runs: the protection must come off by hand, and the delete
    would otherwise fail on the load balancer (DELETE_FAILED) after deleting the rest."""
    if stack.status not in _NO_UPDATES or not deletion_protection.is_on(
        stack, LOAD_BALANCER_DELETION_PROTECTION
    ):
        return
    arn = physical_ids(ctx.client("cloudformation"), stack.name).get(LOAD_BALANCER, "<its ARN>")
    raise Refused(
        f"stack {stack.name} is {stack.status}, so no change set can lift its load balancer's "
        "deletion protection: nothing was changed",
        hints=(
            "lift it by hand, then destroy again: aws elbv2 modify-load-balancer-attributes "
            f"--load-balancer-arn {arn} --attributes "
            f"Key=deletion_protection.enabled,Value=false --region {ctx.region}",
        ),
    )


def _lift_load_balancer_protection(ctx: Context, stack: Stack, timeout_minutes: float) -> None:
    deletion_protection.lift(
        ctx,
        stack,
        LOAD_BALANCER_DELETION_PROTECTION,
        headline=f"Lift deletion protection of the load balancer of {stack.name} to delete it",
        description="cars-stack destroy: load balancer deletion protection off before the delete",
        timeout_minutes=timeout_minutes,
    )


def _edge_stack(ctx: Context, service: Stack) -> Stack | None:
    """The edge stack in front of the service, which imports its load balancer's exports and so
    goes first. A service from before those exports has none: not looked up (no call)."""
    if OUTPUT_LOAD_BALANCER_ARN not in service.outputs:
        return None
    name = ctx.edge_stack_name or service.name + EDGE_STACK_SUFFIX
    edge = describe(ctx.client("cloudformation"), name)
    if edge is not None:
        edge.refuse_if_busy()
    return edge


def _delete_edge(ctx: Context, edge: Stack, *, timeout_minutes: float) -> dict[str, Any]:
    ctx.say(f"Deleting edge stack {edge.name} first (it imports the load balancer's exports)")
    delete_and_follow(
        ctx,
        edge,
        timeout_minutes=timeout_minutes,
        what=f"edge stack {edge.name}",
        then="; the service was not touched",
    )
    ctx.say(f"Edge stack {edge.name} deleted.")
    return {"stack_name": edge.name, "deleted": True}


def _destroy_service(ctx: Context, *, timeout_minutes: float) -> dict[str, Any]:
    cfn = ctx.client("cloudformation")
    stack = describe(cfn, ctx.stack_name)
    if stack is None:
        ctx.say(f"No stack named {ctx.stack_name} in {ctx.region}: nothing to destroy")
        return {"stack_name": ctx.stack_name, "deleted": False, "existed": False}
    stack.refuse_if_busy()
    _refuse_if_protection_cannot_be_lifted(ctx, stack)
    stays = [] if stack.is_new else _what_stays(ctx, stack.name, stack.parameters)
    edge = _edge_stack(ctx, stack)
    if edge is not None:
        ctx.say(f"Edge stack {edge.name} ({edge.status}) in front of it will be deleted first.")
        stays.append(
            f"edge-global stack {stack.name}{EDGE_GLOBAL_STACK_SUFFIX} in us-east-1, if any "
            "(its web ACL and certificate; delete it by hand)"
        )
    ctx.say(
        f"Stack {stack.name} ({stack.status}) in {ctx.region} will be deleted with its resources."
    )
    import_name = stack.name + IMPORT_STACK_SUFFIX
    ctx.confirm_by_typing(stack.name, f"delete stack {stack.name}")
    edge_result = _delete_edge(ctx, edge, timeout_minutes=timeout_minutes) if edge else None
    imports.delete_stack(ctx.for_stack(import_name), timeout_minutes=timeout_minutes)
    _lift_load_balancer_protection(ctx, stack, timeout_minutes)
    try:
        delete_and_follow(ctx, stack, timeout_minutes=timeout_minutes, what=f"stack {stack.name}")
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
    ctx.say(f"Stack {stack.name} deleted.")
    if stays:
        ctx.say("Kept by design:")
        for item in stays:
            ctx.say(f"  - {item}")
    result = {"stack_name": stack.name, "deleted": True, "existed": True, "kept": stays}
    if edge_result:
        result["edge"] = edge_result
    return result


def destroy(
    ctx: Context,
    *,
    timeout_minutes: float,
    data_stack_name: str | None = None,
    delete_data: str | None = None,
) -> int:
    """Delete the service; the data stack stays unless ``delete_data`` names it exactly."""
    data_name = data_stack_name or ctx.stack_name + DATA_STACK_SUFFIX
    data_ctx = ctx.for_stack(data_name)
    data_stack = describe(ctx.client("cloudformation"), data_name)
    if delete_data is not None:
        # Everything that can refuse does so before the service is touched.
        if delete_data != data_name:
            raise Refused(
                f"--delete-data {delete_data} does not name the data stack of {ctx.stack_name} "
                f"({data_name}): nothing was changed"
            )
        if data_stack is None or data_stack.is_new:
            raise Refused(f"no data stack named {data_name} in {ctx.region}: nothing was changed")
        data_stack.refuse_if_busy()
        data.refuse_if_imported(data_ctx, data_stack, besides=ctx.stack_name)
    document = _destroy_service(ctx, timeout_minutes=timeout_minutes)
    if data_stack is None:
        document["data"] = {"stack_name": data_name, "existed": False}
    elif delete_data is None:
        ctx.say(
            f"Data stack {data_name} kept, with its database, cache and access logs: to delete "
            f"it and its data, cars-stack destroy --delete-data {data_name}"
        )
        document["data"] = {"stack_name": data_name, "deleted": False, "existed": True}
    else:
        # Again now that the service is gone: a stack that imports since the first look.
        data.refuse_if_imported(
            data_ctx, data_stack, so_far=f"the data stack was not changed; {ctx.stack_name} is gone"
        )
        document["data"] = data.delete_data_stack(
            data_ctx, data_stack, timeout_minutes=timeout_minutes
        )
    ctx.emit(document)
    return 0
