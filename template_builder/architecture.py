"""The architecture of the generated templates as a graph: what `make template` draws.

Everything comes from the template dicts (render.BUILDERS), so the picture cannot drift: each
resource by its type, its conditions decided for the default parameters (a resource whose
Condition is false is an option, drawn off), the Refs, GetAtts and Subs between resources, and
the Fn::ImportValue of another stack's export (`<stack>-<Output>`, names.EXPORT). Resources that
only serve another one (a listener, a target group, a task definition, a secret) are folded into
the resource they serve; IAM, logs, security groups and alarms are counted per stack, not drawn.
Edges point the way a request goes: client -> CDN -> WAF -> load balancer -> tasks -> data.
docs/architecture.md ("The picture") explains the choices.
"""

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from template_builder import names

# What the conditions are decided with where a template reads a pseudo parameter
# (tests/template/conftest.py resolves with the same account and Region).
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "eu-west-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": "",
}


@dataclass(frozen=True)
class Kind:
    """How a resource type is drawn: `icon` (a diagrams.aws class, "module.Class"), `rank` (its
    place along a request: lower ranks send to higher ones), `entry` (clients reach it)."""

    icon: str
    rank: int
    entry: bool = False
    control: bool = False  # acts on what it points to (scaling), no request passes through it


# Resource types drawn as nodes of their own.
KINDS: dict[str, Kind] = {
    "AWS::CloudFront::Distribution": Kind("network.CloudFront", 0, entry=True),
    "AWS::WAFv2::WebACL": Kind("security.WAF", 1),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": Kind(
        "network.ElbApplicationLoadBalancer", 2, True
    ),
    "AWS::ApiGateway::RestApi": Kind("network.APIGateway", 2, entry=True),
    "AWS::ApplicationAutoScaling::ScalableTarget": Kind(
        "compute.ApplicationAutoScaling", 3, control=True
    ),
    "AWS::ECS::Service": Kind("compute.ElasticContainerServiceService", 4),
    "AWS::Lambda::Function": Kind("compute.Lambda", 4),
    "AWS::Serverless::Function": Kind("compute.Lambda", 4),
    "AWS::S3::Bucket": Kind("storage.SimpleStorageServiceS3Bucket", 5),
    "AWS::Events::Rule": Kind("integration.EventbridgeRule", 5),
    "AWS::SQS::Queue": Kind("integration.SimpleQueueServiceSqsQueue", 5),
    "AWS::SNS::Topic": Kind("integration.SimpleNotificationServiceSnsTopic", 5),
    "AWS::RDS::DBCluster": Kind("database.Aurora", 6),
    "AWS::ElastiCache::ServerlessCache": Kind("database.ElasticacheForRedis", 6),
    "AWS::ElastiCache::ReplicationGroup": Kind("database.ElasticacheForRedis", 6),
    "AWS::DynamoDB::Table": Kind("database.Dynamodb", 6),
    "AWS::ECR::Repository": Kind("compute.EC2ContainerRegistry", 6),
    "AWS::Cognito::UserPool": Kind("security.Cognito", 6, entry=True),
    "AWS::SecretsManager::Secret": Kind("security.SecretsManager", 6),
    "AWS::CloudFormation::WaitConditionHandle": Kind("management.Cloudformation", 6),
    "AWS::Events::EventBus": Kind("integration.EventbridgeCustomEventBusResource", 5),
    "AWS::Scheduler::Schedule": Kind("integration.EventbridgeScheduler", 5),
    "AWS::StepFunctions::StateMachine": Kind("integration.StepFunctions", 4),
    "AWS::CertificateManager::Certificate": Kind("security.CertificateManager", 6),
    "AWS::KMS::Key": Kind("security.KeyManagementService", 6),
    "AWS::SSM::Parameter": Kind("management.SystemsManagerParameterStore", 6),
    "AWS::Route53::HostedZone": Kind("network.Route53", 0),
}
# Custom resources run at deploy time, by the Lambda function of their ServiceToken.
CUSTOM_KIND = Kind("management.CloudformationStack", 3)
# A type this table does not know is still drawn, so a new resource shows up.
UNKNOWN_KIND = Kind("general.General", 5)
# Types folded into the resource they serve: the host types tried, in order ("*": any node).
FOLDED: dict[str, tuple[str, ...]] = {
    "AWS::CloudFront::": ("AWS::CloudFront::Distribution",),
    "AWS::WAFv2::WebACLAssociation": ("AWS::WAFv2::WebACL",),
    "AWS::ElasticLoadBalancingV2::": ("AWS::ElasticLoadBalancingV2::LoadBalancer",),
    "AWS::ECS::": ("AWS::ECS::Service",),
    "AWS::ApplicationAutoScaling::": ("AWS::ApplicationAutoScaling::ScalableTarget",),
    "AWS::RDS::": ("AWS::RDS::DBCluster",),
    "AWS::ElastiCache::": (
        "AWS::ElastiCache::ServerlessCache",
        "AWS::ElastiCache::ReplicationGroup",
    ),
    "AWS::Cognito::": ("AWS::Cognito::UserPool",),
    "AWS::S3::BucketPolicy": ("AWS::S3::Bucket",),
    "AWS::SQS::QueuePolicy": ("AWS::SQS::Queue",),
    "AWS::Lambda::": ("AWS::Lambda::Function", "AWS::Serverless::Function"),
    "AWS::SNS::": ("AWS::SNS::Topic",),
    "AWS::Route53::RecordSet": ("*",),
    "AWS::SecretsManager::": ("*",),
}
# Types of KINDS folded all the same when a resource uses them (drawn alone otherwise).
FOLD_FIRST = {"AWS::SecretsManager::Secret"}
# Types counted per stack, never drawn (the noise of a picture): group label by type prefix.
COUNTED: dict[str, str] = {
    "AWS::IAM::": "IAM",
    "AWS::Logs::": "log groups",
    "AWS::EC2::SecurityGroup": "security groups",
    "AWS::CloudWatch::": "alarms",
    "AWS::Lambda::Permission": "Lambda permissions",
    "AWS::Lambda::Version": "Lambda versions",
}
# Properties whose reference names where events come from: they flow from it to the referrer (an
# event source mapping's queue, a SAM function's event, an EventBridge rule's pattern).
INBOUND_KEYS = ("EventSourceArn", "EventPattern", "Queue")
# Attributes that are an entry's address: whoever refers to them calls it (CloudFront's origin,
# a function calling the API through the load balancer's name).
ADDRESS_ATTRIBUTES = ("DNSName", "DomainName", "Endpoint", "Url")
# Properties that place a resource in subnets; with the VPC and security groups they draw the
# clusters a resource sits in, not edges.
SUBNET_KEYS = ("Subnets", "SubnetIds")
PLACEMENT_KEYS = (
    *SUBNET_KEYS,
    "VpcId",
    "AssignPublicIp",
    "SecurityGroups",
    "SecurityGroupIds",
    "VpcSecurityGroupIds",
)


