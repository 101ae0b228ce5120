"""ListExports as AWS answers it once the network and registry stacks are deployed: cars-stack
checks these exports before a change set of a stack that imports them."""

from typing import Any

from template_builder.names import OUTPUT_IMAGE_CHECK_SERVICE_TOKEN, VPC_LOOKUP_ATTRIBUTES

ARN_PREFIX = "arn:aws:cloudformation:eu-west-1:123456789012"
NETWORK_AND_REGISTRY = {
    "api-cars-network": VPC_LOOKUP_ATTRIBUTES,
    "api-cars-registry": (OUTPUT_IMAGE_CHECK_SERVICE_TOKEN,),
}


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
