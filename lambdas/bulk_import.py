"""Bulk import of cars: an SQS message carrying an S3 "Object Created" event (through EventBridge)
names a file under ``imports/``; its rows go to ``POST /v1/cars:batch``, and ``reports/<name>.json``
says what happened.

Exactly once: every row's idempotency key is ``import:<sha256 of the file's content>:<row>``. The
same bytes give the same keys whatever the object's version, ETag or name, so a redelivered event,
a retried message, a function killed half-way and a re-dropped identical file all replay their
rows' first answers instead of creating cars again. The checksum is S3's own full-object SHA-256
when the object has one (``cars-stack import`` uploads with it), else a first streaming pass.
Both passes read the same version of the object (``IfMatch`` on its ETag).

Never a crash loop: what is wrong with the *file* (not CSV or JSONL, wrong columns, empty, over
``MAX_FILE_BYTES``) ends in a report and a deleted message; only what retrying may cure (the API's
5xx, timeouts, throttling) returns the message to the queue (``batchItemFailures``), after its
own retries with backoff.

Longer than one invocation: between two batches, near the end of its time, the function writes
where it is into the report and sends itself a continuation message; the next invocation reads
on from that byte.

Standard library and boto3 only (the Lambda runtime's), so the code is inlined in the template.
"""

import base64
import codecs
import csv
import hashlib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import boto3

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

IMPORTS_PREFIX = "imports/"
REPORTS_PREFIX = "reports/"
# Where a fully imported content's checksum is remembered: a re-drop is answered without a call.
DONE_PREFIX = "reports/.done/"
FORMATS = {".csv": "csv", ".jsonl": "jsonl"}
FIELDS = ("make", "model", "year", "color", "price", "mileage_km", "vin")
REQUIRED = ("make", "model", "year", "price", "mileage_km")
INTEGER_FIELDS = ("year", "mileage_km")
MAX_FILE_BYTES = int(os.environ.get("MAX_FILE_BYTES", str(2 * 1024**3)))
MAX_LINE_BYTES = 64 * 1024
BATCH_SIZE = int(os.environ.get("BATCH_SIZE", "250"))
# The batch endpoint takes at most 1 MiB (BATCH_MAX_BYTES); a car's fields are at most 64
# characters of text (the API's limits), so a row over MAX_ROW_BYTES can only be refused.
BATCH_BYTES = 512 * 1024
MAX_ROW_BYTES = 4096
# Stop and continue in a new message when less than this is left of the invocation: the last
# batch's retries (4 x 30 s timeouts at most, plus backoff) fit in it.
TIME_MARGIN_MS = int(os.environ.get("TIME_MARGIN_MS", "150000"))
REFUSED_LISTED = 1000  # the report lists at most this many refused rows (all are counted)
CHUNK_BYTES = 1024 * 1024
HTTP_TIMEOUT_S = float(os.environ.get("HTTP_TIMEOUT_SECONDS", "30"))
RETRY_DELAYS_S = tuple(float(s) for s in os.environ.get("RETRY_DELAYS", "0.5,1,2,4").split(","))
_INTEGER = re.compile(r"^-?[0-9]{1,19}$")
# The batch endpoint's row answer while another request holding the same key still runs (the
# same message processed twice at once): not a refusal, the row is retried.
IN_FLIGHT = "urn:api-cars:problem:idempotency-key-in-flight"
IN_FLIGHT_RETRIES = 5


class FileRejected(Exception):
    """What is wrong with the file: it gets a report, never a retry."""


class Transient(Exception):
    """What a retry may cure: the message goes back to the queue."""


class OutOfTime(Exception):
    """The invocation's time is nearly up: the file goes on in a continuation message."""

    def __init__(self, resume: dict):
        super().__init__("out of time")
        self.resume = resume


class Position:
    """How far the stream has been read: bytes of complete lines, and lines."""

    def __init__(self, offset: int = 0, line: int = 0):
        self.offset = offset
        self.line = line


