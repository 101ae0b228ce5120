"""Reading wrk's report: the numbers the benchmark is built on."""

import pytest

from bench.procs import BenchError
from bench.wrk import SCRIPTS, find_wrk, parse_wrk_output, wrk_command

REPORT = """\
Running 10s test @ http://127.0.0.1:8000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.40ms  456.00us  18.18ms   93.34%
    Req/Sec    21.01k     1.11k   22.54k    83.00%
  Latency Distribution
     50%    2.31ms
     75%    2.43ms
     90%    2.67ms
     99%    4.62ms
  209123 requests in 10.00s, 60.02MB read
Requests/sec:  20910.48
Transfer/sec:      6.00MB
"""

REPORT_WITH_ERRORS = """\
Running 2s test @ http://127.0.0.1:8000/v1/cars
  1 threads and 50 connections
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    1.33s
     99%    1.95s
  4000 requests in 2.00s, 1.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 7
  Non-2xx or 3xx responses: 15
Requests/sec:   1999.50
Transfer/sec:    512.00KB
"""


def test_requests_per_second_and_p99_are_read_from_the_report():
    result = parse_wrk_output(REPORT)

    assert result.requests_per_s == 20910.48
    assert result.p99_ms == 4.62
    assert result.requests == 209123
    assert result.errors == 0


def test_p99_in_seconds_is_converted_to_milliseconds():
    assert parse_wrk_output(REPORT_WITH_ERRORS).p99_ms == 1950.0


def test_p99_in_microseconds_is_converted_to_milliseconds():
    report = REPORT.replace("99%    4.62ms", "99%  950.00us")

    assert parse_wrk_output(report).p99_ms == pytest.approx(0.95)


def test_socket_errors_and_error_statuses_count_as_errors():
    result = parse_wrk_output(REPORT_WITH_ERRORS)

    assert result.errors == 3 + 7 + 15
    assert result.error_ratio == pytest.approx(25 / 4000)


def test_a_report_without_numbers_is_a_clear_error():
    with pytest.raises(BenchError, match="could not read wrk's report"):
        parse_wrk_output("unable to connect to 127.0.0.1:8000 Connection refused\n")


def test_wrk_runs_one_thread_with_a_latency_distribution_pinned_to_the_load_cpu():
    argv = wrk_command(
        "http://127.0.0.1:9/v1/cars/1",
        duration_s=10,
        connections=50,
        script="get_ids.lua",
        script_args=("1", "2"),
        cpu=1,
    )

    assert argv[:3] == ["taskset", "--cpu-list", "1"]
    assert argv[argv.index("--threads") + 1] == "1"
    assert argv[argv.index("--connections") + 1] == "50"
    assert argv[argv.index("--duration") + 1] == "10s"
    assert "--latency" in argv
    assert argv[argv.index("--script") + 1] == str(SCRIPTS / "get_ids.lua")
    assert argv[-4:] == ["http://127.0.0.1:9/v1/cars/1", "--", "1", "2"]


def test_every_script_the_benchmark_names_exists():
    assert (SCRIPTS / "get_ids.lua").is_file()
    assert (SCRIPTS / "post_car.lua").is_file()


def test_missing_wrk_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr("bench.wrk.shutil.which", lambda name: None)

    with pytest.raises(BenchError, match=r"wrk is not installed: install it with `sudo apt-get"):
        find_wrk()
