"""Fargate Spot settings that CloudFormation's Rules cannot refuse (they compare no numbers, and the
service template has no bytes left for more), refused before any change set."""

from __future__ import annotations

from cars_stack.errors import BadInput
from template_builder.names import (
    AUTO_SCALING,
    AUTO_SCALING_MAX,
    DESIRED_COUNT,
    ON_DEMAND_BASE,
    SPOT_WEIGHT,
)


def _number(values: dict[str, str], key: str) -> float | None:
    try:
        return float(values[key])
    except (KeyError, ValueError):
        return None  # absent or not a number: the template's own constraints say so


def refuse_pointless_spot(values: dict[str, str]) -> None:
    """With Spot on, the count that bounds the tasks (DesiredCount, or AutoScalingMaxCount with auto
    scaling) must exceed 1 (one task has no other to serve while Spot takes it back) and the
    on-demand base (else every task runs on demand)."""
    weight, base = _number(values, SPOT_WEIGHT), _number(values, ON_DEMAND_BASE)
    if not weight or base is None:
        return
    bound = AUTO_SCALING_MAX if values.get(AUTO_SCALING) == "true" else DESIRED_COUNT
    count = _number(values, bound)
    if count is None:
        return
    setting = f"{SPOT_WEIGHT}={values[SPOT_WEIGHT]} with {bound}={values[bound]}"
    if count <= 1:
        raise BadInput(
            f"{setting}: one task has no other to serve while Fargate Spot takes it back; run 2 or "
            f"more tasks, or {SPOT_WEIGHT}=0"
        )
    if base >= count:
        raise BadInput(
            f"{setting} and {ON_DEMAND_BASE}={values[ON_DEMAND_BASE]}: every task would run on "
            f"demand, never on Spot; set {ON_DEMAND_BASE} below {values[bound]}, or {SPOT_WEIGHT}=0"
        )
