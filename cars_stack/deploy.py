"""``deploy`` (the committed template through a change set) and ``execute`` (a reviewed one)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from cars_stack import (
    changeset,
    data,
    deletion_protection,
    edge,
    identity,
    images,
    imports,
    network,
    protection,
    release,
    rollout,
    scaling,
    spot,
    verify,
)
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
from template_builder.names import (
    ACCESS_LOG_BUCKET_NAME,
    ACCESS_LOGS,
    CLOUDFRONT_ORIGIN,
    DATA_STACK_HAS_CACHE,
    DATA_STACK_HAS_READERS,
    DATA_STACK_NAME,
    DATA_STACK_SUFFIX,
    DELETION_PROTECTION,
    ENABLE_CACHE,
    IDENTITY_STACK_NAME,
    IMAGE_TAG,
    IMPORT_STACK_SUFFIX,
    LOAD_BALANCER_DELETION_PROTECTION,
    NETWORK_STACK_NAME,
    NETWORK_STACK_SUFFIX,
    ORIGIN_PUBLIC_ALB,
    OUTPUT_ACCESS_LOG_BUCKET,
    OUTPUT_IMPORT_BUCKET,
    PERMISSIONS_BOUNDARY_ARN,
    PERMISSIONS_BOUNDARY_POLICY_NAME,
    READER_COUNT,
    REPOSITORY_NAME,
)
from template_builder.parameters import POLICY_ARN_PATTERN


@dataclass
class DeployOptions:
    template_path: Path
    image_tag: str | None = None
    params: list[str] = field(default_factory=list)
    replace_failed: bool = False
    no_execute: bool = False
    summary_file: Path | None = None
    timeout_minutes: float = 30
    # One of STACKS deploys that stack alone; None deploys them all, in that order.
    only: str | None = None
    network_template_path: Path | None = None
    network_params: list[str] = field(default_factory=list)
    network_stack_name: str | None = None
    data_template_path: Path | None = None
    data_params: list[str] = field(default_factory=list)
    data_stack_name: str | None = None
    allow_data_loss: bool = False
    allow_replacement: bool = False
    identity_template_path: Path | None = None
    identity_params: list[str] = field(default_factory=list)
    identity_stack_name: str | None = None
    import_template_path: Path | None = None
    import_params: list[str] = field(default_factory=list)
    # --permissions-boundary-arn; deploy() fills it in from --cfn-role-arn when not given.
    permissions_boundary_arn: str | None = None
    # The edge stacks (cars_stack/edge.py): deployed only when asked.
    edge: bool = False
    edge_template_path: Path | None = None
    edge_params: list[str] = field(default_factory=list)
    edge_stack_name: str | None = None
    edge_global: bool = False
    edge_global_template_path: Path | None = None
    edge_global_params: list[str] = field(default_factory=list)
    edge_global_stack_name: str | None = None
    # Set by deploy(): the service stack the edge stack fronts.
    service_stack_name: str = ""


# The stacks `deploy` deploys, in this order: a stack's exports exist before a later one imports
# them. The service comes after what it imports (and outlives it).
# The import stack after the service, whose URL it takes (without the data stack's import bucket
# it is left out).
STACKS = ("network", "data", "identity", "service", "import")
# Deployed only when asked (--edge, --edge-global, their params, or --only): edge-global (us-east-1)
# before the service, edge after it (or between two service change sets: cars_stack/edge.py).
EDGE_STACKS = ("edge-global", "edge")


_ROLE_ARN = re.compile(r"arn:(aws[a-z-]*):iam::([0-9]{12}):role/[\w+=,.@/-]+")


def permissions_boundary(ctx: Context, given: str | None) -> str | None:
    """The PermissionsBoundaryArn of every stack that has the parameter: as given, else with
    --cfn-role-arn the boundary the GitHub OIDC stack made for this stack in that role's
    account (the role creates no role without it), else None: the parameter keeps its value."""
    if given is not None:
        if re.fullmatch(POLICY_ARN_PATTERN, given) is None:
            raise BadInput(
                f"--permissions-boundary-arn {given!r} is not an IAM managed policy ARN "
                "(arn:aws:iam::<account>:policy/<name>), nor empty for none"
            )
        return given
    if not ctx.cfn_role_arn:
        return None
    match = _ROLE_ARN.fullmatch(ctx.cfn_role_arn)
    if match is None:
        raise BadInput(
            f"--cfn-role-arn {ctx.cfn_role_arn!r} is not an IAM role ARN "
            "(arn:aws:iam::<account>:role/<name>)"
        )
    partition, account = match.groups()
    name = PERMISSIONS_BOUNDARY_POLICY_NAME.format(stack=ctx.stack_name)
    return f"arn:{partition}:iam::{account}:policy/{name}"


def parse_params(pairs: list[str], template: Template, *, flag: str = "--param") -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"{flag} takes KEY=VALUE, got {pair!r}")
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


def _creates(stack: Stack | None) -> bool:
    return stack is None or stack.is_new or stack.status == "ROLLBACK_COMPLETE"


def deploy_template(
    ctx: Context,
    template: Template,
    given: dict[str, str],
    options: DeployOptions,
    *,
    on_create: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One stack from its template through one reviewed change set; the result document.

    ``on_create`` overrides parameter values for a first create only.
    """
    boundary = options.permissions_boundary_arn
    if boundary is not None and PERMISSIONS_BOUNDARY_ARN in template.parameters:
        given = {PERMISSIONS_BOUNDARY_ARN: boundary, **given}  # an explicit --param wins
    stack = describe(ctx.client("cloudformation"), ctx.stack_name)
    _refuse_unusable(stack, options)
    # The service template over another stack (the registry's, the data stack's) would replace
    # that stack's resources with the service's.
    existing = stack is not None and not stack.is_new and stack.status != "ROLLBACK_COMPLETE"
    if existing and all(key in template.parameters for key in SERVICE_STACK_PARAMETERS):
        stack.refuse_unless_service_stack()
    previous = stack.parameters if stack and not stack.is_new else {}
    if _creates(stack):
        missing = [p for p in template.required_parameters() if p not in given]
        if missing:
            flag = " (--image-tag)" if missing == [IMAGE_TAG] else ""
            raise BadInput(
                f"a new stack {ctx.stack_name} needs {', '.join(missing)}{flag}: "
                "pass --param KEY=VALUE"
            )
    if IMAGE_TAG in given and REPOSITORY_NAME in template.parameters:
        repository = (
            given.get(REPOSITORY_NAME)
            or previous.get(REPOSITORY_NAME)
            or str(template.parameters[REPOSITORY_NAME].get("Default", ""))
        )
        if repository:
            images.require_image(ctx, repository, given[IMAGE_TAG])
    values = {
        key: given.get(key, previous.get(key, str(spec.get("Default", ""))))
        for key, spec in template.parameters.items()
    }
    spot.refuse_pointless_spot(values)
    scaling.refuse_impossible_bounds(values)
    network.refuse_missing_exports(ctx, template, values)
    change_type = _change_type(ctx, stack, options)
    if change_type == "CREATE":
        previous = {}
        given = {**given, **(on_create or {})}

    parameters: list[dict[str, object]] = []
    for key in template.parameters:
        if key in given:
            parameters.append({"ParameterKey": key, "ParameterValue": given[key]})
        elif key in previous:
            parameters.append({"ParameterKey": key, "UsePreviousValue": True})
    result: dict[str, Any] = {
        "stack_name": ctx.stack_name,
        "action": "deploy",
        "type": change_type,
    }
    try:
        change_set = changeset.create(
            ctx,
            name=changeset.new_name("deploy"),
            change_type=change_type,
            parameters=parameters,
            description=f"cars-stack deploy from {Path(template.source).name}",
            template_body=template.body,
        )
    except changeset.NoChanges:
        rollout.no_changes(ctx, result)
        return result
    plan = rollout.Plan(
        change_set=change_set,
        headline=f"{'Create' if change_type == 'CREATE' else 'Update'} stack {ctx.stack_name}",
        summary_file=options.summary_file,
        no_execute=options.no_execute,
        timeout_minutes=options.timeout_minutes,
        allow_data_loss=options.allow_data_loss,
        allow_replacement=options.allow_replacement,
    )
    rollout.run(ctx, plan, result=result)
    return result


