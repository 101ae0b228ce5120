"""The replacement guard on service-stack change sets: replacing the ECS service, the load balancer,
a listener or the target group is shown with the property that forces it and refused without
--allow-replacement; the service's replacement always (its fixed name makes it fail).

moto's DescribeChangeSet gives no Replacement nor Details, so the change sets here are Stubber
answers shaped like the DescribeChangeSet reference: ResourceChange.Replacement (True, False,
Conditional) and Details[].Target (Attribute, Name, RequiresRecreation) with their Evaluation and
ChangeSource.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cars_stack.changeset import Change
from cars_stack.replacement import replaces
from template_builder.names import IMAGE_TAG, REPOSITORY_NAME
from tests.stack.answers import NETWORK_AND_REGISTRY, list_exports_answer
from tests.stack.demo import DEMO_SERVICE

STACK = "api-cars"
ARN_PREFIX = "arn:aws:cloudformation:eu-west-1:123456789012"
STACK_ID = f"{ARN_PREFIX}:stack/{STACK}/1c2fa620-982a-11e3-aff7-50e2416294e0"
NAME = "cars-stack-deploy-20261128-120000"
CHANGE_SET_ID = f"{ARN_PREFIX}:changeSet/{NAME}/1a2345b6-0000-00a0-a123-00abc0abc000"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ELB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
SERVICE_ARN = "arn:aws:ecs:eu-west-1:123456789012:service/api-cars-cluster/api"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"


def stack(status: str = "UPDATE_COMPLETE") -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackId": STACK_ID,
                "StackName": STACK,
                "CreationTime": T0 - timedelta(days=3),
                "LastUpdatedTime": T0,
                "StackStatus": status,
                "Parameters": [
                    {"ParameterKey": IMAGE_TAG, "ParameterValue": "v1.2.0"},
                    {"ParameterKey": REPOSITORY_NAME, "ParameterValue": "api-cars"},
                ],
                "Outputs": [
                    {
                        "OutputKey": "ServiceUrl",
                        "OutputValue": "http://api-cars-1.elb.amazonaws.com",
                    }
                ],
                "Capabilities": ["CAPABILITY_IAM"],
            }
        ]
    }


def change(
    logical_id: str,
    resource_type: str,
    physical_id: str,
    replacement: str,
    details: dict[str, str],
) -> dict[str, Any]:
    """``details``: property name -> RequiresRecreation (Never, Conditionally, Always)."""
    return {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": physical_id,
            "ResourceType": resource_type,
            "Replacement": replacement,
            "Scope": ["Properties"],
            "Details": [
                {
                    "Target": {
                        "Attribute": "Properties",
                        "Name": name,
                        "RequiresRecreation": recreation,
                    },
                    "Evaluation": "Static",
                    "ChangeSource": "DirectModification",
                }
                for name, recreation in details.items()
            ],
        },
    }


# The edge helper's CloudFront VPC-origin mode makes the load balancer internal: Scheme is
# create-only, so CloudFormation replaces it (and the listeners that name it).
SCHEME_CHANGE = [
    change(
        "LoadBalancer",
        LOAD_BALANCER,
        f"{ELB}:loadbalancer/app/api-car-LoadB-1/50dc6c495c0c9188",
        "True",
        {"Scheme": "Always", "Subnets": "Never"},
    ),
    {
        "Type": "Resource",
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": "HttpListener",
            "PhysicalResourceId": f"{ELB}:listener/app/api-car-LoadB-1/50dc6c495c0c9188/f2f7dc8e",
            "ResourceType": "AWS::ElasticLoadBalancingV2::Listener",
            "Replacement": "True",
            "Scope": ["Properties"],
            "Details": [
                {
                    "Target": {
                        "Attribute": "Properties",
                        "Name": "LoadBalancerArn",
                        "RequiresRecreation": "Always",
                    },
                    "Evaluation": "Dynamic",
                    "ChangeSource": "DirectModification",
                },
                {
                    "Target": {
                        "Attribute": "Properties",
                        "Name": "LoadBalancerArn",
                        "RequiresRecreation": "Always",
                    },
                    "Evaluation": "Static",
                    "ChangeSource": "ResourceReference",
                    "CausingEntity": "LoadBalancer",
                },
            ],
        },
    },
]
# Fargate Spot on an existing service: the launch type gives way to a capacity-provider strategy.
SPOT_CHANGE = [
    change(
        "Cluster",
        "AWS::ECS::Cluster",
        "api-cars-cluster",
        "False",
        {"CapacityProviders": "Never"},
    ),
    change(
        "Service",
        "AWS::ECS::Service",
        SERVICE_ARN,
        "True",
        {"LaunchType": "Always", "CapacityProviderStrategy": "Never"},
    ),
]


def change_set(changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ChangeSetName": NAME,
        "ChangeSetId": CHANGE_SET_ID,
        "StackId": STACK_ID,
        "StackName": STACK,
        "Description": "cars-stack deploy from api-cars.yaml",
        "Parameters": [{"ParameterKey": IMAGE_TAG, "ParameterValue": "v1.2.0"}],
        "CreationTime": T0,
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "Capabilities": ["CAPABILITY_IAM"],
        "Changes": changes,
    }


def reviewed(stubbed, changes: list[dict[str, Any]]) -> None:
    """`cars-stack execute`'s reads: the stack, then its change set (by name, on the stack)."""
    stubbed.cfn_stub.add_response("describe_stacks", stack(), {"StackName": STACK})
    stubbed.cfn_stub.add_response(
        "describe_change_set",
        change_set(changes),
        {"ChangeSetName": NAME, "StackName": STACK},
    )


