"""What every suite shares: the garbage collector tuned for a test run.

The suite builds and drops many large dicts (templates resolved by cloud-radar, cfn-lint's graphs,
moto's state), and CPython's default thresholds (700, 10, 10) run a full collection over that
whole heap thousands of times: a quarter of tests/template's time. Fewer young collections and
the collected test items frozen out of every later scan change no behaviour, only how often the
collector looks (docs/testing.md, "Run time")."""

import gc


def pytest_configure(config):
    gc.set_threshold(100_000, 50, 1_000)


def pytest_collection_finish(session):
    gc.collect()
    gc.freeze()
