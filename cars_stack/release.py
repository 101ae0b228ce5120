"""``release VERSION`` and ``rollback [VERSION]``: change the image and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.migrations import compatibility
from api.migrations.compatibility import release_key
from cars_stack import changeset, images, rollout, verify
from cars_stack.errors import Refused
from cars_stack.runtime import Context
from cars_stack.stack import Stack, physical_ids, require
from cars_stack.template import Template
from template_builder.names import IMAGE_TAG, REPOSITORY_NAME

# The description marks a change set as image-only, so ``execute`` re-applies the guard.
_IMAGE_CHANGE_VERBS = ("release", "rollback")


@dataclass
class ReleaseOptions:
    template_path: Path
    verify: bool = False
    verify_timeout: float = 300
    no_execute: bool = False
    summary_file: Path | None = None
    timeout_minutes: float = 30


def description(verb: str, version: str, live: str | None) -> str:
    return f"cars-stack {verb} {version}: image change only (live: {live or 'none'})"


def is_image_change(text: str) -> bool:
    return any(text.startswith(f"cars-stack {verb} ") for verb in _IMAGE_CHANGE_VERBS)


def check_version(ctx: Context, version: str, template_path: Path) -> None:
    """Validate against the committed template, or the deployed one when no checkout is at hand."""
    if template_path.is_file():
        Template.from_file(template_path).check_version(version)
        return
    Template.of_stack(ctx.client("cloudformation"), ctx.stack_name).check_version(version)


def change_image(
    ctx: Context, verb: str, version: str, stack: Stack, options: ReleaseOptions
) -> int:
    live = stack.parameters.get(IMAGE_TAG)
    result = {
        "stack_name": stack.name,
        "action": verb,
        "version": version,
        "previous_version": live,
    }
    if version == live:
        ctx.say(f"{version} is already live on {stack.name}: nothing to {verb}")
        ctx.emit({**result, "changed": False})
        return 0
    if options.verify:
        verify.require_url(verify.service_outputs(ctx, stack), stack.name)
    images.require_image(ctx, stack.parameters[REPOSITORY_NAME], version)
    parameters = [{"ParameterKey": IMAGE_TAG, "ParameterValue": version}] + [
        {"ParameterKey": key, "UsePreviousValue": True}
        for key in stack.parameters
        if key != IMAGE_TAG
    ]
    try:
        change_set = changeset.create(
            ctx,
            name=changeset.new_name(f"{verb}-{version}"),
            change_type="UPDATE",
            parameters=parameters,
            description=description(verb, version, live),
        )
    except changeset.NoChanges:
        return rollout.no_changes(ctx, result)
    plan = rollout.Plan(
        change_set=change_set,
        headline=f"{verb.capitalize()} {version} to {stack.name} (live: {live or 'none'})",
        image_only=True,
        verify_version=version if options.verify else None,
        verify_timeout=options.verify_timeout,
        summary_file=options.summary_file,
        no_execute=options.no_execute,
        timeout_minutes=options.timeout_minutes,
    )
    return rollout.run(ctx, plan, result=result)


def refuse_if_schema_moved_on(ctx: Context, version: str, releases: list[images.Release]) -> None:
    """An image older than a contracting migration cannot run against the schema it left:
    rolling back the image does not roll back the migrations (api.migrations.compatibility)."""
    deployed = [item.tag for item in releases]
    # Read at call time: the list of contractions is the module's, not this function's default.
    contractions = compatibility.CONTRACTIONS
    try:
        blocker = compatibility.rollback_blocker(version, deployed, contractions)
    except ValueError:
        if not contractions:
            return
        # Not a vX.Y.Z tag: its place among the migrations is unknown, so it is not allowed.
        blocker = (
            f"{version} is not a release tag, so whether it predates a contracting migration "
            f"({', '.join(c.migration for c in contractions)}) cannot be told"
        )
    if blocker:
        raise Refused(f"cannot run {version} against the database: {blocker}")


def _older_than(version: str, live: str | None) -> bool:
    try:
        return live is not None and release_key(version) < release_key(live)
    except ValueError:
        return live is not None  # unordered tags: check against the history, to be safe


def release(ctx: Context, version: str, options: ReleaseOptions) -> int:
    check_version(ctx, version, options.template_path)
    stack = require(ctx.client("cloudformation"), ctx.stack_name, ctx.region)
    stack.refuse_unless_updatable()
    stack.refuse_unless_service_stack()
    if _older_than(version, stack.parameters.get(IMAGE_TAG)):
        ids = physical_ids(ctx.client("cloudformation"), stack.name)
        refuse_if_schema_moved_on(ctx, version, images.history(ctx, ids))
    return change_image(ctx, "release", version, stack, options)


def rollback(ctx: Context, version: str | None, options: ReleaseOptions) -> int:
    if version is not None:
        check_version(ctx, version, options.template_path)
    stack = require(ctx.client("cloudformation"), ctx.stack_name, ctx.region)
    stack.refuse_unless_updatable()
    stack.refuse_unless_service_stack()
    ids = physical_ids(ctx.client("cloudformation"), stack.name)
    releases = images.history(ctx, ids)
    if version is None:
        live = stack.parameters.get(IMAGE_TAG)
        version = images.previous_tag(releases, live)
        if version is None:
            raise Refused(
                f"no tag before {live} in the task-definition history of {stack.name}: "
                "name one: cars-stack rollback VERSION"
            )
        ctx.say(f"Rolling back {stack.name} from {live} to {version} (the tag live before it)")
        check_version(ctx, version, options.template_path)
    refuse_if_schema_moved_on(ctx, version, releases)
    return change_image(ctx, "rollback", version, stack, options)
