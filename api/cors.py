"""CORS for browser clients on the origins in ``CORS_ALLOWED_ORIGINS`` (none by default).

Hand-rolled, a screen long: sanic-cors is unmaintained since 2022 and sanic-ext, which has CORS,
is not a dependency (importing it cost half the start-up budget, see api/openapi.py). With no
origin configured nothing here runs: no OPTIONS routes, no header work per response.

Tokens travel in the Authorization header, not cookies, so credentials are never allowed
(``Access-Control-Allow-Credentials`` is not sent).
"""

from __future__ import annotations

from collections.abc import Callable

from sanic import HTTPResponse, Request, Sanic

from api.auth import public
from api.config import Settings

ALLOWED_HEADERS = (
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID"
)
EXPOSED_HEADERS = "ETag, Location, X-Request-ID, Retry-After, WWW-Authenticate, Idempotent-Replayed"
# How long a browser may reuse a preflight's answer (Chromium caps it at 7200).
MAX_AGE_SECONDS = 600


def install(app: Sanic, settings: Settings) -> None:
    """Answer preflight requests (OPTIONS) on every path; call once every route exists."""
    if not settings.cors_allowed_origins:
        return
    methods: dict[str, set[str]] = {}
    for route in app.router.routes:
        methods.setdefault(route.path, set()).update(route.methods)
    for path, allowed in methods.items():
        app.add_route(
            _preflight(", ".join(sorted(allowed))),
            "/" + path,
            methods=["OPTIONS"],
            name=f"preflight_{len(app.router.routes)}",
            strict_slashes=True,
        )


def _preflight(allowed: str) -> Callable:
    async def preflight(request: Request, **_params) -> HTTPResponse:
        headers = {"Allow": f"{allowed}, OPTIONS"}
        # The origin itself is answered in response_headers, for every response alike.
        if request.headers.get("access-control-request-method"):
            headers |= {
                "Access-Control-Allow-Methods": allowed,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
            }
        return HTTPResponse(status=204, headers=headers)

    preflight.__openapi__ = None
    return public(preflight)


def response_headers(settings: Settings) -> Callable[[Request, HTTPResponse], None] | None:
    """What every response gets when origins are configured (None: nothing to add)."""
    origins = settings.cors_allowed_origins
    if not origins:
        return None

    def add(request: Request, response: HTTPResponse) -> None:
        # Vary on every response: a cache must not serve one origin's answer to another.
        response.headers["vary"] = "Origin"
        origin = request.headers.get("origin")
        if origin is not None and origin.lower() in origins:
            response.headers["access-control-allow-origin"] = origin
            response.headers["access-control-expose-headers"] = EXPOSED_HEADERS

    return add
