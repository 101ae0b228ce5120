"""Fargate Spot settings the template's Rules cannot compare (numbers) are refused by cars-stack
deploy in one line, before any change set: one task, or an on-demand base that takes every task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cars_stack.errors import BadInput
from cars_stack.spot import refuse_pointless_spot
from template_builder.names import (
    AUTO_SCALING,
    AUTO_SCALING_MAX,
    DESIRED_COUNT,
    IMAGE_TAG,
    ON_DEMAND_BASE,
    REPOSITORY_NAME,
    SPOT_WEIGHT,
)
from tests.stack.demo import DEMO_SERVICE

STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/api-cars/1c2fa620-982a-11e3-aff7"


def deployed(parameters: dict[str, str]) -> dict[str, Any]:
    """DescribeStacks of the service stack as deployed, with these parameter values."""
    return {
        "Stacks": [
            {
                "StackId": STACK_ID,
                "StackName": "api-cars",
                "CreationTime": datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
                "StackStatus": "UPDATE_COMPLETE",
                "Parameters": [
                    {"ParameterKey": k, "ParameterValue": v}
                    for k, v in {
                        IMAGE_TAG: "v1.2.0",
                        REPOSITORY_NAME: "api-cars",
                        **parameters,
                    }.items()
                ],
            }
        ]
    }


def test_a_base_that_takes_every_task_of_the_deployed_count_is_refused_before_a_change_set(
    cli, stubbed, real_template_path
) -> None:
    stubbed.cfn_stub.add_response(
        "describe_stacks",
        deployed({AUTO_SCALING: "false", DESIRED_COUNT: "2"}),
        {"StackName": "api-cars"},
    )
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(real_template_path),
        "--param",
        f"{SPOT_WEIGHT}=3",
        "--param",
        f"{ON_DEMAND_BASE}=2",
        "--yes",
        clients=stubbed.clients,
    )
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "cars-stack deploy: SpotWeight=3 with DesiredCount=2 and OnDemandBase=2: every task would "
        "run on demand, never on Spot; set OnDemandBase below 2, or SpotWeight=0"
    )
    stubbed.done()  # no ListExports, no CreateChangeSet


@pytest.mark.parametrize(
    ("values", "refusal"),
    [
        ({AUTO_SCALING: "false", DESIRED_COUNT: "1", ON_DEMAND_BASE: "0"}, "one task"),
        ({AUTO_SCALING: "true", AUTO_SCALING_MAX: "1", ON_DEMAND_BASE: "0"}, "one task"),
        ({AUTO_SCALING: "true", AUTO_SCALING_MAX: "3", ON_DEMAND_BASE: "3"}, "every task"),
        ({AUTO_SCALING: "true", AUTO_SCALING_MAX: "6", DESIRED_COUNT: "1", ON_DEMAND_BASE: "1"},
         None),
        ({AUTO_SCALING: "false", DESIRED_COUNT: "2", ON_DEMAND_BASE: "0"}, None),
    ],
    ids=["one-fixed-task", "at-most-one-task", "base-is-the-maximum", "scaling", "all-spot"],
)  # fmt: skip
def test_the_count_that_bounds_the_tasks_must_exceed_one_and_the_base(values, refusal) -> None:
    with_spot = {SPOT_WEIGHT: "3", **values}
    if refusal is None:
        refuse_pointless_spot(with_spot)
    else:
        with pytest.raises(BadInput, match=refusal):
            refuse_pointless_spot(with_spot)


def test_without_spot_nothing_is_checked() -> None:
    refuse_pointless_spot(
        {SPOT_WEIGHT: "0", AUTO_SCALING: "false", DESIRED_COUNT: "1", ON_DEMAND_BASE: "1"}
    )
