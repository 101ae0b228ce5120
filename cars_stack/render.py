"""Text for people: tables of changes, outputs and status, event lines, the Markdown review."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cars_stack.changeset import ChangeSet


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers]] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _change_rows(change_set: ChangeSet) -> list[list[str]]:
    return [
        [
            c.action,
            c.logical_id,
            c.resource_type,
            c.replacement or "-",
            ", ".join(c.properties) or "-",
        ]
        for c in change_set.changes
    ]


_CHANGE_HEADERS = ("Action", "Logical ID", "Type", "Replacement", "Properties")


def change_set_table(change_set: ChangeSet) -> str:
    title = (
        f"Change set {change_set.name} ({change_set.change_type}) for stack {change_set.stack_name}"
    )
    if not change_set.changes:
        return f"{title}: no resource changes listed"
    return f"{title}:\n{table(_CHANGE_HEADERS, _change_rows(change_set))}"


def change_set_markdown(change_set: ChangeSet, *, headline: str) -> str:
    """The review a person reads before approving execution (GitHub job summary)."""
    lines = [
        f"## {headline}",
        "",
        f"Stack `{change_set.stack_name}`, change set `{change_set.name}` "
        f"({change_set.change_type}).",
        "",
    ]
    if change_set.parameters:
        lines += ["| Parameter | Value |", "| --- | --- |"]
        lines += [f"| {k} | `{v}` |" for k, v in sorted(change_set.parameters.items())]
        lines.append("")
    lines += ["| " + " | ".join(_CHANGE_HEADERS) + " |", "|" + " --- |" * len(_CHANGE_HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in _change_rows(change_set)]
    lines += [
        "",
        f"Execute with `cars-stack execute {change_set.name} "
        f"--stack-name {change_set.stack_name}`.",
    ]
    return "\n".join(lines) + "\n"


def _clock(value: Any) -> str:
    return value.strftime("%H:%M:%S") if isinstance(value, datetime) else str(value or "")


def when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if isinstance(value, datetime) else "-"


def event_line(event: dict[str, Any], done: int, expected: int) -> str:
    progress = f"[{done}/{expected}] " if expected else ""
    reason = event.get("ResourceStatusReason")
    tail = f"  {reason}" if reason else ""
    return (
        f"{_clock(event.get('Timestamp'))}  {progress}{event.get('ResourceStatus', ''):<28} "
        f"{event.get('LogicalResourceId', '')} ({event.get('ResourceType', '')}){tail}"
    )


def key_values(pairs: Sequence[tuple[str, Any]]) -> str:
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {'-' if v in (None, '') else v}" for k, v in pairs)
