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


# --- a rollback never blocks on its own check (DescribeStacks shaped as in the API reference) ---

STACK_ID = (
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/api-cars/"
    "5b0c3a10-0000-11ef-9d4b-0a1b2c3d4e5f"
)
LIVE_ID = f"{REPOSITORY_URI}@sha256:{'ab' * 32}"


@pytest.fixture
def stack_status(aws):
    """The CloudFormation client the handler gets, answering DescribeStacks from a Stubber."""
    cloudformation = boto3.client("cloudformation")
    with Stubber(cloudformation) as stubber:

        def answer(status):
            stubber.add_response(
                "describe_stacks",
                {
                    "Stacks": [
                        {
                            "StackId": STACK_ID,
                            "StackName": "api-cars",
                            "CreationTime": datetime.datetime(
                                2026, 11, 2, 9, 30, tzinfo=datetime.UTC
                            ),
                            "LastUpdatedTime": datetime.datetime(
                                2026, 12, 1, 9, 30, tzinfo=datetime.UTC
                            ),
                            "StackStatus": status,
                            "DisableRollback": False,
                            "Tags": [],
                        }
                    ]
                },
                {"StackName": STACK_ID},
            )

        answer.stubber = stubber
        yield answer
        stubber.assert_no_pending_responses()


def rollback_event(make_event, tag):
    return make_event(
        "Update",
        image_properties(tag),
        PhysicalResourceId=LIVE_ID,
        OldResourceProperties=image_properties("v2.0.0"),
    )


def test_rollback_to_an_expired_image_succeeds_keeping_the_physical_id(
    registry, stack_status, endpoint, make_event, expected_body, context, load_handler
):
    registry.push("v2.0.0")
    stack_status("UPDATE_ROLLBACK_IN_PROGRESS")

    load_handler("image_check")(rollback_event(make_event, "v1.0.0"), context)

    assert endpoint.only_body() == expected_body(
        "SUCCESS", "", LIVE_ID, {"ImageDigest": "", "ImageUri": ""}
    )


def test_update_to_a_missing_image_outside_a_rollback_still_fails(
    registry, stack_status, endpoint, make_event, expected_body, context
):
    stack_status("UPDATE_IN_PROGRESS")

    image_check.handler(rollback_event(make_event, "v1.0.0"), context)

    assert endpoint.only_body() == expected_body(
        "FAILED", f"image api-cars:v1.0.0 is not in repository {REPOSITORY_URI}", LIVE_ID
    )


def test_a_stack_status_that_cannot_be_read_keeps_the_check_strict(
    registry, stack_status, endpoint, make_event, expected_body, context
):
    stack_status.stubber.add_client_error(
        "describe_stacks",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: cloudformation:DescribeStacks",
        http_status_code=403,
    )

    image_check.handler(rollback_event(make_event, "v1.0.0"), context)

    assert endpoint.only_body() == expected_body(
        "FAILED", f"image api-cars:v1.0.0 is not in repository {REPOSITORY_URI}", LIVE_ID
    )


def test_a_create_never_asks_for_the_stack_status(
    registry, stack_status, endpoint, make_event, expected_body, context, caplog
):
    # No DescribeStacks answer is queued: a call would fail in the Stubber and be logged.
    image_check.handler(make_event(properties=image_properties("v1.0.0")), context)

    assert endpoint.only_body() == expected_body(
        "FAILED", f"image api-cars:v1.0.0 is not in repository {REPOSITORY_URI}", FAILED_ID
    )
    assert "cannot tell whether the stack is rolling back" not in caplog.text
