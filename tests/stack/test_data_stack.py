"""The data stack through cars-stack: its guard, its stack policy, its first create, its deletion,
its status and the service wired to it.

moto cannot create Aurora through CloudFormation, nor answer ListImports, so the conversations are
botocore Stubber answers shaped like the CloudFormation, RDS, ElastiCache and CloudWatch API
references; the destroy keep path and the refusals that must change nothing run against moto.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from api.migrations import compatibility
from api.migrations.compatibility import Contraction
from cars_stack.protection import LIFTED_POLICY, stack_policy
from template_builder.names import (
    ACCESS_LOG_BUCKET,
    ACCESS_LOGS,
    ALARM_TOPIC_ARN,
    AUTH_DISABLED,
    AUTH_ISSUER,
    CACHE,
    CACHE_SECRET,
    DATA_STACK_HAS_CACHE,
    DATA_STACK_HAS_READERS,
    DATA_STACK_NAME,
    DATABASE_CLUSTER,
    DATABASE_SECRET,
    DATABASE_WRITER,
    DELETION_PROTECTION,
    ENABLE_CACHE,
    IDENTITY_STACK_NAME,
    IMAGE_TAG,
    MIN_CAPACITY,
    READER_COUNT,
)
from tests.stack.answers import no_such_stack

REGION = "eu-west-1"
SERVICE = "api-cars"
DATA = "api-cars-data"
IDENTITY = "api-cars-identity"
NETWORK = "api-cars-network"
ARN_PREFIX = f"arn:aws:cloudformation:{REGION}:123456789012"
STACK_IDS = {
    SERVICE: f"{ARN_PREFIX}:stack/{SERVICE}/1c2fa620-982a-11e3-aff7-50e2416294e0",
    DATA: f"{ARN_PREFIX}:stack/{DATA}/2d3fb730-982a-11e3-aff7-50e2416294e0",
    IDENTITY: f"{ARN_PREFIX}:stack/{IDENTITY}/4f50d950-982a-11e3-aff7-50e2416294e0",
    NETWORK: f"{ARN_PREFIX}:stack/{NETWORK}/3e4fc840-982a-11e3-aff7-50e2416294e0",
}
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CLUSTER_ID = "api-cars-data-databasecluster-abcdefghijkl"
WRITER_ID = "api-cars-data-databasewriter-mnopqrstuvwx"
CACHE_NAME = "api-cars-data-cache"
LOG_BUCKET = "api-cars-data-alb-123456789012-eu-west-1-2d3fb730"
STACK_TYPE = "AWS::CloudFormation::Stack"
_ids = count(1)

# Data-stack parameters as the stack reports them after a create with the defaults.
DATA_PARAMETERS = {
    DELETION_PROTECTION: "true",
    ENABLE_CACHE: "true",
    READER_COUNT: "0",
    MIN_CAPACITY: "0",
}


# --- templates built here: the data stack's logical IDs and parameters (names.py) ----------------
def _data_template() -> dict[str, Any]:
    choice = {"Type": "String", "AllowedValues": ["true", "false"]}
    return {
        "Parameters": {
            DELETION_PROTECTION: {**choice, "Default": "true"},
            ENABLE_CACHE: {**choice, "Default": "true"},
            READER_COUNT: {"Type": "Number", "Default": 0, "MinValue": 0, "MaxValue": 2},
            MIN_CAPACITY: {"Type": "Number", "Default": 0, "MinValue": 0, "MaxValue": 256},
        },
        "Resources": {
            DATABASE_CLUSTER: {
                "Type": "AWS::RDS::DBCluster",
                "DeletionPolicy": "Snapshot",
                "UpdateReplacePolicy": "Snapshot",
                "Properties": {
                    "Engine": "aurora-postgresql",
                    "DeletionProtection": {"Ref": DELETION_PROTECTION},
                    "ServerlessV2ScalingConfiguration": {
                        "MinCapacity": {"Ref": MIN_CAPACITY},
                        "MaxCapacity": 4,
                    },
                },
            },
            DATABASE_WRITER: {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "DBClusterIdentifier": {"Ref": DATABASE_CLUSTER},
                    "DBInstanceClass": "db.serverless",
                    "Engine": "aurora-postgresql",
                },
            },
            CACHE: {
                "Type": "AWS::ElastiCache::ServerlessCache",
                "Properties": {"Engine": "valkey", "ServerlessCacheName": CACHE_NAME},
            },
        },
    }


def _service_template() -> dict[str, Any]:
    return {
        "Parameters": {
            IMAGE_TAG: {"Type": "String", "AllowedPattern": r"^v\d+\.\d+\.\d+$"},
            DATA_STACK_NAME: {"Type": "String", "Default": DATA},
            DATA_STACK_HAS_CACHE: {
                "Type": "String",
                "Default": "true",
                "AllowedValues": ["true", "false"],
            },
            DATA_STACK_HAS_READERS: {
                "Type": "String",
                "Default": "false",
                "AllowedValues": ["true", "false"],
            },
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }


@pytest.fixture
def data_template(tmp_path: Path) -> Path:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(_data_template(), indent=1), encoding="utf-8")
    return path


@pytest.fixture
def network_template(tmp_path: Path) -> Path:
    body = {
        "Parameters": {"VpcName": {"Type": "String", "Default": ""}},
        "Resources": {"Lookup": {"Type": "AWS::SNS::Topic"}},
    }
    path = tmp_path / "network.json"
    path.write_text(json.dumps(body, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def service_template(tmp_path: Path) -> Path:
    path = tmp_path / "service.json"
    path.write_text(json.dumps(_service_template(), indent=1), encoding="utf-8")
    return path


# --- Stubber-wrapped clients -------------------------------------------------------------------
@dataclass
class Aws:
    clients: dict[str, Any]
    stubs: dict[str, Stubber]

    @property
    def cfn(self) -> Stubber:
        return self.stubs["cloudformation"]

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def aws_stub() -> Iterator[Aws]:
    services = ("cloudformation", "rds", "elasticache", "cloudwatch", "ecs", "ecr")
    clients = {name: boto3.client(name, region_name=REGION) for name in services}
    stubs = {name: Stubber(c) for name, c in clients.items()}
    for stub in stubs.values():
        stub.activate()
    yield Aws(clients, stubs)
    for stub in stubs.values():
        stub.deactivate()


# --- answers shaped like the API references ------------------------------------------------------
def described(
    name: str,
    status: str,
    parameters: dict[str, str] | None = None,
    *,
    termination_protection: bool = False,
) -> dict[str, Any]:
    stack: dict[str, Any] = {
        "StackId": STACK_IDS[name],
        "StackName": name,
        "CreationTime": T0 - timedelta(days=3),
        "LastUpdatedTime": T0,
        "StackStatus": status,
        "Parameters": [
            {"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()
        ],
        "Capabilities": ["CAPABILITY_IAM"],
        "EnableTerminationProtection": termination_protection,
    }
    return {"Stacks": [stack]}


def event(name: str, logical_id: str, kind: str, status: str, **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    return {
        "StackId": STACK_IDS[name],
        "EventId": f"{logical_id}-{status}-{n}",
        "StackName": name,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": STACK_IDS[name] if kind == STACK_TYPE else f"{logical_id}-{n}",
        "ResourceType": kind,
        "Timestamp": T0 + timedelta(seconds=n),
        "ResourceStatus": status,
        **extra,
    }


def change(
    logical_id: str,
    kind: str,
    *,
    action: str = "Modify",
    replacement: str = "False",
    properties: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``properties``: name -> RequiresRecreation (Never, Conditionally, Always)."""
    resource_change: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": kind,
        "Scope": ["Properties"] if properties else [],
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
            for name, recreation in (properties or {}).items()
        ],
    }
    if action != "Add":
        resource_change["PhysicalResourceId"] = f"{logical_id.lower()}-physical"
        resource_change["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": resource_change}


