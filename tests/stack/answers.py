"""CloudFormation answers the stack tests stub again and again, shaped like the API reference."""

from typing import Any

from botocore.stub import Stubber

from template_builder.names import OUTPUT_IMAGE_CHECK_SERVICE_TOKEN, VPC_LOOKUP_ATTRIBUTES

ARN_PREFIX = "arn:aws:cloudformation:eu-west-1:123456789012"
NETWORK_AND_REGISTRY = {
    "api-cars-network": VPC_LOOKUP_ATTRIBUTES,
    "api-cars-registry": (OUTPUT_IMAGE_CHECK_SERVICE_TOKEN,),
}


# ListExports once the network and registry stacks are deployed: cars-stack checks these exports
# before a change set of a stack that imports them.
def list_exports_answer(owners: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The ListExports response for these stacks' outputs (stack name -> output names)."""
    return {
        "Exports": [
            {
                "ExportingStackId": f"{ARN_PREFIX}:stack/{owner}/1",
                "Name": f"{owner}-{output}",
                "Value": "value",
            }
            for owner, outputs in owners.items()
            for output in outputs
        ]
    }


def no_such_stack(stub: Stubber, name: str) -> None:
    """DescribeStacks of a stack that does not exist: CloudFormation answers a ValidationError."""
    stub.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {name} does not exist",
        http_status_code=400,
        expected_params={"StackName": name},
    )
