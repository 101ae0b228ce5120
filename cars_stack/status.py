"""``status``: what runs now, and what ran before."""

from __future__ import annotations

from typing import Any

from cars_stack import images, render
from cars_stack.runtime import Context
from cars_stack.stack import physical_ids, require
from template_builder.names import CLUSTER, IMAGE_TAG, OUTPUT_SERVICE_URL, SERVICE


def _service(ctx: Context, ids: dict[str, str]) -> dict[str, Any]:
    cluster, service = ids.get(CLUSTER), ids.get(SERVICE)
    if not cluster or not service:
        return {}
    services = ctx.client("ecs").describe_services(cluster=cluster, services=[service])["services"]
    if not services:
        return {}
    found = services[0]
    primary = next((d for d in found.get("deployments") or [] if d.get("status") == "PRIMARY"), {})
    return {
        "service": found.get("serviceName"),
        "running": found.get("runningCount"),
        "desired": found.get("desiredCount"),
        "rollout_state": primary.get("rolloutState"),
        "rollout_reason": primary.get("rolloutStateReason"),
        "deployments": len(found.get("deployments") or []),
    }


def status(ctx: Context, *, releases_shown: int = 5) -> int:
    stack = require(ctx.client("cloudformation"), ctx.stack_name, ctx.region)
    ids = {} if stack.is_new else physical_ids(ctx.client("cloudformation"), stack.name)
    service = _service(ctx, ids)
    history = images.history(ctx, ids)[:releases_shown]
    document = {
        "stack_name": stack.name,
        "stack_status": stack.status,
        "stack_status_reason": stack.status_reason,
        "last_changed": stack.last_changed,
        "image_tag": stack.parameters.get(IMAGE_TAG),
        "service_url": stack.outputs.get(OUTPUT_SERVICE_URL),
        "service": service,
        "releases": [r.as_dict() for r in history],
    }
    tasks = f"{service['running']} running / {service['desired']} desired" if service else None
    rollout = service.get("rollout_state")
    if rollout and service.get("deployments", 0) > 1:
        rollout = f"{rollout} ({service['deployments']} deployments)"
    rows = [
        ("Stack", f"{stack.name} ({stack.status}, {render.when(stack.last_changed)})"),
        ("Image tag", stack.parameters.get(IMAGE_TAG)),
        ("Service URL", stack.outputs.get(OUTPUT_SERVICE_URL)),
        ("Tasks", tasks),
        ("Rollout", rollout),
    ]
    text = render.key_values(rows)
    if history:
        releases = render.table(
            ("Image tag", "Registered", "Revision"),
            [(r.tag, render.when(r.registered_at), r.revision) for r in history],
        )
        text += f"\n\nLast releases:\n{releases}"
    ctx.emit(document, text)
    return 0