def _service_params(ctx: Context, template: Template, options: DeployOptions) -> dict[str, str]:
    given = parse_params(options.params, template)
    if options.image_tag is not None:
        template.check_parameter_keys([IMAGE_TAG])
        template.check_version(options.image_tag)
        given[IMAGE_TAG] = options.image_tag
    return given


def _refuse_unwirable(template: Template, data_name: str) -> None:
    if DATA_STACK_NAME not in template.parameters:
        raise Refused(
            f"{template.source} has no {DATA_STACK_NAME} parameter, so the service cannot use "
            f"data stack {data_name}: deploy one stack alone with --only data|service"
        )


def _wire_to_data_stack(
    ctx: Context, template: Template, given: dict[str, str], data_name: str
) -> Stack | None:
    """DataStackName, DataStackHasCache and DataStackHasReaders from the data stack, unless given
    on the command line.

    Conditions cannot read an imported value, so whether the data stack has a cache reaches the
    service as a parameter copied from the data stack's own EnableCache.
    """
    if DATA_STACK_NAME not in template.parameters:
        return None  # a service template from before the data stack, deployed alone
    name = given.setdefault(DATA_STACK_NAME, data_name)
    if not name or DATA_STACK_HAS_CACHE in given:
        return None  # an explicitly empty DataStackName: a service without a data stack
    data_stack = describe(ctx.client("cloudformation"), name)
    if data_stack is None or data_stack.status not in _USABLE_DATA_STATUSES:
        state = data_stack.status if data_stack else "missing"
        raise Refused(
            f"data stack {name} is {state}: deploy it first (cars-stack deploy --only data), "
            f"or pass --param {DATA_STACK_NAME}= for a service without one"
        )
    if DATA_STACK_HAS_CACHE in template.parameters:
        if ENABLE_CACHE not in data_stack.parameters:
            raise Refused(f"stack {name} has no {ENABLE_CACHE} parameter: is it a data stack?")
        given[DATA_STACK_HAS_CACHE] = data_stack.parameters[ENABLE_CACHE]
    _refuse_logs_without_the_data_stacks_bucket(template, given, data_stack)
    if DATA_STACK_HAS_READERS in template.parameters and DATA_STACK_HAS_READERS not in given:
        # Reads go to the reader endpoint only when there are readers (data_link.py).
        readers = data_stack.parameters.get(READER_COUNT, "0")
        given[DATA_STACK_HAS_READERS] = "true" if readers not in ("", "0") else "false"
    return data_stack