class ImportFailed(Exception):
    """Neither the file's fault nor curable by retrying now (credentials, a refused envelope):
    reported, and the message returned so it ends in the dead-letter queue for a redrive."""


def _s3():
    return boto3.client("s3")


# --- the file ---------------------------------------------------------------------------------


def text_lines(body, limit: int = MAX_LINE_BYTES, position: Position | None = None):
    """The object's lines as text (newlines kept), decoded as they stream: never the whole file
    in memory, never a line longer than ``limit``. ``position`` follows each line yielded (a
    continuation reads from its offset on)."""
    position = position or Position()
    start = position.offset == 0
    decoder = codecs.getincrementaldecoder("utf-8-sig" if start else "utf-8")()
    pending = ""
    for chunk in body.iter_chunks(CHUNK_BYTES):
        if start and chunk.startswith(codecs.BOM_UTF8):
            position.offset += len(codecs.BOM_UTF8)
        start = False
        try:
            pending += decoder.decode(chunk)
        except UnicodeDecodeError:
            raise FileRejected(f"not UTF-8 text (after line {position.line})") from None
        *complete, pending = pending.split("\n")
        for line in complete:
            position.line += 1
            position.offset += len(line.encode()) + 1
            yield line + "\n"
        if len(pending) > limit:
            raise FileRejected(f"line {position.line + 1} is longer than {limit} bytes")
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FileRejected(f"not UTF-8 text (after line {position.line})") from None
    if pending:
        position.line += 1
        position.offset += len(pending.encode())
        yield pending


def _car_from_csv(header: list[str], values: list[str]) -> dict:
    car = {}
    for name, value in zip(header, values, strict=True):
        value = value.strip()
        if name in INTEGER_FIELDS and _INTEGER.match(value):
            car[name] = int(value)
        elif value or name in REQUIRED:
            car[name] = value
    return car


