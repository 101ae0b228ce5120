"""A failed rollout explains itself: at the service's first failure event, before CloudFormation's
rollback cleans up, the command prints the ECS service's latest events, the stopped tasks' reasons
and exit codes, and the last lines the failing container logged. botocore Stubber answers in the
shapes of the ECS and CloudWatch Logs API references."""

from __future__ import annotations

from tests.stack.test_stubbed_rollouts import (
    CHANGE_SET_ID,
    CIRCUIT_BREAKER,
    IMAGE_ONLY_CHANGES,
    ROLLED_BACK,
    ROLLOUT,
    ROLLOUT_END,
    STACK,
    STACK_ID,
    STACK_TYPE,
    STREAM,
    TASK_ID,
    change,
    change_set,
    event,
    expect_diagnosis,
    expect_execution,
    expect_release_up_to_review,
    release,
    stack,
)


def _rolled_back(stubbed) -> None:
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    expect_execution(
        stubbed, [(ROLLOUT, "UPDATE_IN_PROGRESS"), (ROLLED_BACK, "UPDATE_ROLLBACK_COMPLETE")]
    )


def test_the_failing_tasks_reason_exit_code_and_last_log_lines_are_printed(
    cli, stubbed, real_template_path
) -> None:
    _rolled_back(stubbed)
    expect_diagnosis(stubbed)
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 1
    why = result.out[result.out.index("Why: ") :]
    assert why.splitlines()[:12] == [
        "Why: the ECS service api in cluster api-cars-cluster, read before CloudFormation's "
        "rollback cleans up:",
        "  Deployment FAILED: ECS deployment circuit breaker: tasks failed to start.",
        "  Latest service events:",
        "    12:01:30  (service api) deployment ecs-svc/2222222222222222222 deployment failed: "
        "tasks failed to start.",
        f"    12:01:00  (service api) has started 1 tasks: (task {TASK_ID}).",
        "  Stopped tasks (newest first):",
        f"    12:01:20  task {TASK_ID} (api-cars-api:8): Essential container in task exited",
        "      container api-cars-container: exit code 78",
        f"  Last 4 log lines of /ecs/api-cars {STREAM}:",
        "    Starting api-cars v1.3.0",
        "    api.config: DATABASE_URL: not a PostgreSQL URL: 'postgres//db'",
        "    Traceback (most recent call last):",
    ]
    assert "11112222333344445555666677778888" not in why  # the old deployment's task is not news
    stubbed.done()


def test_the_explanation_comes_before_the_rollback_is_followed(
    cli, stubbed, real_template_path
) -> None:
    _rolled_back(stubbed)
    expect_diagnosis(stubbed)
    result = release(cli, stubbed, real_template_path, "--yes")
    lines = result.out.splitlines()
    failed = next(i for i, line in enumerate(lines) if "UPDATE_FAILED" in line)
    why = next(i for i, line in enumerate(lines) if line.startswith("Why: "))
    rollback = next(i for i, line in enumerate(lines) if "UPDATE_ROLLBACK_IN_PROGRESS" in line)
    assert failed < why < rollback
    # CloudFormation's reason stays the command's one-line result.
    assert result.err.splitlines()[0].endswith(f"Service UPDATE_FAILED: {CIRCUIT_BREAKER}")
    stubbed.done()


def test_a_refused_read_is_one_line_and_the_rest_is_still_read(
    cli, stubbed, real_template_path
) -> None:
    _rolled_back(stubbed)
    stubbed.ecs_stub.add_client_error(
        "describe_services",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: ecs:DescribeServices",
        http_status_code=400,
    )
    stubbed.ecs_stub.add_response("list_tasks", {"taskArns": []})
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 1
    assert (
        "    (could not read the service's events: AccessDeniedException: "
        "User is not authorized to perform: ecs:DescribeServices)" in result.out
    )
    assert "    (none recorded: ECS keeps stopped tasks for about an hour)" in result.out
    assert "first failure: Service UPDATE_FAILED" in result.err
    stubbed.done()


def test_a_rollout_that_succeeds_reads_nothing_from_ecs(cli, stubbed, real_template_path) -> None:
    expect_release_up_to_review(stubbed, IMAGE_ONLY_CHANGES)
    expect_execution(stubbed, [(ROLLOUT, "UPDATE_IN_PROGRESS"), (ROLLOUT_END, "UPDATE_COMPLETE")])
    stubbed.cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", tag="v1.3.0"))
    result = release(cli, stubbed, real_template_path, "--yes")
    assert result.code == 0, result.err
    assert "Why: " not in result.out
    stubbed.done()  # no ECS or Logs call was scripted, and none was made


def test_a_failed_first_create_is_explained_before_its_log_group_is_deleted(cli, stubbed) -> None:

    name = CHANGE_SET_ID.split("/")[1]
    review = event(STACK, STACK_TYPE, "REVIEW_IN_PROGRESS", "User Initiated")
    created = change_set(
        [
            change("LogGroup", "AWS::Logs::LogGroup", action="Add"),
            change("Service", "AWS::ECS::Service", action="Add"),
        ]
    )
    created["Description"] = "cars-stack deploy from api-cars.yaml"
    stubbed.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    stubbed.cfn_stub.add_response("describe_change_set", created)
    stubbed.cfn_stub.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    stubbed.cfn_stub.add_response("describe_stack_events", {"StackEvents": [review]})
    stubbed.cfn_stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    failed = [
        event(STACK, STACK_TYPE, "CREATE_IN_PROGRESS", "User Initiated"),
        event("LogGroup", "AWS::Logs::LogGroup", "CREATE_COMPLETE"),
        event("Service", "AWS::ECS::Service", "CREATE_IN_PROGRESS"),
        event("Service", "AWS::ECS::Service", "CREATE_FAILED", CIRCUIT_BREAKER),
        event(STACK, STACK_TYPE, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed"),
        event("Service", "AWS::ECS::Service", "DELETE_COMPLETE"),
        event("LogGroup", "AWS::Logs::LogGroup", "DELETE_COMPLETE"),
        event(STACK, STACK_TYPE, "ROLLBACK_COMPLETE"),
    ]
    stubbed.cfn_stub.add_response(
        "describe_stacks", stack("ROLLBACK_COMPLETE"), {"StackName": STACK_ID}
    )
    stubbed.cfn_stub.add_response(
        "describe_stack_events", {"StackEvents": [*failed[::-1], review]}, {"StackName": STACK_ID}
    )
    expect_diagnosis(stubbed)
    result = cli("execute", name, "--yes", clients=stubbed.clients)
    assert result.code == 1
    lines = result.out.splitlines()
    why = next(i for i, line in enumerate(lines) if line.startswith("Why: "))
    log_group_deleted = next(
        i for i, line in enumerate(lines) if "DELETE_COMPLETE" in line and "LogGroup" in line
    )
    assert why < log_group_deleted
    assert "    SystemExit: 78" in lines[why:log_group_deleted]
    assert "ended ROLLBACK_COMPLETE; first failure: Service CREATE_FAILED" in result.err
    stubbed.done()
