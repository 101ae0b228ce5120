"""Why a rollout failed, in ECS's words, read while the failure is fresh.

CloudFormation reports only that the service did not stabilise or that the circuit breaker fired.
What an operator then looks for is in ECS and CloudWatch Logs: the service's latest events, the
stopped tasks' reasons and exit codes, and the last lines the failing container wrote. The rollback
that follows deletes the first create's log group and ECS forgets stopped tasks within the hour, so
this runs at the first failure event of the service, before the rollback gets there.

Every read is best-effort: a refusal (AccessDenied, throttling) or a lost connection is printed
in one line and the command goes on to report CloudFormation's outcome, which stays its result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError

from cars_stack.runtime import Context
from template_builder.names import CLUSTER_NAME, CONTAINER_NAME, SERVICE, SERVICE_NAME

SERVICE_EVENTS_SHOWN = 5
STOPPED_TASKS_SHOWN = 3
LOG_LINES_SHOWN = 20
# DescribeTasks takes at most 100 tasks; the newest few say enough.
_TASKS_DESCRIBED = 10


def _clock(value: Any) -> str:
    return value.strftime("%H:%M:%S") if isinstance(value, datetime) else "--:--:--"


def _short_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _refusal(what: str, error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"    (could not read {what}: {err.get('Code', '?')}: {err.get('Message', '')})"
    return f"    (could not read {what}: {error})"


class RolloutDiagnosis:
    """Called with each stack event; at the service's first failure, prints what ECS knows."""

    def __init__(self, ctx: Context, stack_name: str):
        self.ctx = ctx
        self.cluster = CLUSTER_NAME.format(stack=stack_name)
        self.service = SERVICE_NAME
        self.done = False

    def __call__(self, event: dict[str, Any]) -> None:
        if self.done or event.get("LogicalResourceId") != SERVICE:
            return
        if not event.get("ResourceStatus", "").endswith("_FAILED"):
            return
        self.done = True
        self.ctx.say(
            f"Why: the ECS service {self.service} in cluster {self.cluster}, read before "
            "CloudFormation's rollback cleans up:"
        )
        for line in self.lines():
            self.ctx.say(line)

    # --- what is read -------------------------------------------------------------------------
    def lines(self) -> list[str]:
        lines: list[str] = []
        failing_definition: str | None = None
        try:
            service = self._describe_service()
        except (ClientError, HTTPClientError) as error:
            lines.append(_refusal("the service's events", error))
            service = None
        if service is not None:
            deployment = self._failing_deployment(service)
            if deployment:
                failing_definition = deployment.get("taskDefinition")
                reason = deployment.get("rolloutStateReason")
                if reason:
                    lines.append(f"  Deployment {deployment.get('rolloutState', '')}: {reason}")
            lines.append("  Latest service events:")
            events = (service.get("events") or [])[:SERVICE_EVENTS_SHOWN]
            lines += [f"    {_clock(e.get('createdAt'))}  {e.get('message', '')}" for e in events]
            if not events:
                lines.append("    (none)")
        try:
            tasks = self._stopped_tasks(failing_definition)
        except (ClientError, HTTPClientError) as error:
            lines.append(_refusal("the stopped tasks", error))
            return lines
        lines.append("  Stopped tasks (newest first):")
        if not tasks:
            lines.append("    (none recorded: ECS keeps stopped tasks for about an hour)")
            return lines
        for task in tasks[:STOPPED_TASKS_SHOWN]:
            lines += self._task_lines(task)
        lines += self._log_lines(tasks[0])
        return lines

    def _describe_service(self) -> dict[str, Any] | None:
        answer = self.ctx.client("ecs").describe_services(
            cluster=self.cluster, services=[self.service]
        )
        services = answer.get("services") or []
        return services[0] if services else None

    @staticmethod
    def _failing_deployment(service: dict[str, Any]) -> dict[str, Any] | None:
        deployments = service.get("deployments") or []
        failed = [d for d in deployments if d.get("rolloutState") == "FAILED"]
        primary = [d for d in deployments if d.get("status") == "PRIMARY"]
        return (failed or primary or [None])[0]

    def _stopped_tasks(self, task_definition: str | None) -> list[dict[str, Any]]:
        ecs = self.ctx.client("ecs")
        arns = ecs.list_tasks(
            cluster=self.cluster, serviceName=self.service, desiredStatus="STOPPED"
        )["taskArns"]
        if not arns:
            return []
        tasks = ecs.describe_tasks(cluster=self.cluster, tasks=arns[:_TASKS_DESCRIBED])["tasks"]
        if task_definition and any(t.get("taskDefinitionArn") == task_definition for t in tasks):
            # Tasks of the deployment that failed, not the old ones it replaced.
            tasks = [t for t in tasks if t.get("taskDefinitionArn") == task_definition]
        return sorted(tasks, key=lambda t: t.get("stoppedAt") or datetime.min, reverse=True)

    @staticmethod
    def _task_lines(task: dict[str, Any]) -> list[str]:
        definition = _short_id(task.get("taskDefinitionArn", ""))
        reason = task.get("stoppedReason") or task.get("stopCode") or "no reason given"
        lines = [
            f"    {_clock(task.get('stoppedAt'))}  task {_short_id(task.get('taskArn', ''))} "
            f"({definition}): {reason}"
        ]
        for container in task.get("containers") or []:
            exit_code = container.get("exitCode")
            status = f"exit code {exit_code}" if exit_code is not None else "no exit code"
            why = f": {container['reason']}" if container.get("reason") else ""
            lines.append(f"      container {container.get('name')}: {status}{why}")
        return lines

    @staticmethod
    def _failing_container(task: dict[str, Any]) -> str:
        containers = task.get("containers") or []
        failed = [c for c in containers if c.get("exitCode") not in (None, 0)]
        named = [c for c in containers if c.get("name") == CONTAINER_NAME]
        chosen = (failed or named or containers or [{}])[0]
        return chosen.get("name", CONTAINER_NAME)

    def _log_lines(self, task: dict[str, Any]) -> list[str]:
        container = self._failing_container(task)
        try:
            where = self._log_stream(task, container)
        except (ClientError, HTTPClientError) as error:
            return [_refusal("the task definition's log settings", error)]
        if where is None:
            return [f"  (container {container} logs to no awslogs stream: no log lines to show)"]
        group, stream = where
        try:
            events = self.ctx.client("logs").get_log_events(
                logGroupName=group,
                logStreamName=stream,
                limit=LOG_LINES_SHOWN,
                startFromHead=False,
            )["events"]
        except (ClientError, HTTPClientError) as error:
            return [_refusal(f"log stream {group} {stream}", error)]
        lines = [f"  Last {len(events)} log lines of {group} {stream}:"]
        lines += [f"    {e.get('message', '').rstrip()}" for e in events]
        if not events:
            lines = [f"  Log stream {group} {stream} is empty"]
        return lines

    def _log_stream(self, task: dict[str, Any], container: str) -> tuple[str, str] | None:
        """The awslogs group and stream of the container, from its task definition."""
        definition = self.ctx.client("ecs").describe_task_definition(
            taskDefinition=task["taskDefinitionArn"]
        )["taskDefinition"]
        spec = next(
            (c for c in definition.get("containerDefinitions") or [] if c.get("name") == container),
            None,
        )
        config = (spec or {}).get("logConfiguration") or {}
        options = config.get("options") or {}
        prefix = options.get("awslogs-stream-prefix")
        if config.get("logDriver") != "awslogs" or "awslogs-group" not in options or not prefix:
            return None
        # With a prefix, the awslogs driver names each stream prefix/container/task-id.
        return options["awslogs-group"], f"{prefix}/{container}/{_short_id(task['taskArn'])}"
