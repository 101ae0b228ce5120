"""What a cache may do with each response (RFC 9111): Cache-Control, validators and Vary.

- Reads of cars (``GET``/``HEAD`` of ``/v1/cars`` and ``/v1/cars/{id}``, 200 and 304): ``no-cache``
  with a strong ETag. Any cache may store them but must revalidate every reuse with the API, which
  answers 304 (from Redis when cached) while the ETag is current: a client reads its own writes
  through any number of caches, and an unchanged car or page costs the origin no body. ``public``
  while reads are open, so that a client sending a token anyway still shares the one representation
  (RFC 9111 3.5 keeps a shared cache from reusing an answer to a request with Authorization unless
  the answer says ``public``, ``s-maxage`` or ``must-revalidate``); ``private`` when
  ``AUTH_READ_SCOPE`` makes reads need a token, so no shared cache stores an answer whose 200
  depended on the caller's token (a stale copy served on an origin error, or a revalidation that
  does not forward the new caller's token, would hand it to someone unchecked).
- No shared max-age anywhere, lists included: even a second would let a client list a page without
  its own write, and CloudFront's edges do not invalidate on writes (RFC 9111 4.4 is per cache).
- Everything else (writes, problems, ``/health``, ``/ready``, ``/version``, preflights) is
  ``no-store``: ``default`` sets it on every response that did not set its own, so a new route is
  never cacheable by accident (Varnish, for one, caches a 200 or a 404 without Cache-Control for
  two minutes, RFC 9111 4.2.2's heuristic freshness).
- Vary: ``Origin`` when CORS is configured (api/cors.py); no ``Accept-Encoding`` (the API does not
  compress; CloudFront compresses at the edge and keys on the encoding itself); no
  ``Authorization`` (``private`` already keeps token-dependent answers out of shared caches).
"""

from __future__ import annotations

import hashlib

from sanic import HTTPResponse

from api.config import Settings

NO_STORE = "no-store"
# The docs page, its files and the OpenAPI document: the same for everyone, whatever the settings.
REVALIDATE = "no-cache"
PUBLIC_READ = "public, no-cache"
PRIVATE_READ = "private, no-cache"


def read_cache_control(settings: Settings) -> str:
    """The Cache-Control of a car or a page of cars (200 and 304) under these settings."""
    reads_need_token = settings.auth_read_scope is not None and not settings.auth_disabled
    return PRIVATE_READ if reads_need_token else PUBLIC_READ


def body_etag(body: bytes) -> str:
    """A strong entity tag for these exact bytes (a list page, the OpenAPI document)."""
    # SHA-256 (SHA-NI in the CPU: twice BLAKE2b's speed here), 128 bits of it.
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def none_match(header: str | None, etag: str) -> bool:
    """Whether If-None-Match ``header`` names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def default(response: HTTPResponse) -> None:
    """``no-store`` unless the handler said otherwise (called on every response)."""
    headers = response.headers
    if "cache-control" not in headers:
        headers["cache-control"] = NO_STORE
