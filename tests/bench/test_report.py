"""Medians, ratios to the baseline, verdicts against the targets, and the rendered report."""

import pytest

from bench.cli import vin_tag
from bench.report import RunInfo, Startup, render_markdown, render_table, summarise
from bench.wrk import WrkResult


def result(rps: float, p99_ms: float = 5.0, errors: int = 0) -> WrkResult:
    # A server busy all the time: CPU per request is the inverse of requests/s.
    return WrkResult(
        requests_per_s=rps,
        p99_ms=p99_ms,
        requests=int(rps * 10),
        errors=errors,
        server_cpu_us=1e6 / rps,
    )


RESULTS = {
    "baseline": [result(20000, 4.0), result(22000, 5.0), result(18000, 6.0)],
    "cached": [result(11000, 8.0), result(12000, 7.0), result(9000, 9.0)],  # median 11000: 0.55
    "postgres": [result(6000), result(7000), result(8000)],  # median 7000: 0.35, exactly the target
    "post": [result(5000), result(5400), result(4000)],  # median 5000: 0.25 of 0.30
    "list50": [result(5000), result(6000), result(4000)],  # median 5000: 0.25
}
INFO = RunInfo(
    command="python -m bench --rounds 3",
    date="2026-11-28 18:00 UTC",
    revision="commit 0c71a3c",
    nproc=2,
    cpu_model="AMD EPYC",
    python="3.11.7",
    rounds=3,
    duration_s=10,
    connections=50,
    pinned=True,
    notes=("Load average (1 min) when the run started: 1.50",),
)


@pytest.fixture
def summaries():
    return {s.endpoint.key: s for s in summarise(RESULTS)}


def test_requests_per_second_and_p99_are_medians_over_rounds(summaries):
    assert summaries["baseline"].requests_per_s == 20000
    assert summaries["baseline"].p99_ms == 5.0
    assert summaries["cached"].p99_ms == 8.0


def test_ratio_is_the_median_over_the_baseline_median(summaries):
    assert summaries["cached"].ratio == pytest.approx(0.55)
    assert summaries["baseline"].ratio is None


def test_a_ratio_equal_to_its_target_passes(summaries):
    assert summaries["postgres"].passed is True


def test_a_missed_target_fails_and_says_by_how_much(summaries):
    post = summaries["post"]

    assert post.passed is False
    assert post.shortfall == pytest.approx(1 - 0.25 / 0.30)


def test_cpu_ratio_is_the_baseline_cpu_per_request_over_the_endpoints(summaries):
    assert summaries["baseline"].cpu_us == pytest.approx(50)
    assert summaries["cached"].cpu_us == pytest.approx(1e6 / 11000)
    assert summaries["cached"].cpu_ratio == pytest.approx(0.55)


def test_cpu_columns_stay_empty_when_the_server_cpu_was_not_read():
    unread = {k: [WrkResult(r.requests_per_s, r.p99_ms, r.requests, 0) for r in v]
              for k, v in RESULTS.items()}  # fmt: skip
    summary = summarise(unread)[1]

    assert summary.cpu_us is None
    assert summary.cpu_ratio is None
    assert render_table(summarise(unread), None).splitlines()[3].split()[-2:] == ["-", "-"]


def test_ratios_need_the_baseline_of_the_same_run():
    without_baseline = {k: v for k, v in RESULTS.items() if k != "baseline"}

    with pytest.raises(ValueError, match="baseline"):
        summarise(without_baseline)


def test_startup_passes_only_under_half_a_second():
    assert Startup((0.31, 0.29, 0.45)).passed is True
    assert Startup((0.31, 0.52, 0.55)).median_s == 0.52
    assert Startup((0.31, 0.52, 0.55)).passed is False


