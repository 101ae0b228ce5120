"""A stack's link to the network stack: the VPC facts it imports instead of looking them up.

The network stack (templates/network.yaml) runs Custom::VpcLookup once and exports its attributes
under the same names (names.VPC_LOOKUP_ATTRIBUTES). The data stack and the service stack import
them through their `NetworkStackName` parameter, so both are in the same VPC and subnets by
construction, and neither carries the lookup's Lambda function.
"""

from dataclasses import dataclass

from troposphere import ImportValue, Parameter, Split, Template

from template_builder import names
from template_builder.exports import imported
from template_builder.parameters import add_grouped, stack_name_parameter


@dataclass(frozen=True)
class NetworkLink:
    network_stack_name: Parameter

    def value(self, attribute: str) -> ImportValue:
        if attribute not in names.VPC_LOOKUP_ATTRIBUTES:
            raise ValueError(f"the network stack exports no {attribute}")
        return imported(names.NETWORK_STACK_NAME, attribute)

    def list(self, attribute: str) -> Split:
        """A list export: the lookup answers one comma-separated string."""
        return Split(",", self.value(attribute))

    @property
    def vpc_id(self) -> ImportValue:
        return self.value("VpcId")


def add_network_link(template: Template, group: str) -> NetworkLink:
    parameter = add_grouped(
        template,
        group,
        "Network stack",
        stack_name_parameter(
            names.NETWORK_STACK_NAME,
            names.DEFAULT_NETWORK_STACK_NAME,
            "Stack (templates/network.yaml) whose VPC and subnets this stack uses.",
        ),
    )
    return NetworkLink(network_stack_name=parameter)