def _refuse_logs_without_the_data_stacks_bucket(
    template: Template, given: dict[str, str], data_stack: Stack
) -> None:
    """A data stack from before the access-log bucket exports none: the service's update would
    fail on the import and roll back. Said before anything changes."""
    if ACCESS_LOGS not in template.parameters or OUTPUT_ACCESS_LOG_BUCKET in data_stack.outputs:
        return
    if given.get(ACCESS_LOGS) == "false" or given.get(ACCESS_LOG_BUCKET_NAME):
        return
    raise Refused(
        f"data stack {data_stack.name} has no access-log bucket yet (output "
        f"{OUTPUT_ACCESS_LOG_BUCKET}): deploy it first (cars-stack deploy --only data), or pass "
        f"--param {ACCESS_LOG_BUCKET_NAME}=BUCKET or --param {ACCESS_LOGS}=false"
    )


# A data stack the service can import from: created, and not in the middle of a change.
_USABLE_DATA_STATUSES = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
}


def _refuse_misplaced_flags(options: DeployOptions) -> None:
    sets = {
        "service": ("--param and --image-tag", bool(options.params or options.image_tag)),
        "data": ("--data-param", bool(options.data_params)),
        "network": ("--network-param", bool(options.network_params)),
        "identity": ("--identity-param", bool(options.identity_params)),
        "edge": ("--edge and --edge-param", bool(options.edge or options.edge_params)),
        "edge-global": (
            "--edge-global and --edge-global-param",
            bool(options.edge_global or options.edge_global_params),
        ),
        "import": ("--import-param", bool(options.import_params)),
    }
    if options.only is None:
        return
    for stack, (flags, given) in sets.items():
        if stack != options.only and given:
            raise BadInput(
                f"{flags} set the {stack} stack, which --only {options.only} does not deploy"
            )


def _wire_to_network_stack(template: Template, given: dict[str, str], network_name: str) -> None:
    """NetworkStackName of the data stack and the service: the network stack deployed with them."""
    if NETWORK_STACK_NAME in template.parameters:
        given.setdefault(NETWORK_STACK_NAME, network_name)


def _deploy_edge_alone(ctx: Context, options: DeployOptions) -> int:
    if options.only == "edge-global":
        ctx.emit(edge.deploy_edge_global(ctx, options))
        return 0
    ctx.emit(edge.deploy_edge(ctx.for_stack(edge.edge_name(ctx, options)), options))
    return 0