def test_table_shows_every_endpoint_with_its_ratio_and_verdict():
    table = render_table(summarise(RESULTS), Startup((0.3, 0.32, 0.31)))
    lines = table.splitlines()

    assert lines[0].split()[:3] == ["endpoint", "requests/s", "p99"]
    assert lines[2].startswith("bare Sanic, constant JSON")
    assert lines[3].startswith("GET /v1/cars/{id} (Redis cache hit)")
    assert lines[3].split()[-6:] == ["0.55", ">=", "0.50", "pass", "91", "0.55"]
    post_line = next(line for line in lines if line.startswith("POST /v1/cars"))
    assert "FAIL (17% short)" in post_line
    assert "Start-up to first 200 on /health: median 0.310 s" in table


def test_table_warns_about_failed_requests():
    with_errors = {**RESULTS, "post": [result(5000, errors=12), *RESULTS["post"][1:]]}

    assert "WARNING: 12 failed requests" in render_table(summarise(with_errors), None)


def test_markdown_report_records_command_date_machine_and_numbers():
    markdown = render_markdown(INFO, summarise(RESULTS), Startup((0.3, 0.32, 0.31)))

    assert "- Command: `python -m bench --rounds 3`" in markdown
    assert "- Date: 2026-11-28 18:00 UTC" in markdown
    assert "- Code: commit 0c71a3c" in markdown
    assert "- Machine: 2 CPUs, AMD EPYC; Python 3.11.7" in markdown
    cached_row = "| GET /v1/cars/{id} (Redis cache hit) | 11,000 | 8.00 | 0.55 | >= 0.50 | pass |"
    assert f"{cached_row} 91 | 0.55 |" in markdown
    assert "| POST /v1/cars | 1 | 5,000 | 5.00 | 0.25 | 0 |" in markdown
    assert "Start-up to first 200 on /health: median 0.310 s" in markdown


def test_vin_tags_differ_for_every_run():
    tags = [vin_tag(n) for n in range(2000)]

    assert len(set(tags)) == len(tags)
    assert all(len(tag) == 3 and tag.isalpha() and not set(tag) & set("IOQ") for tag in tags)


def test_profile_counts_own_and_inclusive_samples_per_function():
    from bench.profile import parse_raw_profile

    raw = (
        "main (app.py:1);handle (app.py:10);cache_get (cache.py:5) 6\n"
        "main (app.py:1);handle (app.py:12);log (logs.py:3) 3\n"
        "main (app.py:1);handle (app.py:10) 1\n"
    )

    own, inclusive, total = parse_raw_profile(raw)

    assert total == 10
    assert own["cache_get (cache.py)"] == 6
    assert own["handle (app.py)"] == 1
    assert inclusive["handle (app.py)"] == 10
    assert inclusive["main (app.py)"] == 10


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--duration", "0.5"], "--duration must be at least 1 second"),
        (["--warmup", "-1"], "--warmup must not be negative"),
        (["--only", "post,nope"], "--only: unknown endpoint nope"),
        (["--only", ","], "--only: unknown endpoint (none)"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(argv, message, capsys):
    from bench.cli import parse_args

    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)

    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(message)


def test_only_measures_the_named_endpoints_with_the_baseline_and_writes_no_report():
    from bench.cli import DEFAULT_OUTPUT, parse_args

    args = parse_args(["--only", "post, list50"])
    assert [endpoint.key for endpoint in args.endpoints] == ["baseline", "post", "list50"]
    assert str(args.output) == "-"
    assert str(parse_args(["--only", "post", "--output", "x.md"]).output) == "x.md"
    everything = parse_args([])
    assert len(everything.endpoints) == 8 and everything.output == DEFAULT_OUTPUT


def test_the_revision_is_dirty_for_changed_code_but_not_for_a_rewritten_report(tmp_path):
    import subprocess

    from bench.cli import DEFAULT_OUTPUT, revision

    def git(*argv):
        subprocess.run(["git", "-C", str(tmp_path), *argv], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / DEFAULT_OUTPUT).parent.mkdir(parents=True)
    (tmp_path / DEFAULT_OUTPUT).write_text("old report\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "first")
    clean = revision(tmp_path)
    assert clean.startswith("commit ") and not clean.endswith("-dirty")
    (tmp_path / DEFAULT_OUTPUT).write_text("new report\n")
    assert revision(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert revision(tmp_path) == clean + "-dirty"
