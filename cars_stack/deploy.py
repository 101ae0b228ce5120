"""``deploy`` (the committed template through a change set) and ``execute`` (a reviewed one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

from cars_stack import changeset, images, release, rollout, verify
from cars_stack.changeset import ChangeSet
from cars_stack.errors import BadInput, DeploymentFailed, Refused
from cars_stack.events import follow, newest_event_id
from cars_stack.runtime import Context
from cars_stack.stack import (
    SERVICE_STACK_PARAMETERS,
    Stack,
    describe,
    require,
    rollback_complete_message,
)
from cars_stack.template import Template
from template_builder.names import IMAGE_TAG, REPOSITORY_NAME


@dataclass
class DeployOptions:
    template_path: Path
    image_tag: str | None = None
    params: list[str] = field(default_factory=list)
    replace_failed: bool = False
    no_execute: bool = False
    summary_file: Path | None = None
    timeout_minutes: float = 30


def parse_params(pairs: list[str], template: Template) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--param takes KEY=VALUE, got {pair!r}")
        values[key] = value
    template.check_parameter_keys(list(values))
    for key, value in values.items():
        template.check_value(key, value)
    return values


def _replace_failed_stack(ctx: Context, stack: Stack, timeout_minutes: float) -> None:
    ctx.say(
        f"Deleting {stack.name} (ROLLBACK_COMPLETE: nothing of it is running) before creating it"
    )
    marker = newest_event_id(ctx, stack.stack_id)
    ctx.client("cloudformation").delete_stack(StackName=stack.stack_id)
    outcome = follow(ctx, stack.stack_id, after_event=marker, timeout_minutes=timeout_minutes)
    if outcome.status != "DELETE_COMPLETE":
        raise DeploymentFailed(
            f"could not delete {stack.name}: {outcome.first_failure or outcome.status}"
        )


def _refuse_unusable(stack: Stack | None, options: DeployOptions) -> None:
    """Before anything is checked or changed: a busy, stuck or failed stack is refused."""
    if stack is None or stack.is_new:
        return
    stack.refuse_if_busy()
    stack.refuse_if_stuck()
    if stack.status == "ROLLBACK_COMPLETE" and not options.replace_failed:
        raise Refused(rollback_complete_message(stack.name))


def _change_type(ctx: Context, stack: Stack | None, options: DeployOptions) -> str:
    if stack is None or stack.is_new:
        return "CREATE"
    if stack.status == "ROLLBACK_COMPLETE":
        _replace_failed_stack(ctx, stack, options.timeout_minutes)
        return "CREATE"
    return "UPDATE"


def deploy(ctx: Context, options: DeployOptions) -> int:
    template = Template.from_file(options.template_path)
    template.check_body_size()
    given = parse_params(options.params, template)
    if options.image_tag is not None:
        template.check_parameter_keys([IMAGE_TAG])
        template.check_version(options.image_tag)
        given[IMAGE_TAG] = options.image_tag

    stack = describe(ctx.client("cloudformation"), ctx.stack_name)
    _refuse_unusable(stack, options)
    # The service template over another stack (the registry's, the data stack's) would replace
    # that stack's resources with the service's.
    existing = stack is not None and not stack.is_new and stack.status != "ROLLBACK_COMPLETE"
    if existing and all(key in template.parameters for key in SERVICE_STACK_PARAMETERS):
        stack.refuse_unless_service_stack()
    previous = stack.parameters if stack and not stack.is_new else {}
    if stack is None or stack.is_new or stack.status == "ROLLBACK_COMPLETE":
        missing = [p for p in template.required_parameters() if p not in given]
        if missing:
            flag = " (--image-tag)" if missing == [IMAGE_TAG] else ""
            raise BadInput(f"a new stack needs {', '.join(missing)}{flag}: pass --param KEY=VALUE")
    if IMAGE_TAG in given and REPOSITORY_NAME in template.parameters:
        repository = (
            given.get(REPOSITORY_NAME)
            or previous.get(REPOSITORY_NAME)
            or str(template.parameters[REPOSITORY_NAME].get("Default", ""))
        )
        if repository:
            images.require_image(ctx, repository, given[IMAGE_TAG])
    change_type = _change_type(ctx, stack, options)
    if change_type == "CREATE":
        previous = {}

    parameters: list[dict[str, object]] = []
    for key in template.parameters:
        if key in given:
            parameters.append({"ParameterKey": key, "ParameterValue": given[key]})
        elif key in previous:
            parameters.append({"ParameterKey": key, "UsePreviousValue": True})
    result = {"stack_name": ctx.stack_name, "action": "deploy", "type": change_type}
    try:
        change_set = changeset.create(
            ctx,
            name=changeset.new_name("deploy"),
            change_type=change_type,
            parameters=parameters,
            description=f"cars-stack deploy from {options.template_path.name}",
            template_body=template.body,
        )
    except changeset.NoChanges:
        return rollout.no_changes(ctx, result)
    plan = rollout.Plan(
        change_set=change_set,
        headline=f"{'Create' if change_type == 'CREATE' else 'Update'} stack {ctx.stack_name}",
        summary_file=options.summary_file,
        no_execute=options.no_execute,
        timeout_minutes=options.timeout_minutes,
    )
    return rollout.run(ctx, plan, result=result)


def execute(
    ctx: Context,
    name: str,
    *,
    expect_version: str | None,
    verify_version: bool,
    verify_timeout: float,
    timeout_minutes: float,
) -> int:
    """Execute a change set left by ``--no-execute``, after the same checks as when it was made."""
    cfn = ctx.client("cloudformation")
    stack = require(cfn, ctx.stack_name, ctx.region)
    stack.refuse_if_busy()
    stack.refuse_if_stuck()
    if verify_version:
        verify.require_url(stack.outputs, stack.name)
    change_set = ChangeSet(change_set_id=name, name=name, stack_name=stack.name)
    try:
        changeset.load(ctx, change_set)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ChangeSetNotFound":
            raise Refused(f"no change set named {name} on stack {stack.name}") from None
        raise
    image_only = release.is_image_change(change_set.description)
    if image_only:
        stack.refuse_unless_service_stack()
    if change_set.status != "CREATE_COMPLETE" or change_set.execution_status != "AVAILABLE":
        raise Refused(
            f"change set {name} cannot be executed: status {change_set.status}, "
            f"execution status {change_set.execution_status}"
        )
    tag = change_set.parameters.get(IMAGE_TAG)
    if expect_version is not None and tag != expect_version:
        raise Refused(
            f"change set {name} sets {IMAGE_TAG}={tag}, not {expect_version}: "
            "refusing to execute it"
        )
    if verify_version and not tag:
        raise Refused(
            f"--verify polls /version for the change set's {IMAGE_TAG}, and change set {name} "
            f"sets none: run without --verify (nothing was changed)"
        )
    change_set.change_type = "CREATE" if stack.is_new else "UPDATE"
    plan = rollout.Plan(
        change_set=change_set,
        headline=change_set.description or f"Execute {name}",
        image_only=image_only,
        verify_version=tag if verify_version else None,
        verify_timeout=verify_timeout,
        timeout_minutes=timeout_minutes,
        owned=False,
    )
    result = {"stack_name": stack.name, "action": "execute", "version": tag}
    return rollout.run(ctx, plan, result=result)
