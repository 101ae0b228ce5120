"""The bulk-import function's real code against moto (S3 -> EventBridge -> SQS, the import
stack's own rule pattern) and a real API process (`python -m api`) on the shared PostgreSQL, in a
database of this branch's own (api_cars_import_<run>)."""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
from moto import mock_aws

from lambdas import bulk_import
from template_builder import names
from template_builder.imports.stack import build_import_template
from tests.api_process import ApiProcess

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
BUCKET = "api-cars-data-imports-123456789012-eu-west-1-5b0c3a10"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


class Api(ApiProcess):
    """`python -m api` on a free port (tests/api_process.py) on `database_url`, writes open
    unless ``auth`` (the API's AUTH_* settings) names an issuer; started at once."""

    def __init__(self, database_url: str, log: Path, auth: dict[str, str] | None = None):
        super().__init__({"DATABASE_URL": database_url, **(auth or {})}, log)
        self.url = self.base_url
        self.database_url = database_url
        self.start()

    def count(self, make_prefix: str = "") -> int:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(
                "SELECT count(*) FROM cars WHERE make LIKE %s", (make_prefix + "%",)
            ).fetchone()[0]

    def expire_leases(self) -> None:
        """End the lease of every unfinished claim, as the minutes after a crash would."""
        with psycopg.connect(self.database_url) as conn:
            conn.execute(
                "UPDATE idempotency_keys SET locked_until = now() - interval '1 second'"
                " WHERE status IS NULL"
            )


@pytest.fixture(scope="session")
def api(tmp_path_factory) -> Iterator[Api]:
    name = f"api_cars_import_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    server = Api(
        f"postgresql://postgres@127.0.0.1:5432/{name}", tmp_path_factory.mktemp("api") / "api.log"
    )
    try:
        yield server
    finally:
        server.stop()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rule_pattern() -> dict:
    """The import stack's EventBridge pattern, the bucket's name in place of its import."""
    rule = build_import_template().to_dict()["Resources"][names.IMPORT_RULE]
    pattern = json.loads(json.dumps(rule["Properties"]["EventPattern"]))
    pattern["detail"]["bucket"]["name"] = [BUCKET]
    return pattern


class Aws:
    """The bucket (EventBridge notifications on), the import stack's rule and its queue."""

    def __init__(self, endpoint_url: str | None = None):
        kwargs = {"region_name": REGION, "endpoint_url": endpoint_url}
        self.s3 = boto3.client("s3", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        events = boto3.client("events", **kwargs)
        self.s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        self.queue = self.sqs.create_queue(
            QueueName="api-cars-import-queue", Attributes={"VisibilityTimeout": "0"}
        )["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])
        events.put_rule(Name="api-cars-import-objects", EventPattern=json.dumps(rule_pattern()))
        events.put_targets(
            Rule="api-cars-import-objects",
            Targets=[{"Id": "ImportQueue", "Arn": arn["Attributes"]["QueueArn"]}],
        )

    def drop(self, key: str, body: bytes, **extra) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, **extra)

    def messages(self) -> list[dict]:
        """What the queue holds now, as Lambda's SQS event records (deleted from the queue)."""
        got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
        records = [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            for m in got.get("Messages", [])
        ]
        for record in records:
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=record["receiptHandle"])
        return records

    def report(self, key: str) -> dict:
        body = self.s3.get_object(Bucket=BUCKET, Key=bulk_import.report_key(key))["Body"]
        return json.load(body)

    def delete_done_markers(self) -> None:
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=bulk_import.DONE_PREFIX)
        for item in listed.get("Contents", []):
            self.s3.delete_object(Bucket=BUCKET, Key=item["Key"])


@pytest.fixture
def aws(monkeypatch) -> Iterator[Aws]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield Aws()


def run(aws: Aws, api: Api, records: list[dict], **env) -> dict:
    """The handler on `records`, as Lambda calls it, talking to the real API."""
    client = bulk_import.Api({"API_URL": api.url, **env})
    return bulk_import.handler({"Records": records}, None, s3=aws.s3, api=client)


def vin(number: int, salt: str) -> str:
    """A valid 17-character VIN, unique per (number, salt)."""
    digits = []
    value = int.from_bytes(salt.encode(), "big") * 10_000_000 + number
    for _ in range(17):
        value, index = divmod(value, len(VIN_CHARS))
        digits.append(VIN_CHARS[index])
    return "".join(digits)


def cars_csv(rows: int, make: str, bad: dict[str, set[int]] | None = None) -> bytes:
    """A CSV of `rows` cars; `bad` maps a kind of fault to the row numbers (1-based) that have
    it: "fields" (a column short), "year" (not a number), "price" (invalid), "vin" (a VIN an
    earlier row of the file has)."""
    bad = bad or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["make", "model", "year", "color", "price", "mileage_km", "vin"])
    for row in range(1, rows + 1):
        values = [make, f"Model {row}", 2019, "red", "12999.90", row, vin(row, make)]
        if row in bad.get("year", ()):
            values[2] = "twenty"
        if row in bad.get("price", ()):
            values[4] = "12,50"
        if row in bad.get("vin", ()):
            values[6] = vin(1, make)
        if row in bad.get("fields", ()):
            values = values[:-1]
        writer.writerow(values)
    return out.getvalue().encode()
