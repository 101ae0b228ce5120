"""Change sets: create, wait, list their changes, execute, delete; and the image-only guard."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from cars_stack.errors import DeploymentFailed, Refused
from cars_stack.runtime import Context
from template_builder.names import (
    IMAGE_CHECK,
    IMAGE_CHECK_TYPE,
    IMAGE_TAG,
    SERVICE,
    TASK_DEFINITION,
)

CAPABILITIES = ["CAPABILITY_IAM"]
# A template with a Transform (the import stack's AWS SAM) is a macro CloudFormation expands.
TRANSFORM_CAPABILITIES = [*CAPABILITIES, "CAPABILITY_AUTO_EXPAND"]
_TRANSFORM = re.compile(r'^(Transform:|  "Transform":)', re.MULTILINE)
# CloudFormation's two wordings for "this change set changes nothing".
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""
    physical_id: str = ""
    properties: tuple[str, ...] = ()
    # The properties whose change forces a replacement (Details: RequiresRecreation not Never).
    recreating: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Change:
        rc = raw.get("ResourceChange", {})
        names: list[str] = []
        recreating: list[str] = []
        for detail in rc.get("Details") or []:
            target = detail.get("Target", {})
            name = target.get("Name") if target.get("Attribute") == "Properties" else None
            name = name or target.get("Attribute", "")
            if name and name not in names:
                names.append(name)
            if (
                name
                and target.get("RequiresRecreation") in ("Always", "Conditionally")
                and name not in recreating
            ):
                recreating.append(name)
        return cls(
            action=rc.get("Action", ""),
            logical_id=rc.get("LogicalResourceId", ""),
            resource_type=rc.get("ResourceType", ""),
            replacement=rc.get("Replacement", ""),
            physical_id=rc.get("PhysicalResourceId", ""),
            properties=tuple(names),
            recreating=tuple(recreating),
        )

    def describe(self) -> str:
        props = f" ({', '.join(self.properties)})" if self.properties else ""
        replace = f", replacement {self.replacement}" if self.replacement else ""
        return f"{self.action} {self.logical_id} [{self.resource_type}{replace}]{props}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChangeSet:
    change_set_id: str
    name: str
    stack_name: str
    change_type: str = "UPDATE"  # CREATE for a new stack
    description: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    status: str = ""
    execution_status: str = ""
    executed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "change_set_name": self.name,
            "change_set_id": self.change_set_id,
            "stack_name": self.stack_name,
            "type": self.change_type,
            "description": self.description,
            "parameters": self.parameters,
            "changes": [c.as_dict() for c in self.changes],
        }


class NoChanges(Exception):
    """The change set was created empty: the stack already is what was asked."""


def new_name(purpose: str) -> str:
    """A change-set name CloudFormation accepts ([a-zA-Z][-a-zA-Z0-9]*), unique per second."""
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", purpose).strip("-")
    return f"cars-stack-{slug}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"[:128]


def create(
    ctx: Context,
    *,
    name: str,
    change_type: str,
    parameters: list[dict[str, Any]],
    description: str,
    template_body: str | None = None,
) -> ChangeSet:
    request: dict[str, Any] = {
        "StackName": ctx.stack_name,
        "ChangeSetName": name,
        "ChangeSetType": change_type,
        "Parameters": parameters,
        "Capabilities": TRANSFORM_CAPABILITIES
        if template_body and _TRANSFORM.search(template_body)
        else CAPABILITIES,
        "Description": description[:1024],
    }
    if template_body is None:
        request["UsePreviousTemplate"] = True
    else:
        request["TemplateBody"] = template_body
    if ctx.cfn_role_arn:
        request["RoleARN"] = ctx.cfn_role_arn
    try:
        answer = ctx.client("cloudformation").create_change_set(**request)
    except ClientError as error:
        # Some endpoints refuse an empty update outright instead of failing the change set.
        if any(
            marker in error.response.get("Error", {}).get("Message", "") for marker in _NO_CHANGES
        ):
            raise NoChanges(error.response["Error"]["Message"]) from None
        raise
    return ChangeSet(
        change_set_id=answer["Id"],
        name=name,
        stack_name=ctx.stack_name,
        change_type=change_type,
        description=description,
    )


def wait_until_created(
    ctx: Context, change_set: ChangeSet, *, timeout_seconds: float = 600
) -> None:
    """Poll until CREATE_COMPLETE; raise NoChanges for an empty one, DeploymentFailed otherwise."""
    cfn = ctx.client("cloudformation")
    deadline = ctx.now() + timeout_seconds
    while True:
        answer = cfn.describe_change_set(ChangeSetName=change_set.change_set_id)
        status = answer["Status"]
        if status == "CREATE_COMPLETE":
            return
        if status == "FAILED":
            reason = answer.get("StatusReason", "")
            if any(marker in reason for marker in _NO_CHANGES):
                raise NoChanges(reason)
            raise DeploymentFailed(
                f"change set {change_set.name} failed: {reason or 'no reason given'}"
            )
        if ctx.now() > deadline:
            raise DeploymentFailed(
                f"change set {change_set.name} still {status} after {timeout_seconds:.0f} s"
            )
        ctx.pause()


def load(ctx: Context, change_set: ChangeSet) -> ChangeSet:
    """Fill in the change set's parameters, description and every change (all pages)."""
    cfn = ctx.client("cloudformation")
    request = {"ChangeSetName": change_set.change_set_id}
    if not change_set.change_set_id.startswith("arn:"):
        request["StackName"] = change_set.stack_name
    changes: list[Change] = []
    while True:
        answer = cfn.describe_change_set(**request)
        changes.extend(Change.from_api(raw) for raw in answer.get("Changes") or [])
        token = answer.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    change_set.change_set_id = answer.get("ChangeSetId", change_set.change_set_id)
    change_set.name = answer.get("ChangeSetName", change_set.name)
    change_set.description = answer.get("Description") or ""
    change_set.parameters = {
        p["ParameterKey"]: p.get("ParameterValue", "") for p in answer.get("Parameters") or []
    }
    change_set.changes = changes
    change_set.status = answer.get("Status", "")
    change_set.execution_status = answer.get("ExecutionStatus", "")
    return change_set


