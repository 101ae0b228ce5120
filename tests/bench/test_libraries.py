"""The library comparison's arithmetic and report (measuring needs Redis and PostgreSQL)."""

import pytest

from bench import cli
from bench.libraries import Comparison, Sample, compare, render_markdown, render_table, time_ops


def comparison(ours_cpu_s: list[float], library_cpu_s: list[float]) -> Comparison:
    return Comparison(
        operation="cached GET",
        ours="RESP client",
        library="redis-py",
        ours_samples=tuple(Sample(1000, cpu, 0.1) for cpu in ours_cpu_s),
        library_samples=tuple(Sample(1000, cpu, 0.2) for cpu in library_cpu_s),
    )


def test_a_sample_gives_cpu_microseconds_and_operations_per_second():
    sample = Sample(ops=2000, cpu_s=0.05, wall_s=0.25)
    assert sample.cpu_us_per_op == pytest.approx(25.0)
    assert sample.ops_per_s == pytest.approx(8000.0)


def test_a_comparison_takes_the_median_of_its_rounds():
    c = comparison([0.030, 0.020, 0.100], [0.060, 0.040, 0.050])
    assert c.ours_cpu_us == pytest.approx(30.0)
    assert c.library_cpu_us == pytest.approx(50.0)
    assert c.ours_ops_per_s == pytest.approx(10_000.0)


def test_cpu_saved_is_the_share_of_the_library_cost_avoided():
    assert comparison([0.025], [0.100]).cpu_saved == pytest.approx(0.75)


def test_cpu_saved_is_negative_when_the_project_way_costs_more():
    assert comparison([0.120], [0.100]).cpu_saved == pytest.approx(-0.20)


def test_the_markdown_section_has_one_row_per_implementation():
    text = render_markdown([comparison([0.025], [0.100])], ops=5000, rounds=5, concurrency=10)
    assert text.startswith("## Libraries on the hot path\n")
    assert "| cached GET | redis-py | 100.0 | 5,000 | - |" in text
    assert "| cached GET | RESP client | 25.0 | 10,000 | 75% |" in text
    assert "5 interleaved rounds of 5,000 operations with 10 concurrent tasks" in text


def test_the_terminal_table_lines_up_its_columns():
    lines = render_table([comparison([0.025], [0.100])]).splitlines()
    assert len(lines) == 4
    # Numbers are right-aligned under their heading.
    assert lines[0].index("ops/s") + len("ops/s") == lines[2].index("5,000") + len("5,000")
    assert lines[2].rstrip().endswith("-") and lines[3].rstrip().endswith("75%")


async def test_time_ops_runs_every_operation_spread_over_the_tasks():
    calls = []

    async def op():
        calls.append(1)

    sample = await time_ops(op, ops=103, concurrency=10)
    assert len(calls) == 103
    assert sample.ops == 103 and sample.wall_s > 0


async def test_compare_interleaves_rounds_of_both_sides():
    order = []

    async def ours():
        order.append("ours")

    async def library():
        order.append("library")

    result = await compare("op", ("o", ours), ("l", library), ops=2, rounds=3, concurrency=1)
    assert len(result.ours_samples) == len(result.library_samples) == 3
    # After one warm-up batch each: library, ours, library, ours, ...
    assert order[4:] == ["library", "library", "ours", "ours"] * 3


def test_the_analysis_is_included_when_written(tmp_path, monkeypatch):
    note = tmp_path / "analysis.md"
    note.write_text("## Analysis\n\nWhy.\n")
    monkeypatch.setattr(cli, "ANALYSIS", note)
    assert cli.analysis() == "\n## Analysis\n\nWhy.\n"


def test_no_analysis_file_adds_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "ANALYSIS", tmp_path / "missing.md")
    assert cli.analysis() == ""