def _match(resource_type: str, table: Mapping[str, object]):
    """The entry of `table` whose key is the type or a prefix of it (the longest wins)."""
    hits = [k for k in table if resource_type.startswith(k)]
    return table[max(hits, key=len)] if hits else None


def _folds(resource_type: str) -> bool:
    """Whether a type is folded into another resource (a type of KINDS only in FOLD_FIRST)."""
    if _match(resource_type, FOLDED) is None:
        return False
    return resource_type not in KINDS or resource_type in FOLD_FIRST


def stack_name_of(path: str) -> str:
    """A template's default stack name: api-cars for the service, api-cars-<file stem> else."""
    stem = PurePosixPath(path).stem
    if stem == names.DEFAULT_STACK_NAME:
        return stem
    return f"{names.DEFAULT_STACK_NAME}-{stem}"


# --- conditions ----------------------------------------------------------------------------------
def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Values:
    """Parameters (defaults, then overrides) and pseudo parameters of one template."""

    def __init__(self, template: dict, stack_name: str, overrides: Mapping[str, object]):
        self.template = template
        self.values: dict[str, str | list[str]] = dict(PSEUDO_PARAMETERS)
        self.values["AWS::StackName"] = stack_name
        for name, spec in template.get("Parameters", {}).items():
            value = _scalar(overrides.get(name, spec.get("Default", "")))
            # A list parameter reaches Ref as a list (Fn::Select, Fn::Join on it).
            is_list = spec.get("Type", "").startswith(("List<", "CommaDelimitedList"))
            self.values[name] = value.split(",") if is_list else value
        unknown = set(overrides) - set(template.get("Parameters", {}))
        if unknown:
            raise ValueError(f"no such parameter: {', '.join(sorted(unknown))}")
        self.conditions: dict[str, bool] = {}
        for condition in template.get("Conditions", {}):
            self.condition(condition)

    def condition(self, name: str, seen: tuple[str, ...] = ()) -> bool:
        if name not in self.conditions:
            if name in seen:
                raise ValueError(f"condition {name} refers to itself")
            expression = self.template["Conditions"][name]
            self.conditions[name] = bool(self.evaluate(expression, (*seen, name)))
        return self.conditions[name]

    def evaluate(self, node, seen: tuple[str, ...] = ()):
        """A condition expression, as CloudFormation evaluates it before it creates anything."""
        if isinstance(node, list):
            return [self.evaluate(item, seen) for item in node]
        if not isinstance(node, dict):
            return _scalar(node)
        ((function, argument),) = node.items()
        if function == "Condition":
            return self.condition(argument, seen)
        if function == "Ref":
            return self.values[argument]
        args = self.evaluate(argument, seen)
        if function == "Fn::Equals":
            return _scalar(args[0]) == _scalar(args[1])
        if function == "Fn::And":
            return all(args)
        if function == "Fn::Or":
            return any(args)
        if function == "Fn::Not":
            return not args[0]
        if function == "Fn::Select":
            return args[1][int(args[0])]
        if function == "Fn::Join":
            return args[0].join(args[1])
        if function == "Fn::Split":
            return args[1].split(args[0])
        if function == "Fn::FindInMap":
            return _scalar(self.template["Mappings"][args[0]][args[1]][args[2]])
        raise ValueError(f"condition function {function} not modelled")

    def text(self, node) -> str | None:
        """A string, Fn::Sub or Fn::Join with the parameters filled in (None when it reads more,
        such as a resource's attribute)."""
        if isinstance(node, str):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            return None
        if set(node) == {"Ref"}:
            value = self.values.get(node["Ref"])
            return value if isinstance(value, str) else None
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            wanted = _sub_names(node["Fn::Sub"])
            if not all(isinstance(self.values.get(v), str) for v in wanted):
                return None
            return re.sub(r"\$\{([^!}][^}]*)\}", lambda m: self.values[m.group(1)], node["Fn::Sub"])
        if set(node) == {"Fn::Join"}:
            separator, parts = node["Fn::Join"]
            texts = [self.text(part) for part in parts] if isinstance(parts, list) else [None]
            return None if None in texts else separator.join(texts)
        return None