def change_set_id(name: str, purpose: str) -> str:
    return f"{ARN_PREFIX}:changeSet/cars-stack-{purpose}-20261128-120000/{next(_ids):08d}-0000"


def change_set(
    name: str, cs_id: str, changes: list[dict[str, Any]], parameters: dict[str, str]
) -> dict[str, Any]:
    return {
        "ChangeSetName": cs_id.split("/")[1],
        "ChangeSetId": cs_id,
        "StackId": STACK_IDS[name],
        "StackName": name,
        "Description": "cars-stack deploy",
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "CreationTime": T0,
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "Capabilities": ["CAPABILITY_IAM"],
        "Changes": changes,
    }


def expect_change_set(
    aws: Aws,
    name: str,
    *,
    purpose: str,
    change_type: str,
    parameters: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    values: dict[str, str],
    template: Path | None = None,
) -> str:
    cs_id = change_set_id(name, purpose)
    request: dict[str, Any] = {
        "StackName": name,
        "ChangeSetName": ANY,
        "ChangeSetType": change_type,
        "Parameters": parameters,
        "Capabilities": ["CAPABILITY_IAM"],
        "Description": ANY,
    }
    if template is None:
        request["UsePreviousTemplate"] = True
    else:
        request["TemplateBody"] = template.read_text(encoding="utf-8")
    aws.cfn.add_response("create_change_set", {"Id": cs_id, "StackId": STACK_IDS[name]}, request)
    answer = change_set(name, cs_id, changes, values)
    aws.cfn.add_response("describe_change_set", answer)  # until CREATE_COMPLETE
    aws.cfn.add_response("describe_change_set", answer)  # the review
    return cs_id


def expect_execution(
    aws: Aws,
    name: str,
    cs_id: str,
    *,
    before: str,
    after: str,
    events: list[dict[str, Any]],
    parameters: dict[str, str] | None = None,
    between: Any = None,
) -> None:
    """Execute, one poll reaching ``after``, and the describe for the outputs."""
    marker = event(name, name, STACK_TYPE, before)
    aws.cfn.add_response(
        "describe_stacks", described(name, before, parameters), {"StackName": name}
    )
    aws.cfn.add_response("describe_stack_events", {"StackEvents": [marker]})
    aws.cfn.add_response("execute_change_set", {}, {"ChangeSetName": cs_id, "StackName": name})
    aws.cfn.add_response(
        "describe_stacks", described(name, after, parameters), {"StackName": STACK_IDS[name]}
    )
    aws.cfn.add_response("describe_stack_events", {"StackEvents": [*events[::-1], marker]})
    if between is not None:
        between()
    aws.cfn.add_response("describe_stacks", described(name, after, parameters), {"StackName": name})


def expect_policy(aws: Aws, policy: dict[str, Any]) -> None:
    aws.cfn.add_response(
        "set_stack_policy",
        {},
        {"StackName": DATA, "StackPolicyBody": json.dumps(policy, sort_keys=True)},
    )


def expect_protected_already(aws: Aws, parameters: dict[str, str] = DATA_PARAMETERS) -> None:
    """The checks after every data deploy, when nothing needs turning on."""
    aws.cfn.add_response(
        "describe_stacks",
        described(DATA, "UPDATE_COMPLETE", parameters, termination_protection=True),
        {"StackName": DATA},
    )
    aws.cfn.add_response(
        "get_stack_policy",
        {"StackPolicyBody": json.dumps(stack_policy())},
        {"StackName": DATA},
    )


def no_changes(aws: Aws, name: str, template: Path, parameters: list[dict[str, Any]]) -> None:
    cs_id = change_set_id(name, "deploy")
    aws.cfn.add_response(
        "create_change_set",
        {"Id": cs_id, "StackId": STACK_IDS[name]},
        {
            "StackName": name,
            "ChangeSetName": ANY,
            "ChangeSetType": "UPDATE",
            "Parameters": parameters,
            "Capabilities": ["CAPABILITY_IAM"],
            "Description": ANY,
            "TemplateBody": template.read_text(encoding="utf-8"),
        },
    )
    aws.cfn.add_response(
        "describe_change_set",
        {
            **change_set(name, cs_id, [], {}),
            "Status": "FAILED",
            "ExecutionStatus": "UNAVAILABLE",
            "StatusReason": "The submitted information didn't contain changes. "
            "Submit different information to create a change set.",
        },
    )
    aws.cfn.add_response("delete_change_set", {}, {"ChangeSetName": cs_id, "StackName": name})


def previous(parameters: dict[str, str], **given: str) -> list[dict[str, Any]]:
    return [
        {"ParameterKey": k, "ParameterValue": given[k]}
        if k in given
        else {"ParameterKey": k, "UsePreviousValue": True}
        for k in parameters
    ]


REPLACES_CLUSTER = change(
    DATABASE_CLUSTER,
    "AWS::RDS::DBCluster",
    replacement="True",
    properties={"DBSubnetGroupName": "Always", "ServerlessV2ScalingConfiguration": "Never"},
)


def deploy_data(cli, aws: Aws, data_template: Path, *extra: str, **kwargs: Any):
    return cli(
        "deploy",
        "--only",
        "data",
        "--data-template-file",
        str(data_template),
        *extra,
        clients=aws.clients,
        **kwargs,
    )


