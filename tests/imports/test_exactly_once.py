"""A 10,000-row file with 300 bad rows (IMPORT_TEST_ROWS=10000: `make test-import`, which CI
runs; `make test` takes 2,000 rows with 60 bad ones, the same shapes), through the function's real
code, moto's S3 -> EventBridge -> SQS and the real API: exactly the right counts, and nothing
created twice however the file or its message comes back."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

import pytest
from moto import mock_aws

from lambdas import bulk_import
from tests.imports.conftest import Api, Aws, cars_csv, run

ROWS = int(os.environ.get("IMPORT_TEST_ROWS", "2000"))
HALF = ROWS // 2
BAD = {
    "fields": set(range(10, ROWS, 100)),  # rows a column short: refused by the function
    "year": set(range(20, ROWS, 100)),  # rows the API refuses (422)
    "price": set(range(35, HALF, 100)),  # more 422s
    "vin": set(range(HALF + 45, ROWS, 100)),  # rows whose VIN row 1 has (409)
}
BAD_ROWS = set().union(*BAD.values())
GOOD = ROWS - len(BAD_ROWS)
KEY = "imports/dealer-7/stock.csv"


@dataclass
class Imported:
    aws: Aws
    make: str
    body: bytes
    records: list[dict]
    answer: dict


@pytest.fixture(scope="module")
def imported(api: Api):
    assert len(BAD_ROWS) == 3 * ROWS // 100 and 1 not in BAD_ROWS
    with mock_aws():
        aws = Aws()
        make = f"Imp{secrets.token_hex(4)}"
        body = cars_csv(ROWS, make, BAD)
        aws.drop(KEY, body, ChecksumAlgorithm="SHA256")
        records = aws.messages()
        assert len(records) == 1
        yield Imported(aws, make, body, records, run(aws, api, records))


def test_the_file_is_imported_with_exactly_the_right_counts(imported, api):
    report = imported.aws.report(KEY)
    assert imported.answer == {"batchItemFailures": []}
    assert report["status"] == "done"
    assert (report["rows_read"], report["created"], report["refused"]) == (
        ROWS,
        GOOD,
        len(BAD_ROWS),
    )
    assert api.count(imported.make) == GOOD
    assert report["duration_seconds"] > 0 and len(report["sha256"]) == 64


def test_each_refused_row_has_its_line_and_reason(imported):
    refused = {r["line"]: r for r in imported.aws.report(KEY)["refused_rows"]}
    assert sorted(refused) == sorted(row + 1 for row in BAD_ROWS)  # line 1 is the header
    assert refused[11]["reason"] == "6 fields, the header has 7" and "status" not in refused[11]
    assert refused[21]["status"] == 422
    assert (
        refused[21]["reason"]
        == "The car has invalid fields; see errors. (year: must be an integer)"
    )
    assert refused[36]["status"] == 422 and "price" in refused[36]["reason"]
    assert refused[HALF + 46]["status"] == 409


def test_the_same_file_dropped_again_creates_nothing(imported, api):
    imported.aws.drop(KEY, imported.body)  # a new version, a new event, no checksum this time
    answer = run(imported.aws, api, imported.aws.messages())
    report = imported.aws.report(KEY)
    assert answer == {"batchItemFailures": []}
    assert (report["status"], report["created"], report["replayed"]) == (
        "already_imported",
        0,
        GOOD,
    )
    assert api.count(imported.make) == GOOD


def test_the_same_content_under_another_name_creates_nothing(imported, api):
    imported.aws.drop("imports/copy-of-stock.csv", imported.body)
    run(imported.aws, api, imported.aws.messages())
    assert imported.aws.report("imports/copy-of-stock.csv")["status"] == "already_imported"
    assert api.count(imported.make) == GOOD


def test_a_message_processed_twice_creates_nothing_even_without_the_done_marker(imported, api):
    imported.aws.delete_done_markers()  # only the rows' idempotency keys are left
    answer = run(imported.aws, api, imported.records)
    report = imported.aws.report(KEY)
    assert answer == {"batchItemFailures": []}
    assert (report["status"], report["created"], report["refused"]) == ("done", GOOD, len(BAD_ROWS))
    assert api.count(imported.make) == GOOD


def test_a_message_delivered_twice_in_one_batch_creates_nothing(imported, api):
    imported.aws.delete_done_markers()
    run(imported.aws, api, imported.records * 2)
    assert api.count(imported.make) == GOOD


def test_keys_come_from_the_content_and_the_row_not_the_version_or_name():
    rows = [(2, 1, {"make": "a"}), (3, 2, {"make": "b"})]
    sent = []

    class Recorder:
        def send(self, items):
            sent.extend(item["idempotency_key"] for item in items)
            return [{"index": i, "status": 201} for i in range(len(items))]

    report = bulk_import.Report("bucket", "imports/x.csv")
    bulk_import._send_rows(Recorder(), report, "ab" * 32, iter(rows))
    assert sent == [f"import:{'ab' * 32}:1", f"import:{'ab' * 32}:2"]
