"""HTTP handlers for /v1/cars: parse the request, call the store, answer bytes.

The single-car read is the hot path: a cache hit goes from Redis bytes to the response without
touching JSON.
"""

from __future__ import annotations

from typing import Any

import orjson
from sanic import Blueprint, HTTPResponse, Request

from api.cars import idempotency, model, store
from api.cars.openapi import document
from api.database import UniqueViolation
from api.problems import (
    PROBLEM_CONTENT_TYPE,
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    Unprocessable,
    UnsupportedMediaType,
    field_error,
)

bp = Blueprint("cars", url_prefix="/v1/cars")

JSON = "application/json"
JSON_TYPES = frozenset({JSON})
PATCH_TYPES = frozenset({JSON, "application/merge-patch+json"})
# How often PATCH without If-Match re-reads and retries when another writer got there first.
PATCH_ATTEMPTS = 5

LIST_PARAMETERS = frozenset(
    {"make", "model", "year_min", "year_max", "price_min", "price_max", "sort", "limit", "next"}
)


# --- request helpers -----------------------------------------------------------------------------


def _json_body(request: Request, media_types: frozenset[str]) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in media_types:
        raise UnsupportedMediaType(
            f"Send the body as {' or '.join(sorted(media_types))}"
            f" (got {content_type or 'no Content-Type'}).",
            headers={"Accept-Patch": ", ".join(sorted(PATCH_TYPES))}
            if JSON in media_types and len(media_types) > 1
            else None,
        )
    body = request.body
    if not body:
        raise BadRequest("The request body is empty; send a JSON object.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(payload, dict):
        raise Unprocessable(
            "The request body must be a JSON object.",
            errors=[field_error("", "must be a JSON object")],
        )
    return payload


def _check_id(car_id: int) -> None:
    if not 1 <= car_id <= model.MAX_ID:
        raise NotFound(f"No car with id {car_id}.")


def _if_match(request: Request) -> str | None:
    """The If-Match header (None when absent); 400 unless it is `*` or a list of entity tags."""
    value = request.headers.get("if-match")
    if value is not None and not model.IF_MATCH.match(value):
        raise BadRequest(
            'If-Match must be * or a comma-separated list of entity tags such as "42-3".',
            errors=[field_error("If-Match", "is not * or a list of entity tags", "header")],
        )
    return value


def _strong_match(header: str, current: str) -> bool:
    header = header.strip()
    if header == "*":
        return True
    return any(tag.strip() == current for tag in header.split(","))


def _weak_match(header: str, current: str) -> bool:
    header = header.strip()
    if header == "*":
        return True
    current = current.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == current for tag in header.split(","))


def _car_response(car: dict[str, Any], status: int = 200, **headers: str) -> HTTPResponse:
    tag = model.etag(car["id"], car["version"])
    return HTTPResponse(
        model.car_json(car), status=status, headers={"etag": tag, **headers}, content_type=JSON
    )


async def _cache_written(request: Request, car: dict[str, Any], body: bytes, tag: str) -> None:
    cache = request.app.ctx.cache
    if cache is not None:
        await cache.store(car["id"], car["version"], tag, body, written=True)


# --- collection ----------------------------------------------------------------------------------


def _one(args, name: str) -> str | None:
    values = args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise Unprocessable(
            f"Query parameter '{name}' is given more than once.",
            errors=[field_error(name, "must be given at most once", "query")],
        )
    return values[0]


