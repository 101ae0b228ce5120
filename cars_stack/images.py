"""What AWS records about images: ECR for what exists, task-definition revisions for what ran."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from cars_stack.errors import Refused
from cars_stack.runtime import Context
from template_builder.names import CONTAINER_NAME, TASK_DEFINITION

# The task definition sets APP_VERSION to the ImageTag (the API's /version reports it).
_VERSION_VARIABLE = "APP_VERSION"


def require_image(ctx: Context, repository: str, tag: str) -> None:
    """Refuse, before any change set exists, a tag that was never pushed."""
    try:
        answer = ctx.client("ecr").describe_images(
            repositoryName=repository, imageIds=[{"imageTag": tag}]
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ImageNotFoundException":
            raise Refused(
                f"image {repository}:{tag} is not in ECR in {ctx.region}: build and push it first "
                "(nothing was changed)"
            ) from None
        if code == "RepositoryNotFoundException":
            raise Refused(
                f"ECR repository {repository} does not exist in {ctx.region} (nothing was changed)"
            ) from None
        raise
    # An answer without the image is no proof it exists (the check must not fail open).
    if not any(tag in (d.get("imageTags") or []) for d in answer.get("imageDetails") or []):
        raise Refused(
            f"ECR in {ctx.region} did not list {repository}:{tag} (DescribeImages answered no "
            "such image): nothing was changed"
        )


@dataclass(frozen=True)
class Release:
    tag: str
    revision: int
    registered_at: datetime | None
    task_definition_arn: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "image_tag": self.tag,
            "revision": self.revision,
            "registered_at": self.registered_at,
            "task_definition_arn": self.task_definition_arn,
        }


def _family_and_revision(arn: str) -> tuple[str, int]:
    family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
    return family, int(revision)


def _tag_of(task_definition: dict[str, Any]) -> str | None:
    containers = task_definition.get("containerDefinitions") or []
    container = next((c for c in containers if c.get("name") == CONTAINER_NAME), None)
    if container is None and containers:
        container = containers[0]
    if container is None:
        return None
    for variable in container.get("environment") or []:
        if variable.get("name") == _VERSION_VARIABLE:
            return variable.get("value")
    image = container.get("image", "")
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name and "@" not in name else None


def history(ctx: Context, ids: dict[str, str], *, limit: int = 20) -> list[Release]:
    """Image tags the stack's task-definition family ran, newest first, one entry per release.

    ``ids`` are the stack's physical IDs (``stack.physical_ids``). CloudFormation registers a
    revision for every change of the task definition and deregisters the old one (INACTIVE
    revisions stay readable), so the family is the release log AWS keeps.
    """
    arn = ids.get(TASK_DEFINITION)
    if not arn:
        return []
    family, _ = _family_and_revision(arn)
    ecs = ctx.client("ecs")
    arns: set[str] = set()
    for status in ("ACTIVE", "INACTIVE"):
        pages = ecs.get_paginator("list_task_definitions").paginate(
            familyPrefix=family, status=status, sort="DESC", PaginationConfig={"MaxItems": limit}
        )
        for page in pages:
            arns.update(
                a for a in page["taskDefinitionArns"] if _family_and_revision(a)[0] == family
            )
    newest = sorted(arns, key=lambda a: _family_and_revision(a)[1], reverse=True)[:limit]
    revisions: list[Release] = []
    for revision_arn in newest:
        described = ecs.describe_task_definition(taskDefinition=revision_arn)["taskDefinition"]
        tag = _tag_of(described)
        if tag:
            revisions.append(
                Release(
                    tag=tag,
                    revision=_family_and_revision(revision_arn)[1],
                    registered_at=described.get("registeredAt"),
                    task_definition_arn=revision_arn,
                )
            )
    # Keep the revision that introduced each tag: later ones with the same tag are config changes.
    releases: list[Release] = []
    for item in reversed(revisions):
        if not releases or releases[-1].tag != item.tag:
            releases.append(item)
    return list(reversed(releases))


def previous_tag(releases: list[Release], live: str | None) -> str | None:
    """The tag that was live before ``live``: the next older release of a different tag."""
    tags = [item.tag for item in releases]
    start = tags.index(live) + 1 if live in tags else 0
    return next((tag for tag in tags[start:] if tag != live), None)
