"""`cars-stack deploy --only import`: after the service, wired to its URL, the data stack's
bucket and the identity stack (none with AuthDisabled=true), through a change set with
CAPABILITY_AUTO_EXPAND (the SAM transform); refused without a service URL or a bucket."""

from __future__ import annotations

import json

import boto3
from botocore.stub import Stubber

from cars_stack import changeset
from cars_stack.runtime import Context, Runtime

URL = "http://api-cars-123.eu-west-1.elb.amazonaws.com"


def _stack(aws, name: str, outputs: dict[str, str], **parameters: str) -> None:
    template = {
        "Parameters": {key: {"Type": "String"} for key in parameters},
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    aws("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )


def test_only_import_is_wired_to_the_service_url_the_bucket_and_the_identity_stack(cli, aws):
    _stack(aws, "api-cars", {"ServiceUrl": URL}, AuthDisabled="false")
    _stack(aws, "api-cars-data", {"ImportBucket": "api-cars-data-imports-1-eu-west-1-ab"})
    result = cli("deploy", "--only", "import", "--no-execute", "--output", "json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["stack_name"] == "api-cars-import"
    parameters = document["change_set"]["parameters"]
    assert parameters["ApiUrl"] == URL
    assert parameters["DataStackName"] == "api-cars-data"
    assert parameters["IdentityStackName"] == "api-cars-identity"


def test_a_service_with_auth_disabled_gets_an_import_stack_without_an_issuer(cli, aws):
    _stack(aws, "api-cars", {"ServiceUrl": URL}, AuthDisabled="true")
    _stack(aws, "api-cars-data", {"ImportBucket": "b"})
    result = cli("deploy", "--only", "import", "--no-execute", "--output", "json")
    assert result.code == 0, result.err
    assert result.json()["change_set"]["parameters"]["IdentityStackName"] == ""


def test_without_the_service_the_import_stack_is_refused_in_one_line(cli, aws):
    _stack(aws, "api-cars-data", {"ImportBucket": "b"})
    result = cli("deploy", "--only", "import", "--yes")
    assert result.code == 2
    assert result.err == (
        "cars-stack deploy: service stack api-cars has no ServiceUrl: deploy it first "
        "(the import stack comes after the service)\n"
    )


def test_without_the_bucket_the_import_stack_is_refused_in_one_line(cli, aws):
    _stack(aws, "api-cars", {"ServiceUrl": URL})
    _stack(aws, "api-cars-data", {})
    result = cli("deploy", "--only", "import", "--yes")
    assert result.code == 2
    assert "data stack api-cars-data has no import bucket" in result.err


def _create_change_set_with(body: str, capabilities: list[str]) -> None:
    cfn = boto3.client("cloudformation", region_name="eu-west-1")
    with Stubber(cfn) as stub:
        stub.add_response(
            "create_change_set",
            {"Id": "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/n/1", "StackId": "s"},
            {
                "StackName": "api-cars-import",
                "ChangeSetName": "n",
                "ChangeSetType": "CREATE",
                "Parameters": [],
                "Capabilities": capabilities,
                "Description": "d",
                "TemplateBody": body,
            },
        )
        ctx = Context(Runtime(clients={"cloudformation": cfn}), stack_name="api-cars-import")
        changeset.create(
            ctx, name="n", change_type="CREATE", parameters=[], description="d", template_body=body
        )
        stub.assert_no_pending_responses()


def test_a_template_with_a_transform_is_sent_with_capability_auto_expand():
    _create_change_set_with(
        "Transform: AWS::Serverless-2016-10-31\nResources: {}\n",
        ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )


def test_a_template_without_one_is_sent_with_capability_iam_alone():
    _create_change_set_with("Resources: {}\n", ["CAPABILITY_IAM"])


def test_destroy_deletes_the_import_stack_first_and_says_the_bucket_stays(cli, aws):
    _stack(aws, "api-cars", {"ServiceUrl": URL})
    _stack(aws, "api-cars-import", {})
    result = cli("destroy", answers=("api-cars",))
    assert result.code == 0, result.err
    assert "Import stack api-cars-import deleted (its bucket stays with the data stack)." in (
        result.out
    )
    assert result.out.index("api-cars-import deleted") < result.out.index("Stack api-cars deleted")
    live = [
        s["StackName"]
        for s in aws("cloudformation").describe_stacks()["Stacks"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert live == []
