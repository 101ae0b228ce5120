"""``status``: what runs now, and what ran before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cars_stack import identity, images, render, scaling, verify
from cars_stack.runtime import Context
from cars_stack.stack import Stack, describe, physical_ids, require
from template_builder.names import (
    ACCESS_LOG_BUCKET_NAME,
    ACCESS_LOGS,
    ALARM_TOPIC_ARN,
    CACHE,
    CLUSTER,
    DATA_STACK_SUFFIX,
    DATABASE_CLUSTER,
    IDENTITY_STACK_NAME,
    IMAGE_TAG,
    LOAD_BALANCER_DELETION_PROTECTION,
    NO_ALARM_TOPIC,
    OUTPUT_ACCESS_LOG_BUCKET,
    OUTPUT_SERVICE_URL,
    OUTPUT_TRANSPORT,
    PLAIN_HTTP,
    SERVICE,
)


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


def _paused(ctx: Context, writer: str | None, min_capacity: float | None) -> str:
    """The RDS API has no "paused" status for a Serverless v2 instance; what tells is its
    capacity: the ServerlessDatabaseCapacity metric is 0 ACU while it is paused (Aurora User
    Guide, "Scaling to Zero ACUs with automatic pause and resume")."""
    if min_capacity is None or writer is None:
        return "unknown"
    if min_capacity > 0:
        return f"no (MinCapacity {min_capacity:g} > 0: never pauses)"
    end = datetime.now(UTC)
    points = ctx.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ServerlessDatabaseCapacity",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": writer}],
        StartTime=end - timedelta(minutes=_PAUSE_WINDOW_MINUTES),
        EndTime=end,
        Period=60,
        Statistics=["Average"],
    )["Datapoints"]
    if not points:
        return f"unknown (no capacity reported in the last {_PAUSE_WINDOW_MINUTES} min)"
    newest = max(points, key=lambda p: p["Timestamp"])
    if newest["Average"] == 0:
        return f"yes (0 ACU at {newest['Timestamp']:%H:%M} UTC; resumes on the next connection)"
    return f"no ({newest['Average']:g} ACU at {newest['Timestamp']:%H:%M} UTC)"


_PAUSE_WINDOW_MINUTES = 10


def _database(ctx: Context, cluster_id: str) -> dict[str, Any]:
    clusters = ctx.client("rds").describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
    cluster = clusters[0]
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    members = cluster.get("DBClusterMembers") or []
    writer = next((m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")), None)
    min_capacity = scaling.get("MinCapacity")
    return {
        "cluster": cluster_id,
        "engine": cluster.get("Engine"),
        "engine_version": cluster.get("EngineVersion"),
        "status": cluster.get("Status"),
        "min_capacity": min_capacity,
        "max_capacity": scaling.get("MaxCapacity"),
        "writer": writer,
        "readers": sum(1 for m in members if not m.get("IsClusterWriter")),
        "deletion_protection": cluster.get("DeletionProtection"),
        "paused": _paused(ctx, writer, min_capacity),
    }


def _cache(ctx: Context, cache_name: str) -> dict[str, Any]:
    caches = ctx.client("elasticache").describe_serverless_caches(ServerlessCacheName=cache_name)[
        "ServerlessCaches"
    ]
    cache = caches[0]
    limits = cache.get("CacheUsageLimits") or {}
    storage = limits.get("DataStorage") or {}
    ecpu = limits.get("ECPUPerSecond") or {}
    return {
        "name": cache_name,
        "engine": cache.get("Engine"),
        "engine_version": cache.get("FullEngineVersion") or cache.get("MajorEngineVersion"),
        "status": cache.get("Status"),
        "max_storage": f"{storage['Maximum']} {storage.get('Unit', 'GB')}"
        if "Maximum" in storage
        else None,
        "max_ecpu_per_second": ecpu.get("Maximum"),
    }


def data_tier(ctx: Context, data_name: str) -> dict[str, Any]:
    cfn = ctx.client("cloudformation")
    stack = describe(cfn, data_name)
    if stack is None:
        return {"stack_name": data_name, "exists": False}
    ids = {} if stack.is_new else physical_ids(cfn, stack.name)
    document: dict[str, Any] = {
        "stack_name": stack.name,
        "exists": True,
        "stack_status": stack.status,
        "termination_protection": stack.termination_protection,
        "access_log_bucket": stack.outputs.get(OUTPUT_ACCESS_LOG_BUCKET),
    }
    if ids.get(DATABASE_CLUSTER):
        document["database"] = _database(ctx, ids[DATABASE_CLUSTER])
    if ids.get(CACHE):
        document["cache"] = _cache(ctx, ids[CACHE])
    return document


def _data_rows(tier: dict[str, Any]) -> list[tuple[str, Any]]:
    if not tier["exists"]:
        return [("Data stack", f"{tier['stack_name']}: none")]
    protected = (
        "termination protection on"
        if tier["termination_protection"]
        else ("termination protection OFF")
    )
    rows: list[tuple[str, Any]] = [
        ("Data stack", f"{tier['stack_name']} ({tier['stack_status']}, {protected})")
    ]
    db = tier.get("database")
    if db:
        deletion = (
            "deletion protection on" if db["deletion_protection"] else ("deletion protection OFF")
        )
        rows += [
            ("Database", f"{db['engine']} {db['engine_version']} ({db['status']}, {deletion})"),
            (
                "Capacity",
                f"{db['min_capacity']:g}-{db['max_capacity']:g} ACU"
                if db["min_capacity"] is not None and db["max_capacity"] is not None
                else None,
            ),
            ("Readers", db["readers"]),
            ("Paused", db["paused"]),
        ]
    cache = tier.get("cache")
    if cache:
        limits = ", ".join(
            part
            for part in (
                cache["max_storage"] and f"at most {cache['max_storage']}",
                cache["max_ecpu_per_second"] and f"{cache['max_ecpu_per_second']} ECPU/s",
            )
            if part
        )
        rows.append(
            (
                "Cache",
                f"{cache['engine']} {cache['engine_version']} ({cache['status']})"
                + (f", {limits}" if limits else ""),
            )
        )
    else:
        rows.append(("Cache", "none"))
    return rows


def transport(outputs: dict[str, str]) -> str | None:
    """What the Transport output says; for a stack from before it, what the URL's scheme says."""
    if outputs.get(OUTPUT_TRANSPORT):
        return outputs[OUTPUT_TRANSPORT]
    url = outputs.get(OUTPUT_SERVICE_URL) or ""
    if url.startswith("http://"):
        return PLAIN_HTTP
    return "HTTPS" if url.startswith("https://") else None


