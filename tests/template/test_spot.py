"""Fargate Spot: off by default (the service keeps LaunchType FARGATE), on with SpotWeight above 0,
where it adds exactly its properties: the cluster's two capacity providers and the service's
strategy in place of its launch type."""

import pytest

from template_builder import names

SPOT = {names.SPOT_WEIGHT: "3"}


def _differences(before: dict, after: dict) -> dict[str, dict[str, list[str]]]:
    """Per resource, the properties added, removed and changed from `before` to `after`."""
    found = {}
    for logical_id, resource in before["Resources"].items():
        old = resource.get("Properties", {})
        new = after["Resources"][logical_id].get("Properties", {})
        if old == new:
            continue
        found[logical_id] = {
            "added": sorted(set(new) - set(old)),
            "removed": sorted(set(old) - set(new)),
            "changed": sorted(k for k in set(old) & set(new) if old[k] != new[k]),
        }
    return found


def test_by_default_the_service_is_launched_as_before_without_capacity_providers(render):
    resources = render.resolve()["Resources"]
    service = resources[names.SERVICE]["Properties"]
    assert service["LaunchType"] == "FARGATE"
    assert "CapacityProviderStrategy" not in service
    assert "CapacityProviders" not in resources[names.CLUSTER]["Properties"]


def test_spot_adds_exactly_the_providers_and_the_strategy_in_place_of_the_launch_type(render):
    before, after = render.resolve(), render.resolve(**SPOT)
    assert set(before["Resources"]) == set(after["Resources"])
    assert _differences(before, after) == {
        names.CLUSTER: {"added": ["CapacityProviders"], "removed": [], "changed": []},
        names.SERVICE: {
            "added": ["CapacityProviderStrategy"],
            "removed": ["LaunchType"],
            "changed": [],
        },
    }


def test_the_cluster_offers_both_fargate_providers(render):
    cluster = render.resolve(**SPOT)["Resources"][names.CLUSTER]["Properties"]
    assert cluster["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]


def test_the_base_runs_on_demand_and_the_rest_splits_by_the_weights(render):
    service = render.resolve(
        **{names.SPOT_WEIGHT: "4", names.ON_DEMAND_BASE: "2", names.ON_DEMAND_WEIGHT: "0"}
    )["Resources"][names.SERVICE]["Properties"]
    assert service["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE", "Base": "2", "Weight": "0"},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": "4"},
    ]


def test_spot_is_off_by_default(render):
    parameters = render.service()["Parameters"]
    assert parameters[names.SPOT_WEIGHT]["Default"] == 0
    assert render.conditions_for(render.service())[names.USE_SPOT] is False


@pytest.mark.parametrize("name", [names.SPOT_WEIGHT, names.ON_DEMAND_BASE, names.ON_DEMAND_WEIGHT])
def test_a_negative_weight_or_base_is_refused_by_its_parameter(render, name):
    assert render.service()["Parameters"][name]["MinValue"] == 0


def test_the_one_task_demo_refuses_spot(render):
    """Spot would take the one task back with no other to serve meanwhile."""
    failures = render.rule_failures(render.service(), **render.demo, **SPOT)
    assert failures == ["The demo is one task: SpotWeight=0"]
    assert render.rule_failures(render.service(), **render.demo) == []
