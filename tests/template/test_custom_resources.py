"""Custom resources: their functions, roles and log groups outlive them on deletion, and a hung
handler cannot hold the stack for an hour."""

import pytest

from template_builder import names
from template_builder.lambda_code import ZIPFILE_LIMIT

# Each custom resource's function, role and log group, and the stack (a Render method) holding them.
FUNCTIONS = {
    names.VPC_LOOKUP: (
        "network",
        names.VPC_LOOKUP_FUNCTION,
        names.VPC_LOOKUP_ROLE,
        names.VPC_LOOKUP_LOG_GROUP,
    ),
    names.IMAGE_CHECK: (
        "registry",
        names.IMAGE_CHECK_FUNCTION,
        names.IMAGE_CHECK_ROLE,
        names.IMAGE_CHECK_LOG_GROUP,
    ),
}


def references(value) -> set[str]:
    """Logical IDs a resource definition refers to through Ref or Fn::GetAtt."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            else:
                found |= references(inner)
        return found
    if isinstance(value, list):
        return set().union(*(references(v) for v in value)) if value else set()
    return set()


def depends_on(template: dict, logical_id: str) -> set[str]:
    resource = template["Resources"][logical_id]
    return set(resource.get("DependsOn", [])) | references(resource.get("Properties", {}))


def test_the_vpc_lookup_depends_on_its_function_role_and_log_group(render):
    """So CloudFormation deletes the custom resource while its function can still answer."""
    _, *needed = FUNCTIONS[names.VPC_LOOKUP]
    assert set(needed) <= depends_on(render.network(), names.VPC_LOOKUP)


def test_the_service_calls_the_registrys_image_check_and_carries_no_function(render):
    service = render.service()["Resources"]
    token = service[names.IMAGE_CHECK]["Properties"]["ServiceToken"]
    assert token == {"Fn::ImportValue": {"Fn::Sub": "${RegistryStackName}-ImageCheckServiceToken"}}
    assert not render.of_type(render.service(), "AWS::Lambda::Function")
    assert names.VPC_LOOKUP not in service


def test_the_registry_exports_its_image_check_function(render):
    output = render.registry()["Outputs"][names.OUTPUT_IMAGE_CHECK_SERVICE_TOKEN]
    assert output["Value"] == {"Fn::GetAtt": [names.IMAGE_CHECK_FUNCTION, "Arn"]}
    assert output["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-ImageCheckServiceToken"}


@pytest.mark.parametrize("custom", FUNCTIONS)
def test_a_custom_resource_function_logs_to_its_own_group_with_retention(render, custom):
    stack, function, _, log_group = FUNCTIONS[custom]
    template = getattr(render, stack)()
    resolved = render.resolve(template, f"api-cars-{stack}", LogRetentionDays=7)["Resources"]
    assert resolved[function]["Properties"]["LoggingConfig"] == {"LogGroup": log_group}
    assert resolved[log_group]["Properties"]["RetentionInDays"] == "7"
    name = resolved[log_group]["Properties"]["LogGroupName"]
    assert name.startswith(f"/aws/lambda/api-cars-{stack}/")


@pytest.mark.parametrize("stack", ["service", "network"])
@pytest.mark.parametrize("custom", FUNCTIONS)
def test_a_custom_resource_gives_up_well_before_an_hour(render, custom, stack):
    resources = getattr(render, stack)()["Resources"]
    if custom in resources:
        assert 0 < resources[custom]["Properties"]["ServiceTimeout"] <= 600


@pytest.mark.parametrize("custom", FUNCTIONS)
def test_a_custom_resource_function_is_inline_readable_and_under_the_zipfile_limit(render, custom):
    stack, function_id, _, _ = FUNCTIONS[custom]
    function = getattr(render, stack)()["Resources"][function_id]["Properties"]
    assert function["Handler"] == "index.handler"
    code = function["Code"]["ZipFile"]
    assert len(code.encode()) < ZIPFILE_LIMIT
    # Readable: the protocol's and the handler's own names, indented blocks, no docstrings.
    assert "def answer(" in code and "def handler(event, context):" in code
    assert "\n    " in code
    assert '"""' not in code and "Custom::" not in code.split("\n", 1)[0]


def test_custom_resources_have_the_contract_types(render):
    assert render.network()["Resources"][names.VPC_LOOKUP]["Type"] == names.VPC_LOOKUP_TYPE
    assert render.service()["Resources"][names.IMAGE_CHECK]["Type"] == names.IMAGE_CHECK_TYPE