# --- the replacement guard and the stack policy --------------------------------------------------
def test_a_change_set_replacing_the_cluster_is_refused_naming_the_property_and_deleted(
    cli, aws_stub: Aws, data_template: Path
) -> None:
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS)
    )
    cs_id = expect_change_set(
        aws_stub,
        DATA,
        purpose="deploy",
        change_type="UPDATE",
        parameters=previous(DATA_PARAMETERS, **{MIN_CAPACITY: "0.5"}),
        changes=[REPLACES_CLUSTER],
        values=DATA_PARAMETERS,
        template=data_template,
    )
    aws_stub.cfn.add_response("delete_change_set", {}, {"ChangeSetName": cs_id, "StackName": DATA})
    result = deploy_data(cli, aws_stub, data_template, "--data-param", "MinCapacity=0.5", "--yes")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        f"cars-stack deploy: change set {cs_id.split('/')[1]} would lose data, refused: "
        "DatabaseCluster [AWS::RDS::DBCluster] would be replaced (forced by DBSubnetGroupName)"
    )
    assert "pass --allow-data-loss" in result.err
    assert "deleted; nothing was executed" in result.err
    aws_stub.done()  # no ExecuteChangeSet, no SetStackPolicy


def test_removing_the_cache_is_refused_as_data_loss(
    cli, aws_stub: Aws, data_template: Path
) -> None:
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS)
    )
    cs_id = expect_change_set(
        aws_stub,
        DATA,
        purpose="deploy",
        change_type="UPDATE",
        parameters=previous(DATA_PARAMETERS, **{ENABLE_CACHE: "false"}),
        changes=[change(CACHE, "AWS::ElastiCache::ServerlessCache", action="Remove")],
        values={**DATA_PARAMETERS, ENABLE_CACHE: "false"},
        template=data_template,
    )
    aws_stub.cfn.add_response("delete_change_set", {}, {"ChangeSetName": cs_id, "StackName": DATA})
    result = deploy_data(cli, aws_stub, data_template, "--data-param", "EnableCache=false", "--yes")
    assert result.code == 2
    assert "Cache [AWS::ElastiCache::ServerlessCache] would be deleted" in result.err
    aws_stub.done()


def test_removing_a_reader_is_not_data_loss(cli, aws_stub: Aws, data_template: Path) -> None:
    with_reader = {**DATA_PARAMETERS, READER_COUNT: "1"}
    aws_stub.cfn.add_response("describe_stacks", described(DATA, "UPDATE_COMPLETE", with_reader))
    cs_id = expect_change_set(
        aws_stub,
        DATA,
        purpose="deploy",
        change_type="UPDATE",
        parameters=previous(with_reader, **{READER_COUNT: "0"}),
        changes=[change("DatabaseReader1", "AWS::RDS::DBInstance", action="Remove")],
        values=DATA_PARAMETERS,
        template=data_template,
    )
    aws_stub.cfn.add_response("delete_change_set", {}, {"ChangeSetName": cs_id, "StackName": DATA})
    result = deploy_data(
        cli, aws_stub, data_template, "--data-param", "ReaderCount=0", answers=("n",)
    )
    assert result.code == 130  # it got as far as asking: no refusal
    assert "would lose data" not in result.err
    aws_stub.done()


def test_with_allow_data_loss_the_policy_is_lifted_for_the_execute_and_restored(
    cli, aws_stub: Aws, data_template: Path
) -> None:
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS)
    )
    cs_id = expect_change_set(
        aws_stub,
        DATA,
        purpose="deploy",
        change_type="UPDATE",
        parameters=previous(DATA_PARAMETERS),
        changes=[REPLACES_CLUSTER],
        values=DATA_PARAMETERS,
        template=data_template,
    )
    expect_policy(aws_stub, LIFTED_POLICY)
    replaced = [
        event(DATA, DATABASE_CLUSTER, "AWS::RDS::DBCluster", "UPDATE_IN_PROGRESS"),
        event(DATA, DATABASE_CLUSTER, "AWS::RDS::DBCluster", "UPDATE_COMPLETE"),
        event(DATA, DATA, STACK_TYPE, "UPDATE_COMPLETE"),
    ]
    expect_execution(
        aws_stub,
        DATA,
        cs_id,
        before="UPDATE_COMPLETE",
        after="UPDATE_COMPLETE",
        events=replaced,
        parameters=DATA_PARAMETERS,
        between=lambda: expect_policy(aws_stub, stack_policy()),
    )
    expect_protected_already(aws_stub)
    result = deploy_data(cli, aws_stub, data_template, "--allow-data-loss", "--yes")
    assert result.code == 0, result.err
    assert (
        "DATA LOSS allowed by --allow-data-loss: DatabaseCluster [AWS::RDS::DBCluster] would be "
        "replaced (forced by DBSubnetGroupName)" in result.err
    )
    assert "Stack policy of api-cars-data restored" in result.err
    aws_stub.done()  # lifted before ExecuteChangeSet, restored after the stack settled


def test_the_policy_is_restored_when_the_allowed_update_fails(
    cli, aws_stub: Aws, data_template: Path
) -> None:
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS)
    )
    cs_id = expect_change_set(
        aws_stub,
        DATA,
        purpose="deploy",
        change_type="UPDATE",
        parameters=previous(DATA_PARAMETERS),
        changes=[REPLACES_CLUSTER],
        values=DATA_PARAMETERS,
        template=data_template,
    )
    expect_policy(aws_stub, LIFTED_POLICY)
    failed = [
        event(
            DATA,
            DATABASE_CLUSTER,
            "AWS::RDS::DBCluster",
            "UPDATE_FAILED",
            ResourceStatusReason="DB subnet group does not cover enough AZs",
        ),
        event(DATA, DATA, STACK_TYPE, "UPDATE_ROLLBACK_COMPLETE"),
    ]
    marker = event(DATA, DATA, STACK_TYPE, "UPDATE_COMPLETE")
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS)
    )
    aws_stub.cfn.add_response("describe_stack_events", {"StackEvents": [marker]})
    aws_stub.cfn.add_response("execute_change_set", {}, {"ChangeSetName": cs_id, "StackName": DATA})
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_ROLLBACK_COMPLETE", DATA_PARAMETERS)
    )
    aws_stub.cfn.add_response("describe_stack_events", {"StackEvents": [*failed[::-1], marker]})
    expect_policy(aws_stub, stack_policy())
    result = deploy_data(cli, aws_stub, data_template, "--allow-data-loss", "--yes")
    assert result.code == 1
    assert "ended UPDATE_ROLLBACK_COMPLETE" in result.err
    assert "Stack policy of api-cars-data restored" in result.err
    aws_stub.done()


def test_the_stack_policy_denies_replacing_and_deleting_what_holds_data() -> None:
    policy = stack_policy()
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert sorted(deny["Action"]) == ["Update:Delete", "Update:Replace"]
    assert sorted(deny["Resource"]) == sorted(
        f"LogicalResourceId/{i}"
        for i in (DATABASE_CLUSTER, DATABASE_WRITER, CACHE, DATABASE_SECRET, CACHE_SECRET)
    )
    # Readers hold no data of their own: lowering ReaderCount is no data loss.
    assert not [r for r in deny["Resource"] if "Reader" in r]
    assert LIFTED_POLICY["Statement"] == [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
    ]


