"""Custom::ImageCheck against moto's ECR, and a China-region answer from botocore Stubber."""

import datetime
import hashlib
import json

import boto3
import pytest
from botocore.stub import Stubber

from lambdas import image_check

REPOSITORY_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api-cars"
FAILED_ID = "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab"


class Registry:
    """Pushes image manifests to moto's ECR the way `docker push` ends: PutImage."""

    def __init__(self):
        self.ecr = boto3.client("ecr")
        self.ecr.create_repository(repositoryName="api-cars")

    def push(self, tag, build="1"):
        layer = "sha256:" + hashlib.sha256(build.encode()).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1469,
                "digest": "sha256:" + hashlib.sha256(b"config" + build.encode()).hexdigest(),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 3370628,
                    "digest": layer,
                }
            ],
        }
        image = self.ecr.put_image(
            repositoryName="api-cars", imageManifest=json.dumps(manifest), imageTag=tag
        )
        return image["image"]["imageId"]["imageDigest"]


@pytest.fixture
def registry(aws):
    return Registry()


def image_properties(tag, repository="api-cars"):
    return {"RepositoryName": repository, "ImageTag": tag}


def test_existing_image_answers_its_digest_and_uri(
    registry, endpoint, make_event, expected_body, context, load_handler
):
    digest = registry.push("v1.2.3")

    load_handler("image_check")(make_event(properties=image_properties("v1.2.3")), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS",
        "",
        f"{REPOSITORY_URI}@{digest}",
        {"ImageDigest": digest, "ImageUri": f"{REPOSITORY_URI}:v1.2.3"},
    )


def test_missing_tag_fails_naming_image_and_repository(
    registry, endpoint, make_event, expected_body, context, load_handler
):
    registry.push("v1.2.3")

    load_handler("image_check")(make_event(properties=image_properties("v9.9.9")), context)

    assert endpoint.only_body() == expected_body(
        "FAILED", f"image api-cars:v9.9.9 is not in repository {REPOSITORY_URI}", FAILED_ID
    )


def test_missing_repository_fails_naming_it(endpoint, make_event, expected_body, context, aws):
    image_check.handler(make_event(properties=image_properties("v1.2.3", "api-bikes")), context)

    assert endpoint.only_body() == expected_body(
        "FAILED",
        "repository api-bikes does not exist: An error occurred (RepositoryNotFoundException) "
        "when calling the DescribeRepositories operation: The repository with name 'api-bikes' "
        "does not exist in the registry with id '123456789012'",
        FAILED_ID,
    )


def test_update_to_another_tag_of_the_same_image_keeps_the_physical_id(
    registry, endpoint, make_event, context
):
    digest = registry.push("v1.2.3")
    registry.push("stable")  # the same manifest: ECR gives it a second tag
    old_id = f"{REPOSITORY_URI}@{digest}"
    event = make_event("Update", image_properties("stable"), PhysicalResourceId=old_id)

    image_check.handler(event, context)

    body = endpoint.only_body()
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", old_id)
    assert body["Data"]["ImageUri"] == f"{REPOSITORY_URI}:stable"


def test_update_to_a_new_image_replaces_the_physical_id(registry, endpoint, make_event, context):
    old_digest = registry.push("v1.2.3", build="1")
    new_digest = registry.push("v1.3.0", build="2")
    event = make_event(
        "Update", image_properties("v1.3.0"), PhysicalResourceId=f"{REPOSITORY_URI}@{old_digest}"
    )

    image_check.handler(event, context)

    body = endpoint.only_body()
    assert new_digest != old_digest
    assert body["PhysicalResourceId"] == f"{REPOSITORY_URI}@{new_digest}"


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"ImageTag": "v1.2.3"}, "property RepositoryName must be a non-empty str, got None"),
        (image_properties(""), "property ImageTag must be a non-empty str, got ''"),
        (image_properties(123), "property ImageTag must be a non-empty str, got 123"),
    ],
)
def test_missing_or_wrongly_typed_properties_fail(
    properties, reason, endpoint, make_event, expected_body, context, monkeypatch
):
    monkeypatch.setattr(boto3, "client", lambda *a, **k: pytest.fail("called AWS"))

    image_check.handler(make_event(properties=properties), context)

    assert endpoint.only_body() == expected_body("FAILED", reason, FAILED_ID)


def test_china_region_uri_carries_the_partition_domain(
    aws, endpoint, make_event, expected_body, context, load_handler, monkeypatch
):
    # moto spells every repositoryUri with amazonaws.com; ECR in China answers like this.
    ecr = boto3.client("ecr", region_name="cn-north-1")
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: ecr)
    account = "123456789012"
    uri = f"{account}.dkr.ecr.cn-north-1.amazonaws.com.cn/api-cars"
    digest = "sha256:" + hashlib.sha256(b"manifest").hexdigest()
    pushed_at = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)
    with Stubber(ecr) as stubber:
        stubber.add_response(
            "describe_repositories",
            {
                "repositories": [
                    {
                        "repositoryArn": f"arn:aws-cn:ecr:cn-north-1:{account}:repository/api-cars",
                        "registryId": "123456789012",
                        "repositoryName": "api-cars",
                        "repositoryUri": uri,
                        "createdAt": pushed_at,
                        "imageTagMutability": "IMMUTABLE",
                        "imageScanningConfiguration": {"scanOnPush": True},
                        "encryptionConfiguration": {"encryptionType": "AES256"},
                    }
                ]
            },
            {"repositoryNames": ["api-cars"]},
        )
        stubber.add_response(
            "describe_images",
            {
                "imageDetails": [
                    {
                        "registryId": "123456789012",
                        "repositoryName": "api-cars",
                        "imageDigest": digest,
                        "imageTags": ["v1.2.3"],
                        "imageSizeInBytes": 52428800,
                        "imagePushedAt": pushed_at,
                        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                        "artifactMediaType": "application/vnd.oci.image.config.v1+json",
                    }
                ]
            },
            {
                "repositoryName": "api-cars",
                "registryId": "123456789012",
                "imageIds": [{"imageTag": "v1.2.3"}],
            },
        )

        load_handler("image_check")(make_event(properties=image_properties("v1.2.3")), context)

        stubber.assert_no_pending_responses()
    assert endpoint.only_body() == expected_body(
        "SUCCESS",
        "",
        f"{uri}@{digest}",
        {"ImageDigest": digest, "ImageUri": f"{uri}:v1.2.3"},
    )
