"""``POST /v1/cars:batch``: up to BATCH_MAX_ITEMS cars in one request, each answered in order.

Each row is what ``POST /v1/cars`` would do with its car (and its ``idempotency_key`` as the
Idempotency-Key header): the same validation, the same insert (through the InsertBatcher, where
the rows of a batch travel together, up to 64 per round trip and commit), the same key protocol
and table (``api.cars.idempotency``). The list generation is advanced once, after every row
committed and before the answer. A key twice in one batch: the later row answers the first one's
result (the same car) or is a 422 (another car), as a second request would.

The colon is a literal in the path (Google's custom-method style, AIP-136); Sanic would
percent-encode it in a static route, so the route is a parameter that only matches it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from sanic import Blueprint, HTTPResponse, Request
from sanic.exceptions import PayloadTooLarge

from api.cars import idempotency, model
from api.cars.openapi import document
from api.database import DatabaseUnavailable
from api.problems import (
    BadRequest,
    ContentTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    field_error,
)

bp = Blueprint("cars_batch", url_prefix="/v1")

PATH = "/v1/cars:batch"
ITEM_MEMBERS = frozenset({"idempotency_key", "car"})
# Rows of one batch being created at once: enough to fill the InsertBatcher's batches (64),
# few enough that one batch leaves the connection pool to other requests.
ROWS_AT_ONCE = 64


async def _body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(
            f"Send the body as application/json (got {content_type or 'no Content-Type'})."
        )
    limit = request.app.ctx.settings.batch_max_bytes
    request.stream.request_max_size = limit
    try:
        await request.receive_body()
    except PayloadTooLarge:
        raise ContentTooLarge(
            f"The batch is larger than the limit of {limit} bytes (BATCH_MAX_BYTES); send fewer "
            "cars per request."
        ) from None
    if not request.body:
        raise BadRequest("The request body is empty; send a JSON object.")
    return request.body


def _items(body: bytes, max_items: int) -> list[tuple[str | None, Any]]:
    """(key or None, car) per item; Unprocessable listing every envelope error."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(payload, dict):
        raise Unprocessable(
            'The batch must be a JSON object: {"items": [...]}.',
            errors=[field_error("", "must be a JSON object")],
        )
    errors = [
        field_error(name, "is not a member of a batch") for name in payload if name != "items"
    ]
    items = payload.get("items")
    if not isinstance(items, list):
        errors.append(field_error("items", "is required: an array of 1 or more items"))
    elif not 1 <= len(items) <= max_items:
        errors.append(field_error("items", f"must hold 1 to {max_items} items (BATCH_MAX_ITEMS)"))
    else:
        for index, item in enumerate(items):
            errors += _item_errors(f"items/{index}", item)
    if errors:
        raise Unprocessable("The batch is not valid; see errors.", errors=errors)
    return [(item.get("idempotency_key"), item["car"]) for item in items]


def _item_errors(where: str, item: Any) -> list[dict[str, str]]:
    if not isinstance(item, dict):
        return [field_error(where, 'must be an object: {"idempotency_key": ..., "car": {...}}')]
    errors = [
        field_error(f"{where}/{name}", "is not a member of an item")
        for name in item
        if name not in ITEM_MEMBERS
    ]
    if not isinstance(item.get("car"), dict):
        errors.append(field_error(f"{where}/car", "is required: a car object"))
    key = item.get("idempotency_key")
    if key is not None and not idempotency.valid_key(key):
        errors.append(
            field_error(
                f"{where}/idempotency_key",
                f"must be 1-{idempotency.KEY_MAX_LENGTH} visible ASCII characters (0x21-0x7E)",
            )
        )
    return errors


def _row(index: int, outcome: idempotency.Outcome) -> dict[str, Any]:
    if outcome.status == 201:
        car = outcome.car
        return {
            "index": index,
            "status": 201,
            "id": car["id"],
            "car": {name: car[name] for name in model.PUBLIC_FIELDS},
            "replayed": outcome.replayed,
        }
    return {"index": index, "status": outcome.status, "problem": outcome.problem}


@bp.post("/<_action:cars:batch>", name="create_cars_batch", stream=True)
@document.create_cars_batch
async def create_cars_batch(request: Request, _action: str) -> HTTPResponse:
    ctx = request.app.ctx
    settings = ctx.settings
    items = _items(await _body(request), settings.batch_max_items)
    owner = idempotency.principal(request)
    results: list[dict[str, Any] | None] = [None] * len(items)
    todo: list[tuple[int, dict[str, Any], str | None, str | None]] = []
    firsts: dict[str, tuple[int, str]] = {}  # key -> (index, body hash) of its first valid row
    repeats: list[tuple[int, str, str]] = []  # (index, key, body hash) of its later rows
    for index, (key, car) in enumerate(items):
        try:
            fields = model.validate_car(car, partial=False)
        except Unprocessable as problem:
            results[index] = {"index": index, "status": 422, "problem": problem.body(PATH)}
            continue
        body_hash = idempotency.fingerprint(car) if key is not None else None
        if key is not None and key in firsts:
            repeats.append((index, key, body_hash))
            continue
        if key is not None:
            firsts[key] = (index, body_hash)
        todo.append((index, fields, key, body_hash))

    slots = asyncio.Semaphore(ROWS_AT_ONCE)

    async def create(index: int, fields: dict[str, Any], key: str | None, body_hash: str | None):
        async with slots:
            outcome = await idempotency.create(
                ctx.db,
                fields,
                instance=PATH,
                key_field=(f"items/{index}/idempotency_key", "body"),
                owner=owner,
                key=key,
                body_hash=body_hash,
                ttl_seconds=settings.idempotency_ttl_seconds,
            )
        results[index] = _row(index, outcome)

    done = await asyncio.gather(*(create(*row) for row in todo), return_exceptions=True)
    failures = [error for error in done if isinstance(error, BaseException)]
    if failures:
        # Rows that finished stay done; the same batch sent again answers them as they were.
        raise next((e for e in failures if isinstance(e, DatabaseUnavailable)), failures[0])
    for index, key, body_hash in repeats:
        first_index, first_hash = firsts[key]
        if body_hash != first_hash:
            results[index] = {
                "index": index,
                "status": 422,
                "problem": idempotency.reused(f"items/{index}/idempotency_key", "body").body(PATH),
            }
            continue
        first = dict(results[first_index], index=index)
        if first["status"] == 201:
            first["replayed"] = True
        results[index] = first
    if ctx.cache is not None and any(row["status"] == 201 for row in results):
        await ctx.cache.lists_changed()
    return HTTPResponse(
        orjson.dumps({"results": results}, option=orjson.OPT_UTC_Z),
        content_type="application/json",
    )


create_cars_batch.__openapi_path__ = PATH