# --- the first create --------------------------------------------------------------------------
def test_the_first_create_has_no_deletion_protection_and_a_second_change_set_turns_it_on(
    cli, aws_stub: Aws, data_template: Path
) -> None:
    no_such_stack(aws_stub.cfn, DATA)
    unprotected = {**DATA_PARAMETERS, DELETION_PROTECTION: "false"}
    created_id = expect_change_set(
        aws_stub,
        DATA,
        purpose="deploy",
        change_type="CREATE",
        parameters=[{"ParameterKey": DELETION_PROTECTION, "ParameterValue": "false"}],
        changes=[
            change(DATABASE_CLUSTER, "AWS::RDS::DBCluster", action="Add"),
            change(DATABASE_WRITER, "AWS::RDS::DBInstance", action="Add"),
            change(CACHE, "AWS::ElastiCache::ServerlessCache", action="Add"),
        ],
        values=unprotected,
        template=data_template,
    )
    expect_execution(
        aws_stub,
        DATA,
        created_id,
        before="REVIEW_IN_PROGRESS",
        after="CREATE_COMPLETE",
        events=[event(DATA, DATA, STACK_TYPE, "CREATE_COMPLETE")],
        parameters=unprotected,
    )
    # Protected at once: termination protection, then the stack policy.
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "CREATE_COMPLETE", unprotected), {"StackName": DATA}
    )
    aws_stub.cfn.add_response(
        "update_termination_protection",
        {"StackId": STACK_IDS[DATA]},
        {"StackName": DATA, "EnableTerminationProtection": True},
    )
    aws_stub.cfn.add_response("get_stack_policy", {}, {"StackName": DATA})
    expect_policy(aws_stub, stack_policy())
    # The second change set: DeletionProtection only.
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "CREATE_COMPLETE", unprotected), {"StackName": DATA}
    )
    protect_id = expect_change_set(
        aws_stub,
        DATA,
        purpose="deletion-protection",
        change_type="UPDATE",
        parameters=[
            {"ParameterKey": DELETION_PROTECTION, "ParameterValue": "true"},
            {"ParameterKey": ENABLE_CACHE, "UsePreviousValue": True},
            {"ParameterKey": READER_COUNT, "UsePreviousValue": True},
            {"ParameterKey": MIN_CAPACITY, "UsePreviousValue": True},
        ],
        changes=[
            change(
                DATABASE_CLUSTER,
                "AWS::RDS::DBCluster",
                properties={"DeletionProtection": "Never"},
            )
        ],
        values=DATA_PARAMETERS,
    )
    expect_execution(
        aws_stub,
        DATA,
        protect_id,
        before="CREATE_COMPLETE",
        after="UPDATE_COMPLETE",
        events=[event(DATA, DATA, STACK_TYPE, "UPDATE_COMPLETE")],
        parameters=DATA_PARAMETERS,
    )
    result = deploy_data(cli, aws_stub, data_template, "--yes", "--output", "json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["type"] == "CREATE"
    assert document["deletion_protection"]["executed"] is True
    assert "Termination protection on for api-cars-data" in result.err
    aws_stub.done()


# --- data first, then the service wired to it ----------------------------------------------------
@pytest.mark.parametrize(("reader_count", "has_readers"), [("0", "false"), ("2", "true")])
def test_deploy_updates_the_network_and_data_stacks_then_the_service_wired_to_them(
    cli,
    aws_stub: Aws,
    network_template: Path,
    data_template: Path,
    service_template: Path,
    reader_count,
    has_readers,
) -> None:
    without_cache = {**DATA_PARAMETERS, ENABLE_CACHE: "false", READER_COUNT: reader_count}
    service_parameters = {
        IMAGE_TAG: "v1.2.0",
        DATA_STACK_NAME: DATA,
        DATA_STACK_HAS_CACHE: "true",
        DATA_STACK_HAS_READERS: "false",
    }
    # The network stack first: its own change set (nothing to change here).
    network_values = {"VpcName": "prod"}
    aws_stub.cfn.add_response(
        "describe_stacks",
        described(NETWORK, "UPDATE_COMPLETE", network_values),
        {"StackName": NETWORK},
    )
    no_changes(aws_stub, NETWORK, network_template, previous(network_values))
    # Then the data stack: its own change set (nothing to change here), its protections checked.
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", without_cache), {"StackName": DATA}
    )
    no_changes(aws_stub, DATA, data_template, previous(without_cache))
    expect_protected_already(aws_stub, without_cache)
    # Then the service, with DataStackHasCache copied from the data stack's EnableCache.
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", without_cache), {"StackName": DATA}
    )
    aws_stub.cfn.add_response(
        "describe_stacks",
        described(SERVICE, "UPDATE_COMPLETE", service_parameters),
        {"StackName": SERVICE},
    )
    cs_id = expect_change_set(
        aws_stub,
        SERVICE,
        purpose="deploy",
        change_type="UPDATE",
        parameters=[
            {"ParameterKey": IMAGE_TAG, "UsePreviousValue": True},
            {"ParameterKey": DATA_STACK_NAME, "ParameterValue": DATA},
            {"ParameterKey": DATA_STACK_HAS_CACHE, "ParameterValue": "false"},
            {"ParameterKey": DATA_STACK_HAS_READERS, "ParameterValue": has_readers},
        ],
        changes=[change("Topic", "AWS::SNS::Topic", properties={"DisplayName": "Never"})],
        values={
            **service_parameters,
            DATA_STACK_HAS_CACHE: "false",
            DATA_STACK_HAS_READERS: has_readers,
        },
        template=service_template,
    )
    result = cli(
        "deploy",
        "--template-file",
        str(service_template),
        "--data-template-file",
        str(data_template),
        "--network-template-file",
        str(network_template),
        "--no-execute",
        "--output",
        "json",
        clients=aws_stub.clients,
    )
    assert result.code == 0, result.err
    document = result.json()
    assert document["stack_name"] == SERVICE
    assert document["network"]["stack_name"] == NETWORK
    assert document["network"]["changed"] is False
    assert document["change_set_name"] == cs_id.split("/")[1]  # left for review, not deleted
    assert document["change_set"]["parameters"][DATA_STACK_HAS_CACHE] == "false"
    # Reads go to the reader endpoint only when the data stack has readers.
    assert document["change_set"]["parameters"][DATA_STACK_HAS_READERS] == has_readers
    assert document["data"] == {
        "stack_name": DATA,
        "action": "deploy",
        "type": "UPDATE",
        "changed": False,
        "executed": False,
    }
    assert result.err.index("No changes: stack api-cars-network") < result.err.index(
        "No changes: stack api-cars-data"
    )
    assert result.err.index("No changes: stack api-cars-data") < result.err.index(
        "Change set left for review"
    )
    aws_stub.done()  # the Stubber's order is the order: network, data stack, then service