def execute(ctx: Context, change_set: ChangeSet) -> None:
    ctx.client("cloudformation").execute_change_set(
        ChangeSetName=change_set.change_set_id, StackName=change_set.stack_name
    )
    change_set.executed = True


def delete(ctx: Context, change_set: ChangeSet) -> bool:
    """Delete an unexecuted change set; False (never an exception) when that fails."""
    try:
        ctx.client("cloudformation").delete_change_set(
            ChangeSetName=change_set.change_set_id, StackName=change_set.stack_name
        )
    except ClientError:
        return False
    return True


# --- the image-only guard ----------------------------------------------------------------------
# What an image change may touch: a new task-definition revision (always a replacement), the
# service moved onto it (in place), and the custom resource that checks the image in ECR. The
# LiveImageTag output follows the parameter and is not a resource change.
_ALLOWED_PROPERTIES = {
    (TASK_DEFINITION, "AWS::ECS::TaskDefinition"): {"ContainerDefinitions"},
    (SERVICE, "AWS::ECS::Service"): {"TaskDefinition"},
    (IMAGE_CHECK, IMAGE_CHECK_TYPE): {IMAGE_TAG},
}


def _allowed(change: Change) -> bool:
    if change.action != "Modify":
        return False
    allowed = _ALLOWED_PROPERTIES.get((change.logical_id, change.resource_type))
    if allowed is None:
        return False
    # Replacing the service would drop it and its tasks: only the task definition may be replaced.
    if change.resource_type == "AWS::ECS::Service" and change.replacement not in ("", "False"):
        return False
    return set(change.properties) <= allowed


def refuse_unless_image_only(change_set: ChangeSet) -> None:
    outside = [c for c in change_set.changes if not _allowed(c)]
    if outside:
        touched = "; ".join(c.describe() for c in outside)
        raise Refused(
            f"change set {change_set.name} does more than change the image, refused "
            f"(it touches: {touched})"
        )
