"""What is wrong with a file ends in a report saying so and a deleted message: never an exception
out of the handler, never a retry loop into the dead-letter queue."""

from __future__ import annotations

import io
import json
import secrets

import pytest
from botocore.stub import ANY, Stubber

from lambdas import bulk_import
from tests.imports.conftest import BUCKET, cars_csv, run

HEADER = b"make,model,year,color,price,mileage_km,vin\n"


@pytest.mark.parametrize(
    ("key", "body", "error"),
    [
        ("imports/photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
        ("imports/empty.csv", b"", "empty file"),
        ("imports/header-only.csv", HEADER, "no rows"),
        (
            "imports/people.csv",
            b"name,email\nAda,ada@example.com\n",
            "unknown: name, email; missing: make, model, year, price, mileage_km",
        ),
        ("imports/one-line.csv", b"x" * (bulk_import.MAX_LINE_BYTES + 10), "longer than"),
        ("imports/twice.csv", b"make,model,year,price,mileage_km,make\n", "a column repeats"),
    ],
    ids=["binary", "empty", "header-only", "wrong-columns", "no-newline", "repeated-column"],
)
def test_a_malformed_file_gets_a_report_that_says_what_is_wrong(aws, api, key, body, error):
    aws.drop(key, body)
    answer = run(aws, api, aws.messages())
    report = aws.report(key)
    assert answer == {"batchItemFailures": []}
    assert report["status"] == "rejected"
    assert error in report["error"]
    assert report["created"] == 0


def test_jsonl_rows_are_refused_one_by_one_with_their_line(aws, api):
    make = f"Jsonl{secrets.token_hex(4)}"
    good = {"make": make, "model": "Golf", "year": 2020, "price": "9000", "mileage_km": 1}
    lines = [json.dumps(good), "{not json", "", "[1, 2]", json.dumps({**good, "year": "x"})]
    aws.drop("imports/cars.jsonl", "\n".join(lines).encode())
    run(aws, api, aws.messages())
    report = aws.report("imports/cars.jsonl")
    assert (report["status"], report["rows_read"], report["created"]) == ("done", 4, 1)
    refused = {r["line"]: r for r in report["refused_rows"]}
    assert sorted(refused) == [2, 4, 5]
    assert refused[2]["reason"].startswith("not JSON")
    assert refused[4]["reason"] == "not a JSON object"
    assert refused[5]["status"] == 422
    assert api.count(make) == 1


def test_a_declared_size_over_the_maximum_is_refused_before_reading(api):
    """2 GiB + 1 declared by HeadObject (Stubber, shaped as the S3 API reference): no GetObject."""
    import boto3

    s3 = boto3.client(
        "s3", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    key = "imports/huge.csv"
    with Stubber(s3) as stub:
        stub.add_response(
            "head_object",
            {"ContentLength": 2 * 1024**3 + 1, "ETag": '"9b2cf535f27731c974343645a3985328-400"'},
            {"Bucket": BUCKET, "Key": key, "ChecksumMode": "ENABLED"},
        )
        stub.add_response(
            "put_object",
            {"ETag": '"d41d8cd98f00b204e9800998ecf8427e"'},
            {"Bucket": BUCKET, "Key": "reports/huge.csv.json", "Body": ANY, "ContentType": ANY},
        )
        report = bulk_import.import_file(s3, bulk_import.Api({"API_URL": api.url}), BUCKET, key)
        stub.assert_no_pending_responses()
    assert report["status"] == "rejected"
    assert report["error"] == f"{2 * 1024**3 + 1} bytes: over the maximum of {2 * 1024**3} bytes"


def test_a_file_outside_imports_or_of_another_kind_is_reported_not_read(aws, api):
    record = {
        "messageId": "m-1",
        "body": json.dumps(
            {"detail": {"bucket": {"name": BUCKET}, "object": {"key": "imports/a.txt"}}}
        ),
    }
    assert run(aws, api, [record]) == {"batchItemFailures": []}
    assert "not an imports/*.csv" in aws.report("imports/a.txt")["error"]


def test_a_message_that_is_no_s3_event_is_dropped_not_retried(aws, api):
    assert run(aws, api, [{"messageId": "m-2", "body": "hello"}]) == {"batchItemFailures": []}


def test_an_api_that_does_not_answer_returns_the_message_after_retries(aws, api, monkeypatch):
    monkeypatch.setattr(bulk_import, "RETRY_DELAYS_S", (0.01, 0.02))
    aws.drop("imports/later.csv", cars_csv(3, f"Down{secrets.token_hex(4)}"))
    records = aws.messages()
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    answer = bulk_import.handler(
        {"Records": records}, None, s3=aws.s3, api=bulk_import.Api({"API_URL": closed})
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    report = aws.report("imports/later.csv")
    assert report["status"] == "retrying" and "POST /v1/cars:batch" in report["error"]


def test_the_file_is_streamed_never_read_whole():
    class Body:
        def __init__(self):
            self.chunks = 0

        def iter_chunks(self, size):
            for _ in range(1000):
                self.chunks += 1
                yield b"a,b\n" * (size // 4)

    body = Body()
    lines = bulk_import.text_lines(body)
    next(lines)
    assert body.chunks == 1
    assert isinstance(io.StringIO(next(lines)).read(), str)


def test_rows_larger_than_any_car_are_refused_and_the_batch_stays_under_the_api_limit(aws, api):
    make = f"Big{secrets.token_hex(4)}"
    good = {"make": make, "model": "Golf", "year": 2020, "price": "9000", "mileage_km": 1}
    lines = [json.dumps({**good, "model": "x" * 60_000})] * 3 + [json.dumps(good)]
    aws.drop("imports/huge-rows.jsonl", "\n".join(lines).encode())
    assert run(aws, api, aws.messages()) == {"batchItemFailures": []}
    report = aws.report("imports/huge-rows.jsonl")
    assert (report["status"], report["created"], report["refused"]) == ("done", 1, 3)
    assert "no car is larger than 4096" in report["refused_rows"][0]["reason"]