def decide_conditions(
    template: dict, parameters: Mapping[str, object] | None = None, stack_name: str = ""
) -> dict[str, bool]:
    """Every condition of `template` for its default parameters (updated by `parameters`)."""
    return _Values(template, stack_name, parameters or {}).conditions


# --- references ----------------------------------------------------------------------------------
def _sub_names(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"\$\{([^!}][^}]*)\}", text)]


@dataclass(frozen=True)
class Reference:
    """One Ref/GetAtt/Sub (`kind` "resource" or "parameter", `target` the logical id or name)
    or Fn::ImportValue (`kind` "import", `target` the export name text); `active` is False
    when it sits in the branch of an Fn::If that the conditions do not take; `key` is the
    property it sits under."""

    kind: str
    target: str
    active: bool
    key: str
    attribute: str = ""  # of a GetAtt or ${Resource.Attribute}


def references(node, values: _Values, active: bool = True, key: str = "") -> Iterator[Reference]:
    """Every reference inside a resource's properties."""
    template = values.template
    resources = template.get("Resources", {})
    parameters = template.get("Parameters", {})

    def named(name: str) -> Iterator[Reference]:
        target, _, attribute = name.partition(".")
        if target in resources:
            yield Reference("resource", target, active, key, attribute)
        elif name in parameters:
            yield Reference("parameter", name, active, key)

    if isinstance(node, list):
        for item in node:
            yield from references(item, values, active, key)
    elif isinstance(node, dict):
        if set(node) == {"Ref"}:
            yield from named(node["Ref"])
        elif set(node) == {"Fn::GetAtt"}:
            attribute = node["Fn::GetAtt"]
            yield from named(".".join(attribute) if isinstance(attribute, list) else attribute)
        elif set(node) == {"Fn::Sub"}:
            argument = node["Fn::Sub"]
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            for name in _sub_names(text):
                if name not in variables:
                    yield from named(name)
            yield from references(list(variables.values()), values, active, key)
        elif set(node) == {"Fn::ImportValue"}:
            export = values.text(node["Fn::ImportValue"])
            if export is not None:
                yield Reference("import", export, active, key)
            yield from references(node["Fn::ImportValue"], values, active, key)
        elif set(node) == {"Fn::If"}:
            condition, when_true, when_false = node["Fn::If"]
            taken = values.conditions[condition]
            yield from references(when_true, values, active and taken, key)
            yield from references(when_false, values, active and not taken, key)
        else:
            for name, value in node.items():
                inner = key if name.startswith("Fn::") or not name[0].isupper() else name
                yield from references(value, values, active, inner)


