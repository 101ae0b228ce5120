"""The replacement guard: a change set that would replace what serves the API is shown and refused.

A deploy should change what runs, not swap the ECS service, the load balancer, a listener or the
target group for new ones: a new load balancer has a new DNS name (DNS records and the CDN's
origin still point at the old one), a new target group starts with no healthy task, and the
service has a fixed name (``api``), which CloudFormation cannot replace at all: it creates the new
resource before deleting the old, and a custom-named resource cannot exist twice, so the update
fails and rolls back. Which change set does this is CloudFormation's to say (``Replacement`` True
or Conditional, each forcing property's ``RequiresRecreation``), so the guard reads the change
set, whatever option or edit caused it (Fargate Spot, the CloudFront VPC-origin scheme, ...).
"""

from __future__ import annotations

from cars_stack.changeset import Change, ChangeSet
from cars_stack.errors import Refused
from cars_stack.runtime import Context
from template_builder.names import SERVICE_NAME

ALLOW_REPLACEMENT_FLAG = "--allow-replacement"
ECS_SERVICE = "AWS::ECS::Service"
# What the guard refuses to replace: what answers the API's traffic. Resource types, not logical
# IDs, so listeners or target groups added later are guarded too.
GUARDED_TYPES = (
    ECS_SERVICE,
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
)


def replaces(change: Change) -> bool:
    """A guarded resource replaced, or ("Conditional") replaced depending on a value CloudFormation
    only knows during the update: refused alike."""
    return (
        change.resource_type in GUARDED_TYPES
        and change.action == "Modify"
        and change.replacement in ("True", "Conditional")
    )


def has_fixed_name(change: Change) -> bool:
    """The service named ``api`` by the template (its ARN ends in /api, or none is known yet)."""
    if change.resource_type != ECS_SERVICE:
        return False
    return not change.physical_id or change.physical_id.rsplit("/", 1)[-1] == SERVICE_NAME


def replacement_line(change: Change) -> str:
    forcing = ", ".join(change.recreating) or "a property CloudFormation did not name"
    how = "would be replaced" if change.replacement == "True" else "may be replaced"
    return f"{change.logical_id} [{change.resource_type}] {how} (forced by {forcing})"


def _fixed_name_refusal(change_set: ChangeSet, service: Change) -> Refused:
    return Refused(
        f"change set {change_set.name} would replace the ECS service {SERVICE_NAME}, refused: "
        f"CloudFormation cannot replace a service with a fixed name (it creates the new one "
        f"before deleting the old, and the name {SERVICE_NAME} is taken), so the update would "
        f"fail and roll back, {ALLOW_REPLACEMENT_FLAG} or not; make this change by deleting and "
        "recreating the service stack in a maintenance window (cars-stack destroy, then "
        "cars-stack deploy; the data and identity stacks stay), or by deploying it as a new "
        "stack (--stack-name) and moving traffic to it",
        hints=(f"what forces it: {replacement_line(service)}",),
    )


def refuse_replacement(ctx: Context, change_set: ChangeSet, *, allowed: bool) -> list[Change]:
    """Print each replacement with what forces it; refuse unless ``allowed``, and refuse the fixed-
    name service's replacement always (it can only fail). The replacements allowed are returned."""
    replaced = [c for c in change_set.changes if replaces(c)]
    for change in replaced:
        ctx.warn(f"REPLACEMENT: {replacement_line(change)}")
    fixed = [c for c in replaced if has_fixed_name(c)]
    if fixed:
        raise _fixed_name_refusal(change_set, fixed[0])
    if replaced and not allowed:
        raise Refused(
            f"change set {change_set.name} would replace "
            + ", ".join(f"{c.logical_id} [{c.resource_type}]" for c in replaced)
            + f", refused: pass {ALLOW_REPLACEMENT_FLAG} to execute it anyway",
            hints=(
                "a replaced load balancer gets a new DNS name (update what points at it), a "
                "replaced listener or target group drops traffic while the new one comes up",
            ),
        )
    return replaced
