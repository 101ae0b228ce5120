"""The edge stacks (docs/architecture.md, "Edge"): `<stack>-edge` (templates/edge.yaml, the
service's Region: CloudFront in front of the ALB, or the regional WAF) and `<stack>-edge-global`
(templates/edge-global.yaml, always us-east-1: the CLOUDFRONT web ACL and the certificate).

Deployed only when asked (`--edge`, `--edge-param`, `--edge-global`, `--edge-global-param`, or
`--only edge|edge-global`): a plain `deploy` stays what it was. Before any change set, the
service's CloudFrontOrigin and the edge stack's OriginMode must agree, vpc-origin needs private
task subnets, and the ALB's certificate needs an origin host name. Order: edge-global, then the
service, then the edge stack; except when the service turns public-alb on, when the edge stack's
prefix-list ingress and header rule are created between two service change sets, so that the ALB
never admits nobody.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cars_stack import deploy as deploying
from cars_stack.errors import Refused
from cars_stack.runtime import Context
from cars_stack.stack import Stack, describe
from cars_stack.template import Template, default_template_path
from template_builder.names import (
    CERTIFICATE_ARN,
    CLOUDFRONT_ORIGIN,
    CLOUDFRONT_PREFIX_LIST_ID,
    CLOUDFRONT_PREFIX_LIST_NAME,
    EDGE_CERTIFICATE_ARN,
    EDGE_GLOBAL_REGION,
    EDGE_GLOBAL_STACK_SUFFIX,
    EDGE_GLOBAL_TEMPLATE_FILE,
    EDGE_STACK_SUFFIX,
    EDGE_TEMPLATE_FILE,
    NETWORK_STACK_SUFFIX,
    ORIGIN_DOMAIN_NAME,
    ORIGIN_MODE,
    ORIGIN_NONE,
    ORIGIN_PUBLIC_ALB,
    ORIGIN_VPC,
    OUTPUT_CERTIFICATE_ARN,
    OUTPUT_WEB_ACL_ARN,
    SERVICE_STACK_NAME,
    WEB_ACL_ARN,
)

if TYPE_CHECKING:
    from cars_stack.deploy import DeployOptions

CDN_MODES = (ORIGIN_PUBLIC_ALB, ORIGIN_VPC)
# An edge or service stack whose parameters and outputs can be read: created, not changing.
_USABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


def edge_name(ctx: Context, options: DeployOptions | None = None) -> str:
    given = options.edge_stack_name if options is not None else ctx.edge_stack_name
    return given or ctx.stack_name + EDGE_STACK_SUFFIX


def edge_global_name(ctx: Context, options: DeployOptions) -> str:
    service = options.service_stack_name or ctx.stack_name
    return options.edge_global_stack_name or service + EDGE_GLOBAL_STACK_SUFFIX


def is_wanted(options: DeployOptions) -> bool:
    """A deploy of every stack includes the edge stack only when asked."""
    return bool(options.edge or options.edge_params)


def is_global_wanted(options: DeployOptions) -> bool:
    return bool(options.edge_global or options.edge_global_params)


def _existing(stack: Stack | None) -> Stack | None:
    return stack if stack is not None and not stack.is_new else None


def _value(key: str, given: dict[str, str], stack: Stack | None, template: Template) -> str:
    """What a change set would set: given, else kept from the stack, else the default."""
    if key in given:
        return given[key]
    if stack is not None and key in stack.parameters:
        return stack.parameters[key]
    return str(template.parameters.get(key, {}).get("Default", ""))


def service_origin(ctx: Context, template: Template, given: dict[str, str]) -> tuple[str, str]:
    """(the service's CloudFrontOrigin now, what this deploy sets): `none` for a stack that does
    not exist yet or a template from before the edge."""
    if CLOUDFRONT_ORIGIN not in template.parameters:
        return ORIGIN_NONE, ORIGIN_NONE
    stack = _existing(describe(ctx.client("cloudformation"), ctx.stack_name))
    now = stack.parameters.get(CLOUDFRONT_ORIGIN, ORIGIN_NONE) if stack else ORIGIN_NONE
    return now, _value(CLOUDFRONT_ORIGIN, given, stack, template)


def refuse_vpc_origin_without_private_subnets(ctx: Context, network_name: str | None) -> None:
    """The internal ALB and the tasks sit in the network stack's task subnets, which must be
    private with egress: the network stack says TaskAssignPublicIp=ENABLED when they are not."""
    name = network_name or ctx.stack_name + NETWORK_STACK_SUFFIX
    network = describe(ctx.client("cloudformation"), name)
    assign = (network.outputs if network else {}).get("TaskAssignPublicIp")
    if assign != "DISABLED":
        found = f"its TaskAssignPublicIp is {assign}" if assign else "it exports no subnets"
        raise Refused(
            f"CloudFrontOrigin=vpc-origin puts the ALB in private task subnets, and network stack "
            f"{name} has none ({found}): give it private subnets with a NAT "
            "(--network-param TaskSubnetIds=...) or use public-alb; nothing was changed"
        )


def refuse_replacement_under_the_edge(ctx: Context, now: str, then: str, edge: Stack | None):
    """Into or out of vpc-origin the ALB is replaced (Scheme is replacement-only), so its ARN and
    DNS name change: exports the edge stack imports, which CloudFormation will not change."""
    if now == then or ORIGIN_VPC not in (now, then) or edge is None:
        return
    raise Refused(
        f"CloudFrontOrigin {now} -> {then} replaces the load balancer of {ctx.stack_name}, whose "
        f"exports edge stack {edge.name} imports: delete the edge stack first (aws cloudformation "
        f"delete-stack --stack-name {edge.name}), deploy the service, then the edge stack "
        "(docs/architecture.md, Edge); nothing was changed"
    )


def refuse_disagreement(service_name: str, origin: str, edge_name_: str, mode: str) -> None:
    if origin != mode:
        raise Refused(
            f"the service {service_name} has CloudFrontOrigin={origin} and edge stack "
            f"{edge_name_} OriginMode={mode}: they must agree (--param {CLOUDFRONT_ORIGIN}=... "
            f"or --edge-param {ORIGIN_MODE}=...); nothing was changed"
        )


def _prefix_list_id(ctx: Context) -> str:
    answer = ctx.client("ec2").describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST_NAME]}]
    )
    lists = answer.get("PrefixLists") or []
    if not lists:
        raise Refused(
            f"no managed prefix list {CLOUDFRONT_PREFIX_LIST_NAME} in {ctx.region}: pass "
            f"--edge-param {CLOUDFRONT_PREFIX_LIST_ID}=pl-...; nothing was changed"
        )
    return lists[0]["PrefixListId"]


def global_outputs(ctx: Context, options: DeployOptions) -> dict[str, str]:
    """The edge-global stack's outputs (us-east-1), or none when it does not exist."""
    name = edge_global_name(ctx, options)
    stack = describe(ctx.for_region(EDGE_GLOBAL_REGION, name).client("cloudformation"), name)
    if stack is None or stack.status not in _USABLE:
        return {}
    return stack.outputs


def default_edge_template_path() -> Path:
    return default_template_path(EDGE_TEMPLATE_FILE)


def default_edge_global_template_path() -> Path:
    return default_template_path(EDGE_GLOBAL_TEMPLATE_FILE)


def edge_template(options: DeployOptions) -> Template:
    template = Template.from_file(options.edge_template_path or default_edge_template_path())
    template.check_body_size()
    return template


def edge_params(
    ctx: Context,
    options: DeployOptions,
    template: Template,
    *,
    service_name: str,
    origin: str,
    service_certificate: str,
) -> dict[str, str]:
    """The edge stack's parameters: as given, with the service's name and mode, CloudFront's
    prefix list in this Region and the edge-global stack's ACL and certificate filled in; refused
    when they disagree with the service (``origin``: its CloudFrontOrigin once deployed)."""
    given = deploying.parse_params(options.edge_params, template, flag="--edge-param")
    given.setdefault(SERVICE_STACK_NAME, service_name)
    edge = _existing(describe(ctx.client("cloudformation"), ctx.stack_name))
    if ORIGIN_MODE not in given and (edge is None or ORIGIN_MODE not in edge.parameters):
        given[ORIGIN_MODE] = origin
    mode = _value(ORIGIN_MODE, given, edge, template)
    refuse_disagreement(service_name, origin, ctx.stack_name, mode)
    if mode == ORIGIN_PUBLIC_ALB and not _value(CLOUDFRONT_PREFIX_LIST_ID, given, edge, template):
        given[CLOUDFRONT_PREFIX_LIST_ID] = _prefix_list_id(ctx)
    needs_domain = mode in CDN_MODES and service_certificate
    if needs_domain and not _value(ORIGIN_DOMAIN_NAME, given, edge, template):
        raise Refused(
            f"the ALB of {service_name} has a certificate (port 80 redirects to HTTPS), so "
            "CloudFront must reach it over HTTPS at a name that certificate covers: "
            f"--edge-param {ORIGIN_DOMAIN_NAME}=NAME; nothing was changed"
        )
    if mode in CDN_MODES:
        outputs = global_outputs(ctx, options)
        for output, parameter in (
            (OUTPUT_WEB_ACL_ARN, WEB_ACL_ARN),
            (OUTPUT_CERTIFICATE_ARN, EDGE_CERTIFICATE_ARN),
        ):
            if outputs.get(output) and parameter not in given:
                given[parameter] = outputs[output]
    return given


def deploy_edge_global(ctx: Context, options: DeployOptions) -> dict[str, Any]:
    """The edge-global stack, in us-east-1 whatever the command's Region."""
    name = edge_global_name(ctx, options)
    global_ctx = ctx.for_region(EDGE_GLOBAL_REGION, name)
    template = Template.from_file(
        options.edge_global_template_path or default_edge_global_template_path()
    )
    template.check_body_size()
    given = deploying.parse_params(options.edge_global_params, template, flag="--edge-global-param")
    return deploying.deploy_template(global_ctx, template, given, options)


def deploy_edge(
    ctx: Context, options: DeployOptions, *, origin: str | None = None
) -> dict[str, Any]:
    """The edge stack (``ctx`` aimed at it), for the service ``ctx.stack_name`` names in
    options; ``origin`` the service's CloudFrontOrigin (None: read from the deployed service)."""
    service_name = options.service_stack_name
    cfn = ctx.client("cloudformation")
    service = describe(cfn, service_name)
    if service is None or service.status not in _USABLE:
        state = service.status if service else "missing"
        raise Refused(
            f"service stack {service_name} is {state}: the edge stack imports its load balancer; "
            "deploy it first (cars-stack deploy --only service)"
        )
    if origin is None:
        origin = service.parameters.get(CLOUDFRONT_ORIGIN, ORIGIN_NONE)
    template = edge_template(options)
    given = edge_params(
        ctx,
        options,
        template,
        service_name=service_name,
        origin=origin,
        service_certificate=service.parameters.get(CERTIFICATE_ARN, ""),
    )
    return deploying.deploy_template(ctx, template, given, options)


def check_service_change(
    ctx: Context, options: DeployOptions, template: Template, given: dict[str, str]
) -> tuple[str, str]:
    """Before any change set of a deploy that includes the service: the service's mode against
    the edge stack's (deployed, or about to be), vpc-origin's subnets, no ALB replacement under
    an edge stack that imports it. Returns the service's (current, next) CloudFrontOrigin."""
    now, then = service_origin(ctx, template, given)
    name = edge_name(ctx, options)
    edge = _existing(describe(ctx.client("cloudformation"), name))
    if then == ORIGIN_VPC:
        refuse_vpc_origin_without_private_subnets(ctx, options.network_stack_name)
    refuse_replacement_under_the_edge(ctx, now, then, edge)
    wanted = is_wanted(options)
    if wanted:
        mode = dict(p.partition("=")[::2] for p in options.edge_params).get(ORIGIN_MODE)
        if mode is None:
            mode = edge.parameters.get(ORIGIN_MODE, then) if edge else then
        refuse_disagreement(ctx.stack_name, then, name, mode)
    elif edge is not None and edge.parameters.get(ORIGIN_MODE, then) != then:
        refuse_disagreement(ctx.stack_name, then, name, edge.parameters[ORIGIN_MODE])
    elif edge is None and then in CDN_MODES and now != then:
        ctx.say(
            f"CloudFrontOrigin={then}: the API is reached through CloudFront once edge stack "
            f"{name} exists (cars-stack deploy --edge)"
        )
    if then == ORIGIN_PUBLIC_ALB and now != ORIGIN_PUBLIC_ALB and not wanted and edge is None:
        raise Refused(
            f"CloudFrontOrigin=public-alb drops the ALB's public ingress, and no edge stack "
            f"{name} admits CloudFront yet: deploy with --edge (the edge stack goes first, the "
            "service's ingress after); nothing was changed"
        )
    return now, then
