"""The data stack: deployed before the service and outliving it (docs/architecture.md).

Its first create runs with the cluster's deletion protection off (cars_stack.deletion_protection:
a create failing half-way must be able to roll back). Once the create succeeded, termination
protection and the stack policy go on, then a second reviewed change set turns deletion
protection on.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cars_stack import deletion_protection, protection
from cars_stack import deploy as deploying
from cars_stack.errors import BadInput, DeploymentFailed, Refused
from cars_stack.events import delete_and_follow
from cars_stack.runtime import Context
from cars_stack.stack import Stack, describe, physical_ids
from cars_stack.template import Template, default_template_path
from template_builder.names import (
    ACCESS_LOG_BUCKET,
    ACCESS_LOG_BUCKET_NAME_PATTERN,
    ACCESS_LOG_DAYS,
    DATA_TEMPLATE_FILE,
    DATABASE_CLUSTER,
    DELETION_PROTECTION,
    NETWORK_STACK_NAME,
)

if TYPE_CHECKING:
    from cars_stack.deploy import DeployOptions


def default_data_template_path() -> Path:
    return default_template_path(DATA_TEMPLATE_FILE)


def is_ready(result: dict[str, Any]) -> bool:
    """The data stack is there for the service: executed now, or nothing needed changing."""
    return bool(result.get("executed")) or result.get("changed") is False


def kept_log_bucket_line(bucket: str, region: str) -> str:
    """The access-log bucket outlives the data stack (its logs expire by its lifecycle rule)."""
    return (
        f"Access-log bucket {bucket} kept with the load balancer's logs (they expire by its "
        f"lifecycle rule); to delete it and them: aws s3 rb s3://{bucket} --force --region {region}"
    )


def _protect_later_hint(stack_name: str) -> str:
    return (
        f"data stack {stack_name} has no deletion protection yet: "
        "cars-stack deploy --only data turns it on"
    )


def _turn_on_deletion_protection(ctx: Context, options: DeployOptions) -> dict[str, Any]:
    """The second change set after a first create: only DeletionProtection changes."""
    return deletion_protection.turn_on(
        ctx,
        DELETION_PROTECTION,
        headline=f"Turn on deletion protection of {ctx.stack_name}",
        description="cars-stack deploy: deletion protection on for the new data stack",
        later_hint=_protect_later_hint(ctx.stack_name),
        timeout_minutes=options.timeout_minutes,
    )


def _refuse_a_name_too_long_for_the_log_bucket(ctx: Context, template: Template) -> None:
    """The access-log bucket's name carries the stack's (template_builder/access_logs.py), and S3
    takes at most 63 characters: refused here, before a create that would roll back."""
    if ACCESS_LOG_DAYS not in template.parameters:
        return  # a data template without the bucket
    bucket = ACCESS_LOG_BUCKET_NAME_PATTERN.format(
        stack=ctx.stack_name, account="0" * 12, region=ctx.region, id="0" * 8
    )
    if len(bucket) > BUCKET_NAME_LIMIT:
        room = BUCKET_NAME_LIMIT - (len(bucket) - len(ctx.stack_name))
        raise BadInput(
            f"data stack name {ctx.stack_name} is too long for its access-log bucket "
            f"({len(bucket)} > {BUCKET_NAME_LIMIT} characters): in {ctx.region} it may have at "
            f"most {room} (--data-stack-name)"
        )


BUCKET_NAME_LIMIT = 63


def deploy_data(ctx: Context, options: DeployOptions) -> dict[str, Any]:
    """Create or update the data stack (``ctx`` is aimed at it); its result document."""
    template = Template.from_file(options.data_template_path or default_data_template_path())
    template.check_body_size()
    given = deploying.parse_params(options.data_params, template, flag="--data-param")
    if NETWORK_STACK_NAME in template.parameters and options.network_stack_name:
        given.setdefault(NETWORK_STACK_NAME, options.network_stack_name)
    _refuse_a_name_too_long_for_the_log_bucket(ctx, template)
    on_create, protect_after_create = deletion_protection.on_create(
        template, given, DELETION_PROTECTION
    )
    result = deploying.deploy_template(ctx, template, given, options, on_create=on_create)
    if not is_ready(result):
        if result.get("type") == "CREATE" and protect_after_create:
            ctx.say(
                "Once it is executed, run cars-stack deploy --only data again: it turns on "
                "termination protection, the stack policy and deletion protection"
            )
        return result
    stack = describe(ctx.client("cloudformation"), ctx.stack_name)
    assert stack is not None
    protection.ensure(ctx, termination_protected=stack.termination_protection)
    # After the first create, and after one whose follow-up did not happen (--no-execute, a
    # declined second change set), unless the user asked for it off.
    if protect_after_create and deletion_protection.is_off(stack, DELETION_PROTECTION):
        result["deletion_protection"] = _turn_on_deletion_protection(ctx, options)
    return result


# --- deleting the data stack -------------------------------------------------------------------
def importers(ctx: Context, data_stack: Stack, *, besides: str | None = None) -> dict[str, list]:
    """Stacks importing the data stack's exports (stack name -> export names), ``besides`` one.

    CloudFormation would refuse the delete of an export still imported; asking first lets the
    command refuse before it changes anything, and say which stack is in the way.
    """
    cfn = ctx.client("cloudformation")
    found: dict[str, list[str]] = {}
    for page in cfn.get_paginator("list_exports").paginate():
        for export in page.get("Exports") or []:
            if export.get("ExportingStackId") != data_stack.stack_id:
                continue
            try:
                pages = cfn.get_paginator("list_imports").paginate(ExportName=export["Name"])
                names = [name for p in pages for name in p.get("Imports") or []]
            except ClientError as error:
                # ListImports answers an error, not an empty list, for an export nobody imports.
                if "is not imported by any stack" in error.response.get("Error", {}).get(
                    "Message", ""
                ):
                    continue
                raise
            for name in names:
                if name != besides:
                    found.setdefault(name, []).append(export["Name"])
    return found


def refuse_if_imported(
    ctx: Context,
    data_stack: Stack,
    *,
    besides: str | None = None,
    so_far: str = "nothing was changed",
) -> None:
    found = importers(ctx, data_stack, besides=besides)
    if found:
        which = "; ".join(f"{name} ({', '.join(exports)})" for name, exports in found.items())
        raise Refused(
            f"data stack {data_stack.name} is still imported by {which}: delete "
            f"{'that stack' if len(found) == 1 else 'those stacks'} first ({so_far})"
        )


def _lift_deletion_protection(ctx: Context, stack: Stack, timeout_minutes: float) -> None:
    """A reviewed change set that changes DeletionProtection only (CloudFormation cannot delete
    a protected cluster)."""
    deletion_protection.lift(
        ctx,
        stack,
        DELETION_PROTECTION,
        headline=f"Lift deletion protection of {stack.name} to delete it and its data",
        description="cars-stack destroy --delete-data: deletion protection off before the delete",
        timeout_minutes=timeout_minutes,
    )


def final_snapshot(ctx: Context, cluster_id: str, since: datetime | None) -> dict[str, Any] | None:
    """The snapshot DeletionPolicy Snapshot made while the stack was deleted: the newest manual
    snapshot of the cluster taken since the delete began (by the stack events' clock)."""
    found: list[dict[str, Any]] = []
    pages = (
        ctx.client("rds")
        .get_paginator("describe_db_cluster_snapshots")
        .paginate(DBClusterIdentifier=cluster_id, SnapshotType="manual")
    )
    for page in pages:
        for snapshot in page.get("DBClusterSnapshots") or []:
            created = snapshot.get("SnapshotCreateTime")
            if created is not None and (since is None or created >= since):
                found.append(snapshot)
    found.sort(key=lambda s: s["SnapshotCreateTime"])
    return found[-1] if found else None


def delete_data_stack(ctx: Context, stack: Stack, *, timeout_minutes: float) -> dict[str, Any]:
    """Deletion protection off (reviewed), termination protection off, delete, the snapshot."""
    cfn = ctx.client("cloudformation")
    ids = physical_ids(cfn, stack.name)
    cluster_id = ids.get(DATABASE_CLUSTER)
    _lift_deletion_protection(ctx, stack, timeout_minutes)
    # A stack policy governs updates only: the delete itself needs no lifting of it.
    protection.lift_termination_protection(ctx)
    ctx.say(f"Termination protection off for {stack.name}; deleting it")
    outcome = delete_and_follow(
        ctx, stack, timeout_minutes=timeout_minutes, what=f"data stack {stack.name}"
    )
    ctx.say(f"Data stack {stack.name} deleted.")
    result: dict[str, Any] = {"stack_name": stack.name, "deleted": True, "cluster": cluster_id}
    log_bucket = ids.get(ACCESS_LOG_BUCKET)
    if log_bucket:
        result["kept_access_log_bucket"] = log_bucket
        ctx.say(kept_log_bucket_line(log_bucket, ctx.region))
    if cluster_id is None:
        return result
    began = min((e["Timestamp"] for e in outcome.events if "Timestamp" in e), default=None)
    snapshot = final_snapshot(ctx, cluster_id, began)
    if snapshot is None:
        raise DeploymentFailed(
            f"data stack {stack.name} is deleted but no final snapshot of cluster {cluster_id} "
            "was found",
            hints=(
                "look for it: aws rds describe-db-cluster-snapshots "
                f"--db-cluster-identifier {cluster_id} --region {ctx.region}",
            ),
        )
    result["final_snapshot"] = snapshot["DBClusterSnapshotIdentifier"]
    ctx.say(
        f"Final snapshot of cluster {cluster_id}: {snapshot['DBClusterSnapshotIdentifier']} "
        f"({snapshot.get('Status', 'status unknown')}); restore from it with "
        "aws rds restore-db-cluster-from-snapshot"
    )
    return result
