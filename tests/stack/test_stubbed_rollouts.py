"""What moto cannot produce, answered by botocore's Stubber in the shapes of the CloudFormation API
reference: the listed changes of an image-only change set, a rollout's events, a release rolled
back by the ECS circuit breaker, a timeout, a change set that touches too much, a failed create.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

import pytest
from botocore.stub import ANY

from template_builder.names import (
    AUTH_DISABLED,
    DATA_STACK_NAME,
    IDENTITY_STACK_NAME,
    IMAGE_TAG,
    LOAD_BALANCER_DELETION_PROTECTION,
    NETWORK_STACK_NAME,
    REPOSITORY_NAME,
)
from tests.stack.answers import NETWORK_AND_REGISTRY, list_exports_answer, no_such_stack
from tests.stack.demo import DEMO_SERVICE

STACK = "api-cars"
ARN_PREFIX = "arn:aws:cloudformation:eu-west-1:123456789012"
STACK_ID = f"{ARN_PREFIX}:stack/{STACK}/1c2fa620-982a-11e3-aff7-50e2416294e0"
CHANGE_SET_ID = (
    f"{ARN_PREFIX}:changeSet/"
    "cars-stack-release-v1-3-0-20261128-120000/1a2345b6-0000-00a0-a123-00abc0abc000"
)
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
_ids = count(1)


# --- answers shaped like the API reference --------------------------------------------------
def stack(
    status: str,
    *,
    tag: str = "v1.2.0",
    url: str = "http://api-cars-123.eu-west-1.elb.amazonaws.com",
    reason: str | None = None,
) -> dict[str, Any]:
    described: dict[str, Any] = {
        "StackId": STACK_ID,
        "StackName": STACK,
        "CreationTime": T0 - timedelta(days=3),
        "LastUpdatedTime": T0,
        "StackStatus": status,
        "Parameters": [
            {"ParameterKey": IMAGE_TAG, "ParameterValue": tag},
            {"ParameterKey": REPOSITORY_NAME, "ParameterValue": "api-cars"},
            {"ParameterKey": "DesiredCount", "ParameterValue": "2"},
        ],
        "Outputs": [{"OutputKey": "ServiceUrl", "OutputValue": url}],
        "Capabilities": ["CAPABILITY_IAM"],
    }
    if reason:
        described["StackStatusReason"] = reason
    return {"Stacks": [described]}


def event(
    logical_id: str, resource_type: str, status: str, reason: str | None = None
) -> dict[str, Any]:
    n = next(_ids)
    answer = {
        "StackId": STACK_ID,
        "EventId": f"{logical_id}-{status}-{n}",
        "StackName": STACK,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": STACK_ID if logical_id == STACK else f"{logical_id.lower()}-{n}",
        "ResourceType": resource_type,
        "Timestamp": T0 + timedelta(seconds=n),
        "ResourceStatus": status,
    }
    if reason:
        answer["ResourceStatusReason"] = reason
    return answer


STACK_TYPE = "AWS::CloudFormation::Stack"
LOAD_BALANCER_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
MARKER = event(STACK, STACK_TYPE, "UPDATE_COMPLETE")  # the end of the previous operation


def change(
    logical_id: str,
    resource_type: str,
    *,
    action: str = "Modify",
    replacement: str = "False",
    properties: tuple[str, ...] = (),
    physical: str | None = None,
) -> dict[str, Any]:
    resource_change: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Scope": ["Properties"] if properties else [],
        "Details": [
            {
                "Target": {
                    "Attribute": "Properties",
                    "Name": name,
                    "RequiresRecreation": "Always" if replacement == "True" else "Never",
                },
                "Evaluation": "Static",
                "ChangeSource": "DirectModification",
            }
            for name in properties
        ],
    }
    if action != "Add":
        resource_change["PhysicalResourceId"] = physical or f"{logical_id.lower()}-physical"
        resource_change["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": resource_change}


IMAGE_ONLY_CHANGES = [
    change("ImageCheck", "Custom::ImageCheck", properties=("ImageTag",)),
    change(
        "TaskDefinition",
        "AWS::ECS::TaskDefinition",
        replacement="True",
        properties=("ContainerDefinitions",),
    ),
    change("Service", "AWS::ECS::Service", properties=("TaskDefinition",)),
]


def change_set(
    changes: list[dict[str, Any]],
    *,
    version: str = "v1.3.0",
    live: str = "v1.2.0",
    status: str = "CREATE_COMPLETE",
    execution: str = "AVAILABLE",
) -> dict[str, Any]:
    return {
        "ChangeSetName": CHANGE_SET_ID.split("/")[1],
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "StackName": STACK,
        "Description": f"cars-stack release {version}: image change only (live: {live})",
        "Parameters": [
            {"ParameterKey": IMAGE_TAG, "ParameterValue": version},
            {"ParameterKey": REPOSITORY_NAME, "ParameterValue": "api-cars"},
            {"ParameterKey": "DesiredCount", "ParameterValue": "2"},
        ],
        "CreationTime": T0,
        "ExecutionStatus": execution,
        "Status": status,
        "Capabilities": ["CAPABILITY_IAM"],
        "Changes": changes,
    }


ROLLOUT = [
    event(STACK, STACK_TYPE, "UPDATE_IN_PROGRESS", "User Initiated"),
    event("ImageCheck", "Custom::ImageCheck", "UPDATE_IN_PROGRESS"),
    event("ImageCheck", "Custom::ImageCheck", "UPDATE_COMPLETE"),
    event(
        "TaskDefinition",
        "AWS::ECS::TaskDefinition",
        "UPDATE_IN_PROGRESS",
        "Requested update requires the creation of a new physical resource; hence creating one.",
    ),
    event(
        "TaskDefinition",
        "AWS::ECS::TaskDefinition",
        "UPDATE_IN_PROGRESS",
        "Resource creation Initiated",
    ),
    event("TaskDefinition", "AWS::ECS::TaskDefinition", "UPDATE_COMPLETE"),
    event("Service", "AWS::ECS::Service", "UPDATE_IN_PROGRESS"),
]
ROLLOUT_END = [
    event("Service", "AWS::ECS::Service", "UPDATE_COMPLETE"),
    event(STACK, STACK_TYPE, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
    event("TaskDefinition", "AWS::ECS::TaskDefinition", "DELETE_IN_PROGRESS"),
    event("TaskDefinition", "AWS::ECS::TaskDefinition", "DELETE_COMPLETE"),
    event(STACK, STACK_TYPE, "UPDATE_COMPLETE"),
]
CIRCUIT_BREAKER = "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'."
ROLLED_BACK = [
    event("Service", "AWS::ECS::Service", "UPDATE_FAILED", CIRCUIT_BREAKER),
    event(
        STACK,
        STACK_TYPE,
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "The following resource(s) failed to update: [Service].",
    ),
    event("Service", "AWS::ECS::Service", "UPDATE_IN_PROGRESS"),
    event("Service", "AWS::ECS::Service", "UPDATE_COMPLETE"),
    event(STACK, STACK_TYPE, "UPDATE_ROLLBACK_COMPLETE"),
]


# --- what ECS and CloudWatch Logs answer about a failed rollout (their API references' shapes) -
ECS_PREFIX = "arn:aws:ecs:eu-west-1:123456789012"
CLUSTER_ARN = f"{ECS_PREFIX}:cluster/api-cars-cluster"
SERVICE_ARN = f"{ECS_PREFIX}:service/api-cars-cluster/api"
OLD_DEFINITION = f"{ECS_PREFIX}:task-definition/api-cars-api:7"
NEW_DEFINITION = f"{ECS_PREFIX}:task-definition/api-cars-api:8"
TASK_ID = "0f9e8d7c6b5a49382716a5b4c3d2e1f0"
TASK_ARN = f"{ECS_PREFIX}:task/api-cars-cluster/{TASK_ID}"
OLD_TASK_ARN = f"{ECS_PREFIX}:task/api-cars-cluster/11112222333344445555666677778888"
STREAM = f"api/api-cars-container/{TASK_ID}"
CRASH_LOG = [
    "Starting api-cars v1.3.0",
    "api.config: DATABASE_URL: not a PostgreSQL URL: 'postgres//db'",
    "Traceback (most recent call last):",
    "SystemExit: 78",
]


def ecs_service() -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceArn": SERVICE_ARN,
                "serviceName": "api",
                "clusterArn": CLUSTER_ARN,
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": 2,
                "pendingCount": 0,
                "launchType": "FARGATE",
                "taskDefinition": OLD_DEFINITION,
                "deployments": [
                    {
                        "id": "ecs-svc/2222222222222222222",
                        "status": "PRIMARY",
                        "taskDefinition": NEW_DEFINITION,
                        "desiredCount": 2,
                        "runningCount": 0,
                        "failedTasks": 3,
                        "rolloutState": "FAILED",
                        "rolloutStateReason": (
                            "ECS deployment circuit breaker: tasks failed to start."
                        ),
                        "createdAt": T0,
                    },
                    {
                        "id": "ecs-svc/1111111111111111111",
                        "status": "ACTIVE",
                        "taskDefinition": OLD_DEFINITION,
                        "desiredCount": 2,
                        "runningCount": 2,
                        "rolloutState": "COMPLETED",
                        "createdAt": T0 - timedelta(days=3),
                    },
                ],
                "events": [
                    {
                        "id": "e3",
                        "createdAt": T0 + timedelta(seconds=90),
                        "message": "(service api) deployment ecs-svc/2222222222222222222 "
                        "deployment failed: tasks failed to start.",
                    },
                    {
                        "id": "e2",
                        "createdAt": T0 + timedelta(seconds=60),
                        "message": f"(service api) has started 1 tasks: (task {TASK_ID}).",
                    },
                ],
            }
        ],
        "failures": [],
    }


def stopped_task(arn: str, definition: str, *, exit_code: int, stopped: datetime) -> dict:
    return {
        "taskArn": arn,
        "clusterArn": CLUSTER_ARN,
        "taskDefinitionArn": definition,
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "launchType": "FARGATE",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "stoppedAt": stopped,
        "containers": [
            {
                "containerArn": f"{ECS_PREFIX}:container/api-cars-cluster/{arn[-8:]}",
                "taskArn": arn,
                "name": "api-cars-container",
                "lastStatus": "STOPPED",
                "exitCode": exit_code,
            }
        ],
    }


def expect_diagnosis(stubbed, *, log_lines: list[str] = CRASH_LOG) -> None:
    """The reads of a failed rollout, in order, with the requests they must be."""
    cluster = "api-cars-cluster"
    stubbed.ecs_stub.add_response(
        "describe_services", ecs_service(), {"cluster": cluster, "services": ["api"]}
    )
    stubbed.ecs_stub.add_response(
        "list_tasks",
        {"taskArns": [OLD_TASK_ARN, TASK_ARN]},
        {"cluster": cluster, "serviceName": "api", "desiredStatus": "STOPPED"},
    )
    stubbed.ecs_stub.add_response(
        "describe_tasks",
        {
            "tasks": [
                stopped_task(OLD_TASK_ARN, OLD_DEFINITION, exit_code=0, stopped=T0),
                stopped_task(
                    TASK_ARN, NEW_DEFINITION, exit_code=78, stopped=T0 + timedelta(seconds=80)
                ),
            ],
            "failures": [],
        },
        {"cluster": cluster, "tasks": [OLD_TASK_ARN, TASK_ARN]},
    )
    stubbed.ecs_stub.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": NEW_DEFINITION,
                "family": "api-cars-api",
                "revision": 8,
                "containerDefinitions": [
                    {
                        "name": "api-cars-container",
                        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api-cars:v1.3.0",
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": "/ecs/api-cars",
                                "awslogs-region": "eu-west-1",
                                "awslogs-stream-prefix": "api",
                            },
                        },
                    }
                ],
            }
        },
        {"taskDefinition": NEW_DEFINITION},
    )
    millis = int(T0.timestamp() * 1000)
    stubbed.logs_stub.add_response(
        "get_log_events",
        {
            "events": [
                {"timestamp": millis + i, "message": line, "ingestionTime": millis + i + 5}
                for i, line in enumerate(log_lines)
            ],
            "nextForwardToken": "f/39000000000000000000000000000000000000000000000000000000",
            "nextBackwardToken": "b/39000000000000000000000000000000000000000000000000000000",
        },
        {
            "logGroupName": "/ecs/api-cars",
            "logStreamName": STREAM,
            "limit": 20,
            "startFromHead": False,
        },
    )


# --- scripting a conversation ---------------------------------------------------------------
def expect_release_up_to_review(
    stubbed, changes: list[dict[str, Any]], *, live: str = "v1.2.0", role: str | None = None
) -> None:
    stubbed.cfn_stub.add_response(
        "describe_stacks", stack("UPDATE_COMPLETE", tag=live), {"StackName": STACK}
    )
    stubbed.ecr_stub.add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "repositoryName": "api-cars",
                    "imageTags": ["v1.3.0"],
                    "imageDigest": "sha256:" + "a" * 64,
                }
            ]
        },
        {"repositoryName": "api-cars", "imageIds": [{"imageTag": "v1.3.0"}]},
    )
    stubbed.cfn_stub.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": STACK_ID},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "UPDATE",
            "UsePreviousTemplate": True,
            "Parameters": [
                {"ParameterKey": IMAGE_TAG, "ParameterValue": "v1.3.0"},
                {"ParameterKey": REPOSITORY_NAME, "UsePreviousValue": True},
                {"ParameterKey": "DesiredCount", "UsePreviousValue": True},
            ],
            "Capabilities": ["CAPABILITY_IAM"],
            "Description": ANY,
            **({"RoleARN": role} if role else {}),
        },
    )
    stubbed.cfn_stub.add_response("describe_change_set", change_set(changes, live=live))
    stubbed.cfn_stub.add_response("describe_change_set", change_set(changes, live=live))


def expect_execution(
    stubbed, batches: list[tuple[list[dict[str, Any]], str]], *, cancel_after: int | None = None
) -> None:
    """Execution, then one poll per batch: the events so far (newest first) and the stack status."""
    stubbed.cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    stubbed.cfn_stub.add_response("describe_stack_events", {"StackEvents": [MARKER]})
    stubbed.cfn_stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    seen: list[dict[str, Any]] = []
    for index, (events, status) in enumerate(batches):
        seen = events[::-1] + seen
        stubbed.cfn_stub.add_response("describe_stacks", stack(status), {"StackName": STACK_ID})
        stubbed.cfn_stub.add_response(
            "describe_stack_events", {"StackEvents": [*seen, MARKER]}, {"StackName": STACK_ID}
        )
        if cancel_after == index:
            stubbed.cfn_stub.add_response("cancel_update_stack", {}, {"StackName": STACK_ID})


@pytest.fixture
def version_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP endpoint standing in for the load balancer: answers /version from a script."""
    answers: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            version = answers.pop(0) if len(answers) > 1 else answers[0]
            body = json.dumps({"version": version, "git_sha": "abc1234"}).encode()
            self.send_response(200 if self.path == "/version" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answers
    server.shutdown()
    thread.join()


def release(cli, stubbed, real_template_path, *extra: str, **kwargs: Any):
    return cli(
        "release",
        "v1.3.0",
        "--template-file",
        str(real_template_path),
        *extra,
        clients=stubbed.clients,
        **kwargs,
    )


# --- the tests ------------------------------------------------------------------------------
def test_an_image_only_release_is_reviewed_executed_and_followed_to_the_end(
    cli, stubbed, real_template_path
) -> None:
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    expect_execution(stubbed, [(ROLLOUT, "UPDATE_IN_PROGRESS"), (ROLLOUT_END, "UPDATE_COMPLETE")])
    stubbed.cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", tag="v1.3.0"))
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 0, result.err
    review = result.out.split("Executing")[0]
    assert "Modify  TaskDefinition  AWS::ECS::TaskDefinition  True" in review
    assert "Modify  Service         AWS::ECS::Service         False        TaskDefinition" in review
    assert "Service (AWS::ECS::Service)" in result.out  # the rollout's events, live
    assert "Stack api-cars: UPDATE_COMPLETE" in result.out
    stubbed.done()


def test_a_release_asks_before_executing(cli, stubbed, real_template_path) -> None:
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    stubbed.cfn_stub.add_response(
        "delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    result = release(cli, stubbed, real_template_path, answers=("n",))
    assert result.code == 130
    assert result.asked and "execute change set" in result.asked[0]
    assert "deleted; nothing was executed" in result.err
    stubbed.done()


def test_a_release_rolled_back_by_the_circuit_breaker_fails_with_the_first_reason(
    cli, stubbed, real_template_path
) -> None:
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    expect_execution(
        stubbed, [(ROLLOUT, "UPDATE_IN_PROGRESS"), (ROLLED_BACK, "UPDATE_ROLLBACK_COMPLETE")]
    )
    expect_diagnosis(stubbed)
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"cars-stack release: stack api-cars ended UPDATE_ROLLBACK_COMPLETE; "
        f"first failure: Service UPDATE_FAILED: {CIRCUIT_BREAKER}"
    )
    stubbed.done()


def test_a_change_set_touching_the_load_balancer_is_refused_and_deleted(
    cli, stubbed, real_template_path
) -> None:
    touches_more = [
        *IMAGE_ONLY_CHANGES,
        change(
            "LoadBalancer",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            replacement="True",
            properties=("Scheme",),
        ),
    ]
    expect_release_up_to_review(stubbed, touches_more)
    stubbed.cfn_stub.add_response(
        "delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 2
    first = result.err.splitlines()[0]
    assert "does more than change the image, refused" in first
    assert (
        "Modify LoadBalancer [AWS::ElasticLoadBalancingV2::LoadBalancer, replacement True] (Scheme)"
        in first
    )
    assert "TaskDefinition [" not in first
    assert "deleted; nothing was executed" in result.err
    stubbed.done()


def test_a_release_that_would_replace_the_service_is_refused(
    cli, stubbed, real_template_path
) -> None:
    replaces_service = [
        IMAGE_ONLY_CHANGES[1],
        change(
            "Service",
            "AWS::ECS::Service",
            replacement="True",
            properties=("TaskDefinition", "LaunchType"),
        ),
    ]
    expect_release_up_to_review(stubbed, replaces_service)
    stubbed.cfn_stub.add_response(
        "delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 2
    assert (
        "Modify Service [AWS::ECS::Service, replacement True] (TaskDefinition, LaunchType)"
        in result.err
    )
    stubbed.done()


def test_past_the_timeout_the_update_is_cancelled_and_its_rollback_followed(
    cli, stubbed, real_template_path
) -> None:
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    cancelled = [
        event(STACK, STACK_TYPE, "UPDATE_ROLLBACK_IN_PROGRESS", "Stack update cancelled"),
        event("Service", "AWS::ECS::Service", "UPDATE_FAILED", "Resource update cancelled"),
    ]
    done = [event(STACK, STACK_TYPE, "UPDATE_ROLLBACK_COMPLETE")]
    expect_execution(
        stubbed,
        [
            (ROLLOUT, "UPDATE_IN_PROGRESS"),
            (cancelled, "UPDATE_ROLLBACK_IN_PROGRESS"),
            (done, "UPDATE_ROLLBACK_COMPLETE"),
        ],
        cancel_after=0,
    )
    expect_diagnosis(stubbed)  # the service's cancelled update is a failure of the service
    minutes = iter([0, 0, 31, 32, 33])  # change set ready at once, then the clock jumps past 30 min
    result = release(cli, stubbed, real_template_path, "--yes", now=lambda: next(minutes) * 60.0)
    assert result.code == 1
    assert "Timed out after 30 min: cancelling the update" in result.out
    assert "timed out after 30 min: update cancelled, stack UPDATE_ROLLBACK_COMPLETE" in result.err
    stubbed.done()


def test_ctrl_c_while_following_leaves_the_update_running_and_says_how_to_follow_or_cancel(
    cli, stubbed, real_template_path
) -> None:
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    expect_execution(stubbed, [(ROLLOUT, "UPDATE_IN_PROGRESS")])

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    result = release(cli, stubbed, real_template_path, "--yes", sleep=interrupt)
    assert result.code == 130
    assert "stopped following" in result.err
    assert "the stack operation goes on in CloudFormation" in result.err
    assert (
        "aws cloudformation describe-stack-events --stack-name api-cars --region eu-west-1"
        in result.err
    )
    assert (
        "aws cloudformation cancel-update-stack --stack-name api-cars --region eu-west-1"
        in result.err
    )
    stubbed.done()


def test_verify_polls_version_until_the_released_tag_answers(
    cli, stubbed, real_template_path, version_server
) -> None:
    url, answers = version_server
    answers.extend(["v1.2.0", "v1.2.0", "v1.3.0"])
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    expect_execution(stubbed, [([*ROLLOUT, *ROLLOUT_END], "UPDATE_COMPLETE")])
    stubbed.cfn_stub.add_response(
        "describe_stacks", stack("UPDATE_COMPLETE", tag="v1.3.0", url=url)
    )
    result = release(cli, stubbed, real_template_path, "--yes", "--verify", "--output", "json")
    assert result.code == 0, result.err
    assert result.json()["verified"] is True
    assert (
        f"Verified: {url}/version reports v1.3.0" in result.err
    )  # progress goes to stderr in JSON mode
    assert answers == ["v1.3.0"]
    stubbed.done()


def test_verify_fails_when_the_old_version_keeps_answering(
    cli, stubbed, real_template_path, version_server
) -> None:
    url, answers = version_server
    answers.append("v1.2.0")
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    expect_execution(stubbed, [([*ROLLOUT, *ROLLOUT_END], "UPDATE_COMPLETE")])
    stubbed.cfn_stub.add_response(
        "describe_stacks", stack("UPDATE_COMPLETE", tag="v1.3.0", url=url)
    )
    seconds = count(0, 100)
    result = release(
        cli,
        stubbed,
        real_template_path,
        "--yes",
        "--verify",
        "--verify-timeout",
        "250",
        now=lambda: float(next(seconds)),
    )
    assert result.code == 1
    assert result.err.startswith(
        f"cars-stack release: {url}/version reports 'v1.2.0' after 250 s, not v1.3.0"
    )
    stubbed.done()


def test_a_release_refuses_a_stack_whose_update_is_in_progress(
    cli, stubbed, real_template_path
) -> None:
    stubbed.cfn_stub.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"))
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 2
    assert result.err.startswith(
        "cars-stack release: stack api-cars is busy: an update is running "
        "(UPDATE_IN_PROGRESS since 2026-11-28 12:00:00 UTC)"
    )
    stubbed.done()


def test_a_release_refuses_a_stack_left_rollback_complete_by_its_first_create(
    cli, stubbed, real_template_path
) -> None:
    stubbed.cfn_stub.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"))
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 2
    assert "it must be deleted and created again: cars-stack deploy --replace-failed" in result.err
    stubbed.done()


def test_deploy_explains_rollback_complete_and_offers_replace_failed(
    cli, stubbed, real_template_path
) -> None:
    stubbed.cfn_stub.add_response(
        "describe_stacks",
        stack(
            "ROLLBACK_COMPLETE", reason="The following resource(s) failed to create: [VpcLookup]."
        ),
    )
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(real_template_path),
        "--image-tag",
        "v1.3.0",
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 2
    assert result.err == (
        "cars-stack deploy: stack api-cars is ROLLBACK_COMPLETE: its first create failed and was "
        "rolled back, and CloudFormation cannot update it; it must be deleted and created again: "
        "cars-stack deploy --replace-failed\n"
    )
    stubbed.done()


def test_execute_refuses_a_release_change_set_that_touches_more_and_leaves_it_alone(
    cli, stubbed
) -> None:
    touches_more = [
        *IMAGE_ONLY_CHANGES,
        change(
            "HttpListener", "AWS::ElasticLoadBalancingV2::Listener", properties=("DefaultActions",)
        ),
    ]
    stubbed.cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    stubbed.cfn_stub.add_response("describe_change_set", change_set(touches_more))
    result = cli(
        "execute",
        "cars-stack-release-v1-3-0-20261128-120000",
        "--expect-version",
        "v1.3.0",
        "--verify",
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 2
    assert (
        "Modify HttpListener [AWS::ElasticLoadBalancingV2::Listener, replacement False] "
        "(DefaultActions)" in result.err
    )
    assert "left as it was" in result.err
    stubbed.done()  # and no DeleteChangeSet: it was not this run's to delete


def test_execute_refuses_a_change_set_already_executed(cli, stubbed) -> None:
    stubbed.cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    stubbed.cfn_stub.add_response(
        "describe_change_set", change_set(IMAGE_ONLY_CHANGES, execution="EXECUTE_COMPLETE")
    )
    result = cli(
        "execute", "cars-stack-release-v1-3-0-20261128-120000", "--yes", clients=stubbed.clients
    )
    assert result.code == 2
    assert (
        "cannot be executed: status CREATE_COMPLETE, execution status EXECUTE_COMPLETE"
        in result.err
    )
    stubbed.done()


def test_rejected_credentials_are_one_line(cli, stubbed) -> None:
    stubbed.cfn_stub.add_client_error(
        "describe_stacks",
        service_error_code="ExpiredToken",
        service_message="The security token included in the request is expired",
        http_status_code=403,
    )
    result = cli("status", clients=stubbed.clients)
    assert result.code == 2
    assert result.err == (
        "cars-stack status: AWS rejected the credentials (ExpiredToken): "
        "The security token included in the request is expired\n"
    )


def test_the_cloudformation_service_role_is_passed_on_the_change_set(
    cli, stubbed, real_template_path
) -> None:
    role = "arn:aws:iam::123456789012:role/api-cars-github-CloudFormationRole"
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES, role=role)
    result = release(
        cli, stubbed, real_template_path, "--no-execute", "--cfn-role-arn", role, "--output", "json"
    )
    assert result.code == 0, result.err
    assert result.json()["executed"] is False
    stubbed.done()


def _exports_of_the_network_and_registry(stubbed) -> None:
    stubbed.cfn_stub.add_response("list_exports", list_exports_answer(NETWORK_AND_REGISTRY), {})


def test_deploy_replace_failed_deletes_the_failed_stack_then_creates_it(
    cli, stubbed, real_template_path
) -> None:
    stubbed.cfn_stub.add_response(
        "describe_stacks", stack("ROLLBACK_COMPLETE"), {"StackName": STACK}
    )
    stubbed.ecr_stub.add_response("describe_images", {"imageDetails": [{"imageTags": ["v1.3.0"]}]})
    _exports_of_the_network_and_registry(stubbed)
    failed = event(STACK, STACK_TYPE, "ROLLBACK_COMPLETE")
    stubbed.cfn_stub.add_response("describe_stack_events", {"StackEvents": [failed]})
    stubbed.cfn_stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
    deleted = [
        event(STACK, STACK_TYPE, "DELETE_IN_PROGRESS", "User Initiated"),
        event(STACK, STACK_TYPE, "DELETE_COMPLETE"),
    ]
    stubbed.cfn_stub.add_response(
        "describe_stacks", stack("DELETE_COMPLETE"), {"StackName": STACK_ID}
    )
    stubbed.cfn_stub.add_response(
        "describe_stack_events", {"StackEvents": [*deleted[::-1], failed]}
    )
    stubbed.cfn_stub.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": STACK_ID},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": real_template_path.read_text(),
            "Parameters": [
                {"ParameterKey": AUTH_DISABLED, "ParameterValue": "true"},
                {"ParameterKey": DATA_STACK_NAME, "ParameterValue": ""},
                {"ParameterKey": IDENTITY_STACK_NAME, "ParameterValue": ""},
                {"ParameterKey": IMAGE_TAG, "ParameterValue": "v1.3.0"},
                # A create runs unprotected, so that it can roll back if it fails.
                {"ParameterKey": LOAD_BALANCER_DELETION_PROTECTION, "ParameterValue": "false"},
                {"ParameterKey": NETWORK_STACK_NAME, "ParameterValue": "api-cars-network"},
            ],
            "Capabilities": ["CAPABILITY_IAM"],
            "Description": ANY,
        },
    )
    created = change_set([change("Cluster", "AWS::ECS::Cluster", action="Add")])
    stubbed.cfn_stub.add_response("describe_change_set", created)
    stubbed.cfn_stub.add_response("describe_change_set", created)
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(real_template_path),
        "--image-tag",
        "v1.3.0",
        "--replace-failed",
        "--no-execute",
        clients=stubbed.clients,
    )
    assert result.code == 0, result.err
    assert "Deleting api-cars (ROLLBACK_COMPLETE" in result.out
    assert "(CREATE) for stack api-cars" in result.out
    stubbed.done()


