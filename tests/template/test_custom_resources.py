"""Custom resources: their functions, roles and log groups outlive them on deletion, and a hung
handler cannot hold the stack for an hour."""

import pytest

from template_builder import names
from template_builder.lambda_code import ZIPFILE_LIMIT

CUSTOM = {
    names.VPC_LOOKUP: (
        names.VPC_LOOKUP_FUNCTION,
        names.VPC_LOOKUP_ROLE,
        names.VPC_LOOKUP_LOG_GROUP,
    ),
    names.IMAGE_CHECK: (
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


@pytest.mark.parametrize("custom", CUSTOM)
def test_a_custom_resource_depends_on_its_function_role_and_log_group(render, custom):
    """So CloudFormation deletes the custom resource while its function can still answer."""
    assert set(CUSTOM[custom]) <= depends_on(render.service(), custom)


@pytest.mark.parametrize("custom", CUSTOM)
def test_a_custom_resource_function_logs_to_its_own_group_with_retention(render, custom):
    function, _, log_group = CUSTOM[custom]
    resolved = render.resolve(LogRetentionDays=7)["Resources"]
    assert resolved[function]["Properties"]["LoggingConfig"] == {"LogGroup": log_group}
    assert resolved[log_group]["Properties"]["RetentionInDays"] == "7"
    assert resolved[log_group]["Properties"]["LogGroupName"].startswith("/aws/lambda/api-cars/")


@pytest.mark.parametrize("custom", CUSTOM)
def test_a_custom_resource_gives_up_well_before_an_hour(render, custom):
    timeout = render.service()["Resources"][custom]["Properties"]["ServiceTimeout"]
    assert 0 < timeout <= 600


@pytest.mark.parametrize("custom", CUSTOM)
def test_a_custom_resource_function_is_inline_and_under_the_zipfile_limit(render, custom):
    function = render.service()["Resources"][CUSTOM[custom][0]]["Properties"]
    assert function["Handler"] == "index.handler"
    assert len(function["Code"]["ZipFile"].encode()) < ZIPFILE_LIMIT


def test_custom_resources_have_the_contract_types(render):
    resources = render.service()["Resources"]
    assert resources[names.VPC_LOOKUP]["Type"] == names.VPC_LOOKUP_TYPE
    assert resources[names.IMAGE_CHECK]["Type"] == names.IMAGE_CHECK_TYPE