# --- the graph -----------------------------------------------------------------------------------
@dataclass
class Node:
    """One drawn resource and the resources folded into it."""

    id: str
    stack: str
    logical_id: str
    resource_type: str
    kind: Kind
    off: str | None  # the condition that keeps it out of the default deploy
    folded: list[tuple[str, str | None]] = field(default_factory=list)  # (logical id, off)
    subnets: str | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    # "flow" (requests), "deploy" (custom resources at deploy time), "control" (scaling acting on
    # a service, reading the load balancer's metrics) or "off" (an option, off by default)
    style: str
    label: str = ""


@dataclass
class Stack:
    path: str
    name: str | None  # the default stack name, when an import (or the service's) tells it
    nodes: list[Node]
    counted: dict[str, int]  # group label -> how many resources
    options_off: list[str]  # conditions false for the defaults that decide a resource or property


@dataclass
class Architecture:
    stacks: list[Stack]
    edges: list[Edge]
    entries: list[tuple[str, str]]  # (node id, style) that clients reach


def node_id(path: str, logical_id: str) -> str:
    """A stable graphviz id: the stack's file stem and the logical id."""
    return re.sub(r"\W", "_", PurePosixPath(path).stem) + "__" + logical_id


def _kind(resource_type: str) -> Kind:
    if (
        resource_type.startswith("Custom::")
        or resource_type == "AWS::CloudFormation::CustomResource"
    ):
        return CUSTOM_KIND
    return KINDS.get(resource_type, UNKNOWN_KIND)


@dataclass
class _Template:
    path: str
    body: dict
    values: _Values
    refs: dict[str, list[Reference]]  # logical id -> references in its properties
    host: dict[str, str]  # logical id -> the drawn logical id it is part of
    counted: dict[str, str]  # logical id -> group label


