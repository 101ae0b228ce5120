"""OpenAPI operations and schemas of /v1/cars, built from the rules in ``api.cars.model``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from api.cars import idempotency, model
from api.openapi import empty_response, json_response, operation, problem

CAR_REF = {"$ref": "#/components/schemas/Car"}
CAR_INPUT_REF = {"$ref": "#/components/schemas/CarInput"}

_TRIMMING = (
    "Surrounding whitespace (Unicode's, NBSP included) and invisible characters (zero-width "
    "space, joiners, BOM) are removed first; then it must be {0} characters with no control "
    "character (U+0000-U+001F, U+007F-U+009F). The pattern says exactly this."
)
_TEXT = {
    "type": "string",
    "pattern": model.text_pattern(model.TEXT_MAX_LENGTH),
    "description": _TRIMMING.format(f"1-{model.TEXT_MAX_LENGTH}"),
}
_PRICE_TEXT = {
    "type": "string",
    "pattern": model.PRICE_PATTERN,
    "description": "A decimal number as a string (exact, no float rounding), at most 2 decimal "
    "places, not negative.",
    "example": "12999.90",
}
_PRICE = {
    "anyOf": [
        _PRICE_TEXT,
        {
            "type": "number",
            "minimum": 0,
            "maximum": 10**model.PRICE_MAX_DIGITS - 0.01,
            "multipleOf": 0.01,
            "description": "A JSON number whose shortest decimal form has at most 2 places "
            "(12500.5, not 0.30000000000000004).",
        },
    ],
    "description": "A string (exact) or a JSON number with at most 2 decimal places; answered as "
    'a string with exactly 2, e.g. "12999.90".',
    "example": "12999.90",
}
_VIN = {
    "type": "string",
    "pattern": model.VIN_PATTERN,
    "description": "17 characters of the VIN alphabet (digits and letters except I, O, Q), "
    "stored upper-case; unique.",
    "nullable": True,
    "example": "1HGCM82633A004352",
}
_COLOR = {
    "type": "string",
    "pattern": model.text_pattern(model.COLOR_MAX_LENGTH),
    "description": _TRIMMING.format(f"1-{model.COLOR_MAX_LENGTH}"),
    "nullable": True,
}


# The read-only fields as a PUT or PATCH body may carry them (as a GET returned them).
# readOnly: clients need not send them (and generators do not), but may send them back.
_READ_ONLY_INPUT = {
    "id": {
        "type": "integer",
        "format": "int64",
        "readOnly": True,
        "description": "Optional: the car's id (the path's); it cannot change.",
    },
    "created_at": {"readOnly": True, "description": "Optional and ignored: set by the API."},
    "updated_at": {"readOnly": True, "description": "Optional and ignored: set by the API."},
}


def _input_properties() -> dict[str, Any]:
    return {
        "make": {**_TEXT, "example": "Toyota"},
        "model": {**_TEXT, "example": "Corolla"},
        "year": {
            "type": "integer",
            "minimum": model.MIN_YEAR,
            "maximum": model.max_year(),
            "description": f"Model year, {model.MIN_YEAR} to next year.",
            "example": 2019,
        },
        "color": _COLOR,
        "price": _PRICE,
        "mileage_km": {"type": "integer", "minimum": 0, "maximum": model.MILEAGE_MAX},
        "vin": _VIN,
    }


def schemas(max_items: int = 500) -> dict[str, Any]:
    """The named schemas (computed when the app is built: the latest year moves with time);
    ``max_items``: BATCH_MAX_ITEMS."""
    return {
        "Car": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "id",
                "make",
                "model",
                "year",
                "color",
                "price",
                "mileage_km",
                "vin",
                "created_at",
                "updated_at",
            ],
            "properties": {
                "id": {"type": "integer", "format": "int64", "minimum": 1},
                "make": {"type": "string", "example": "Toyota"},
                "model": {"type": "string", "example": "Corolla"},
                "year": {"type": "integer", "minimum": model.MIN_YEAR},
                "color": {"type": "string", "nullable": True},
                "price": {
                    "type": "string",
                    "pattern": r"^[0-9]+\.[0-9]{2}$",
                    "description": "Always with exactly two decimal places.",
                    "example": "12999.90",
                },
                "mileage_km": {"type": "integer", "minimum": 0},
                "vin": {"type": "string", "nullable": True},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
        "CarInput": {
            "type": "object",
            "description": "A whole car (POST, PUT). Absent optional fields are stored as null.",
            "additionalProperties": False,
            "required": list(model.REQUIRED),
            "properties": _input_properties(),
        },
        "CarReplacement": {
            "type": "object",
            "description": "A whole car (PUT). Absent optional fields are stored as null. The "
            "read-only fields of a GET may be sent back: `id` must be the car's, `created_at` "
            "and `updated_at` are ignored.",
            "additionalProperties": False,
            "required": list(model.REQUIRED),
            "properties": {**_input_properties(), **_READ_ONLY_INPUT},
        },
        "CarPatch": {
            "type": "object",
            "description": "The fields to change (at least one besides the read-only ones); null "
            "clears color or vin. The read-only fields of a GET may be sent: `id` must be the "
            "car's, `created_at` and `updated_at` are ignored.",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {**_input_properties(), **_READ_ONLY_INPUT},
        },
        "CarBatch": {
            "type": "object",
            "additionalProperties": False,
            "required": ["items"],
            "properties": {
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_items,
                    "items": _BATCH_ITEM,
                }
            },
        },
        "CarBatchResults": {
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": {
                    "type": "array",
                    "description": "One per item, in the items' order.",
                    "items": {
                        "type": "object",
                        "required": ["index", "status"],
                        "properties": {
                            "index": {"type": "integer", "minimum": 0},
                            "status": {
                                "type": "integer",
                                "enum": [201, 409, 422],
                                "description": "201 created (or replayed); 409 the VIN is "
                                "taken (`problem.type` about:blank), or the row's key is in "
                                "flight in another request (`problem.type` "
                                f"`{idempotency.KeyInFlight.type}`: retry it); 422 invalid "
                                "fields (`problem.errors`, as POST /v1/cars), or the key was "
                                f"used with another car (`{idempotency.KeyReused.type}`).",
                            },
                            "id": {"type": "integer", "format": "int64"},
                            "car": CAR_REF,
                            "replayed": {
                                "type": "boolean",
                                "description": "201 only: true when the row's key had "
                                "already created this car (nothing created now).",
                            },
                            "problem": {"$ref": "#/components/schemas/Problem"},
                        },
                    },
                }
            },
        },
        "CarPage": {
            "type": "object",
            "additionalProperties": False,
            "required": ["items", "next"],
            "properties": {
                "items": {"type": "array", "items": CAR_REF},
                "next": {
                    "type": "string",
                    "nullable": True,
                    "description": "Opaque cursor of the next page (pass it as `next`); null on "
                    "the last page.",
                },
            },
        },
    }


_ETAG = {
    "description": 'Strong entity tag of this version of the car, e.g. "42-3".',
    "schema": {"type": "string"},
}
_CAR_ID = {
    "name": "car_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "format": "int64", "minimum": 1},
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "Apply only if the car's current ETag is one of these (or `*`); else 412. "
    "Not `*` or a list of entity tags: 400.",
    "schema": {"type": "string", "pattern": model.IF_MATCH_PATTERN},
}
_JSON_BODY_ERRORS = {
    "400": problem(400, "Malformed JSON or an empty body"),
    "413": problem(413, "Body larger than REQUEST_MAX_SIZE"),
    "415": problem(415, "Body is not application/json"),
    "422": problem(422, "Invalid or unknown fields (see `errors`)"),
}
_UNAVAILABLE = {"503": problem(503, "The database is unavailable")}
_NOT_FOUND = {"404": problem(404, "No car with this id")}
_PRECONDITION = {"412": problem(412, "If-Match does not match the current ETag", ETag=_ETAG)}
_BAD_IF_MATCH = problem(400, "If-Match is not `*` or a list of entity tags")
_BAD_BODY_OR_IF_MATCH = problem(
    400, "Malformed JSON, an empty body, or an If-Match that is not `*` or a list of entity tags"
)
_CONFLICT = {"409": problem(409, "Another car has this VIN")}


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": 'Makes the create safe to retry (IETF httpapi draft "The Idempotency-Key '
    'HTTP Header Field"): 1-255 visible ASCII characters, bare or in double quotes (the '
    'draft\'s Structured Field String; `"k1"` and `k1` are the same key). The same key '
    "with the same body (compared as parsed JSON: key order and spacing do not matter) "
    "answers the first answer again (201 with the same car, `Location` and `ETag`, or the "
    "same 409), with `Idempotent-Replayed: true`, and creates nothing; with another body it "
    "is a 422; while the first request is still running, a 409 with `Retry-After`. Keys "
    "belong to the caller (the token's subject) and are kept for IDEMPOTENCY_TTL_SECONDS "
    "(24 h by default) from first use. Invalid bodies are not recorded.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 257},
}
_REPLAYED = {
    "description": "`true` when this is the answer first given to the same Idempotency-Key "
    "(nothing was created this time).",
    "schema": {"type": "string", "enum": ["true"]},
}
_KEY_RETRY_AFTER = {
    "description": "Seconds to wait before retrying (a request with this key is in flight).",
    "schema": {"type": "integer"},
}

_BATCH_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["car"],
    "properties": {
        "idempotency_key": {
            "type": "string",
            "nullable": True,
            "pattern": idempotency.KEY_PATTERN,
            "description": "Optional; as the Idempotency-Key header of POST /v1/cars, for this "
            "row alone (the same keys: a row replays a POST's key and the reverse).",
        },
        "car": CAR_INPUT_REF,
    },
}


def _car_body(schema: str, *media_types: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {t: {"schema": {"$ref": f"#/components/schemas/{schema}"}} for t in media_types},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_LIST_PARAMETERS = [
    _query("make", _TEXT, "Only cars of this make (exact match)."),
    _query("model", _TEXT, "Only cars of this model (exact match)."),
    _query("year_min", {"type": "integer", "format": "int32"}, "Only cars of this year or later."),
    _query(
        "year_max", {"type": "integer", "format": "int32"}, "Only cars of this year or earlier."
    ),
    _query("price_min", _PRICE_TEXT, "Only cars at this price or more."),
    _query("price_max", _PRICE_TEXT, "Only cars at this price or less."),
    _query(
        "sort",
        {"type": "string", "enum": list(model.SORTS), "default": model.DEFAULT_SORT},
        "Sort order; `-` for descending. Ties are broken by id.",
    ),
    _query(
        "limit",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": model.MAX_LIMIT,
            "default": model.DEFAULT_LIMIT,
        },
        "Page size.",
    ),
    _query(
        "next",
        {"type": "string"},
        "Cursor from the previous page's `next`, with the same sort and filters (`limit` may "
        "change); another listing's cursor, or one not issued by the API, is a 400. Absent or "
        "empty: the first page.",
    ),
]

document = SimpleNamespace(
    list_cars=operation(
        {
            "operationId": "listCars",
            "summary": "List cars",
            "description": "Filtered, sorted, keyset-paginated: following `next` visits each car "
            "once even while cars are being added. Unknown query parameters are a 422.",
            "tags": ["cars"],
            "parameters": _LIST_PARAMETERS,
            "responses": {
                "200": json_response("A page of cars", {"$ref": "#/components/schemas/CarPage"}),
                "400": problem(
                    400, "The `next` cursor was not issued by the API for this sort and filters"
                ),
                "422": problem(422, "Invalid or unknown query parameters (see `errors`)"),
                **_UNAVAILABLE,
            },
        }
    ),
    create_car=operation(
        {
            "operationId": "createCar",
            "summary": "Create a car",
            "description": "With an `Idempotency-Key`, exactly once: see the header. PUT, "
            "PATCH and DELETE need no key: they are idempotent by definition (the same request "
            "again leaves the car as the first one did).",
            "tags": ["cars"],
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": _car_body("CarInput", "application/json"),
            "responses": {
                "201": json_response(
                    "Created (or, with `Idempotent-Replayed: true`, created by the first "
                    "request with this Idempotency-Key)",
                    CAR_REF,
                    ETag=_ETAG,
                    Location={
                        "description": "URL path of the new car.",
                        "schema": {"type": "string"},
                    },
                    **{"Idempotent-Replayed": _REPLAYED},
                ),
                **_JSON_BODY_ERRORS,
                "400": problem(400, "Malformed JSON, an empty body, or an invalid Idempotency-Key"),
                "409": problem(
                    409,
                    "Another car has this VIN (replayed: `Idempotent-Replayed: true`), or a "
                    f"request with this Idempotency-Key is in flight (type "
                    f"`{idempotency.KeyInFlight.type}`)",
                    **{"Retry-After": _KEY_RETRY_AFTER, "Idempotent-Replayed": _REPLAYED},
                ),
                "422": problem(
                    422,
                    "Invalid or unknown fields (see `errors`), or the Idempotency-Key was used "
                    f"with another body (type `{idempotency.KeyReused.type}`)",
                ),
                **_UNAVAILABLE,
            },
        }
    ),
    create_cars_batch=operation(
        {
            "operationId": "createCarsBatch",
            "summary": "Create up to BATCH_MAX_ITEMS cars, each answered in order",
            "description": "Each item is what POST /v1/cars would do with its `car` and its "
            "`idempotency_key` (as that header): one result per item, in order, 201 with the "
            "car's id, 409 or 422 with the problem POST /v1/cars would answer. A key given "
            "twice in one batch: the later item answers the first one's result (`replayed`), "
            "or is a 422 when its car differs. The body is at most BATCH_MAX_BYTES.",
            "tags": ["cars"],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/CarBatch"}}
                },
            },
            "responses": {
                "200": json_response(
                    "Every item's result, in order (whatever each one's status)",
                    {"$ref": "#/components/schemas/CarBatchResults"},
                ),
                "400": problem(400, "Malformed JSON or an empty body"),
                "413": problem(413, "Body larger than BATCH_MAX_BYTES"),
                "415": problem(415, "Body is not application/json"),
                "422": problem(
                    422,
                    "Not a valid batch: `items` missing, empty or longer than BATCH_MAX_ITEMS, "
                    "an item that is not an object or has no `car` object, an unknown member, "
                    "an invalid `idempotency_key` (see `errors`: `items/3/car` ...)",
                ),
                "503": problem(
                    503,
                    "The database is unavailable; rows finished before stay done: send the same "
                    "batch again with the same keys",
                ),
            },
        }
    ),
    get_car=operation(
        {
            "operationId": "getCar",
            "summary": "Get a car",
            "tags": ["cars"],
            "parameters": [
                _CAR_ID,
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "description": "ETags the caller has; when one matches, 304 without a body.",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": json_response("The car", CAR_REF, ETag=_ETAG),
                "304": empty_response("Not modified (If-None-Match matched)", ETag=_ETAG),
                **_NOT_FOUND,
                **_UNAVAILABLE,
            },
        }
    ),
    replace_car=operation(
        {
            "operationId": "replaceCar",
            "summary": "Replace a car",
            "tags": ["cars"],
            "parameters": [_CAR_ID, _IF_MATCH],
            "requestBody": _car_body("CarReplacement", "application/json"),
            "responses": {
                "200": json_response("The car as stored", CAR_REF, ETag=_ETAG),
                **_JSON_BODY_ERRORS,
                "400": _BAD_BODY_OR_IF_MATCH,
                **_NOT_FOUND,
                **_CONFLICT,
                **_PRECONDITION,
                **_UNAVAILABLE,
            },
        }
    ),
    update_car=operation(
        {
            "operationId": "updateCar",
            "summary": "Change some fields of a car",
            "description": "JSON merge patch: the fields given replace the stored ones.",
            "tags": ["cars"],
            "parameters": [_CAR_ID, _IF_MATCH],
            "requestBody": _car_body(
                "CarPatch", "application/json", "application/merge-patch+json"
            ),
            "responses": {
                "200": json_response("The car as stored", CAR_REF, ETag=_ETAG),
                **_JSON_BODY_ERRORS,
                "400": _BAD_BODY_OR_IF_MATCH,
                "415": problem(415, "Body is not application/json or application/merge-patch+json"),
                **_NOT_FOUND,
                **_CONFLICT,
                **_PRECONDITION,
                **_UNAVAILABLE,
            },
        }
    ),
    delete_car=operation(
        {
            "operationId": "deleteCar",
            "summary": "Delete a car",
            "tags": ["cars"],
            "parameters": [_CAR_ID, _IF_MATCH],
            "responses": {
                "204": empty_response("Deleted"),
                "400": _BAD_IF_MATCH,
                **_NOT_FOUND,
                **_PRECONDITION,
                **_UNAVAILABLE,
            },
        }
    ),
)
