"""Creating a car exactly once under an idempotency key (the IETF httpapi draft "The
Idempotency-Key HTTP Header Field"): for ``POST /v1/cars`` with the header, and for each keyed row
of ``POST /v1/cars:batch`` (one table, one protocol).

A key belongs to its caller (``principal``: the token's subject, or ``ANONYMOUS`` with
AUTH_DISABLED) and remembers a fingerprint of the body it came with. The protocol, all of it in
the database (PostgreSQL or SQLite; Redis has no part in it, so a cache outage cannot break it):

1. Claim the key (one upsert): it succeeds when the key is new, expired, or an abandoned claim of
   the same body (its lease, ``LEASE_SECONDS``, ran out). The claim carries a random token.
2. Insert the car through the InsertBatcher with the claim: the statement inserts only while
   that token still holds the key, and writes the key's outcome (201, the car's row) in the same
   statement (PostgreSQL; one transaction on SQLite). So a car exists if and only if its key says
   so: a process that dies between 1 and 2 leaves a claim and no car, which a retry takes over
   once the lease runs out, and a slow request whose claim was taken over inserts nothing.
3. A VIN already taken is recorded as the key's 409; any other failure releases the claim.

Without the claim (step 1 found the key): another body is a 422 (``KeyReused``), a claim still
held is a 409 with Retry-After (``KeyInFlight``), an outcome is answered again as it was first
answered (``replayed``). Bodies that fail validation are answered before any of this and never
recorded: the same body fails the same way again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from api.cars import store
from api.database import Database, DatabaseUnavailable, UniqueViolation
from api.problems import BadRequest, Conflict, Unprocessable, field_error

log = logging.getLogger("api.idempotency")

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
# Visible ASCII, 1-255 characters; in the header bare, or as the draft's Structured Field String
# (in double quotes, which are not part of the key). A header value starting with `"` is read as
# such a string, so a key with `"` or `\` is sent bare and must not start with `"`.
KEY_PATTERN = rf"^[\x21-\x7e]{{1,{KEY_MAX_LENGTH}}}$"
_KEY = re.compile(KEY_PATTERN)
_QUOTED_KEY = re.compile(rf'"([\x21\x23-\x5b\x5d-\x7e]{{1,{KEY_MAX_LENGTH}}})"')
# The caller of every request when AUTH_DISABLED=true (no token, so no subject).
ANONYMOUS = "anonymous"
# How long a claim keeps other requests with the key waiting (409) before a retry may take it
# over: longer than a request can hold it (the pool gives up on a connection after
# DATABASE_CONNECT_TIMEOUT_SECONDS, a statement after DATABASE_TIMEOUT_SECONDS). Exactly-once
# does not depend on it: a request whose claim was taken over inserts nothing.
LEASE_SECONDS = 60
# What a 409 for a key in flight asks the client to wait: requests take milliseconds.
RETRY_AFTER_SECONDS = 1
# Claim attempts when the key changes under us (released or expired between claim and read).
ATTEMPTS = 3


class KeyInFlight(Conflict):
    type = "urn:api-cars:problem:idempotency-key-in-flight"


class KeyReused(Unprocessable):
    type = "urn:api-cars:problem:idempotency-key-reused"


def in_flight() -> KeyInFlight:
    return KeyInFlight(
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        extensions={"retry_after": RETRY_AFTER_SECONDS},
    )


def reused(field: str = HEADER, location: str = "header") -> KeyReused:
    """``field`` and ``location``: where the key was (the header, or a batch row's member)."""
    return KeyReused(
        "This idempotency key was already used with a different car; use a new key for a new car.",
        errors=[field_error(field, "was already used with a different car", location)],
    )


def principal(request) -> str:
    """Whose keys these are: the bearer token's subject (api.auth sets it on writes)."""
    return request.sub if request.sub is not None else ANONYMOUS


def header_key(request) -> str | None:
    """The request's Idempotency-Key (None when absent); 400 when it is not a valid key."""
    values = request.headers.getall(HEADER.lower(), [])
    if not values:
        return None
    if len(values) == 1:
        value = values[0].strip()
        if value.startswith('"'):  # a Structured Field String
            quoted = _QUOTED_KEY.fullmatch(value)
            key = quoted.group(1) if quoted else ""
        else:
            key = value
        if _KEY.match(key):
            return key
        detail = f"must be 1-{KEY_MAX_LENGTH} visible ASCII characters (0x21-0x7E)"
    else:
        detail = "must be sent once"
    raise BadRequest(
        f"{HEADER} {detail}, optionally in double quotes.",
        errors=[field_error(HEADER, detail, "header")],
    )


def valid_key(value: Any) -> bool:
    return isinstance(value, str) and _KEY.match(value) is not None


def fingerprint(payload: Any) -> str:
    """A hash of the parsed JSON body in one canonical form (key order and spacing ignored)."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What creating one car answered: 201 with ``car``, or a problem body (409, 422)."""

    status: int
    car: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None
    replayed: bool = False


def vin_taken(fields: dict[str, Any]) -> Conflict:
    return Conflict(
        f"Another car already has VIN {fields.get('vin')}.",
        errors=[field_error("vin", "is already used by another car")],
    )


def conflict(error: UniqueViolation, fields: dict[str, Any]) -> Conflict:
    if error.column == "vin":
        return vin_taken(fields)
    return Conflict("The car conflicts with another one.")


async def create(
    db: Database,
    fields: dict[str, Any],
    *,
    instance: str,
    key_field: tuple[str, str] = (HEADER, "header"),
    owner: str | None = None,
    key: str | None = None,
    body_hash: str | None = None,
    ttl_seconds: float = 86400,
) -> Outcome:
    """Create a car from validated ``fields``, exactly once per (``owner``, ``key``) when a key
    is given. Problems come back in the outcome (``instance``: the request's path), except the
    database's failures, which raise."""
    if key is None:
        try:
            return Outcome(201, car=await store.create_car(db, fields=fields))
        except UniqueViolation as error:
            return Outcome(409, problem=conflict(error, fields).body(instance))
    assert owner is not None and body_hash is not None
    for _attempt in range(ATTEMPTS):
        claim = store.Claim(owner, key, secrets.token_hex(16))
        claimed = await store.claim_key(
            db, claim, fingerprint=body_hash, lease_seconds=LEASE_SECONDS, ttl_seconds=ttl_seconds
        )
        if claimed:
            outcome = await _create_claimed(db, claim, fields, instance)
            if outcome is not None:
                return outcome
        stored = await store.get_key(db, principal=owner, key=key)
        if stored is None:
            continue  # released or expired since: claim it again
        if stored.fingerprint != body_hash:
            return Outcome(422, problem=reused(*key_field).body(instance))
        if stored.status is None:
            return Outcome(409, problem=in_flight().body(instance))
        if stored.status == 201:
            car = store.car_from_record(db.dialect, stored.record)
            return Outcome(201, car=car, replayed=True)
        return Outcome(stored.status, problem=orjson.loads(stored.record), replayed=True)
    return Outcome(409, problem=in_flight().body(instance))


async def _create_claimed(
    db: Database, claim: store.Claim, fields: dict[str, Any], instance: str
) -> Outcome | None:
    """Insert under a claim; None when the claim was taken over meanwhile (nothing inserted)."""
    try:
        car = await store.create_car(db, fields=fields, claim=claim)
    except UniqueViolation as error:
        problem = conflict(error, fields).body(instance)
        try:
            await store.record_key(db, claim, status=409, record=orjson.dumps(problem).decode())
        except DatabaseUnavailable:
            _release_later(db, claim)
        return Outcome(409, problem=problem)
    except BaseException:
        # Nothing was created under this claim (or, if the commit's answer was lost, the key
        # already says 201 and the release leaves it): free it for the client's retry.
        _release_later(db, claim)
        raise
    return None if car is None else Outcome(201, car=car)


_releases: set[asyncio.Task] = set()


def _release_later(db: Database, claim: store.Claim) -> None:
    """In a task of its own: the request may be cancelled (its client went away)."""
    task = asyncio.get_running_loop().create_task(_release(db, claim))
    _releases.add(task)
    task.add_done_callback(_releases.discard)


async def _release(db: Database, claim: store.Claim) -> None:
    # Unreleased, the claim only makes retries wait out its lease.
    with contextlib.suppress(DatabaseUnavailable, Exception):
        await store.release_key(db, claim)


PURGE_INTERVAL_SECONDS = 300


async def purge_forever(db: Database, interval: float = PURGE_INTERVAL_SECONDS) -> None:
    """Delete expired keys every ``interval`` seconds (each process; harmless together)."""
    while True:
        await asyncio.sleep(interval)
        try:
            purged = await store.purge_keys(db)
        except DatabaseUnavailable:
            continue  # the outage is logged where it is detected
        except Exception:
            log.exception("purging expired idempotency keys failed")
            continue
        if purged:
            log.info("expired idempotency keys purged", extra={"keys": purged})
