"""The import stack (templates/import.yaml, default name <stack>-import) and ``cars-stack import``.

The stack is deployed after the service, whose ServiceUrl it takes as its ApiUrl parameter (not as
an import: an export in use would freeze the service's URL, and a certificate, a domain name or the
edge's load-balancer change could no longer change it), and deleted before it by ``destroy``. Its
bucket is the data stack's (EnableImportBucket=true), so the files and reports stay with the data.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cars_stack import deploy as deploying
from cars_stack.errors import BadInput, DeploymentFailed, Refused
from cars_stack.events import delete_and_follow
from cars_stack.runtime import Context
from cars_stack.stack import describe
from cars_stack.template import Template, default_template_path
from template_builder.names import (
    API_URL,
    DATA_STACK_NAME,
    IDENTITY_STACK_NAME,
    IMPORT_TEMPLATE_FILE,
    IMPORTS_PREFIX,
    OUTPUT_IMPORT_BUCKET,
    OUTPUT_SERVICE_URL,
    REPORTS_PREFIX,
)

if TYPE_CHECKING:
    from cars_stack.deploy import DeployOptions

# The function's own limit (lambdas/bulk_import.py MAX_FILE_BYTES), refused before uploading.
MAX_FILE_BYTES = 2 * 1024**3
FINAL = {"done", "rejected", "already_imported", "failed"}
REFUSED_SHOWN = 10


def default_import_template_path() -> Path:
    return default_template_path(IMPORT_TEMPLATE_FILE)


def deploy_import(
    ctx: Context,
    options: DeployOptions,
    *,
    service_name: str,
    data_name: str,
    identity_name: str,
) -> dict[str, Any]:
    """Create or update the import stack (``ctx`` aimed at it), wired to the service's URL, the
    data stack's bucket and, unless the service has AuthDisabled=true, the identity stack."""
    template = Template.from_file(options.import_template_path or default_import_template_path())
    template.check_body_size()
    given = deploying.parse_params(options.import_params, template, flag="--import-param")
    cfn = ctx.client("cloudformation")
    service = describe(cfn, service_name)
    url = (service.outputs if service and not service.is_new else {}).get(OUTPUT_SERVICE_URL)
    if not url and API_URL not in given:
        raise Refused(
            f"service stack {service_name} has no {OUTPUT_SERVICE_URL}: deploy it first "
            "(the import stack comes after the service)"
        )
    given.setdefault(API_URL, url)
    name = given.setdefault(DATA_STACK_NAME, data_name)
    data_stack = describe(cfn, name)
    if data_stack is None or OUTPUT_IMPORT_BUCKET not in data_stack.outputs:
        raise Refused(
            f"data stack {name} has no import bucket: cars-stack deploy --only data "
            "--data-param EnableImportBucket=true"
        )
    off = service is not None and service.parameters.get("AuthDisabled") == "true"
    given.setdefault(IDENTITY_STACK_NAME, "" if off else identity_name)
    return deploying.deploy_template(ctx, template, given, options)


def delete_stack(ctx: Context, *, timeout_minutes: float) -> dict[str, Any] | None:
    """Delete the import stack (``ctx`` aimed at it) if there is one; its bucket is the data
    stack's and stays, files and reports with it."""
    cfn = ctx.client("cloudformation")
    stack = describe(cfn, ctx.stack_name)
    if stack is None:
        return None
    stack.refuse_if_busy()
    delete_and_follow(
        ctx, stack, timeout_minutes=timeout_minutes, what=f"import stack {stack.name}"
    )
    ctx.say(f"Import stack {stack.name} deleted (its bucket stays with the data stack).")
    return {"stack_name": stack.name, "deleted": True}


# --- cars-stack import FILE -----------------------------------------------------------------------


def _bucket(ctx: Context, data_name: str) -> str:
    stack = describe(ctx.client("cloudformation"), data_name)
    if stack is None or stack.is_new:
        raise Refused(f"no data stack named {data_name} in {ctx.region}")
    bucket = stack.outputs.get(OUTPUT_IMPORT_BUCKET)
    if not bucket:
        raise Refused(
            f"data stack {data_name} has no import bucket: cars-stack deploy --only data "
            "--data-param EnableImportBucket=true, then cars-stack deploy --only import"
        )
    return bucket


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def _report(s3: Any, bucket: str, key: str, after: Any) -> dict[str, Any] | None:
    """The file's report once it is final and newer than the upload, else None."""
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    if answer["LastModified"] < after:
        return None  # the report of an earlier upload under this name
    document = json.load(answer["Body"])
    return document if document.get("status") in FINAL else None


def summary_lines(report: dict[str, Any]) -> list[str]:
    status = report.get("status")
    name = report.get("file", "?")
    if status == "rejected":
        return [f"{name}: rejected: {report.get('error')}"]
    if status == "failed":
        return [f"{name}: failed: {report.get('error')}"]
    counts = (
        f"{report.get('rows_read', 0)} rows read, {report.get('created', 0)} created "
        f"({report.get('replayed', 0)} of them already there), {report.get('refused', 0)} refused"
    )
    if status == "already_imported":
        return [f"{name}: already imported: {report.get('note', '')} ({counts})"]
    lines = [f"{name}: {counts}, in {report.get('duration_seconds', 0):g} s"]
    for refused in report.get("refused_rows", [])[:REFUSED_SHOWN]:
        code = f" [{refused['status']}]" if refused.get("status") else ""
        lines.append(f"  line {refused['line']}{code}: {refused['reason']}")
    more = report.get("refused", 0) - min(REFUSED_SHOWN, len(report.get("refused_rows", [])))
    if more > 0:
        lines.append(f"  ... and {more} more in s3://{report.get('bucket')}/{REPORTS_PREFIX}")
    return lines


def import_file(
    ctx: Context, path: Path, *, data_name: str, wait: bool, timeout_seconds: float
) -> int:
    if not path.is_file():
        raise BadInput(f"no such file: {path}")
    if path.suffix not in (".csv", ".jsonl"):
        raise BadInput(f"{path} is neither .csv nor .jsonl: the import takes only those")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BadInput(f"{path} is {size} bytes, over the import's maximum of {MAX_FILE_BYTES}")
    bucket = _bucket(ctx, data_name)
    key = IMPORTS_PREFIX + path.name
    s3 = ctx.client("s3")
    checksum = _sha256(path)
    with path.open("rb") as body:
        # One PUT (up to 5 GB) with its SHA-256: S3 checks the bytes, and keeps a full-object
        # checksum the function uses instead of reading the file twice.
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum,
            ContentLength=size,
        )
    uploaded = s3.head_object(Bucket=bucket, Key=key)["LastModified"]
    report_key = REPORTS_PREFIX + path.name + ".json"
    result: dict[str, Any] = {"bucket": bucket, "key": key, "report": report_key}
    ctx.say(f"Uploaded {path} to s3://{bucket}/{key}")
    if not wait:
        ctx.say(f"Its report: s3://{bucket}/{report_key} (cars-stack import --wait follows it)")
        ctx.emit(result)
        return 0
    deadline = ctx.now() + timeout_seconds
    while (report := _report(s3, bucket, report_key, uploaded)) is None:
        if ctx.now() > deadline:
            raise DeploymentFailed(
                f"no report for {key} after {timeout_seconds:g} s: see the import function's "
                f"logs, or s3://{bucket}/{report_key} later"
            )
        ctx.pause()
    for line in summary_lines(report):
        ctx.say(line)
    ctx.emit(result | {"summary": {k: v for k, v in report.items() if k != "refused_rows"}})
    return 0 if report["status"] in ("done", "already_imported") else 1