def test_deploy_goes_network_data_identity_then_the_service_wired_to_them(
    cli, aws_stub: Aws, network_template: Path, data_template: Path, tmp_path: Path
) -> None:
    """The order of deploy.STACKS, as the Stubber's order of answers holds it."""
    identity_template = tmp_path / "identity.json"
    identity_template.write_text(
        json.dumps(
            {
                "Parameters": {AUTH_ISSUER: {"Type": "String", "Default": ""}},
                "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            }
        ),
        encoding="utf-8",
    )
    template = _service_template()
    choice = {"Type": "String", "AllowedValues": ["true", "false"], "Default": "false"}
    template["Parameters"] |= {
        IDENTITY_STACK_NAME: {"Type": "String", "Default": IDENTITY},
        AUTH_DISABLED: choice,
    }
    service_template = tmp_path / "service.json"
    service_template.write_text(json.dumps(template), encoding="utf-8")
    service_parameters = {
        IMAGE_TAG: "v1.2.0",
        DATA_STACK_NAME: DATA,
        DATA_STACK_HAS_CACHE: "true",
        DATA_STACK_HAS_READERS: "false",
        IDENTITY_STACK_NAME: IDENTITY,
        AUTH_DISABLED: "false",
    }
    identity_parameters = {AUTH_ISSUER: ""}

    def describes(name: str, parameters: dict[str, str]) -> None:
        aws_stub.cfn.add_response(
            "describe_stacks", described(name, "UPDATE_COMPLETE", parameters), {"StackName": name}
        )

    # Before anything changes: is the service's AuthDisabled kept true? (It is false.)
    describes(SERVICE, service_parameters)
    # 0. The network stack.
    network_values = {"VpcName": "prod"}
    describes(NETWORK, network_values)
    no_changes(aws_stub, NETWORK, network_template, previous(network_values))
    # 1. The data stack, and its protections checked.
    describes(DATA, DATA_PARAMETERS)
    no_changes(aws_stub, DATA, data_template, previous(DATA_PARAMETERS))
    expect_protected_already(aws_stub)
    # 2. The identity stack.
    describes(IDENTITY, identity_parameters)
    no_changes(aws_stub, IDENTITY, identity_template, previous(identity_parameters))
    # 3. The service, wired to both (each checked to be there).
    describes(DATA, DATA_PARAMETERS)
    describes(IDENTITY, identity_parameters)
    describes(SERVICE, service_parameters)
    no_changes(
        aws_stub,
        SERVICE,
        service_template,
        [
            {"ParameterKey": IMAGE_TAG, "UsePreviousValue": True},
            {"ParameterKey": DATA_STACK_NAME, "ParameterValue": DATA},
            {"ParameterKey": DATA_STACK_HAS_CACHE, "ParameterValue": "true"},
            {"ParameterKey": DATA_STACK_HAS_READERS, "ParameterValue": "false"},
            {"ParameterKey": IDENTITY_STACK_NAME, "ParameterValue": IDENTITY},
            {"ParameterKey": AUTH_DISABLED, "UsePreviousValue": True},
        ],
    )
    # The service's load balancer protection is read after its change set (on already here).
    describes(SERVICE, service_parameters)
    result = cli(
        "deploy",
        "--template-file",
        str(service_template),
        "--data-template-file",
        str(data_template),
        "--identity-template-file",
        str(identity_template),
        "--network-template-file",
        str(network_template),
        "--output",
        "json",
        clients=aws_stub.clients,
    )
    assert result.code == 0, result.err
    document = result.json()
    assert [document[stack]["stack_name"] for stack in ("network", "data", "identity")] == [
        NETWORK,
        DATA,
        IDENTITY,
    ]
    said = [line for line in result.err.splitlines() if line.startswith("No changes: stack")]
    assert [line.split()[3] for line in said] == [NETWORK, DATA, IDENTITY, SERVICE]
    aws_stub.done()


def test_deploy_with_auth_disabled_skips_the_identity_stack_and_says_writes_are_open(
    cli, aws_stub: Aws, network_template: Path, data_template: Path, tmp_path: Path
) -> None:
    template = _service_template()
    choice = {"Type": "String", "AllowedValues": ["true", "false"], "Default": "false"}
    template["Parameters"] |= {
        IDENTITY_STACK_NAME: {"Type": "String", "Default": IDENTITY},
        AUTH_DISABLED: choice,
    }
    service_template = tmp_path / "service.json"
    service_template.write_text(json.dumps(template), encoding="utf-8")
    network_values = {"VpcName": "prod"}
    aws_stub.cfn.add_response(
        "describe_stacks",
        described(NETWORK, "UPDATE_COMPLETE", network_values),
        {"StackName": NETWORK},
    )
    no_changes(aws_stub, NETWORK, network_template, previous(network_values))
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS), {"StackName": DATA}
    )
    no_changes(aws_stub, DATA, data_template, previous(DATA_PARAMETERS))
    expect_protected_already(aws_stub)
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS), {"StackName": DATA}
    )
    no_such_stack(aws_stub.cfn, SERVICE)
    cs_id = expect_change_set(
        aws_stub,
        SERVICE,
        purpose="deploy",
        change_type="CREATE",
        parameters=[
            {"ParameterKey": IMAGE_TAG, "ParameterValue": "v1.2.0"},
            {"ParameterKey": DATA_STACK_NAME, "ParameterValue": DATA},
            {"ParameterKey": DATA_STACK_HAS_CACHE, "ParameterValue": "true"},
            {"ParameterKey": DATA_STACK_HAS_READERS, "ParameterValue": "false"},
            {"ParameterKey": IDENTITY_STACK_NAME, "ParameterValue": ""},
            {"ParameterKey": AUTH_DISABLED, "ParameterValue": "true"},
        ],
        changes=[change("Topic", "AWS::SNS::Topic", action="Add")],
        values={IMAGE_TAG: "v1.2.0", AUTH_DISABLED: "true"},
        template=service_template,
    )
    result = cli(
        "deploy",
        "--template-file",
        str(service_template),
        "--data-template-file",
        str(data_template),
        "--image-tag",
        "v1.2.0",
        "--param",
        "AuthDisabled=true",
        "--network-template-file",
        str(network_template),
        "--no-execute",
        "--output",
        "json",
        clients=aws_stub.clients,
    )
    assert result.code == 0, result.err
    assert "Identity stack api-cars-identity not deployed: the service has AuthDisabled=true" in (
        result.err
    )
    assert "Writes will be OPEN: anyone can write (AuthDisabled=true)" in result.err
    assert result.json()["change_set_name"] == cs_id.split("/")[1]
    aws_stub.done()


