"""Custom::ImageCheck: the release's image exists in ECR, else the change set fails in seconds.

Properties ``RepositoryName`` and ``ImageTag``; attributes ``ImageDigest`` and ``ImageUri``
(``<repositoryUri>:<tag>``, where ECR's own repositoryUri carries the partition's domain).
The PhysicalResourceId is ``<repositoryUri>@<digest>``: the image's content, so an Update that
finds the same image (even under another tag) keeps it, and a moved tag replaces it.
"""

from lambdas.protocol import Failed, answer, prop

IMPORT_ERROR = None
try:
    import boto3
except Exception as error:  # reported on the first event, as crhelper does
    IMPORT_ERROR = error


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
    answer(event, context, check, IMPORT_ERROR)