def _fold(body: dict, refs: dict[str, list[Reference]]) -> tuple[dict[str, str], dict[str, str]]:
    """Which drawn resource each resource belongs to, and which are counted instead."""
    resources = body.get("Resources", {})
    counted = {
        logical_id: label
        for logical_id, resource in resources.items()
        if (label := _match(resource["Type"], COUNTED)) is not None
    }
    related: dict[str, set[str]] = {logical_id: set() for logical_id in resources}
    for logical_id, found in refs.items():
        for ref in found:
            if ref.kind == "resource" and ref.target != logical_id:
                related[logical_id].add(ref.target)
                related[ref.target].add(logical_id)
    host = {
        logical_id: logical_id
        for logical_id, resource in resources.items()
        if logical_id not in counted and not _folds(resource["Type"])
    }
    # Fold until nothing changes: a user folds into the cache its user group folds into.
    changed = True
    while changed:
        changed = False
        for logical_id in sorted(resources):
            if logical_id in host or logical_id in counted:
                continue
            for wanted in _match(resources[logical_id]["Type"], FOLDED):
                candidates = sorted(
                    other
                    for other in related[logical_id]
                    if other in host and (wanted == "*" or resources[host[other]]["Type"] == wanted)
                )
                if candidates:
                    host[logical_id] = host[candidates[0]]
                    changed = True
                    break
    for logical_id in resources:  # nothing to fold into: drawn on its own
        if logical_id not in host and logical_id not in counted:
            host[logical_id] = logical_id
    return host, counted


def _subnets(found: list[Reference]) -> str | None:
    for ref in found:
        if ref.key in SUBNET_KEYS and ref.active:
            return ref.target.rsplit("-", 1)[-1] if ref.kind == "import" else ref.target
    return None


@dataclass(frozen=True)
class _Export:
    template: _Template
    name: str  # as the exporter names it under its conventional stack name (stack_name_of)
    suffix: str  # what follows ${AWS::StackName} in its name ("" when it does not start so)
    refs: tuple[Reference, ...]  # in its value


def _exports(templates: list[_Template]) -> list[_Export]:
    found = []
    for t in templates:
        for output in t.body.get("Outputs", {}).values():
            if "Export" not in output:
                continue
            name = t.values.text(output["Export"]["Name"])
            pattern = output["Export"]["Name"]
            text = pattern.get("Fn::Sub") if isinstance(pattern, dict) else pattern
            own = "${AWS::StackName}"
            suffix = text[len(own) :] if isinstance(text, str) and text.startswith(own) else ""
            if name is not None:
                # An output off by default exports nothing: its importers' edges are off too.
                exported = output.get("Condition") in (None, *_true(t.values))
                refs = tuple(
                    replace(ref, active=ref.active and exported)
                    for ref in references(output["Value"], t.values)
                )
                found.append(_Export(t, name, suffix, refs))
    return found


def _exporter(exports: list[_Export], imported: str) -> tuple[_Export, str] | None:
    """The export an import names, and the exporter's stack name that the import implies: by
    the conventional stack names first, else the one stack exporting that suffix."""
    for export in exports:
        if export.name == imported:
            return export, imported[: len(imported) - len(export.suffix)]
    by_suffix = [e for e in exports if e.suffix and imported.endswith(e.suffix)]
    if len({e.template.path for e in by_suffix}) == 1:
        longest = max(by_suffix, key=lambda e: len(e.suffix))
        return longest, imported[: len(imported) - len(longest.suffix)]
    return None


def _outputs(templates: list[_Template]) -> dict[str, list[tuple[_Template, list[Reference]]]]:
    """Output name -> the templates with that output and its value's refs (for parameters that
    carry another stack's output across Regions or accounts, where no import reaches)."""
    found: dict[str, list] = {}
    for t in templates:
        for name, output in t.body.get("Outputs", {}).items():
            found.setdefault(name, []).append((t, list(references(output["Value"], t.values))))
    return found


def _named_by(templates: list[_Template]) -> dict[str, list[tuple[_Template, str, str]]]:
    """Parameter name -> (template, resource, default) whose physical name it is (a property
    ending in Name that is exactly a Ref to it): another stack's same parameter names it."""
    found: dict[str, list] = {}
    for t in templates:
        parameters = t.body.get("Parameters", {})
        for logical_id, resource in t.body.get("Resources", {}).items():
            for key, value in resource.get("Properties", {}).items():
                is_ref = isinstance(value, dict) and set(value) == {"Ref"}
                if key.endswith("Name") and is_ref and value["Ref"] in parameters:
                    found.setdefault(value["Ref"], []).append(
                        (t, logical_id, t.values.values[value["Ref"]])
                    )
    return found