def _guard_rails(stack: Stack, data: dict[str, Any]) -> dict[str, Any]:
    """Access logs and deletion protection of the load balancer, from the stack's parameters
    (and the data stack's bucket output): no call beyond DescribeStacks."""
    parameters = stack.parameters
    logs: str | None = None
    if parameters.get(ACCESS_LOGS) == "false":
        logs = "OFF (AccessLogs=false)"
    elif parameters.get(ACCESS_LOG_BUCKET_NAME):
        logs = f"s3://{parameters[ACCESS_LOG_BUCKET_NAME]}/{stack.name}/"
    elif data.get("access_log_bucket"):
        logs = f"s3://{data['access_log_bucket']}/{stack.name}/"
    protection = parameters.get(LOAD_BALANCER_DELETION_PROTECTION)
    return {
        "transport": transport(stack.outputs),
        "access_logs": logs,
        "deletion_protection": None if protection is None else protection == "true",
    }


def status(
    ctx: Context,
    *,
    releases_shown: int = 5,
    data_stack_name: str | None = None,
    identity_stack_name: str | None = None,
) -> int:
    stack = require(ctx.client("cloudformation"), ctx.stack_name, ctx.region)
    ids = {} if stack.is_new else physical_ids(ctx.client("cloudformation"), stack.name)
    service = _service(ctx, ids)
    history = images.history(ctx, ids)[:releases_shown]
    # From the parameter, not the output: a stack from before AlarmTopicArn pages nobody too.
    alarm_topic = stack.parameters.get(ALARM_TOPIC_ARN) or None
    urls = verify.service_outputs(ctx, stack)
    document = {
        "stack_name": stack.name,
        "stack_status": stack.status,
        "stack_status_reason": stack.status_reason,
        "last_changed": stack.last_changed,
        "image_tag": stack.parameters.get(IMAGE_TAG),
        "service_url": urls.get(OUTPUT_SERVICE_URL),
        "service": service,
        "write_access": identity.write_access(
            ctx,
            stack.outputs,
            identity_stack_name or stack.parameters.get(IDENTITY_STACK_NAME),
        ),
        "alarm_topic": alarm_topic,
        "releases": [r.as_dict() for r in history],
        "predictive_scaling": scaling.predictive_scaling(
            ctx, stack.parameters, ids, service.get("service")
        ),
        "data": data_tier(ctx, data_stack_name or stack.name + DATA_STACK_SUFFIX),
    }
    if urls.get("OriginUrl"):
        document["origin_url"] = urls["OriginUrl"]
    guard = document["load_balancer"] = _guard_rails(stack, document["data"])
    protected = guard["deletion_protection"]
    tasks = f"{service['running']} running / {service['desired']} desired" if service else None
    rollout = service.get("rollout_state")
    if rollout and service.get("deployments", 0) > 1:
        rollout = f"{rollout} ({service['deployments']} deployments)"
    rows = [
        ("Stack", f"{stack.name} ({stack.status}, {render.when(stack.last_changed)})"),
        ("Image tag", stack.parameters.get(IMAGE_TAG)),
        ("Service URL", urls.get(OUTPUT_SERVICE_URL)),
        *([("Origin (ALB)", urls["OriginUrl"])] if urls.get("OriginUrl") else []),
        ("Transport", guard["transport"]),
        ("Access logs", guard["access_logs"]),
        (
            "ALB",
            None
            if protected is None
            else ("deletion protection on" if protected else "deletion protection OFF"),
        ),
        ("Tasks", tasks),
        ("Rollout", rollout),
        ("Predictive", scaling.predictive_row(document["predictive_scaling"])),
        *scaling.business_hours_rows(stack.parameters),
        *identity.write_access_rows(document["write_access"]),
        ("Alarms", f"notify {alarm_topic}" if alarm_topic else NO_ALARM_TOPIC),
        *_data_rows(document["data"]),
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