def test_a_failed_first_create_rolls_back_and_no_protection_change_set_follows(
    cli, stubbed, real_template_path
) -> None:
    """The create ran with the load balancer unprotected, so CloudFormation could delete it: the
    stack ends ROLLBACK_COMPLETE (never ROLLBACK_FAILED), and nothing tries to protect it."""
    _missing_stack(stubbed)
    stubbed.ecr_stub.add_response("describe_images", {"imageDetails": [{"imageTags": ["v1.3.0"]}]})
    _exports_of_the_network_and_registry(stubbed)
    stubbed.cfn_stub.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": STACK_ID},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "TemplateBody": real_template_path.read_text(),
            "Parameters": [
                {"ParameterKey": AUTH_DISABLED, "ParameterValue": "true"},
                {"ParameterKey": DATA_STACK_NAME, "ParameterValue": ""},
                {"ParameterKey": IDENTITY_STACK_NAME, "ParameterValue": ""},
                {"ParameterKey": IMAGE_TAG, "ParameterValue": "v1.3.0"},
                {"ParameterKey": LOAD_BALANCER_DELETION_PROTECTION, "ParameterValue": "false"},
                {"ParameterKey": NETWORK_STACK_NAME, "ParameterValue": "api-cars-network"},
            ],
            "Capabilities": ["CAPABILITY_IAM"],
            "Description": ANY,
        },
    )
    created = change_set([change("LoadBalancer", LOAD_BALANCER_TYPE, action="Add")])
    stubbed.cfn_stub.add_response("describe_change_set", created)
    stubbed.cfn_stub.add_response("describe_change_set", created)
    review = event(STACK, STACK_TYPE, "REVIEW_IN_PROGRESS")
    stubbed.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    stubbed.cfn_stub.add_response("describe_stack_events", {"StackEvents": [review]})
    stubbed.cfn_stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    failure = "Resource handler returned message: TargetGroup quota reached"
    rolled_back = [
        event(STACK, STACK_TYPE, "CREATE_IN_PROGRESS", "User Initiated"),
        event("LoadBalancer", LOAD_BALANCER_TYPE, "CREATE_COMPLETE"),
        event("TargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup", "CREATE_FAILED", failure),
        event(STACK, STACK_TYPE, "ROLLBACK_IN_PROGRESS"),
        event("LoadBalancer", LOAD_BALANCER_TYPE, "DELETE_COMPLETE"),
        event(STACK, STACK_TYPE, "ROLLBACK_COMPLETE"),
    ]
    stubbed.cfn_stub.add_response(
        "describe_stacks", stack("ROLLBACK_COMPLETE"), {"StackName": STACK_ID}
    )
    stubbed.cfn_stub.add_response(
        "describe_stack_events", {"StackEvents": [*rolled_back[::-1], review]}
    )
    result = cli(
        "deploy",
        "--only",
        "service",
        "--param",
        "DataStackName=",
        "--param",
        "AuthDisabled=true",
        "--template-file",
        str(real_template_path),
        "--image-tag",
        "v1.3.0",
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 1
    assert "stack api-cars ended ROLLBACK_COMPLETE" in result.err
    assert "TargetGroup quota reached" in result.err
    stubbed.done()  # no second change set was asked for


# --- --verify: what it needs is checked before anything changes -----------------------------
def test_release_verify_refuses_a_stack_without_a_service_url_before_any_change_set(
    cli, stubbed, real_template_path
) -> None:
    described = stack("UPDATE_COMPLETE")
    described["Stacks"][0]["Outputs"] = []
    stubbed.cfn_stub.add_response("describe_stacks", described)
    result = release(cli, stubbed, real_template_path, "--yes", "--verify")
    assert result.code == 2
    assert result.err == (
        "cars-stack release: --verify needs an http(s) ServiceUrl output on stack api-cars to "
        "poll /version, and the stack has none: run without --verify (nothing was changed)\n"
    )
    stubbed.done()  # no DescribeImages, no CreateChangeSet, no ExecuteChangeSet


def test_execute_verify_refuses_a_stack_without_a_service_url_before_executing(
    cli, stubbed
) -> None:
    described = stack("UPDATE_COMPLETE", url="api-cars-123.eu-west-1.elb.amazonaws.com")
    stubbed.cfn_stub.add_response("describe_stacks", described)
    result = cli(
        "execute",
        "cars-stack-release-v1-3-0-20261128-120000",
        "--verify",
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 2
    assert "--verify needs an http(s) ServiceUrl output on stack api-cars" in result.err
    assert "its ServiceUrl is 'api-cars-123.eu-west-1.elb.amazonaws.com'" in result.err
    stubbed.done()  # no ExecuteChangeSet


def test_execute_verify_polls_version_for_the_change_sets_image_tag(
    cli, stubbed, version_server
) -> None:
    url, answers = version_server
    answers.extend(["v1.2.0", "v1.3.0"])
    stubbed.cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", url=url))
    stubbed.cfn_stub.add_response("describe_change_set", change_set(IMAGE_ONLY_CHANGES))
    expect_execution(stubbed, [([*ROLLOUT, *ROLLOUT_END], "UPDATE_COMPLETE")])
    stubbed.cfn_stub.add_response(
        "describe_stacks", stack("UPDATE_COMPLETE", tag="v1.3.0", url=url)
    )
    result = cli(
        "execute",
        "cars-stack-release-v1-3-0-20261128-120000",
        "--verify",
        "--yes",
        "--output",
        "json",
        clients=stubbed.clients,
    )
    assert result.code == 0, result.err
    assert result.json()["verified"] is True
    assert f"Verified: {url}/version reports v1.3.0" in result.err
    stubbed.done()


# --- ExecuteChangeSet itself refused: nothing half-made is left unmentioned -----------------
def _missing_stack(stubbed) -> None:
    no_such_stack(stubbed.cfn_stub, STACK)


def _refused_execution(stubbed) -> None:
    stubbed.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    stubbed.cfn_stub.add_response("describe_stack_events", {"StackEvents": []})
    stubbed.cfn_stub.add_client_error(
        "execute_change_set",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: iam:PassRole",
        http_status_code=403,
    )


def test_a_refused_execution_of_a_new_stack_deletes_its_change_set_and_empty_stack(
    cli, stubbed, real_template_path
) -> None:
    _missing_stack(stubbed)
    stubbed.ecr_stub.add_response("describe_images", {"imageDetails": [{"imageTags": ["v1.3.0"]}]})
    _exports_of_the_network_and_registry(stubbed)
    stubbed.cfn_stub.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    created = change_set([change("Cluster", "AWS::ECS::Cluster", action="Add")])
    stubbed.cfn_stub.add_response("describe_change_set", created)
    stubbed.cfn_stub.add_response("describe_change_set", created)
    _refused_execution(stubbed)
    stubbed.cfn_stub.add_response(
        "delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    stubbed.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    stubbed.cfn_stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(real_template_path),
        "--image-tag",
        "v1.3.0",
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 2
    assert result.err.splitlines() == [
        "cars-stack deploy: access denied by AWS for ExecuteChangeSet: "
        "User is not authorized to perform: iam:PassRole",
        f"  change set {CHANGE_SET_ID.split('/')[1]} and the empty stack api-cars "
        "(REVIEW_IN_PROGRESS) deleted; nothing was executed",
    ]
    stubbed.done()  # DeleteChangeSet and DeleteStack were called


def test_a_refused_execution_of_a_reviewed_change_set_says_what_is_left_and_how_to_remove_it(
    cli, stubbed
) -> None:
    name = CHANGE_SET_ID.split("/")[1]
    stubbed.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    created = change_set([change("Cluster", "AWS::ECS::Cluster", action="Add")])
    created["Description"] = "cars-stack deploy from api-cars.yaml"
    stubbed.cfn_stub.add_response("describe_change_set", created)
    _refused_execution(stubbed)
    stubbed.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    result = cli("execute", name, "--yes", clients=stubbed.clients)
    assert result.code == 2
    assert result.err.splitlines()[1] == (
        f"  change set {name} left as it was (AVAILABLE) and the empty stack api-cars "
        "(REVIEW_IN_PROGRESS); to remove it: aws cloudformation delete-change-set "
        f"--stack-name api-cars --region eu-west-1 --change-set-name {name}; then the empty "
        "stack: aws cloudformation delete-stack --stack-name api-cars --region eu-west-1"
    )
    stubbed.done()  # and nothing deleted: the change set was not this run's


def test_a_clean_up_that_fails_still_names_what_to_remove_and_keeps_the_first_error(
    cli, stubbed
) -> None:
    name = CHANGE_SET_ID.split("/")[1]
    stubbed.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    created = change_set([change("Cluster", "AWS::ECS::Cluster", action="Add")])
    created["Description"] = "cars-stack deploy from api-cars.yaml"
    stubbed.cfn_stub.add_response("describe_change_set", created)
    _refused_execution(stubbed)
    stubbed.cfn_stub.add_client_error(
        "describe_stacks", service_error_code="Throttling", service_message="Rate exceeded"
    )
    result = cli("execute", name, "--yes", clients=stubbed.clients)
    assert result.code == 2
    assert result.err.splitlines() == [
        "cars-stack execute: access denied by AWS for ExecuteChangeSet: "
        "User is not authorized to perform: iam:PassRole",
        f"  could not check what is left of change set {name}; remove it with "
        "aws cloudformation delete-change-set --stack-name api-cars --region eu-west-1 "
        f"--change-set-name {name}; then the empty stack: aws cloudformation delete-stack "
        "--stack-name api-cars --region eu-west-1",
    ]
    stubbed.done()