# How a resource of a stack that the default deploy does not create is marked (drawn as an option).
ON_REQUEST = "stack deployed on request"


def build(
    templates: Mapping[str, dict],
    parameters: Mapping[str, Mapping[str, object]] | None = None,
    on_request: frozenset[str] = names.ON_REQUEST_TEMPLATE_FILES,
) -> Architecture:
    """The graph of `templates` (path -> template dict) for their default parameters, each
    updated by `parameters[path]`; every resource of a path in `on_request` (a stack the default
    deploy does not create) is drawn off."""
    parameters = parameters or {}
    loaded = []
    for path in sorted(templates):
        # Keys sorted as in the committed YAML: where two references disagree on a direction the
        # last one read wins, so the reading order must not depend on how the dict was built.
        body = json.loads(json.dumps(templates[path], sort_keys=True, default=str))
        values = _Values(body, stack_name_of(path), parameters.get(path, {}))
        refs = {
            logical_id: list(references(resource.get("Properties", {}), values))
            for logical_id, resource in body.get("Resources", {}).items()
        }
        host, counted = _fold(body, refs)
        loaded.append(_Template(path, body, values, refs, host, counted))

    stacks, nodes = [], {}
    for t in loaded:
        resources = t.body.get("Resources", {})
        drawn = []
        for logical_id in sorted(set(t.host.values())):
            resource = resources[logical_id]
            node = Node(
                id=node_id(t.path, logical_id),
                stack=t.path,
                logical_id=logical_id,
                resource_type=resource["Type"],
                kind=_kind(resource["Type"]),
                off=ON_REQUEST if t.path in on_request else _off(resource, t.values),
            )
            members = sorted(other for other, h in t.host.items() if h == logical_id)
            node.folded = [
                (m, None if t.path in on_request else _off(resources[m], t.values))
                for m in members
                if m != logical_id
            ]
            node.subnets = _subnets([r for m in members for r in t.refs[m]])
            nodes[node.id] = node
            drawn.append(node)
        counts: dict[str, int] = {}
        for label in t.counted.values():
            counts[label] = counts.get(label, 0) + 1
        stacks.append(Stack(t.path, None, drawn, counts, _options_off(t)))

    # (from, to) -> (any reference active, label, direction fixed by the reference); one edge per
    # pair of nodes, from the referrer to the referent until told otherwise.
    links: dict[tuple[str, str], tuple[bool, str, bool]] = {}

    def link(a: str, b: str, active: bool, label: str = "", ref: Reference | None = None) -> None:
        if a == b:
            return
        fixed = False
        if ref is not None and ref.key in INBOUND_KEYS:
            a, b, fixed = b, a, True
        elif ref is not None and ref.attribute.split(".")[0] in ADDRESS_ATTRIBUTES:
            fixed = nodes[b].kind.entry
        pair = (b, a) if (b, a) in links else (a, b)
        was_active, was_label, was_fixed = links.pop(pair, (False, "", False))
        if fixed and not was_fixed:
            pair = (a, b)
        links[pair] = (was_active or active, was_label or label, was_fixed or fixed)

    exports, outputs, named_by = _exports(loaded), _outputs(loaded), _named_by(loaded)
    # Stack names: the service's by convention, the others' as their importers name them.
    stack_names = {
        t.path: names.DEFAULT_STACK_NAME for t in loaded if t.path == names.SERVICE_TEMPLATE_FILE
    }
    for t in loaded:
        for logical_id, found in t.refs.items():
            if logical_id in t.counted:
                continue
            source = node_id(t.path, t.host[logical_id])
            for ref in found:
                match = _exporter(exports, ref.target) if ref.kind == "import" else None
                if match:
                    stack_names[match[0].template.path] = match[1]
                if ref.key in PLACEMENT_KEYS:
                    continue
                if ref.kind == "resource" and ref.target in t.host:
                    link(source, node_id(t.path, t.host[ref.target]), ref.active, ref=ref)
                elif match:
                    exporter, value_refs = match[0].template, match[0].refs
                    for value_ref in value_refs:
                        if value_ref.kind == "resource" and value_ref.target in exporter.host:
                            target = node_id(exporter.path, exporter.host[value_ref.target])
                            link(source, target, ref.active and value_ref.active, ref=value_ref)
                elif ref.kind == "parameter":
                    for other, value_refs in outputs.get(ref.target, []):
                        if other is t:
                            continue
                        for value_ref in value_refs:
                            if value_ref.kind == "resource" and value_ref.target in other.host:
                                target = node_id(other.path, other.host[value_ref.target])
                                link(source, target, ref.active, ref.target, value_ref)
                    for other, named, default in named_by.get(ref.target, []):
                        same = t.values.values[ref.target] == default
                        if other is not t and same and named not in other.counted:
                            target = node_id(other.path, other.host[named])
                            link(source, target, ref.active, ref.target)

    for stack in stacks:
        stack.name = stack_names.get(stack.path)
    edges = []
    for (a, b), (active, label, fixed) in sorted(links.items()):
        if a not in nodes or b not in nodes:
            continue
        first, second = sorted((nodes[a], nodes[b]), key=lambda n: (n.kind.rank, n.id))
        if fixed or nodes[a].kind.rank == nodes[b].kind.rank:  # else the lower rank sends
            first, second = nodes[a], nodes[b]
        if second.kind.control:
            first, second = second, first
        if not active or first.off or second.off:
            style = "off"
        elif first.kind.control:
            style = "control"
        elif CUSTOM_KIND in (first.kind, second.kind):
            style = "deploy"
        else:
            style = "flow"
        edges.append(Edge(first.id, second.id, style, label))
    edges.sort(key=lambda e: (e.source, e.target))

    # Clients reach every entry that no other entry in use sends to.
    fed = {e.target for e in edges if e.style == "flow" and nodes[e.source].kind.entry}
    entries = [
        (n.id, "off" if n.off else "flow")
        for n in sorted(nodes.values(), key=lambda n: n.id)
        if n.kind.entry and n.id not in fed
    ]
    return Architecture(stacks, edges, entries)


