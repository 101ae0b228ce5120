"""`cars-stack import FILE [--wait]`: the upload to the data stack's bucket, the report followed
to its end (the function's real code runs whenever the command waits), one-line errors."""

from __future__ import annotations

import json
import secrets
from itertools import count
from pathlib import Path

import boto3

from tests.imports.conftest import BUCKET, REGION, cars_csv, run
from tests.stack.conftest import run_cli

DATA = "api-cars-data"


def data_stack(outputs: dict[str, str]) -> None:
    """A data stack in moto's CloudFormation with these outputs (the import bucket's name)."""
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=DATA, TemplateBody=json.dumps(template)
    )


def test_import_wait_prints_the_summary_and_the_first_refused_rows(aws, api, tmp_path: Path):
    data_stack({"ImportBucket": BUCKET})
    make = f"Cli{secrets.token_hex(4)}"
    path = tmp_path / "stock.csv"
    path.write_bytes(cars_csv(30, make, {"fields": {3}, "year": {7}}))

    result = run_cli(
        "import", str(path), "--wait", "--region", REGION,
        sleep=lambda _: run(aws, api, aws.messages()),  # the function, as Lambda would run it
    )  # fmt: skip

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"Uploaded {path} to s3://{BUCKET}/imports/stock.csv"
    assert lines[1].startswith(
        "imports/stock.csv: 30 rows read, 28 created (0 of them already there), 2 refused, in "
    )
    assert lines[2] == "  line 4: 6 fields, the header has 7"
    assert lines[3].startswith("  line 8 [422]: ") and "year" in lines[3]
    assert api.count(make) == 28


def test_the_upload_carries_the_full_object_sha256_the_function_uses(aws, api, tmp_path):
    data_stack({"ImportBucket": BUCKET})
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"make": "x"}) + "\n")
    assert run_cli("import", str(path), "--region", REGION).code == 0
    head = aws.s3.head_object(Bucket=BUCKET, Key="imports/one.jsonl", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"]


def test_a_rejected_file_exits_1_with_what_is_wrong(aws, api, tmp_path):
    data_stack({"ImportBucket": BUCKET})
    path = tmp_path / "people.csv"
    path.write_text("name,email\nAda,ada@example.com\n")
    result = run_cli(
        "import", str(path), "--wait", "--region", REGION,
        sleep=lambda _: run(aws, api, aws.messages()),
    )  # fmt: skip
    assert result.code == 1
    assert result.out.splitlines()[1].startswith("imports/people.csv: rejected: not a CSV of cars")


def test_no_such_file_is_one_line(aws, tmp_path):
    result = run_cli("import", str(tmp_path / "nope.csv"), "--region", REGION)
    assert (result.code, result.err) == (
        2,
        f"cars-stack import: no such file: {tmp_path}/nope.csv\n",
    )


def test_a_data_stack_without_the_bucket_is_one_line(aws, tmp_path):
    data_stack({})
    path = tmp_path / "a.csv"
    path.write_text("make\n")
    result = run_cli("import", str(path), "--region", REGION)
    assert result.code == 2
    assert result.err == (
        f"cars-stack import: data stack {DATA} has no import bucket: cars-stack deploy --only "
        "data --data-param EnableImportBucket=true, then cars-stack deploy --only import\n"
    )


def test_no_report_before_the_deadline_is_one_line(aws, tmp_path):
    data_stack({"ImportBucket": BUCKET})
    path = tmp_path / "slow.csv"
    path.write_text("make\n")
    clock = count(0, 60)
    result = run_cli(
        "import", str(path), "--wait", "--wait-timeout", "120", "--region", REGION,
        now=lambda: float(next(clock)),
    )  # fmt: skip
    assert result.code == 1
    assert result.err.startswith("cars-stack import: no report for imports/slow.csv after 120 s")
    assert len(result.err.splitlines()) == 1
