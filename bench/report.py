"""Medians, ratios to the baseline, pass/fail against the targets, and the rendered report."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench.wrk import WrkResult


@dataclass(frozen=True)
class Endpoint:
    key: str
    label: str
    target: float | None  # minimum ratio of requests/s to the baseline; None: no target


BASELINE = Endpoint("baseline", "bare Sanic, constant JSON", None)
ENDPOINTS = (
    BASELINE,
    Endpoint("cached", "GET /v1/cars/{id} (Redis cache hit)", 0.50),
    Endpoint("postgres", "GET /v1/cars/{id} (PostgreSQL, no cache)", 0.35),
    Endpoint("post", "POST /v1/cars", 0.30),
    # The same POST without Redis: what starting a new generation of cached list pages costs.
    Endpoint("post-nocache", "POST /v1/cars (no Redis)", None),
    # The same POST to an API that checks a bearer token (the other runs have AUTH_DISABLED).
    Endpoint("post-auth", "POST /v1/cars (bearer token checked)", None),
    Endpoint("list50", "GET /v1/cars?limit=50 (Redis cache hit)", 0.25),
    # The same page from the API without Redis: every request queries PostgreSQL.
    Endpoint("list50-nocache", "GET /v1/cars?limit=50 (PostgreSQL, no cache)", None),
)
STARTUP_TARGET_S = 0.5


@dataclass(frozen=True)
class Summary:
    endpoint: Endpoint
    rounds: tuple[WrkResult, ...]
    requests_per_s: float  # median over rounds
    p99_ms: float  # median over rounds
    ratio: float | None  # requests_per_s / the baseline's; None for the baseline itself
    cpu_us: float | None = None  # median server CPU time per request, when measured
    cpu_ratio: float | None = None  # the baseline's cpu_us / this cpu_us

    @property
    def passed(self) -> bool | None:
        if self.endpoint.target is None or self.ratio is None:
            return None
        return self.ratio >= self.endpoint.target

    @property
    def shortfall(self) -> float:
        """How far below its target the ratio is, as a fraction of the target (0 when met)."""
        if self.endpoint.target is None or self.ratio is None:
            return 0.0
        return max(0.0, 1 - self.ratio / self.endpoint.target)

    @property
    def errors(self) -> int:
        return sum(result.errors for result in self.rounds)


@dataclass(frozen=True)
class Startup:
    seconds: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def passed(self) -> bool:
        return self.median_s < STARTUP_TARGET_S


@dataclass(frozen=True)
class RunInfo:
    command: str
    date: str
    revision: str
    nproc: int
    cpu_model: str
    python: str
    rounds: int
    duration_s: float
    connections: int
    pinned: bool
    notes: tuple[str, ...] = field(default=())


def summarise(results: dict[str, list[WrkResult]]) -> list[Summary]:
    """One Summary per endpoint with results, in the order of ENDPOINTS; needs the baseline."""
    if not results.get(BASELINE.key):
        raise ValueError("no baseline results: ratios need the baseline of the same run")
    baseline_rps = statistics.median(r.requests_per_s for r in results[BASELINE.key])
    baseline_cpu = _median_cpu(results[BASELINE.key])
    summaries = []
    for endpoint in ENDPOINTS:
        rounds = results.get(endpoint.key)
        if not rounds:
            continue
        rps = statistics.median(r.requests_per_s for r in rounds)
        cpu = _median_cpu(rounds)
        summaries.append(
            Summary(
                endpoint=endpoint,
                rounds=tuple(rounds),
                requests_per_s=rps,
                p99_ms=statistics.median(r.p99_ms for r in rounds),
                ratio=None if endpoint is BASELINE else rps / baseline_rps,
                cpu_us=cpu,
                cpu_ratio=None if cpu is None or baseline_cpu is None else baseline_cpu / cpu,
            )
        )
    return summaries


def _median_cpu(rounds: list[WrkResult]) -> float | None:
    values = [r.server_cpu_us for r in rounds]
    if not values or None in values:
        return None
    return statistics.median(values)


def _verdict(summary: Summary) -> str:
    if summary.passed is None:
        return "-"
    if summary.passed:
        return "pass"
    return f"FAIL ({summary.shortfall:.0%} short)"


def _rows(summaries: list[Summary]) -> list[tuple[str, ...]]:
    rows = []
    for s in summaries:
        target = "-" if s.endpoint.target is None else f">= {s.endpoint.target:.2f}"
        ratio = "1.00" if s.ratio is None else f"{s.ratio:.2f}"
        rows.append(
            (
                s.endpoint.label,
                f"{s.requests_per_s:,.0f}",
                f"{s.p99_ms:.2f}",
                ratio,
                target,
                _verdict(s),
                "-" if s.cpu_us is None else f"{s.cpu_us:.0f}",
                "-" if s.cpu_ratio is None else f"{s.cpu_ratio:.2f}",
            )
        )
    return rows


HEADER = (
    "endpoint", "requests/s", "p99 ms", "ratio", "target", "result", "CPU us/req", "CPU ratio",
)  # fmt: skip


def _startup_line(startup: Startup) -> str:
    verdict = "pass" if startup.passed else "FAIL"
    runs = ", ".join(f"{s:.3f}" for s in startup.seconds)
    return (
        f"Start-up to first 200 on /health: median {startup.median_s:.3f} s "
        f"(target < {STARTUP_TARGET_S} s: {verdict}; runs: {runs})"
    )


def render_table(summaries: list[Summary], startup: Startup | None) -> str:
    """A plain-text table for the terminal."""
    rows = [HEADER, *_rows(summaries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    if startup is not None:
        lines += ["", _startup_line(startup)]
    errors = sum(s.errors for s in summaries)
    if errors:
        lines.append(f"WARNING: {errors} failed requests (socket errors or status >= 400)")
    return "\n".join(lines)


def render_markdown(info: RunInfo, summaries: list[Summary], startup: Startup | None) -> str:
    """docs/benchmarks.md: what was run, on what, and the numbers."""
    out = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench`); do not edit by hand, run it again.",
        "Requests/s and p99 latency are medians over the rounds; the ratio is the endpoint's",
        "requests/s over the bare Sanic baseline's, measured the same way in the same run; the",
        "result compares it with the target. CPU us/req is the server process's CPU time (user +",
        "system) per request, and the CPU ratio the baseline's over the endpoint's: a second view",
        "that other load on a shared machine disturbs less (when the server loses part of its",
        "core, requests/s fall but CPU per request does not).",
        "",
        "## Run",
        "",
        f"- Command: `{info.command}`",
        f"- Date: {info.date}",
        f"- Code: {info.revision}",
        f"- Machine: {info.nproc} CPUs, {info.cpu_model}; Python {info.python}",
        f"- Rounds: {info.rounds} x {info.duration_s:g} s per endpoint, "
        f"wrk with 1 thread and {info.connections} connections on loopback",
    ]
    if info.pinned:
        out.append(
            "- Each server: one process pinned to CPU 0 (taskset); wrk pinned to CPU 1; "
            "PostgreSQL and Redis unpinned"
        )
    else:
        out.append("- Not pinned: fewer than 2 CPUs or no taskset; server and wrk share CPUs")
    out.append(
        "- Every POST round (and warm-up) starts from the seeded table: the cars it created are "
        "deleted and the table vacuumed after it"
    )
    out += [f"- {note}" for note in info.notes]
    out += [
        "",
        "## Results",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(HEADER) - 1)) + "|",
    ]
    out += ["| " + " | ".join(row) + " |" for row in _rows(summaries)]
    if startup is not None:
        out += ["", _startup_line(startup) + "."]
    out += [
        "",
        "## Every round",
        "",
        "The ratio here is to the baseline of the same round (rounds interleave the endpoints).",
        "",
        "| endpoint | round | requests/s | p99 ms | ratio | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    baseline_rounds = next(s.rounds for s in summaries if s.endpoint is BASELINE)
    for s in summaries:
        for n, (r, base) in enumerate(zip(s.rounds, baseline_rounds, strict=False), start=1):
            out.append(
                f"| {s.endpoint.label} | {n} | {r.requests_per_s:,.0f} | {r.p99_ms:.2f} | "
                f"{r.requests_per_s / base.requests_per_s:.2f} | {r.errors} |"
            )
    return "\n".join(out) + "\n"
