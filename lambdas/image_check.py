"""Custom::ImageCheck: the release's image exists in ECR, else the change set fails in seconds.

Properties ``RepositoryName`` and ``ImageTag``; attributes ``ImageDigest`` and ``ImageUri``
(``<repositoryUri>:<tag>``, where ECR's own repositoryUri carries the partition's domain).
The PhysicalResourceId is ``<repositoryUri>@<digest>``: the image's content, so an Update that
finds the same image (even under another tag) keeps it, and a moved tag replaces it.

While CloudFormation rolls the stack back, the check never blocks it: the previous tag's image may
have expired since it was deployed, and a FAILED answer then would leave the stack in
UPDATE_ROLLBACK_FAILED. The check asks for the stack's status only when it fails, and stays strict
when it cannot tell.
"""

import logging

from lambdas.protocol import Failed, answer, prop

IMPORT_ERROR = None
try:
    import boto3
except Exception as error:  # reported on the first event, as crhelper does
    IMPORT_ERROR = error


def rolling_back(event, /):
    """True while the stack that sent ``event`` is in UPDATE_ROLLBACK_IN_PROGRESS."""
    if event.get("RequestType") != "Update":
        return False
    try:
        cloudformation = boto3.client("cloudformation")
        (stack,) = cloudformation.describe_stacks(StackName=event["StackId"])["Stacks"]
    except Exception:
        logging.exception("cannot tell whether the stack is rolling back")
        return False
    return stack["StackStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS"


def check_unless_rolling_back(event, /):
    def check_or_pass(properties, /):
        try:
            return check(properties)
        except Exception as error:
            if not rolling_back(event):
                raise
            logging.warning("rolling back, so not blocking on: %s", error)
            return event["PhysicalResourceId"], {"ImageDigest": "", "ImageUri": ""}

    return check_or_pass


def check(properties, /):
    name = prop(properties, "RepositoryName", str)
    tag = prop(properties, "ImageTag", str)
    ecr = boto3.client("ecr")
    try:
        repository = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException as error:
        raise Failed(f"repository {name} does not exist: {error}") from None
    uri = repository["repositoryUri"]
    try:
        image = ecr.describe_images(
            repositoryName=name,
            registryId=repository["registryId"],
            imageIds=[{"imageTag": tag}],
        )["imageDetails"][0]
    except ecr.exceptions.ImageNotFoundException:
        raise Failed(f"image {name}:{tag} is not in repository {uri}") from None
    digest = image["imageDigest"]
    return f"{uri}@{digest}", {"ImageDigest": digest, "ImageUri": f"{uri}:{tag}"}


def handler(event, context):
    answer(event, context, check_unless_rolling_back(event), IMPORT_ERROR)