def _true(values: _Values) -> list[str]:
    return [name for name, value in values.conditions.items() if value]


def _off(resource: dict, values: _Values) -> str | None:
    condition = resource.get("Condition")
    return condition if condition is not None and not values.conditions[condition] else None


def _calls(node, function: str) -> Iterator:
    """The argument of every call of `function` (Fn::If, Condition, Ref) inside `node`."""
    if isinstance(node, list):
        for item in node:
            yield from _calls(item, function)
    elif isinstance(node, dict):
        for name, value in node.items():
            if name == function:
                yield value
            yield from _calls(value, function)


def _options_off(t: _Template) -> list[str]:
    """Conditions false for the defaults that decide a resource or one of its properties, except
    those that read only the Region (facts of where it runs, not options)."""
    resources = t.body.get("Resources", {})
    used = {r["Condition"] for r in resources.values() if "Condition" in r}
    used |= {call[0] for call in _calls(resources, "Fn::If")}
    return sorted(
        name
        for name in used
        if not t.values.conditions[name] and not _reads_only_region(name, t.body["Conditions"])
    )


def _reads_only_region(name: str, conditions: dict, seen: tuple[str, ...] = ()) -> bool:
    """Whether a condition reads no parameter, only AWS::Region (directly or through others)."""
    expression = conditions[name]
    refs = list(_calls(expression, "Ref"))
    nested = list(_calls(expression, "Condition"))
    if not refs and not nested:
        return False
    return all(r == "AWS::Region" for r in refs) and all(
        other not in seen and _reads_only_region(other, conditions, (*seen, name))
        for other in nested
    )
