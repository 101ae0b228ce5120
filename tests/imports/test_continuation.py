"""A file longer than one invocation: near the end of its time the function stops between two
batches, writes where it is into the report and sends itself a continuation message; the next
invocation goes on from that byte. Nothing is read twice, created twice or lost, and the counts
add up across slices."""

from __future__ import annotations

import csv
import io
import json
import secrets

from lambdas import bulk_import
from tests.imports.conftest import cars_csv, run


class Context:
    """Lambda's context object: get_remaining_time_in_millis, here running out after `calls`."""

    def __init__(self, calls: int):
        self.calls = calls

    def get_remaining_time_in_millis(self) -> int:
        self.calls -= 1
        return 600_000 if self.calls > 0 else 1_000


def _slices(aws, api, first: list[dict], monkeypatch, calls: int) -> list[dict]:
    monkeypatch.setenv("QUEUE_URL", aws.queue)
    monkeypatch.setattr(bulk_import, "BATCH_SIZE", 100)
    reports, records = [], first
    while records:
        client = bulk_import.Api({"API_URL": api.url})
        answer = bulk_import.handler({"Records": records}, Context(calls), s3=aws.s3, api=client)
        assert answer == {"batchItemFailures": []}
        _, key, _ = bulk_import.objects_of(records[0]["body"])
        reports.append(aws.report(key))
        records = aws.messages()
    return reports


def test_a_csv_longer_than_an_invocation_goes_on_where_it_stopped(aws, api, monkeypatch):
    make = f"Slice{secrets.token_hex(4)}"
    bad = {"fields": {150, 420}, "year": {333}}
    aws.drop("imports/long.csv", cars_csv(1000, make, bad))
    reports = _slices(aws, api, aws.messages(), monkeypatch, calls=3)
    statuses = [r["status"] for r in reports]
    assert statuses[-1] == "done" and set(statuses[:-1]) == {"continuing"}
    assert len(reports) >= 3
    final = reports[-1]
    assert (final["rows_read"], final["created"], final["refused"]) == (1000, 997, 3)
    assert final["replayed"] == 0  # no row was sent twice
    assert sorted(r["line"] for r in final["refused_rows"]) == [151, 334, 421]
    assert api.count(make) == 997


def test_a_jsonl_file_with_multibyte_text_goes_on_at_the_right_byte(aws, api, monkeypatch):
    make = f"Ünï{secrets.token_hex(3)}"
    rows = [
        {"make": make, "model": f"Škoda Octavia {n}", "year": 2020, "price": "9000",
         "mileage_km": n}
        for n in range(1, 501)
    ]  # fmt: skip
    body = "\ufeff" + "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    aws.drop("imports/long.jsonl", body.encode())
    reports = _slices(aws, api, aws.messages(), monkeypatch, calls=2)
    assert [r["status"] for r in reports][-1] == "done" and len(reports) >= 2
    assert (reports[-1]["rows_read"], reports[-1]["created"]) == (500, 500)
    assert api.count(make) == 500


def test_a_continuation_for_content_since_replaced_is_dropped(aws, api, monkeypatch):
    aws.drop("imports/gone.csv", cars_csv(3, f"Gone{secrets.token_hex(4)}"))
    run(aws, api, aws.messages())
    stale = {"continuation": {"bucket": aws.report("imports/gone.csv")["bucket"],
                              "key": "imports/gone.csv", "sha256": "0" * 64}}  # fmt: skip
    answer = run(aws, api, [{"messageId": "m", "body": json.dumps(stale)}])
    assert answer == {"batchItemFailures": []}
    assert aws.report("imports/gone.csv")["status"] == "done"


def test_csv_with_quoted_newlines_resumes_between_records(aws, api, monkeypatch):
    make = f"Quote{secrets.token_hex(4)}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["make", "model", "year", "price", "mileage_km"])
    for n in range(1, 401):
        writer.writerow([make, f"Line one\nline two {n}" if n % 7 == 0 else f"M{n}", 2020, "1", n])
    aws.drop("imports/quoted.csv", out.getvalue().encode())
    reports = _slices(aws, api, aws.messages(), monkeypatch, calls=2)
    final = reports[-1]
    assert final["status"] == "done" and final["rows_read"] == 400
    assert final["created"] + final["refused"] == 400
    assert final["replayed"] == 0