def deploy(ctx: Context, options: DeployOptions) -> int:
    _refuse_misplaced_flags(options)
    options.service_stack_name = ctx.stack_name
    options.permissions_boundary_arn = permissions_boundary(ctx, options.permissions_boundary_arn)
    if options.only in EDGE_STACKS:
        return _deploy_edge_alone(ctx, options)
    data_name = options.data_stack_name or ctx.stack_name + DATA_STACK_SUFFIX
    network_name = options.network_stack_name or ctx.stack_name + NETWORK_STACK_SUFFIX
    options.network_stack_name = network_name
    service_template = given = None
    auth_off, skip_identity = False, ""
    origins: tuple[str, str] | None = None  # the service's CloudFrontOrigin (now, next)
    if options.only in (None, "service"):
        # Everything about the service is checked before the other stacks change.
        service_template = Template.from_file(options.template_path)
        service_template.check_body_size()
        given = _service_params(ctx, service_template, options)
        if options.only is None:
            _refuse_unwirable(service_template, data_name)
        auth_off = identity.auth_disabled(ctx, service_template, given)
        if auth_off:
            skip_identity = "the service has AuthDisabled=true"
        elif IDENTITY_STACK_NAME not in service_template.parameters:
            skip_identity = f"{service_template.source} has no {IDENTITY_STACK_NAME} parameter"
        if CLOUDFRONT_ORIGIN in given or (options.only is None and edge.is_wanted(options)):
            origins = edge.check_service_change(ctx, options, service_template, given)
    identity_name = identity.stack_name(ctx, options, given)
    dependencies = {
        "network": (network_name, network.deploy_network),
        "data": (data_name, data.deploy_data),
        "identity": (identity_name, identity.deploy_identity),
    }
    document: dict[str, Any] = {}
    if options.only == "import":
        result = _deploy_imports(ctx, options, data_name, identity_name)
        ctx.emit(result)
        return 0
    for position, stack in enumerate(STACKS[:-2]):
        if options.only not in (None, stack):
            continue
        if stack == "identity" and options.only is None and skip_identity:
            ctx.say(f"Identity stack {identity_name} not deployed: {skip_identity}")
            continue
        name, deploy_stack = dependencies[stack]
        result = deploy_stack(ctx.for_stack(name), options)
        if options.only == stack:
            ctx.emit(result)
            return 0
        document[stack] = result
        if not data.is_ready(result):
            waiting = ", ".join(STACKS[position + 1 :])
            ctx.say(
                f"Not deployed yet ({waiting}): they wait for {stack} stack {name}; once that "
                "change set is executed: cars-stack deploy"
            )
            ctx.emit({"stack_name": ctx.stack_name, "action": "deploy", **document})
            return 0
    assert service_template is not None and given is not None
    data_stack = _wire_to_data_stack(ctx, service_template, given, data_name)
    _wire_to_network_stack(service_template, given, network_name)
    identity.wire(ctx, service_template, given, identity_name, off=auth_off)
    if options.only is None and edge.is_global_wanted(options):
        document["edge-global"] = edge.deploy_edge_global(ctx, options)
        if not data.is_ready(document["edge-global"]):
            ctx.say("Not deployed yet (service, edge): they wait for the edge-global stack")
            ctx.emit({"stack_name": ctx.stack_name, "action": "deploy", **document})
            return 0
    service_ctx = ctx.for_stack(ctx.stack_name)
    with_edge = options.only is None and edge.is_wanted(options)
    if with_edge and origins is not None and _turns_on_public_alb(*origins):
        return _deploy_service_around_the_edge(ctx, service_template, given, options, document)
    service_result = _deploy_service(service_ctx, service_template, given, options)
    if with_edge and data.is_ready(service_result):
        edge_ctx = ctx.for_stack(edge.edge_name(ctx, options))
        then = origins[1] if origins else None
        document["edge"] = edge.deploy_edge(edge_ctx, options, origin=then)
    elif with_edge:
        ctx.say(
            f"Edge stack {edge.edge_name(ctx, options)} not deployed yet: it waits for the "
            "service; once that change set is executed: cars-stack deploy --only edge"
        )
    # The import stack when the data stack has its bucket (EnableImportBucket=true).
    has_bucket = data_stack is not None and OUTPUT_IMPORT_BUCKET in data_stack.outputs
    if options.only is None and has_bucket and data.is_ready(service_result):
        document["import"] = _deploy_imports(ctx, options, data_name, identity_name)
    ctx.emit({**service_result, **document})
    return 0


def _turns_on_public_alb(now: str, then: str) -> bool:
    return then == ORIGIN_PUBLIC_ALB and now != ORIGIN_PUBLIC_ALB


