"""A function killed half-way (SIGKILL, as Lambda ends a timed-out or crashed sandbox) and retried
with the same message finishes the job: nothing duplicated, nothing lost. The handler runs in a
process of its own against a moto server (the queue and bucket outlive the process)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys

import pytest
from moto.server import ThreadedMotoServer

from lambdas import bulk_import
from tests.api_process import free_port, wait_until
from tests.imports.conftest import REGION, REPO, Aws, cars_csv, run

ROWS = int(os.environ.get("IMPORT_TEST_ROWS", "2000"))
KEY = "imports/killed.csv"
HANDLER = (
    "import json, sys\n"
    "from lambdas.bulk_import import handler\n"
    "print(json.dumps(handler(json.load(sys.stdin))))\n"
)


@pytest.fixture
def moto_server(monkeypatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    yield f"http://{host}:{port}"
    server.stop()


def test_a_function_killed_half_way_and_retried_creates_each_car_exactly_once(
    moto_server, api, monkeypatch
):
    aws = Aws(moto_server)
    make = f"Kill{secrets.token_hex(4)}"
    aws.drop(KEY, cars_csv(ROWS, make))
    records = aws.messages()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_server,
        "API_URL": api.url,
        "BATCH_SIZE": "50",
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", HANDLER], cwd=REPO, env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdin.write(json.dumps({"Records": records}).encode())
    proc.stdin.close()
    wait_until(lambda: api.count(make) >= ROWS // 3, 60, "a third of the rows to be created")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    half = api.count(make)
    assert ROWS // 3 <= half < ROWS, "killed after it had finished: nothing was proven"

    # SQS delivers the same message again. Killed mid-request, the process's last batch still
    # holds its keys (the API's 60 s lease on an unfinished claim): those rows are retried, never
    # refused, and then the message goes back to the queue. Killed between requests, nothing is
    # held and the first retry finishes.
    monkeypatch.setattr(bulk_import, "IN_FLIGHT_RETRIES", 1)
    answer = run(aws, api, records)
    if answer["batchItemFailures"]:
        assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
        assert aws.report(KEY)["status"] == "retrying" and api.count(make) < ROWS
        # The queue hides it for 6 x the function's timeout (90 min), far beyond the lease: age
        # the abandoned claims as that time would, and the next delivery finishes the job.
        api.expire_leases()
        answer = run(aws, api, records)

    report = aws.report(KEY)
    assert answer == {"batchItemFailures": []}
    assert (report["status"], report["created"], report["refused"]) == ("done", ROWS, 0)
    assert report["replayed"] >= half - 50  # all rows of finished batches answered as replays
    assert api.count(make) == ROWS