def _list_parameters(request: Request) -> dict[str, Any]:
    errors = []
    # Blank values kept: `price_min=` is a bad price, not an absent one.
    args = request.get_args(keep_blank_values=True)
    unknown = [name for name in args if name not in LIST_PARAMETERS]
    for name in unknown:
        errors.append(field_error(name, "is not a query parameter of this operation", "query"))
    raw = {name: _one(args, name) for name in LIST_PARAMETERS}
    params: dict[str, Any] = {}
    for name in ("make", "model"):
        if raw[name] is not None:
            try:
                params[name] = model._make(raw[name])
            except ValueError as error:
                errors.append(field_error(name, str(error), "query"))
    for name in ("year_min", "year_max"):
        if raw[name] is not None:
            try:
                params[name] = int(raw[name])
                if not -(2**31) <= params[name] < 2**31:
                    raise ValueError
            except ValueError:
                errors.append(field_error(name, "must be an integer year", "query"))
    for name in ("price_min", "price_max"):
        if raw[name] is not None:
            try:
                params[name] = model.parse_price(raw[name])
            except ValueError as error:
                errors.append(field_error(name, str(error), "query"))
    sort = raw["sort"] if raw["sort"] is not None else model.DEFAULT_SORT
    if sort not in model.SORTS:
        errors.append(field_error("sort", f"must be one of {', '.join(model.SORTS)}", "query"))
    limit = model.DEFAULT_LIMIT
    if raw["limit"] is not None:
        try:
            limit = int(raw["limit"])
            if not 1 <= limit <= model.MAX_LIMIT:
                raise ValueError
        except ValueError:
            errors.append(
                field_error("limit", f"must be an integer from 1 to {model.MAX_LIMIT}", "query")
            )
    if errors:
        raise Unprocessable("The query has invalid parameters; see errors.", errors=errors)
    # An empty `next` is the first page: what a client sends that always passes the last value.
    if raw["next"]:
        params["after_key"], params["after_id"] = model.decode_cursor(raw["next"], sort, params)
    params["sort"] = sort
    params["limit"] = limit
    return params


@bp.get("", name="list_cars")
@document.list_cars
async def list_cars(request: Request) -> HTTPResponse:
    params = _list_parameters(request)
    cache = request.app.ctx.cache
    cached = None
    if cache is not None:
        # The normalised parameters: `make=Ford` and `make=Ford%20` are the same page.
        query = orjson.dumps(params, default=str, option=orjson.OPT_SORT_KEYS)
        cached = await cache.get_page(query)
        if cached is not None and cached[1] is not None:
            return HTTPResponse(cached[1], content_type=JSON)
    body = await _list_page(request, params)
    if cached is not None:
        await cache.store_page(cached[0], query, body)
    return HTTPResponse(body, content_type=JSON)


async def _list_page(request: Request, params: dict[str, Any]) -> bytes:
    limit = params["limit"]
    # One extra row says whether another page exists without a COUNT.
    cars = await store.list_cars(request.app.ctx.db, **{**params, "limit": limit + 1})
    next_cursor = None
    if len(cars) > limit:
        cars = cars[:limit]
        next_cursor = model.encode_cursor(params["sort"], params, cars[-1])
    return model.page_json(cars, next_cursor)