def test_deploy_refuses_a_service_template_that_cannot_take_the_data_stack(
    cli, aws_stub: Aws, data_template: Path, tmp_path: Path
) -> None:
    template = _service_template()
    del template["Parameters"][DATA_STACK_NAME], template["Parameters"][DATA_STACK_HAS_CACHE]
    old_service = tmp_path / "old-service.json"
    old_service.write_text(json.dumps(template), encoding="utf-8")
    result = cli(
        "deploy",
        "--template-file",
        str(old_service),
        "--data-template-file",
        str(data_template),
        "--yes",
        clients=aws_stub.clients,
    )
    assert result.code == 2
    assert "has no DataStackName parameter" in result.err
    aws_stub.done()  # refused before the data stack was even described


def test_deploying_the_service_alone_needs_its_data_stack(
    cli, aws_stub: Aws, service_template: Path
) -> None:
    no_such_stack(aws_stub.cfn, DATA)
    result = cli(
        "deploy",
        "--only",
        "service",
        "--template-file",
        str(service_template),
        "--image-tag",
        "v1.2.0",
        "--yes",
        clients=aws_stub.clients,
    )
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        "cars-stack deploy: data stack api-cars-data is missing: deploy it first "
        "(cars-stack deploy --only data), or pass --param DataStackName= for a service without one"
    )
    aws_stub.done()


def test_a_service_with_access_logs_waits_for_a_data_stack_that_has_the_bucket(
    cli, aws_stub: Aws, tmp_path: Path
) -> None:
    document = _service_template()
    document["Parameters"][ACCESS_LOGS] = {"Type": "String", "Default": "true"}
    template = tmp_path / "service-with-logs.json"
    template.write_text(json.dumps(document), encoding="utf-8")
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS), {"StackName": DATA}
    )  # a data stack from before the bucket: no AccessLogBucket output
    result = cli(
        "deploy",
        "--only",
        "service",
        "--template-file",
        str(template),
        "--image-tag",
        "v1.2.0",
        "--yes",
        clients=aws_stub.clients,
    )
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        "cars-stack deploy: data stack api-cars-data has no access-log bucket yet (output "
        "AccessLogBucket): deploy it first (cars-stack deploy --only data), or pass --param "
        "AccessLogBucketName=BUCKET or --param AccessLogs=false"
    )
    aws_stub.done()  # no change set was made


# --- destroy: the data stack stays, or goes with its typed name and a final snapshot -------------
def test_destroy_deletes_the_service_and_keeps_the_data_stack_saying_so(
    deployed: Path, cli, aws
) -> None:
    cfn = aws("cloudformation")
    cfn.create_stack(
        StackName=DATA,
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    result = cli("destroy", "--yes")
    assert result.code == 0, result.err
    assert (
        "Data stack api-cars-data kept, with its database, cache and access logs: to delete it "
        "and its data, cars-stack destroy --delete-data api-cars-data" in result.out
    )
    names = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
    assert DATA in names
    assert SERVICE not in names


def test_destroy_delete_data_with_a_mistyped_name_changes_nothing(deployed: Path, cli, aws) -> None:
    cfn = aws("cloudformation")
    cfn.create_stack(
        StackName=DATA,
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    result = cli("destroy", "--delete-data", "api-cars-dat", "--yes")
    assert result.code == 2
    assert result.err == (
        "cars-stack destroy: --delete-data api-cars-dat does not name the data stack of api-cars "
        "(api-cars-data): nothing was changed\n"
    )
    statuses = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
    assert statuses[DATA] == "CREATE_COMPLETE"
    assert statuses[SERVICE] == "CREATE_COMPLETE"


def _exports() -> dict[str, Any]:
    return {
        "Exports": [
            {
                "ExportingStackId": STACK_IDS[DATA],
                "Name": f"{DATA}-WriterEndpoint",
                "Value": "writer.example",
            },
            {
                "ExportingStackId": STACK_IDS[DATA],
                "Name": f"{DATA}-CacheEndpoint",
                "Value": "cache.example",
            },
            {
                "ExportingStackId": f"{ARN_PREFIX}:stack/other/1",
                "Name": "other-Thing",
                "Value": "x",
            },
        ]
    }


def _not_imported(aws: Aws, export: str) -> None:
    aws.cfn.add_client_error(
        "list_imports",
        service_error_code="ValidationError",
        service_message=f"Export '{export}' is not imported by any stack.",
        http_status_code=400,
        expected_params={"ExportName": export},
    )


def test_destroy_delete_data_refuses_while_another_stack_imports_it(cli, aws_stub: Aws) -> None:
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS)
    )
    aws_stub.cfn.add_response("list_exports", _exports())
    aws_stub.cfn.add_response(
        "list_imports",
        {"Imports": [SERVICE, "api-cars-staging"]},
        {"ExportName": f"{DATA}-WriterEndpoint"},
    )
    _not_imported(aws_stub, f"{DATA}-CacheEndpoint")
    result = cli("destroy", "--delete-data", DATA, "--yes", clients=aws_stub.clients)
    assert result.code == 2
    assert result.err == (
        "cars-stack destroy: data stack api-cars-data is still imported by api-cars-staging "
        "(api-cars-data-WriterEndpoint): delete that stack first (nothing was changed)\n"
    )
    aws_stub.done()  # the service stack was not touched either