def test_a_change_set_replacing_the_load_balancer_is_refused_naming_what_forces_it(
    cli, stubbed
) -> None:
    reviewed(stubbed, SCHEME_CHANGE)
    result = cli("execute", NAME, "--yes", clients=stubbed.clients)
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[:3] == [
        f"REPLACEMENT: LoadBalancer [{LOAD_BALANCER}] would be replaced (forced by Scheme)",
        "REPLACEMENT: HttpListener [AWS::ElasticLoadBalancingV2::Listener] would be replaced "
        "(forced by LoadBalancerArn)",
        f"cars-stack execute: change set {NAME} would replace LoadBalancer [{LOAD_BALANCER}], "
        "HttpListener [AWS::ElasticLoadBalancingV2::Listener], refused: pass "
        "--allow-replacement to execute it anyway",
    ]
    assert "new DNS name" in result.err
    assert "left as it was" in result.err
    stubbed.done()  # no ExecuteChangeSet, and no DeleteChangeSet: not this run's change set


def expect_execution(stubbed) -> None:
    """Execute, one poll that finds the update complete, and the describe for the outputs."""
    marker = {
        "StackId": STACK_ID,
        "EventId": "marker",
        "StackName": STACK,
        "LogicalResourceId": STACK,
        "PhysicalResourceId": STACK_ID,
        "ResourceType": "AWS::CloudFormation::Stack",
        "Timestamp": T0,
        "ResourceStatus": "UPDATE_COMPLETE",
    }
    done = {**marker, "EventId": "done", "Timestamp": T0 + timedelta(minutes=9)}
    stubbed.cfn_stub.add_response("describe_stacks", stack(), {"StackName": STACK})
    stubbed.cfn_stub.add_response("describe_stack_events", {"StackEvents": [marker]})
    stubbed.cfn_stub.add_response(
        "execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    stubbed.cfn_stub.add_response("describe_stacks", stack(), {"StackName": STACK_ID})
    stubbed.cfn_stub.add_response(
        "describe_stack_events", {"StackEvents": [done, marker]}, {"StackName": STACK_ID}
    )
    stubbed.cfn_stub.add_response("describe_stacks", stack(), {"StackName": STACK})


def test_with_allow_replacement_the_load_balancer_change_set_is_executed(cli, stubbed) -> None:
    reviewed(stubbed, SCHEME_CHANGE)
    expect_execution(stubbed)
    result = cli("execute", NAME, "--allow-replacement", "--yes", clients=stubbed.clients)
    assert result.code == 0, result.err
    assert (
        f"REPLACEMENT: LoadBalancer [{LOAD_BALANCER}] would be replaced (forced by Scheme)"
        in result.err
    )
    assert "Replacements allowed by --allow-replacement" in result.err
    stubbed.done()  # ExecuteChangeSet was called


def test_a_change_set_updating_them_in_place_is_executed_without_the_option(cli, stubbed) -> None:
    in_place = [
        SPOT_CHANGE[0],
        change("LoadBalancer", LOAD_BALANCER, "lb", "False", {"SecurityGroups": "Never"}),
    ]
    reviewed(stubbed, in_place)
    expect_execution(stubbed)
    result = cli("execute", NAME, "--yes", clients=stubbed.clients)
    assert result.code == 0, result.err
    assert "REPLACEMENT" not in result.err + result.out
    stubbed.done()


def test_replacing_the_fixed_name_service_is_refused_even_when_allowed_saying_what_to_do(
    cli, stubbed
) -> None:
    reviewed(stubbed, SPOT_CHANGE)
    result = cli("execute", NAME, "--allow-replacement", "--yes", clients=stubbed.clients)
    assert result.code == 2
    lines = result.err.splitlines()
    assert lines[0] == (
        "REPLACEMENT: Service [AWS::ECS::Service] would be replaced (forced by LaunchType)"
    )
    assert lines[1] == (
        f"cars-stack execute: change set {NAME} would replace the ECS service api, refused: "
        "CloudFormation cannot replace a service with a fixed name (it creates the new one "
        "before deleting the old, and the name api is taken), so the update would fail and roll "
        "back, --allow-replacement or not; make this change by deleting and recreating the "
        "service stack in a maintenance window (cars-stack destroy, then cars-stack deploy; the "
        "data and identity stacks stay), or by deploying it as a new stack (--stack-name) and "
        "moving traffic to it"
    )
    stubbed.done()  # no ExecuteChangeSet


def test_deploy_refuses_a_change_set_replacing_the_target_group_and_deletes_it(
    cli, stubbed, real_template_path
) -> None:
    stubbed.cfn_stub.add_response("describe_stacks", stack(), {"StackName": STACK})
    stubbed.cfn_stub.add_response("list_exports", list_exports_answer(NETWORK_AND_REGISTRY), {})
    stubbed.cfn_stub.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    created = change_set(
        [
            change(
                "TargetGroup",
                "AWS::ElasticLoadBalancingV2::TargetGroup",
                f"{ELB}:targetgroup/api-car-Targe-1/73e2d6bc24d8a067",
                "Conditional",
                {"VpcId": "Conditionally", "HealthCheckPath": "Never"},
            )
        ]
    )
    stubbed.cfn_stub.add_response("describe_change_set", created)  # until CREATE_COMPLETE
    stubbed.cfn_stub.add_response("describe_change_set", created)  # the review
    stubbed.cfn_stub.add_response(
        "delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID, "StackName": STACK}
    )
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(real_template_path),
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 2
    assert (
        "REPLACEMENT: TargetGroup [AWS::ElasticLoadBalancingV2::TargetGroup] may be replaced "
        "(forced by VpcId)" in result.err.splitlines()
    )
    assert (
        f"cars-stack deploy: change set {NAME} would replace TargetGroup "
        "[AWS::ElasticLoadBalancingV2::TargetGroup], refused: pass --allow-replacement to "
        "execute it anyway"
    ) in result.err.splitlines()
    assert "deleted; nothing was executed" in result.err
    stubbed.done()  # DeleteChangeSet was called, ExecuteChangeSet was not


@pytest.mark.parametrize(
    ("raw", "guarded"),
    [
        (change("LoadBalancer", LOAD_BALANCER, "lb", "False", {"Subnets": "Never"}), False),
        (change("Service", "AWS::ECS::Service", SERVICE_ARN, "False", {"DesiredCount": "Never"}),
         False),
        (change("TaskDefinition", "AWS::ECS::TaskDefinition", "td", "True",
                {"ContainerDefinitions": "Always"}), False),
        (change("LoadBalancer", LOAD_BALANCER, "lb", "Conditional", {"Subnets": "Conditionally"}),
         True),
    ],
    ids=["in-place", "service-in-place", "task-definition", "conditional"],
)  # fmt: skip
def test_only_replacements_of_what_serves_traffic_are_guarded(raw, guarded) -> None:
    assert replaces(Change.from_api(raw)) is guarded
