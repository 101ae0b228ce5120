"""The stack as CloudFormation describes it, and which of its states allow which operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from cars_stack.errors import Refused
from template_builder.names import IMAGE_TAG, REPOSITORY_NAME

# What marks a service stack of this project (templates/api-cars.yaml), read from DescribeStacks
# alone so every role that follows a release can check it: the parameter a release sets and the
# repository it checks the image in. The registry, data and GitHub OIDC stacks do not declare both,
# and a stack without RepositoryName must not be released with the ECR check skipped.
SERVICE_STACK_PARAMETERS = (IMAGE_TAG, REPOSITORY_NAME)

# Operations CloudFormation may be running, as a person would name them.
_OPERATIONS = {
    "CREATE_IN_PROGRESS": "a create",
    "UPDATE_IN_PROGRESS": "an update",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "the clean-up after an update",
    "UPDATE_ROLLBACK_IN_PROGRESS": "the rollback of a failed update",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "the clean-up after a rolled-back update",
    "ROLLBACK_IN_PROGRESS": "the rollback of a failed create",
    "DELETE_IN_PROGRESS": "a delete",
    "IMPORT_IN_PROGRESS": "an import",
    "IMPORT_ROLLBACK_IN_PROGRESS": "the rollback of a failed import",
}
SUCCESS_STATUSES = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
)
# Stacks in these states cannot take an update until someone acts.
_STUCK = {
    "ROLLBACK_FAILED": "its failed create could not be rolled back: delete it (cars-stack destroy)",
    "DELETE_FAILED": "a delete failed: read its events, fix the cause, run cars-stack destroy",
    "UPDATE_ROLLBACK_FAILED": (
        "a rollback failed: fix the cause, then aws cloudformation continue-update-rollback"
    ),
}


def is_terminal(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


@dataclass
class Stack:
    name: str
    stack_id: str
    status: str
    status_reason: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    last_changed: datetime | None = None
    termination_protection: bool = False

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Stack:
        return cls(
            name=raw["StackName"],
            stack_id=raw["StackId"],
            status=raw["StackStatus"],
            status_reason=raw.get("StackStatusReason"),
            parameters={
                p["ParameterKey"]: p.get("ParameterValue", "") for p in raw.get("Parameters") or []
            },
            outputs={o["OutputKey"]: o.get("OutputValue", "") for o in raw.get("Outputs") or []},
            last_changed=raw.get("LastUpdatedTime") or raw.get("CreationTime"),
            termination_protection=bool(raw.get("EnableTerminationProtection")),
        )

    @property
    def is_new(self) -> bool:
        """Made by a CREATE change set never executed: another CREATE change set fits."""
        return self.status == "REVIEW_IN_PROGRESS"

    def refuse_if_busy(self) -> None:
        operation = _OPERATIONS.get(self.status)
        if operation is None and self.status.endswith("_IN_PROGRESS") and not self.is_new:
            operation = self.status.lower().replace("_", " ")
        if operation:
            since = f" since {self.last_changed:%Y-%m-%d %H:%M:%S %Z}" if self.last_changed else ""
            raise Refused(
                f"stack {self.name} is busy: {operation} is running ({self.status}{since}); "
                "wait for it to finish (cars-stack status) and try again"
            )

    def refuse_if_stuck(self) -> None:
        if self.status in _STUCK:
            raise Refused(f"stack {self.name} is {self.status}: {_STUCK[self.status]}")

    def refuse_unless_updatable(self) -> None:
        """For release, rollback and execute: the stack must exist, be idle and have resources."""
        self.refuse_if_busy()
        self.refuse_if_stuck()
        if self.status == "ROLLBACK_COMPLETE":
            raise Refused(rollback_complete_message(self.name))
        if self.is_new:
            raise Refused(f"stack {self.name} was never created: run cars-stack deploy first")

    def refuse_unless_service_stack(self) -> None:
        """Release and rollback change only an api-cars service stack, never another stack."""
        lacking = [p for p in SERVICE_STACK_PARAMETERS if p not in self.parameters]
        if lacking:
            raise Refused(
                f"stack {self.name} is not an api-cars service stack (it has no parameter "
                f"{' or '.join(lacking)}): refusing to change its image (nothing was changed)"
            )


def rollback_complete_message(name: str) -> str:
    return (
        f"stack {name} is ROLLBACK_COMPLETE: its first create failed and was rolled back, and "
        "CloudFormation cannot update it; it must be deleted and created again: "
        "cars-stack deploy --replace-failed"
    )


def is_missing_stack(error: ClientError) -> bool:
    err = error.response.get("Error", {})
    return err.get("Code") == "ValidationError" and "does not exist" in err.get("Message", "")


def describe(cfn: Any, name_or_id: str) -> Stack | None:
    """The stack, or None when CloudFormation has none by that name."""
    try:
        stacks = cfn.describe_stacks(StackName=name_or_id)["Stacks"]
    except ClientError as error:
        if is_missing_stack(error):
            return None
        raise
    return Stack.from_api(stacks[0]) if stacks else None


def require(cfn: Any, name: str, region: str) -> Stack:
    stack = describe(cfn, name)
    if stack is None:
        raise Refused(f"no stack named {name} in {region}: create it with cars-stack deploy")
    return stack


def physical_ids(cfn: Any, stack_name: str) -> dict[str, str]:
    """Logical ID -> physical ID of every resource the stack holds now."""
    ids: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId"):
                ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    return ids
