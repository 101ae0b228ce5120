"""A car: the rules its fields follow, its JSON representation, its ETag, and list cursors.

Nothing here does I/O. The OpenAPI schemas in ``api.cars.schemas`` are built from the same
constants, so the document and the checks cannot drift apart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
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
# Trimmed from both ends of text: Unicode whitespace (what str.isspace() calls space, NBSP and
# the ideographic space included) and the invisible characters that render as nothing (zero-width
# space, joiners, direction marks, word joiner, BOM). Written out: computing it scans all of
# Unicode at start-up; tests/api/test_text_fields.py checks it against str.isspace().
WHITESPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
INVISIBLE = "\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
TRIMMED = WHITESPACE + INVISIBLE
# Control characters (Unicode category Cc), refused anywhere in text once it is trimmed:
# U+0000 included, which PostgreSQL text cannot hold.
CONTROL = "\x00-\x1f\x7f-\x9f"


def _escaped(characters: str) -> str:
    """A character class's body for ``characters``, runs written as ranges (``\\u2000-\\u200f``)."""
    codes = sorted({ord(c) for c in characters})
    runs: list[list[int]] = []
    for code in codes:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(
        f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in runs
    )


def text_pattern(max_length: int) -> str:
    """The schema pattern of a text field: what ``_text`` accepts, as one regular expression
    (surrounding TRIMMED characters, then 1 to ``max_length`` characters without a control
    character that neither start nor end with a TRIMMED one)."""
    trimmed, control = _escaped(TRIMMED), r"\u0000-\u001f\u007f-\u009f"
    edge = f"[^{trimmed}{control}]"
    return f"^[{trimmed}]*{edge}(?:[^{control}]{{0,{max_length - 2}}}{edge})?[{trimmed}]*$"


PRICE_PATTERN = rf"^(0|[1-9][0-9]{{0,{PRICE_MAX_DIGITS - 1}}})(\.[0-9]{{1,2}})?$"
# The VIN alphabet: digits and letters except I, O and Q; lower case is accepted and upper-cased.
VIN_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"

# If-Match: `*` or a list of entity tags (RFC 9110 8.8.3 and 13.1.1), with optional spaces;
# the tags' characters printable ASCII (the obs-text RFC 9110 tolerates is left out).
_ENTITY_TAG = r'(W/)?"[!#-~]*"'
IF_MATCH_PATTERN = rf"^ *(\*|{_ENTITY_TAG}( *, *{_ENTITY_TAG})*) *$"

IF_MATCH = re.compile(IF_MATCH_PATTERN)
_PRICE = re.compile(PRICE_PATTERN)
_CONTROL = re.compile(f"[{CONTROL}]")
_VIN = re.compile(VIN_PATTERN)