def _deploy_service_around_the_edge(
    ctx: Context,
    template: Template,
    given: dict[str, str],
    options: DeployOptions,
    document: dict[str, Any],
) -> int:
    """CloudFrontOrigin turning public-alb on: the service as it is (or a new one, public), then the
    edge stack (CloudFront's prefix-list ingress and header rule on the service's ALB), then the
    service again dropping its public ingress: at every step someone is admitted."""
    service_ctx = ctx.for_stack(ctx.stack_name)
    now = edge.service_origin(ctx, template, {})[0]
    ctx.say(
        f"CloudFrontOrigin {now} -> {ORIGIN_PUBLIC_ALB}: the service keeps its public ingress "
        "until the edge stack admits CloudFront (three change sets)"
    )
    first = _deploy_service(service_ctx, template, {**given, CLOUDFRONT_ORIGIN: now}, options)
    document["service_before_edge"] = first
    if data.is_ready(first):
        edge_ctx = ctx.for_stack(edge.edge_name(ctx, options))
        document["edge"] = edge.deploy_edge(edge_ctx, options, origin=ORIGIN_PUBLIC_ALB)
        if data.is_ready(document["edge"]):
            final = _deploy_service(
                service_ctx, template, {**given, CLOUDFRONT_ORIGIN: ORIGIN_PUBLIC_ALB}, options
            )
            ctx.emit({**final, **document})
            return 0
    ctx.say(
        "Not finished: the service keeps its public ingress; once the change sets above are "
        "executed, run the same cars-stack deploy again"
    )
    ctx.emit({"stack_name": ctx.stack_name, "action": "deploy", **document})
    return 0


def _deploy_imports(
    ctx: Context, options: DeployOptions, data_name: str, identity_name: str
) -> dict[str, Any]:
    return imports.deploy_import(
        ctx.for_stack(ctx.stack_name + IMPORT_STACK_SUFFIX),
        options,
        service_name=ctx.stack_name,
        data_name=data_name,
        identity_name=identity_name,
    )


def _deploy_service(
    ctx: Context, template: Template, given: dict[str, str], options: DeployOptions
) -> dict[str, Any]:
    """The service through its change set; after its first create, a second one turns on the
    load balancer's deletion protection (cars_stack.deletion_protection), as for the data stack."""
    on_create, protect = deletion_protection.on_create(
        template, given, LOAD_BALANCER_DELETION_PROTECTION
    )
    result = deploy_template(ctx, template, given, options, on_create=on_create)
    if not data.is_ready(result):
        if result.get("type") == "CREATE" and protect:
            ctx.say(
                "Once it is executed, run cars-stack deploy --only service again: it turns on "
                "the load balancer's deletion protection"
            )
        return result
    stack = describe(ctx.client("cloudformation"), ctx.stack_name)
    if (
        protect
        and stack is not None
        and deletion_protection.is_off(stack, LOAD_BALANCER_DELETION_PROTECTION)
    ):
        result["deletion_protection"] = deletion_protection.turn_on(
            ctx,
            LOAD_BALANCER_DELETION_PROTECTION,
            headline=f"Turn on deletion protection of the load balancer of {ctx.stack_name}",
            description="cars-stack deploy: load balancer deletion protection on after the create",
            later_hint=(
                f"the load balancer of {ctx.stack_name} has no deletion protection yet: "
                "cars-stack deploy --only service turns it on"
            ),
            timeout_minutes=options.timeout_minutes,
        )
    return result


def execute(
    ctx: Context,
    name: str,
    *,
    expect_version: str | None,
    verify_version: bool,
    verify_timeout: float,
    timeout_minutes: float,
    allow_data_loss: bool = False,
    allow_replacement: bool = False,
) -> int:
    """Execute a change set left by ``--no-execute``, after the same checks as when it was made."""
    cfn = ctx.client("cloudformation")
    stack = require(cfn, ctx.stack_name, ctx.region)
    stack.refuse_if_busy()
    stack.refuse_if_stuck()
    if verify_version:
        verify.require_url(verify.service_outputs(ctx, stack), stack.name)
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
        allow_data_loss=allow_data_loss,
        allow_replacement=allow_replacement,
    )
    result = {"stack_name": stack.name, "action": "execute", "version": tag}
    code = rollout.run(ctx, plan, result=result)
    if result.get("executed") and DELETION_PROTECTION in change_set.parameters:
        # A data-stack change set (only the data template has this parameter), perhaps its
        # create: its protections, as deploy applies them.
        executed = describe(cfn, stack.stack_id)
        protection.ensure(
            ctx, termination_protected=bool(executed and executed.termination_protection)
        )
    if (
        result.get("executed")
        and change_set.change_type == "CREATE"
        and change_set.parameters.get(LOAD_BALANCER_DELETION_PROTECTION) == "false"
    ):
        ctx.say(
            f"The load balancer of {stack.name} has no deletion protection yet (off for the "
            "first create): cars-stack deploy --only service turns it on"
        )
    return code
