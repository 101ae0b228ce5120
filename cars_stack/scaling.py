"""The service's scaling options as `cars-stack` sees them: the predictive policy's forecast for
`status` (Application Auto Scaling's GetPredictiveScalingForecast), and the bounds a deploy
refuses before any change set, since template Rules cannot compare numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from cars_stack.errors import BadInput
from cars_stack.runtime import Context
from template_builder.names import (
    AUTO_SCALING,
    AUTO_SCALING_MAX,
    AUTO_SCALING_MIN,
    BUSINESS_HOURS,
    BUSINESS_HOURS_MIN_COUNT,
    BUSINESS_HOURS_TIMEZONE,
    CLUSTER,
    PREDICTIVE_MODE,
    PREDICTIVE_POLICY_NAME,
    PREDICTIVE_SCALING,
    PREDICTIVE_SCALING_OFF,
)

# Predictive scaling forecasts the next 48 hours, hour by hour (Application Auto Scaling User
# Guide, "How predictive scaling works").
FORECAST_HOURS = 48


def _hour(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%a %H:%M UTC")


def _points(timestamps: list[datetime], values: list[float]) -> list[dict[str, Any]]:
    return [{"time": t, "value": v} for t, v in zip(timestamps, values, strict=False)]


def predictive_scaling(
    ctx: Context, parameters: dict[str, str], ids: dict[str, str], service: str | None
) -> dict[str, Any]:
    """What is forecast (``off``, ``cpu`` or ``requests``) in which mode, and the forecast when
    there is one; ``unavailable`` says why there is none."""
    predicts = parameters.get(PREDICTIVE_SCALING) or PREDICTIVE_SCALING_OFF
    if parameters.get(AUTO_SCALING) == "false":
        predicts = PREDICTIVE_SCALING_OFF
    document: dict[str, Any] = {"predicts": predicts}
    if predicts == PREDICTIVE_SCALING_OFF:
        return document
    document["mode"] = parameters.get(PREDICTIVE_MODE) or "ForecastOnly"
    cluster = (ids.get(CLUSTER) or "").rsplit("/", 1)[-1]
    if not cluster or not service:
        document["unavailable"] = "the stack has no service yet"
        return document
    start = datetime.now(UTC)
    try:
        answer = ctx.client("application-autoscaling").get_predictive_scaling_forecast(
            ServiceNamespace="ecs",
            ResourceId=f"service/{cluster}/{service}",
            ScalableDimension="ecs:service:DesiredCount",
            PolicyName=PREDICTIVE_POLICY_NAME,
            StartTime=start,
            EndTime=start + timedelta(hours=FORECAST_HOURS),
        )
    except ClientError as error:
        err = error.response.get("Error", {})
        document["unavailable"] = f"{err.get('Code', '?')}: {err.get('Message', '')}".strip()
        return document
    capacity = answer.get("CapacityForecast") or {}
    document["update_time"] = answer.get("UpdateTime")
    document["capacity"] = _points(capacity.get("Timestamps", []), capacity.get("Values", []))
    document["load"] = [
        _points(load.get("Timestamps", []), load.get("Values", []))
        for load in answer.get("LoadForecast") or []
    ]
    return document


def predictive_row(document: dict[str, Any]) -> str:
    """One line, whatever happened."""
    if document["predicts"] == PREDICTIVE_SCALING_OFF:
        return "off"
    head = f"{document['mode']} on {document['predicts']}"
    if "unavailable" in document:
        return f"{head}: no forecast ({document['unavailable']})"
    capacity = document["capacity"]
    if not capacity:
        return f"{head}: no forecast yet (it needs 24 h of metrics)"
    peak = max(capacity, key=lambda p: p["value"])
    low = min(p["value"] for p in capacity)
    updated = document.get("update_time")
    made = f" (forecast of {_hour(updated)})" if isinstance(updated, datetime) else ""
    return (
        f"{head}: next {FORECAST_HOURS} h {low:g}-{peak['value']:g} tasks, "
        f"peak at {_hour(peak['time'])}{made}"
    )


def business_hours_rows(parameters: dict[str, str]) -> list[tuple[str, str]]:
    """The business-hours floor as the parameters set it (no call): one row, or none without
    one."""
    hours = parameters.get(BUSINESS_HOURS)
    if not hours or parameters.get(AUTO_SCALING) == "false":
        return []
    start, _, end = hours.partition("|")
    zone = parameters.get(BUSINESS_HOURS_TIMEZONE) or "UTC"
    floor = parameters.get(BUSINESS_HOURS_MIN_COUNT)
    return [("Floor", f"at least {floor} tasks from {start} to {end} ({zone})")]


def refuse_impossible_bounds(values: dict[str, str]) -> None:
    """The orderings a Rule cannot state: the minimum, and the business-hours floor when there is
    one, at most the maximum. Refused here, before any change set; Application Auto Scaling would
    refuse them only half-way through the stack update."""
    if AUTO_SCALING_MAX not in values or values.get(AUTO_SCALING) == "false":
        return
    try:
        maximum = int(values[AUTO_SCALING_MAX])
        bounds = [(AUTO_SCALING_MIN, int(values[AUTO_SCALING_MIN]))]
        if values.get(BUSINESS_HOURS) and BUSINESS_HOURS_MIN_COUNT in values:
            bounds.append((BUSINESS_HOURS_MIN_COUNT, int(values[BUSINESS_HOURS_MIN_COUNT])))
    except (KeyError, ValueError):
        return  # not numbers: CloudFormation's own parameter checks answer that
    for name, value in bounds:
        if value > maximum:
            raise BadInput(
                f"{name}={value} is above {AUTO_SCALING_MAX}={maximum}: "
                f"raise {AUTO_SCALING_MAX} or lower {name}"
            )
