"""Physical names derive from the stack name: the default stack carries exactly the documented
names, and a second stack in the same account and region collides with nothing."""

import re

import pytest

from template_builder import names
from template_builder.access_logs import ELB_LOG_ACCOUNTS
from template_builder.render import render_all

# Resource type -> the property holding a name that must be unique in an account and region.
NAMED = {
    "AWS::ECS::Cluster": "ClusterName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::ECS::TaskDefinition": "Family",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


def physical_names(resolved: dict) -> dict[str, str]:
    return {
        logical_id: resource["Properties"][NAMED[resource["Type"]]]
        for logical_id, resource in resolved["Resources"].items()
        if resource["Type"] in NAMED
    }


def test_the_default_stack_carries_the_documented_names(default_stack):
    resources = default_stack["Resources"]
    assert resources[names.CLUSTER]["Properties"]["ClusterName"] == "api-cars-cluster"
    assert resources[names.LOG_GROUP]["Properties"]["LogGroupName"] == "/ecs/api-cars"
    assert resources[names.SERVICE]["Properties"]["ServiceName"] == "api"
    container = resources[names.TASK_DEFINITION]["Properties"]["ContainerDefinitions"][0]
    assert container["Name"] == "api-cars-container"


@pytest.mark.parametrize("stack_name", ["api-cars", "api-cars-staging"])
def test_every_account_wide_name_starts_from_the_stack_name(render, stack_name):
    for logical_id, name in physical_names(render.resolve(stack_name=stack_name)).items():
        assert (
            f"{stack_name}-" in name
            or name.endswith(f"/{stack_name}")
            or (f"/{stack_name}/" in name)
        ), (logical_id, name)


def test_a_second_stack_collides_with_nothing(render):
    default = physical_names(render.resolve(stack_name="api-cars"))
    staging = physical_names(render.resolve(stack_name="api-cars-staging"))
    assert set(default) == set(staging)
    assert not set(default.values()) & set(staging.values())


def test_names_inside_one_stack_are_distinct(default_stack):
    values = list(physical_names(default_stack).values())
    assert len(values) == len(set(values))


def test_no_vpc_subnet_security_group_or_account_id_is_written_in_any_template():
    """Save the Elastic Load Balancing accounts that deliver access logs (AWS's, per Region)."""
    for path, text in render_all().items():
        assert not re.search(r"\b(vpc|subnet|sg)-[0-9a-f]{8,17}\b", text), path
        accounts = set(re.findall(r"\b[0-9]{12}\b", text))
        assert accounts <= set(ELB_LOG_ACCOUNTS.values()), path