FIELDS = ("make", "model", "year", "color", "price", "mileage_km", "vin")
REQUIRED = ("make", "model", "year", "price", "mileage_km")
NULLABLE = ("color", "vin")
# In every answer, set by the API; accepted back in a PUT or PATCH body (see validate_car).
READ_ONLY = ("id", "created_at", "updated_at")

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
    """Trimmed first, then checked: the length is the trimmed text's."""
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    trimmed = value.strip(TRIMMED)
    if not trimmed:
        raise _Invalid("must not be blank (spaces and invisible characters do not count)")
    if _CONTROL.search(trimmed):
        raise _Invalid("must not contain control characters (U+0000-U+001F, U+007F-U+009F)")
    if len(trimmed) > max_length:
        raise _Invalid(f"must be at most {max_length} characters (surrounding spaces removed)")
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
    """A string, or a JSON number whose shortest decimal form has at most 2 places.

    JSON parsers hand numbers over as floats; ``repr`` gives the shortest text that reads back as
    the same float, which is what the client wrote (12500.5), not the binary value's expansion.
    """
    if isinstance(value, str):
        return parse_price(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid('must be a decimal number as a string, e.g. "12999.90", or a JSON number')
    written = repr(value)
    exact = Decimal(written)
    places = -exact.as_tuple().exponent
    if places > 2:
        raise _Invalid(
            f"must have at most 2 decimal places: the JSON number {written} has {places}; "
            f'send the price as a string for an exact value, e.g. "{exact:.2f}"'
        )
    return parse_price(f"{exact:f}")


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


def validate_car(
    payload: dict[str, Any], *, partial: bool, car_id: int | None = None
) -> dict[str, Any]:
    """The normalised fields of a request body, or Unprocessable listing every bad field.

    ``partial`` (PATCH): only the fields present, at least one. Otherwise (POST, PUT): every
    required field; absent optional fields are None.

    ``car_id`` (PUT, PATCH: the car written): the read-only fields of a GET may come back with
    the body, so GET, edit, PUT works; ``id`` must be ``car_id``, ``created_at`` and
    ``updated_at`` are ignored (the API sets them). Without it (POST) they are refused.
    """
    values: dict[str, Any] = {}
    errors = []
    for name in payload:
        if name in READ_ONLY:
            if car_id is None:
                errors.append(field_error(name, "is set by the API and cannot be sent"))
            elif name == "id" and not (_is_int(payload[name]) and payload[name] == car_id):
                errors.append(field_error(name, f"must be this car's id, {car_id}, if sent"))
        elif name not in _VALIDATORS:
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
    if partial and not set(payload) - set(READ_ONLY):
        errors.append(field_error("", "a PATCH must change at least one field"))
    if errors:
        raise Unprocessable("The car has invalid fields; see errors.", errors=errors)
    return values


# --- representation ------------------------------------------------------------------------------


def etag(car_id: int, version: int) -> str:
    """Strong ETag of one version of a car (ids are never reused)."""
    return f'"{car_id}-{version}"'


PUBLIC_FIELDS = ("id", *FIELDS, "created_at", "updated_at")
assert set(PUBLIC_FIELDS) == {*FIELDS, *READ_ONLY}
# Timestamps in UTC written with a Z.
_JSON_OPTIONS = orjson.OPT_UTC_Z


def car_json(car: dict[str, Any]) -> bytes:
    """The JSON of a car from the store (its ``version`` goes in the ETag, not the body)."""
    return orjson.dumps({name: car[name] for name in PUBLIC_FIELDS}, option=_JSON_OPTIONS)


def page_json(cars: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """A list page; the store's list items are already in their JSON shape."""
    return orjson.dumps({"items": cars, "next": next_cursor}, option=_JSON_OPTIONS)


# --- list cursors --------------------------------------------------------------------------------

FILTERS = ("make", "model", "year_min", "year_max", "price_min", "price_max")


def sort_key(sort: str) -> str:
    return sort.lstrip("-")


def filters_digest(filters: dict[str, Any]) -> str:
    """A short hash of the listing's filters in one canonical form (``make=Ford%20`` and
    ``make=Ford``, ``price_min=10`` and ``10.00`` are the same listing).

    Not a signature: it needs no secret shared by every task, and a client forging it gains
    nothing it could not ask for. It only tells a cursor of another listing from this one's.
    """
    canonical = {
        name: f"{filters[name]:.2f}" if name.startswith("price") else filters[name]
        for name in FILTERS
        if filters.get(name) is not None
    }
    raw = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(raw, digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode()


def encode_cursor(sort: str, filters: dict[str, Any], car: dict[str, Any]) -> str:
    """Opaque position after ``car`` in the listing of ``sort`` and ``filters``: base64url of
    JSON [sort, key, id, filters digest]."""
    column = sort_key(sort)
    if column == "id":
        key = None
    elif column == "price":
        key = car["price"]
    elif column == "created_at":
        key = car["created_at"].isoformat(timespec="microseconds")
    else:
        key = car[column]
    raw = orjson.dumps([sort, key, car["id"], filters_digest(filters)])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _cursor_mismatch(detail: str, error: str) -> BadRequest:
    return BadRequest(
        f"The 'next' cursor {detail}: pass the value of 'next' from the previous page unchanged, "
        "with the same sort and filters (only limit may change), or leave 'next' out for the "
        "first page.",
        errors=[field_error("next", error, "query")],
    )


def decode_cursor(token: str, sort: str, filters: dict[str, Any]) -> tuple[Any, int]:
    """(after_key, after_id) from a cursor made by ``encode_cursor`` for this sort and these
    filters; BadRequest naming the mismatch otherwise."""
    invalid = _cursor_mismatch("is not valid", "is not a cursor issued by this API")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor_sort, key, after_id, digest = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise invalid from None
    if cursor_sort not in SORTS or not _is_int(after_id) or not 1 <= after_id <= MAX_ID:
        raise invalid
    if cursor_sort != sort:
        raise _cursor_mismatch(
            f"was issued for sort={cursor_sort}, not sort={sort}",
            f"was issued for another sort ({cursor_sort})",
        )
    if digest != filters_digest(filters):
        raise _cursor_mismatch(
            f"was issued for other filters ({', '.join(FILTERS)})",
            "was issued for other filters",
        )
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