def expect_data_deletion(aws: Aws, snapshots: list[dict[str, Any]]) -> None:
    """With the service gone already: imports checked twice, deletion protection lifted in a
    change set, termination protection off, the delete followed, then the cluster's snapshots."""
    cfn = aws.cfn
    cfn.add_response("describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS))
    cfn.add_response("list_exports", _exports())
    cfn.add_response("list_imports", {"Imports": [SERVICE]})  # the stack being destroyed
    _not_imported(aws, f"{DATA}-CacheEndpoint")
    no_such_stack(cfn, SERVICE)  # nothing to delete there
    cfn.add_response("list_exports", _exports())
    _not_imported(aws, f"{DATA}-WriterEndpoint")
    _not_imported(aws, f"{DATA}-CacheEndpoint")
    cfn.add_response(
        "list_stack_resources",
        _resources(
            DATA,
            (DATABASE_CLUSTER, CLUSTER_ID, "AWS::RDS::DBCluster"),
            (ACCESS_LOG_BUCKET, LOG_BUCKET, "AWS::S3::Bucket"),
        ),
        {"StackName": DATA},
    )
    lift_id = expect_change_set(
        aws,
        DATA,
        purpose="lift-deletion-protection",
        change_type="UPDATE",
        parameters=previous(DATA_PARAMETERS, **{DELETION_PROTECTION: "false"}),
        changes=[
            change(
                DATABASE_CLUSTER, "AWS::RDS::DBCluster", properties={"DeletionProtection": "Never"}
            )
        ],
        values={**DATA_PARAMETERS, DELETION_PROTECTION: "false"},
    )
    expect_execution(
        aws,
        DATA,
        lift_id,
        before="UPDATE_COMPLETE",
        after="UPDATE_COMPLETE",
        events=[event(DATA, DATA, STACK_TYPE, "UPDATE_COMPLETE")],
    )
    cfn.add_response(
        "update_termination_protection",
        {"StackId": STACK_IDS[DATA]},
        {"StackName": DATA, "EnableTerminationProtection": False},
    )
    marker = event(DATA, DATA, STACK_TYPE, "UPDATE_COMPLETE")
    cfn.add_response("describe_stack_events", {"StackEvents": [marker]})
    cfn.add_response("delete_stack", {}, {"StackName": STACK_IDS[DATA]})
    deleting = event(DATA, DATA, STACK_TYPE, "DELETE_IN_PROGRESS")
    deleted = [
        deleting,
        event(DATA, DATABASE_CLUSTER, "AWS::RDS::DBCluster", "DELETE_COMPLETE"),
        event(DATA, DATA, STACK_TYPE, "DELETE_COMPLETE"),
    ]
    cfn.add_response("describe_stacks", described(DATA, "DELETE_COMPLETE"))
    cfn.add_response("describe_stack_events", {"StackEvents": [*deleted[::-1], marker]})
    aws.stubs["rds"].add_response(
        "describe_db_cluster_snapshots",
        {"DBClusterSnapshots": snapshots},
        {"DBClusterIdentifier": CLUSTER_ID, "SnapshotType": "manual"},
    )


def snapshot(identifier: str, created: datetime) -> dict[str, Any]:
    return {
        "DBClusterSnapshotIdentifier": identifier,
        "DBClusterIdentifier": CLUSTER_ID,
        "SnapshotCreateTime": created,
        "SnapshotType": "manual",
        "Status": "available",
    }


BEFORE_THE_UPGRADE = snapshot("before-the-upgrade", T0 - timedelta(days=30))
FINAL = "api-cars-data-databasecluster-abcdefghijkl-snapshot"


def test_destroy_delete_data_lifts_protection_deletes_and_prints_the_final_snapshot(
    cli, aws_stub: Aws
) -> None:
    # The events run at T0 plus seconds: a snapshot a day later was made by this delete.
    expect_data_deletion(aws_stub, [snapshot(FINAL, T0 + timedelta(days=1)), BEFORE_THE_UPGRADE])
    result = cli("destroy", "--delete-data", DATA, "--yes", clients=aws_stub.clients)
    assert result.code == 0, result.err
    assert (
        f"Final snapshot of cluster {CLUSTER_ID}: {FINAL} (available); restore from it with "
        "aws rds restore-db-cluster-from-snapshot" in result.out
    )
    # The access-log bucket outlives the data stack (DeletionPolicy), and the output says how to go.
    assert (
        f"Access-log bucket {LOG_BUCKET} kept with the load balancer's logs (they expire by its "
        f"lifecycle rule); to delete it and them: aws s3 rb s3://{LOG_BUCKET} --force "
        f"--region {REGION}" in result.out
    )
    aws_stub.done()


def test_a_data_stack_deleted_without_a_final_snapshot_fails_naming_where_to_look(
    cli, aws_stub: Aws
) -> None:
    expect_data_deletion(aws_stub, [BEFORE_THE_UPGRADE])  # older than the delete: not its own
    result = cli("destroy", "--delete-data", DATA, "--yes", clients=aws_stub.clients)
    assert result.code == 1
    assert result.err.splitlines() == [
        f"cars-stack destroy: data stack {DATA} is deleted but no final snapshot of cluster "
        f"{CLUSTER_ID} was found",
        f"  look for it: aws rds describe-db-cluster-snapshots --db-cluster-identifier "
        f"{CLUSTER_ID} --region {REGION}",
    ]
    aws_stub.done()


# --- status ------------------------------------------------------------------------------------
def _resources(name: str, *pairs: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "StackResourceSummaries": [
            {
                "LogicalResourceId": logical,
                "PhysicalResourceId": physical,
                "ResourceType": kind,
                "LastUpdatedTimestamp": T0,
                "ResourceStatus": "CREATE_COMPLETE",
            }
            for logical, physical, kind in pairs
        ]
    }


def _expect_data_tier(
    aws: Aws, *, min_capacity: float, capacity: float | None, alarm_topic: str = ""
) -> None:
    cfn = aws.cfn
    cfn.add_response(
        "describe_stacks",
        described(SERVICE, "UPDATE_COMPLETE", {IMAGE_TAG: "v1.2.0", ALARM_TOPIC_ARN: alarm_topic}),
        {"StackName": SERVICE},
    )
    cfn.add_response("list_stack_resources", _resources(SERVICE), {"StackName": SERVICE})
    cfn.add_response(
        "describe_stacks",
        described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS, termination_protection=True),
        {"StackName": DATA},
    )
    cfn.add_response(
        "list_stack_resources",
        _resources(
            DATA,
            (DATABASE_CLUSTER, CLUSTER_ID, "AWS::RDS::DBCluster"),
            (DATABASE_WRITER, WRITER_ID, "AWS::RDS::DBInstance"),
            (CACHE, CACHE_NAME, "AWS::ElastiCache::ServerlessCache"),
        ),
        {"StackName": DATA},
    )
    aws.stubs["rds"].add_response(
        "describe_db_clusters",
        {
            "DBClusters": [
                {
                    "DBClusterIdentifier": CLUSTER_ID,
                    "Engine": "aurora-postgresql",
                    "EngineVersion": "16.6",
                    "Status": "available",
                    "DeletionProtection": True,
                    "ServerlessV2ScalingConfiguration": {
                        "MinCapacity": min_capacity,
                        "MaxCapacity": 4.0,
                    },
                    "DBClusterMembers": [
                        {"DBInstanceIdentifier": WRITER_ID, "IsClusterWriter": True},
                        {"DBInstanceIdentifier": "reader-1", "IsClusterWriter": False},
                    ],
                }
            ]
        },
        {"DBClusterIdentifier": CLUSTER_ID},
    )
    if capacity is not None:
        aws.stubs["cloudwatch"].add_response(
            "get_metric_statistics",
            {
                "Label": "ServerlessDatabaseCapacity",
                "Datapoints": [
                    {"Timestamp": T0 - timedelta(minutes=2), "Average": 0.5, "Unit": "Count"},
                    {"Timestamp": T0, "Average": capacity, "Unit": "Count"},
                ],
            },
            {
                "Namespace": "AWS/RDS",
                "MetricName": "ServerlessDatabaseCapacity",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": WRITER_ID}],
                "StartTime": ANY,
                "EndTime": ANY,
                "Period": 60,
                "Statistics": ["Average"],
            },
        )
    aws.stubs["elasticache"].add_response(
        "describe_serverless_caches",
        {
            "ServerlessCaches": [
                {
                    "ServerlessCacheName": CACHE_NAME,
                    "Engine": "valkey",
                    "MajorEngineVersion": "8",
                    "FullEngineVersion": "8.0",
                    "Status": "available",
                    "CacheUsageLimits": {
                        "DataStorage": {"Maximum": 10, "Unit": "GB"},
                        "ECPUPerSecond": {"Maximum": 5000},
                    },
                }
            ]
        },
        {"ServerlessCacheName": CACHE_NAME},
    )