def csv_rows(lines, state: dict):
    """(line, row, car or refusal reason) per data row; the header first must name the cars'
    columns. ``state``: where a continuation starts (``header``, ``line``, ``row``); the header
    read is kept in it."""
    reader = csv.reader(lines)
    if state.get("header"):
        header = state["header"]
    else:
        try:
            header = next(reader)
        except StopIteration:
            raise FileRejected("empty file: no header") from None
        except csv.Error as error:
            raise FileRejected(f"not CSV: {error}") from None
        header = [name.strip() for name in header]
    state["header"] = header
    first_line = state.get("line", 0)
    unknown = [name for name in header if name not in FIELDS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise FileRejected(
            "not a CSV of cars: the header must name the columns "
            f"{', '.join(FIELDS)} (required: {', '.join(REQUIRED)}); "
            + "; ".join(
                part
                for part in (
                    unknown and f"unknown: {', '.join(unknown)[:200]}",
                    missing and f"missing: {', '.join(missing)}",
                    len(set(header)) != len(header) and "a column repeats",
                )
                if part
            )
        )
    row = state.get("row", 0)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = first_line + reader.line_num
            raise FileRejected(f"not CSV at line {line}: {error}") from None
        if not values:
            continue
        row += 1
        line = first_line + reader.line_num
        if len(values) != len(header):
            yield line, row, f"{len(values)} fields, the header has {len(header)}"
        else:
            yield line, row, _car_from_csv(header, values)


def jsonl_rows(lines, state: dict):
    row = state.get("row", 0)
    for line_number, line in enumerate(lines, state.get("line", 0) + 1):
        if not line.strip():
            continue
        row += 1
        try:
            car = json.loads(line)
        except ValueError as error:
            yield line_number, row, f"not JSON: {error.args[0]}"[:200]
            continue
        if not isinstance(car, dict):
            yield line_number, row, "not a JSON object"
        else:
            yield line_number, row, car


def rows_of(fmt: str, lines, state: dict):
    return csv_rows(lines, state) if fmt == "csv" else jsonl_rows(lines, state)


# --- the API ----------------------------------------------------------------------------------


class Api:
    """POST /v1/cars:batch with retries; a client-credentials token when the stack has an
    issuer (the machine client's secret read with DescribeUserPoolClient, kept in memory)."""

    def __init__(self, environ=os.environ):
        self.url = environ["API_URL"].rstrip("/") + "/v1/cars:batch"
        self.pool = environ.get("USER_POOL_ID", "")
        self.client_id = environ.get("CLIENT_ID", "")
        self.token_url = environ.get("TOKEN_URL", "")
        self.scope = environ.get("WRITE_SCOPE", "")
        for url in (self.url, self.token_url):
            if url and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise ValueError(f"not an http(s) URL: {url}")
        self._secret = None
        self._token = None
        self._expires = 0.0

    def _client_secret(self) -> str:
        if self._secret is None:
            answer = boto3.client("cognito-idp").describe_user_pool_client(
                UserPoolId=self.pool, ClientId=self.client_id
            )
            self._secret = answer["UserPoolClient"]["ClientSecret"]
        return self._secret

    def _bearer(self, renew: bool = False) -> dict:
        if not self.token_url:
            return {}
        if renew or self._token is None or time.time() > self._expires - 60:
            basic = base64.b64encode(f"{self.client_id}:{self._client_secret()}".encode())
            form = {"grant_type": "client_credentials"}
            if self.scope:
                form["scope"] = self.scope
            request = urllib.request.Request(  # noqa: S310 (https/http only: __init__)
                self.token_url,
                data=urllib.parse.urlencode(form).encode(),
                headers={
                    "Authorization": "Basic " + basic.decode(),
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            answer = self._call(request, "the token endpoint")
            self._token = answer["access_token"]
            self._expires = time.time() + float(answer.get("expires_in", 300))
        return {"Authorization": "Bearer " + self._token}

    def _call(self, request, what: str) -> dict:
        """One request, retried with backoff on 5xx, 429 and network errors."""
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            try:
                with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                    return json.load(response)
            except urllib.error.HTTPError as error:
                detail = error.read()[:300].decode(errors="replace")
                if error.code < 500 and error.code != 429:
                    raise ImportFailed(f"{what} answered {error.code}: {detail}") from None
                reason = f"{what} answered {error.code}"
            except (OSError, ValueError) as error:  # URLError, timeouts, resets, bad JSON
                reason = f"{what}: {type(error).__name__}: {error}"
            LOG.warning("attempt %d: %s", attempt + 1, reason)
            if delay is None:
                raise Transient(reason)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def send(self, items: list[dict]) -> list[dict]:
        body = json.dumps({"items": items}).encode()
        for renew in (False, True):
            request = urllib.request.Request(  # noqa: S310 (https/http only: __init__)
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", **self._bearer(renew)},
            )
            try:
                results = self._call(request, "POST /v1/cars:batch")["results"]
            except ImportFailed as error:
                if renew or not self.token_url or " answered 401" not in str(error):
                    raise
                continue  # an expired token: one more try with a new one
            if len(results) != len(items):
                raise ImportFailed(f"{len(items)} rows sent, {len(results)} results")
            return sorted(results, key=lambda result: result["index"])
        raise AssertionError("unreachable")


# --- one file ---------------------------------------------------------------------------------


def report_key(key: str) -> str:
    return REPORTS_PREFIX + key.removeprefix(IMPORTS_PREFIX) + ".json"


def _reason(problem: dict) -> str:
    errors = problem.get("errors") or []
    fields = "; ".join(
        f"{e.get('field', '?')}: {e.get('detail') or e.get('message') or e}" for e in errors[:5]
    )
    text = problem.get("detail") or problem.get("title") or "refused"
    return f"{text} ({fields})" if fields else text


class Report:
    def __init__(self, bucket: str, key: str):
        self.started = time.monotonic()
        self.document = {
            "bucket": bucket,
            "file": key,
            "status": "importing",
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows_read": 0,
            "created": 0,
            "refused": 0,
            "replayed": 0,
            "refused_rows": [],
        }

    COUNTS = ("rows_read", "created", "refused", "replayed")

    def counts(self) -> dict:
        """What the report says at a resume point (restored if the next slice must be retried)."""
        return {k: self.document[k] for k in self.COUNTS} | {
            "listed": len(self.document["refused_rows"])
        }

    @classmethod
    def resumed(cls, document: dict) -> "Report":
        report = cls(document["bucket"], document["file"])
        report.started -= document.get("duration_seconds", 0)
        report.document = {k: v for k, v in document.items() if k not in ("resume", "error")}
        counts = document["resume"]["counts"]
        report.document |= {k: counts[k] for k in cls.COUNTS}
        report.document["refused_rows"] = report.document["refused_rows"][: counts["listed"]]
        return report

    def refuse(self, line: int, reason: str, status: int | None = None) -> None:
        self.document["refused"] += 1
        if len(self.document["refused_rows"]) < REFUSED_LISTED:
            refusal = {"line": line, "reason": reason}
            self.document["refused_rows"].append(refusal | ({"status": status} if status else {}))

    def write(self, s3, status: str, **extra) -> dict:
        self.document |= extra | {
            "status": status,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "duration_seconds": round(time.monotonic() - self.started, 3),
        }
        s3.put_object(
            Bucket=self.document["bucket"],
            Key=report_key(self.document["file"]),
            Body=json.dumps(self.document, indent=1).encode(),
            ContentType="application/json",
        )
        return self.document


def content_sha256(s3, bucket: str, key: str, head: dict) -> str:
    """Hex SHA-256 of the object's bytes: S3's full-object checksum when it has one (a single-part
    upload with ChecksumAlgorithm SHA256), else one streaming pass (multipart checksums are
    checksums of parts, and an ETag is no content hash under KMS or multipart)."""
    stored = head.get("ChecksumSHA256")
    if stored and "-" not in stored and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        return base64.b64decode(stored).hex()
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key, IfMatch=head["ETag"])["Body"]
    for chunk in body.iter_chunks(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def _already_done(s3, bucket: str, checksum: str) -> dict | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=f"{DONE_PREFIX}{checksum}.json")["Body"]
    except s3.exceptions.NoSuchKey:
        return None
    return json.load(body)


def _head(s3, bucket: str, key: str):
    """HeadObject, or None when the object is gone (a later event will say what came instead)."""
    for candidate in dict.fromkeys((key, urllib.parse.unquote_plus(key))):
        try:
            return candidate, s3.head_object(Bucket=bucket, Key=candidate, ChecksumMode="ENABLED")
        except s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
    return key, None


def _continue(s3, api: Api, bucket: str, key: str, checksum: str, out_of_time) -> dict:
    """A continuation: the report's resume point, if it is still this content's."""
    try:
        document = json.load(s3.get_object(Bucket=bucket, Key=report_key(key))["Body"])
    except s3.exceptions.NoSuchKey:
        return {"status": "stale", "file": key}
    if (
        document.get("status") not in ("continuing", "retrying", "failed")
        or "resume" not in document
        or document.get("sha256") != checksum
    ):
        return {"status": "stale", "file": key}  # replaced, or finished by another delivery
    report = Report.resumed(document)
    return _import_rows(s3, api, report, document["resume"], out_of_time)


def import_file(s3, api: Api, bucket: str, key: str, out_of_time=lambda: False) -> dict:
    """Import one object; return its report (also written to reports/). Raises Transient or
    ImportFailed (after writing a report saying so) for the message to be retried; a report
    with status "continuing" when ``out_of_time()`` said so between two batches."""
    report = Report(bucket, key)
    fmt = next((f for suffix, f in FORMATS.items() if key.endswith(suffix)), None)
    if not key.startswith(IMPORTS_PREFIX) or fmt is None:
        return report.write(s3, "rejected", error="not an imports/*.csv or imports/*.jsonl file")
    key, head = _head(s3, bucket, key)
    if head is None:
        LOG.info("%s is gone; nothing to import", key)
        return {"status": "gone", "file": key}
    size = head["ContentLength"]
    report.document |= {"format": fmt, "bytes": size}
    if size == 0:
        return report.write(s3, "rejected", error="empty file")
    if size > MAX_FILE_BYTES:
        return report.write(
            s3, "rejected", error=f"{size} bytes: over the maximum of {MAX_FILE_BYTES} bytes"
        )
    try:
        checksum = content_sha256(s3, bucket, key, head)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("PreconditionFailed", "412"):
            return {"status": "replaced", "file": key}  # overwritten: its own event follows
        raise
    report.document["sha256"] = checksum
    done = _already_done(s3, bucket, checksum)
    if done is not None:
        return report.write(
            s3,
            "already_imported",
            rows_read=done["rows_read"],
            replayed=done["created"],
            note=f"this content was imported before as {done['file']}; nothing sent",
            refused=done["refused"],
        )
    resume = {"etag": head["ETag"], "format": fmt, "offset": 0, "line": 0, "row": 0}
    resume["counts"] = report.counts()
    return _import_rows(s3, api, report, resume, out_of_time)


def _import_rows(s3, api: Api, report: Report, resume: dict, out_of_time) -> dict:
    bucket, key = report.document["bucket"], report.document["file"]
    checksum = report.document["sha256"]
    state = dict(resume)
    position = Position(resume["offset"], resume["line"])
    try:
        if position.offset < report.document["bytes"]:
            body = s3.get_object(
                Bucket=bucket, Key=key, IfMatch=resume["etag"], Range=f"bytes={position.offset}-"
            )["Body"]
            rows = rows_of(resume["format"], text_lines(body, position=position), state)
            _send_rows(api, report, checksum, rows, position, state, out_of_time)
    except OutOfTime as stop:
        return report.write(s3, "continuing", resume=resume | stop.resume)
    except FileRejected as error:
        return report.write(s3, "rejected", error=str(error))
    except ImportFailed as error:
        report.write(s3, "failed", error=str(error), resume=resume)
        raise
    except Transient as error:
        # The slice's own resume point: a retried continuation starts it again, counts as then.
        report.write(s3, "retrying", error=str(error), resume=resume)
        raise
    if report.document["rows_read"] == 0:
        return report.write(s3, "rejected", error="no rows: the file holds a header only")
    document = report.write(s3, "done")
    s3.put_object(
        Bucket=bucket,
        Key=f"{DONE_PREFIX}{checksum}.json",
        Body=json.dumps({k: document[k] for k in ("file", "rows_read", "created", "refused")}),
        ContentType="application/json",
    )
    return document


def _send_rows(
    api: Api,
    report: Report,
    checksum: str,
    rows,
    position: Position | None = None,
    state: dict | None = None,
    out_of_time=lambda: False,
) -> None:
    """Rows in batches of BATCH_SIZE, or fewer when they would pass BATCH_BYTES (the API refuses
    a body over 1 MiB whole); a row larger than any car can be is refused here."""
    batch: list[tuple[int, dict]] = []
    size = 0
    for line, row, car in rows:
        report.document["rows_read"] += 1
        if state is not None:
            state["row"] = row
        if isinstance(car, str):
            report.refuse(line, car)
            continue
        length = len(json.dumps(car))
        if length > MAX_ROW_BYTES:
            report.refuse(line, f"{length} bytes as JSON: no car is larger than {MAX_ROW_BYTES}")
            continue
        if batch and size + length > BATCH_BYTES:
            _send_batch(api, report, batch)
            batch, size = [], 0
        batch.append((line, {"idempotency_key": f"import:{checksum}:{row}", "car": car}))
        size += length + 100  # the key and the envelope
        if len(batch) == BATCH_SIZE:
            _send_batch(api, report, batch)
            batch, size = [], 0
            if position is not None and out_of_time():
                # Everything up to here is sent or refused: go on from the next byte.
                raise OutOfTime(
                    {
                        "offset": position.offset,
                        "line": position.line,
                        "row": row,
                        "header": state.get("header"),
                        "counts": report.counts(),
                    }
                )
    if batch:
        _send_batch(api, report, batch)


def _send_batch(api: Api, report: Report, batch: list[tuple[int, dict]]) -> None:
    """Send the batch; rows whose key another request holds right now go again after the
    problem's retry_after, and still held after IN_FLIGHT_RETRIES make the message retry."""
    for _ in range(IN_FLIGHT_RETRIES):
        results = api.send([item for _, item in batch])
        held, wait = [], 0.0
        for (line, item), result in zip(batch, results, strict=True):
            problem = result.get("problem") or {}
            if result["status"] == 201:
                report.document["created"] += 1
                report.document["replayed"] += bool(result.get("replayed"))
            elif result["status"] == 409 and problem.get("type") == IN_FLIGHT:
                held.append((line, item))
                wait = max(wait, float(problem.get("retry_after") or 1))
            elif result["status"] >= 500:
                raise Transient(f"line {line}: the API answered {result['status']}")
            else:
                report.refuse(line, _reason(problem), result["status"])
        if not held:
            return
        batch = held
        time.sleep(min(wait, 5.0))
    raise Transient(f"{len(batch)} rows still held by another import of the same content")


# --- the queue --------------------------------------------------------------------------------


def _send_continuation(bucket: str, key: str, checksum: str) -> None:
    """The rest of the file in a new message on the function's own queue (a new receive count:
    a long file is never pushed into the dead-letter queue by its own length)."""
    queue = os.environ.get("QUEUE_URL")
    if not queue:
        raise Transient("out of time, and no QUEUE_URL to continue through")
    body = {"continuation": {"bucket": bucket, "key": key, "sha256": checksum}}
    boto3.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(body))


def objects_of(message_body: str):
    """(bucket, key, None) of an EventBridge S3 "Object Created" event in an SQS message, or
    (bucket, key, sha256) of a continuation the function sent itself."""
    event = json.loads(message_body)
    if "continuation" in event:
        go_on = event["continuation"]
        return go_on["bucket"], go_on["key"], go_on["sha256"]
    detail = event["detail"]
    return detail["bucket"]["name"], detail["object"]["key"], None


def _out_of_time(context):
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return lambda: False
    return lambda: context.get_remaining_time_in_millis() < TIME_MARGIN_MS


def handler(event, context=None, s3=None, api=None):
    """SQS batch: return the messages to retry (ReportBatchItemFailures)."""
    s3 = s3 or _s3()
    api = api or Api()
    failures = []
    out_of_time = _out_of_time(context)
    for record in event.get("Records", []):
        try:
            bucket, key, continuing = objects_of(record["body"])
        except (ValueError, KeyError, TypeError) as error:
            LOG.error("message %s is no S3 event (dropped): %s", record.get("messageId"), error)
            continue
        try:
            if continuing:
                document = _continue(s3, api, bucket, key, continuing, out_of_time)
            else:
                document = import_file(s3, api, bucket, key, out_of_time)
            if document.get("status") == "continuing":
                _send_continuation(bucket, key, document["sha256"])
            LOG.info(
                "%s: %s",
                key,
                json.dumps({k: v for k, v in document.items() if k != "refused_rows"}),
            )
        except (Transient, ImportFailed) as error:
            LOG.warning("%s: returned to the queue: %s", key, error)
            failures.append({"itemIdentifier": record["messageId"]})
        except Exception:
            LOG.exception("%s: returned to the queue", key)
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