@bp.post("", name="create_car")
@document.create_car
async def create_car(request: Request) -> HTTPResponse:
    key = idempotency.header_key(request)
    payload = _json_body(request, JSON_TYPES)
    fields = model.validate_car(payload, partial=False)
    ctx = request.app.ctx
    outcome = await idempotency.create(
        ctx.db,
        fields,
        instance=request.path,
        owner=idempotency.principal(request),
        key=key,
        body_hash=idempotency.fingerprint(payload) if key is not None else None,
        ttl_seconds=ctx.settings.idempotency_ttl_seconds,
    )
    if outcome.status == 201:
        # A replay too: the first answer's increment may have been lost with its process.
        if ctx.cache is not None:
            await ctx.cache.lists_changed()
        car = outcome.car
        headers = {"location": f"/v1/cars/{car['id']}"}
        if outcome.replayed:
            headers["idempotent-replayed"] = "true"
        return _car_response(car, 201, **headers)
    headers = {}
    if outcome.problem.get("type") == idempotency.KeyInFlight.type:
        headers["retry-after"] = str(idempotency.RETRY_AFTER_SECONDS)
    if outcome.replayed:
        headers["idempotent-replayed"] = "true"
    return HTTPResponse(
        orjson.dumps(outcome.problem),
        status=outcome.status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _conflict(error: UniqueViolation, fields: dict[str, Any]) -> Conflict:
    return idempotency.conflict(error, fields)


# --- one car -------------------------------------------------------------------------------------


@bp.get("/<car_id:int>", name="get_car")
@document.get_car
async def get_car(request: Request, car_id: int) -> HTTPResponse:
    ctx = request.app.ctx
    cache = ctx.cache
    hit = await cache.get(car_id) if cache is not None else None
    if hit is not None:
        tag, body = hit
    else:
        _check_id(car_id)
        car = await store.get_car(ctx.db, car_id=car_id)
        if car is None:
            raise NotFound(f"No car with id {car_id}.")
        tag = model.etag(car_id, car["version"])
        body = model.car_json(car)
        if cache is not None:
            await cache.store(car_id, car["version"], tag, body)
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _weak_match(if_none_match, tag):
        return HTTPResponse(status=304, headers={"etag": tag})
    return HTTPResponse(body, headers={"etag": tag}, content_type=JSON)


async def _current_for_write(request: Request, car_id: int) -> dict[str, Any]:
    """The stored car, checked against If-Match (412 when it names another version)."""
    car = await store.get_car_for_update(request.app.ctx.db, car_id=car_id)
    if car is None:
        raise NotFound(f"No car with id {car_id}.")
    if_match = request.headers.get("if-match")
    if if_match is not None:
        current = model.etag(car_id, car["version"])
        if not _strong_match(if_match, current):
            raise PreconditionFailed(
                f"The car has changed: its ETag is now {current}, not {if_match.strip()}. "
                "GET it again and retry.",
                headers={"etag": current},
            )
    return car


def _changed_meanwhile(car_id: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"Car {car_id} changed while this request was applied; GET it again and retry."
    )


async def _write(request: Request, car_id: int, fields: dict[str, Any], version: int | None):
    try:
        return await store.update_car(
            request.app.ctx.db, car_id=car_id, fields=fields, version=version
        )
    except UniqueViolation as error:
        raise _conflict(error, fields) from None


@bp.put("/<car_id:int>", name="replace_car")
@document.replace_car
async def replace_car(request: Request, car_id: int) -> HTTPResponse:
    _check_id(car_id)
    fields = model.validate_car(_json_body(request, JSON_TYPES), partial=False, car_id=car_id)
    version = None
    if _if_match(request) is not None:
        version = (await _current_for_write(request, car_id))["version"]
    car = await _write(request, car_id, fields, version)
    if car is None:
        if version is not None:
            raise _changed_meanwhile(car_id)
        raise NotFound(f"No car with id {car_id}.")
    return await _respond_written(request, car)


@bp.patch("/<car_id:int>", name="update_car")
@document.update_car
async def update_car(request: Request, car_id: int) -> HTTPResponse:
    _check_id(car_id)
    changes = model.validate_car(_json_body(request, PATCH_TYPES), partial=True, car_id=car_id)
    conditional = _if_match(request) is not None
    for _attempt in range(PATCH_ATTEMPTS):
        current = await _current_for_write(request, car_id)
        fields = {name: current[name] for name in model.FIELDS} | changes
        car = await _write(request, car_id, fields, current["version"])
        if car is not None:
            return await _respond_written(request, car)
        if conditional:
            raise _changed_meanwhile(car_id)
    raise _changed_meanwhile(car_id)


async def _respond_written(request: Request, car: dict[str, Any]) -> HTTPResponse:
    response = _car_response(car)
    await _cache_written(request, car, response.body, response.headers["etag"])
    return response


@bp.delete("/<car_id:int>", name="delete_car")
@document.delete_car
async def delete_car(request: Request, car_id: int) -> HTTPResponse:
    _check_id(car_id)
    version = None
    if _if_match(request) is not None:
        version = (await _current_for_write(request, car_id))["version"]
    deleted = await store.delete_car(request.app.ctx.db, car_id=car_id, version=version)
    if not deleted:
        if version is not None:
            raise _changed_meanwhile(car_id)
        raise NotFound(f"No car with id {car_id}.")
    cache = request.app.ctx.cache
    if cache is not None:
        await cache.forget(car_id)
    return HTTPResponse(status=204)
