"""A car: the rules its fields follow, its JSON representation, its ETag, and list cursors.

Nothing here does I/O. The OpenAPI schemas in ``api.cars.schemas`` are built from the same
constants, so the document and the checks cannot drift apart.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from api.problems import BadRequest, Unprocessable, field_error

MIN_YEAR = 1886
TEXT_MAX_LENGTH = 64
COLOR_MAX_LENGTH = 32
MILEAGE_MAX = 10_000_000
PRICE_MAX_DIGITS = 10  # before the decimal point: NUMERIC(12, 2)
MAX_ID = 2**63 - 1
# str.strip() would also strip \x1c-\x1f; trim exactly the characters the schema pattern names.
TRIMMED = " \t\n\r\f\v"
# Not blank, and no NUL character: PostgreSQL text cannot hold U+0000.
NOT_BLANK_PATTERN = r"^[^\u0000]*[^ \t\n\r\f\v\u0000][^\u0000]*$"
PRICE_PATTERN = rf"^(0|[1-9][0-9]{{0,{PRICE_MAX_DIGITS - 1}}})(\.[0-9]{{1,2}})?$"
# The VIN alphabet: digits and letters except I, O and Q; lower case is accepted and upper-cased.
VIN_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"

_PRICE = re.compile(PRICE_PATTERN)
_VIN = re.compile(VIN_PATTERN)

FIELDS = ("make", "model", "year", "color", "price", "mileage_km", "vin")
REQUIRED = ("make", "model", "year", "price", "mileage_km")
NULLABLE = ("color", "vin")

SORTS = ("id", "-id", "price", "-price", "year", "-year", "created_at", "-created_at")
DEFAULT_SORT = "id"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def max_year() -> int:
    """The latest model year accepted: next calendar year (UTC)."""
    return datetime.now(UTC).year + 1


class _Invalid(ValueError):
    pass


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any, max_length: int) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    if len(value) > max_length:
        raise _Invalid(f"must be at most {max_length} characters")
    if "\x00" in value:
        raise _Invalid("must not contain the NUL character (U+0000)")
    trimmed = value.strip(TRIMMED)
    if not trimmed:
        raise _Invalid("must not be blank")
    return trimmed


def _make(value: Any) -> str:
    return _text(value, TEXT_MAX_LENGTH)


def _color(value: Any) -> str:
    return _text(value, COLOR_MAX_LENGTH)


def _year(value: Any) -> int:
    if not _is_int(value):
        raise _Invalid("must be an integer")
    latest = max_year()
    if not MIN_YEAR <= value <= latest:
        raise _Invalid(f"must be from {MIN_YEAR} to {latest}")
    return value


def _price(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise _Invalid('must be a string holding a decimal number, e.g. "12999.90"')
    return parse_price(value)


def parse_price(value: str) -> Decimal:
    if not _PRICE.match(value):
        raise _Invalid(
            "must be a decimal number from 0 with at most 2 decimal places and "
            f'{PRICE_MAX_DIGITS} digits before the point, e.g. "12999.90"'
        )
    return Decimal(value)


def _mileage(value: Any) -> int:
    if not _is_int(value):
        raise _Invalid("must be an integer")
    if not 0 <= value <= MILEAGE_MAX:
        raise _Invalid(f"must be from 0 to {MILEAGE_MAX}")
    return value


def _vin(value: Any) -> str:
    if not isinstance(value, str) or not _VIN.match(value):
        raise _Invalid("must be 17 characters: digits and letters except I, O and Q")
    return value.upper()


_VALIDATORS = {
    "make": _make,
    "model": _make,
    "year": _year,
    "color": _color,
    "price": _price,
    "mileage_km": _mileage,
    "vin": _vin,
}


def validate_car(payload: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The normalised fields of a request body, or Unprocessable listing every bad field.

    ``partial`` (PATCH): only the fields present, at least one. Otherwise (POST, PUT): every
    required field; absent optional fields are None.
    """
    values: dict[str, Any] = {}
    errors = []
    for name in payload:
        if name not in _VALIDATORS:
            errors.append(field_error(name, "is not a field of a car"))
    for name, validate in _VALIDATORS.items():
        if name not in payload:
            if partial:
                continue
            if name in REQUIRED:
                errors.append(field_error(name, "is required"))
            else:
                values[name] = None
            continue
        value = payload[name]
        if value is None:
            if name in NULLABLE:
                values[name] = None
            else:
                errors.append(field_error(name, "must not be null"))
            continue
        try:
            values[name] = validate(value)
        except _Invalid as error:
            errors.append(field_error(name, str(error)))
    if partial and not payload:
        errors.append(field_error("", "a PATCH must change at least one field"))
    if errors:
        raise Unprocessable("The car has invalid fields; see errors.", errors=errors)
    return values


# --- representation ------------------------------------------------------------------------------


def etag(car_id: int, version: int) -> str:
    """Strong ETag of one version of a car (ids are never reused)."""
    return f'"{car_id}-{version}"'


PUBLIC_FIELDS = ("id", *FIELDS, "created_at", "updated_at")
# Timestamps in UTC written with a Z.
_JSON_OPTIONS = orjson.OPT_UTC_Z


def car_json(car: dict[str, Any]) -> bytes:
    """The JSON of a car from the store (its ``version`` goes in the ETag, not the body)."""
    return orjson.dumps({name: car[name] for name in PUBLIC_FIELDS}, option=_JSON_OPTIONS)


def page_json(cars: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """A list page; the store's list items are already in their JSON shape."""
    return orjson.dumps({"items": cars, "next": next_cursor}, option=_JSON_OPTIONS)


# --- list cursors --------------------------------------------------------------------------------


def sort_key(sort: str) -> str:
    return sort.lstrip("-")


def encode_cursor(sort: str, car: dict[str, Any]) -> str:
    """Opaque position after ``car`` in ``sort`` order: base64url of JSON [sort, key, id]."""
    column = sort_key(sort)
    if column == "id":
        key = None
    elif column == "price":
        key = car["price"]
    elif column == "created_at":
        key = car["created_at"].isoformat(timespec="microseconds")
    else:
        key = car[column]
    raw = orjson.dumps([sort, key, car["id"]])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str, sort: str) -> tuple[Any, int]:
    """(after_key, after_id) from a cursor made by ``encode_cursor``; BadRequest if it was not."""
    invalid = BadRequest(
        "The 'next' cursor is not valid: pass the value of 'next' from the previous page "
        "unchanged, with the same sort.",
        errors=[field_error("next", "is not a cursor issued for this sort", "query")],
    )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor_sort, key, after_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise invalid from None
    if cursor_sort != sort or not _is_int(after_id) or not 1 <= after_id <= MAX_ID:
        raise invalid
    column = sort_key(sort)
    try:
        if column == "id":
            if key is not None:
                raise invalid
            return None, after_id
        if column == "price" and isinstance(key, str):
            return parse_price(key), after_id
        if column == "year" and _is_int(key) and -(2**31) <= key < 2**31:
            return key, after_id
        if column == "created_at" and isinstance(key, str):
            moment = datetime.fromisoformat(key)
            if moment.tzinfo is not None:
                return moment.astimezone(UTC), after_id
    except ValueError:
        pass
    raise invalid