def test_status_shows_the_data_tier_and_that_the_database_is_paused(cli, aws_stub: Aws) -> None:
    _expect_data_tier(aws_stub, min_capacity=0.0, capacity=0.0)
    result = cli("status", clients=aws_stub.clients)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "Data stack   api-cars-data (UPDATE_COMPLETE, termination protection on)" in lines
    assert "Database     aurora-postgresql 16.6 (available, deletion protection on)" in lines
    assert "Capacity     0-4 ACU" in lines
    assert "Readers      1" in lines
    assert "Paused       yes (0 ACU at 12:00 UTC; resumes on the next connection)" in lines
    assert "Cache        valkey 8.0 (available), at most 10 GB, 5000 ECPU/s" in lines
    assert "Alarms       none: alarms page nobody" in lines
    aws_stub.done()


def test_status_of_a_database_with_a_minimum_capacity_never_asks_cloudwatch(
    cli, aws_stub: Aws
) -> None:
    _expect_data_tier(aws_stub, min_capacity=0.5, capacity=None)
    result = cli("status", "--output", "json", clients=aws_stub.clients)
    assert result.code == 0, result.err
    database = result.json()["data"]["database"]
    assert database["paused"] == "no (MinCapacity 0.5 > 0: never pauses)"
    assert (database["min_capacity"], database["max_capacity"]) == (0.5, 4.0)
    aws_stub.done()


def test_status_says_which_topic_the_alarms_notify(cli, aws_stub: Aws) -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:api-cars-alarms"
    _expect_data_tier(aws_stub, min_capacity=0.5, capacity=None, alarm_topic=topic)
    result = cli("status", clients=aws_stub.clients)
    assert result.code == 0, result.err
    assert f"Alarms       notify {topic}" in result.out.splitlines()
    aws_stub.done()


# --- rollback against a contracted schema --------------------------------------------------------
def _register(aws, tag: str) -> None:
    resources = aws("cloudformation").list_stack_resources(StackName=SERVICE)
    arn = next(
        r["PhysicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if r["LogicalResourceId"] == "TaskDefinition"
    )
    family = arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]
    aws("ecs").register_task_definition(
        family=family,
        containerDefinitions=[
            {
                "name": "api-cars-container",
                "memory": 512,
                "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/api-cars:{tag}",
                "environment": [{"name": "APP_VERSION", "value": tag}],
            }
        ],
    )


DROPPED_COLOUR = Contraction(
    migration="0007_drop_colour", release="v1.1.0", reason="drops cars.colour, which v1.0 reads"
)


@pytest.fixture
def contracted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compatibility, "CONTRACTIONS", (DROPPED_COLOUR,))


def test_rollback_refuses_a_target_older_than_a_contracting_migration(
    deployed: Path, cli, aws, contracted: None
) -> None:
    _register(aws, "v1.1.0")  # v1.1.0 ran, and applied the contraction
    result = cli("rollback", "v0.9.0", "--template-file", str(deployed), "--yes")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        "cars-stack rollback: cannot run v0.9.0 against the database: v0.9.0 predates migration "
        "0007_drop_colour, which v1.1.0 applied (drops cars.colour, which v1.0 reads); restore a "
        "snapshot from before it instead (docs/architecture.md, 'Restoring data')"
    )


def test_release_of_an_older_tag_is_refused_the_same_way(
    deployed: Path, cli, aws, contracted: None
) -> None:
    _register(aws, "v1.1.0")
    result = cli("release", "v0.9.0", "--template-file", str(deployed), "--yes")
    assert result.code == 2
    assert "v0.9.0 predates migration 0007_drop_colour" in result.err


def test_rollback_is_allowed_before_the_contraction_ever_ran(
    deployed: Path, cli, push_image, contracted: None
) -> None:
    push_image("v0.9.0")  # only v1.0.0 ran: the contraction (v1.1.0) never touched the schema
    result = cli(
        "rollback", "v0.9.0", "--template-file", str(deployed), "--no-execute", "--output", "json"
    )
    assert result.code == 0, result.err
    assert result.json()["change_set"]["parameters"][IMAGE_TAG] == "v0.9.0"


def test_execute_refuses_a_reviewed_change_set_that_loses_data_and_leaves_it(
    cli, aws_stub: Aws
) -> None:
    aws_stub.cfn.add_response(
        "describe_stacks", described(DATA, "UPDATE_COMPLETE", DATA_PARAMETERS)
    )
    cs_id = change_set_id(DATA, "deploy")
    aws_stub.cfn.add_response(
        "describe_change_set", change_set(DATA, cs_id, [REPLACES_CLUSTER], DATA_PARAMETERS)
    )
    name = cs_id.split("/")[1]
    result = cli("execute", name, "--stack-name", DATA, "--yes", clients=aws_stub.clients)
    assert result.code == 2
    assert "would lose data, refused" in result.err
    assert f"change set {name} left as it was" in result.err
    aws_stub.done()  # neither executed nor deleted: it was not this run's


def test_only_data_refuses_service_parameters(cli, aws_stub: Aws, data_template: Path) -> None:
    result = deploy_data(cli, aws_stub, data_template, "--param", "DesiredCount=3", "--yes")
    assert result.code == 2
    assert result.err == (
        "cars-stack deploy: --param and --image-tag set the service stack, which --only data "
        "does not deploy\n"
    )
    aws_stub.done()  # refused before any AWS call


def test_a_data_stack_name_too_long_for_its_access_log_bucket_is_refused_before_any_call(
    cli, aws_stub: Aws
) -> None:
    name = "api-cars-production-eu-data"  # 27: the most eu-west-1 leaves is 27
    longer = name + "x"
    result = cli("deploy", "--only", "data", "--data-stack-name", longer, clients=aws_stub.clients)
    assert result.code == 2
    assert result.err == (
        f"cars-stack deploy: data stack name {longer} is too long for its access-log bucket "
        "(64 > 63 characters): in eu-west-1 it may have at most 27 (--data-stack-name)\n"
    )
    aws_stub.done()  # nothing was asked of AWS
