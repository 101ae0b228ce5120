"""The OpenAPI 3 document, served at /docs/openapi.json.

Each handler carries its operation (``@operation({...})``, written next to it); ``install`` walks
the app's real routes and refuses to start if one is undocumented, so the document lists exactly
the routes that exist. Shared pieces (the problem body, common headers and responses) live here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from sanic import HTTPResponse, Request, Sanic

from api.auth import public, required_scope
from api.config import Settings

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details. Every error response has this body.",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Unprocessable Entity"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request path."},
        "errors": {
            "type": "array",
            "description": "One entry per invalid field or query parameter.",
            "items": {
                "type": "object",
                "required": ["in", "field", "detail"],
                "properties": {
                    "in": {"type": "string", "enum": ["body", "query", "header"]},
                    "field": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}

REQUEST_ID_HEADER = {
    "description": "The request's id: the caller's X-Request-ID when it is sane, else generated.",
    "schema": {"type": "string"},
}

REQUEST_ID_PARAMETER = {
    "name": "X-Request-ID",
    "in": "header",
    "required": False,
    "description": "Correlation id, echoed back and logged (1-128 of A-Z a-z 0-9 . _ : @ / + = -).",
    "schema": {"type": "string"},
}


def problem(status: int, description: str | None = None, **headers: Any) -> dict[str, Any]:
    """A documented problem response."""
    response: dict[str, Any] = {
        "description": description or HTTPStatus(status).phrase,
        "headers": {"X-Request-ID": REQUEST_ID_HEADER, **headers},
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }
    return response


def json_response(description: str, schema: dict[str, Any], **headers: Any) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": REQUEST_ID_HEADER, **headers},
        "content": {"application/json": {"schema": schema}},
    }


def empty_response(description: str, **headers: Any) -> dict[str, Any]:
    return {"description": description, "headers": {"X-Request-ID": REQUEST_ID_HEADER, **headers}}


def operation(spec: dict[str, Any]) -> Callable:
    """Attach an OpenAPI operation object to a handler.

    Every operation also documents X-Request-ID and a default problem response (what any
    unexpected failure returns).
    """

    def attach(handler: Callable) -> Callable:
        full = dict(spec)
        full["parameters"] = [*spec.get("parameters", []), REQUEST_ID_PARAMETER]
        full["responses"] = {**spec["responses"], "default": problem(500, "Unexpected error")}
        handler.__openapi__ = full
        return handler

    return attach


_WWW_AUTHENTICATE = {
    "description": 'The challenge: `Bearer realm="api-cars"`, with `error="invalid_token"` when '
    'a token was sent, or `error="insufficient_scope", scope="..."`.',
    "schema": {"type": "string"},
}
_RETRY_AFTER = {
    "description": "Seconds to wait (when the token issuer cannot be reached).",
    "schema": {"type": "integer"},
}


@dataclass(frozen=True)
class Security:
    """How the document declares the bearer tokens operations need (api.auth decides which)."""

    settings: Settings

    @classmethod
    def from_settings(cls, settings: Settings) -> Security | None:
        return None if settings.auth_disabled else cls(settings)

    def schemes(self) -> dict[str, Any]:
        scopes = {self.settings.auth_write_scope: "Create, change and delete cars"}
        if self.settings.auth_read_scope:
            scopes[self.settings.auth_read_scope] = "Read cars"
        schemes: dict[str, Any] = {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": f"An access token from {self.settings.auth_issuer} "
                "(OAuth 2 client credentials), sent as Authorization: Bearer <token>.",
            }
        }
        if self.settings.auth_token_url:
            schemes["oauth2"] = {
                "type": "oauth2",
                "description": "Client credentials grant at the issuer's token endpoint.",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": self.settings.auth_token_url,
                        "scopes": scopes,
                    }
                },
            }
        return schemes

    def protect(self, spec: dict[str, Any], scope: str) -> dict[str, Any]:
        """``spec`` as an operation that needs a token carrying ``scope``."""
        requirements: list[dict[str, list[str]]] = [{"bearerAuth": []}]
        if self.settings.auth_token_url:
            requirements.insert(0, {"oauth2": [scope]})
        responses = dict(spec["responses"])
        unavailable = responses.get("503", problem(503, "Service unavailable"))
        responses["503"] = {
            **unavailable,
            "description": unavailable["description"] + ", or the token issuer cannot be reached",
            "headers": {**unavailable["headers"], "Retry-After": _RETRY_AFTER},
        }
        responses["401"] = problem(
            401,
            "No bearer token, or one that is not valid",
            **{"WWW-Authenticate": _WWW_AUTHENTICATE},
        )
        responses["403"] = problem(
            403, f"The token lacks the scope {scope}", **{"WWW-Authenticate": _WWW_AUTHENTICATE}
        )
        return {
            **spec,
            "security": requirements,
            "description": (
                spec.get("description", "") + f"\n\nNeeds a bearer token with the scope `{scope}`."
            ).strip(),
            "responses": dict(sorted(responses.items(), key=lambda item: item[0] == "default")),
        }


_PARAM = re.compile(r"<([a-zA-Z_][a-zA-Z0-9_]*)(?::[^>]*)?>")


def build_document(
    app: Sanic, schemas: dict[str, Any], *, version: str, security: Security | None = None
) -> dict[str, Any]:
    """The OpenAPI document of ``app``: every route's operation and the named ``schemas``.

    Fails if a route has no operation; routes marked ``__openapi__ = None`` (the document
    itself) are left out.
    """
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes:
        handler = route.handler
        # A handler routed by a parameter that matches one literal path (``/v1/cars:batch``)
        # names that path itself.
        path = getattr(handler, "__openapi_path__", None) or "/" + _PARAM.sub(r"{\1}", route.path)
        if not hasattr(handler, "__openapi__"):
            raise RuntimeError(f"route {path} has no OpenAPI operation (use @operation)")
        if handler.__openapi__ is None:
            continue
        for method in sorted(route.methods):
            spec = handler.__openapi__
            if method == "HEAD" and "GET" not in route.methods:
                spec = _head_operation(spec)
            scope = None if security is None else required_scope(handler, method, security.settings)
            if scope is not None:
                spec = security.protect(spec, scope)
            paths.setdefault(path, {})[method.lower()] = spec
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "api-cars",
            "version": version,
            "description": "Cars REST API. Every error is application/problem+json (RFC 9457).",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA, **schemas},
            **({"securitySchemes": security.schemes()} if security is not None else {}),
        },
    }


def answer_head(app: Sanic) -> None:
    """Every GET route also answers HEAD (RFC 9110 9.3.2: the same headers, no body).

    Sanic routes HEAD only where asked to; done here, once every route exists, so that the
    document (and a 405's Allow) lists HEAD next to GET.
    """
    routed = {(route.path, method) for route in app.router.routes for method in route.methods}
    for route in list(app.router.routes):
        if "GET" in route.methods and (route.path, "HEAD") not in routed:
            app.add_route(
                route.handler,
                "/" + route.path,
                methods=["HEAD"],
                name=route.name.removeprefix(f"{app.name}.") + "_head",
                strict_slashes=route.strict,
            )


def _head_operation(get: dict[str, Any]) -> dict[str, Any]:
    """The HEAD twin of a GET operation: its parameters and responses, no bodies."""
    return {
        **get,
        "operationId": f"{get['operationId']}Head",
        "summary": f"{get['summary']} (headers only)",
        "description": "HEAD: the headers GET would send, without a body.",
        "responses": {
            status: {key: value for key, value in response.items() if key != "content"}
            for status, response in get["responses"].items()
        },
    }


def install(
    app: Sanic, schemas: dict[str, Any], *, version: str, security: Security | None = None
) -> None:
    """Serve the document at /docs/openapi.json (built once, here); api.docs serves the page.
    Every GET route answers HEAD too: call this after every other route is added.

    Built from the handlers' own operations rather than through sanic-ext: importing sanic-ext
    took 0.25 s, half the start-up budget, and it would add nothing the operations do not say.
    """

    async def openapi_json(request: Request) -> HTTPResponse:
        return HTTPResponse(body, content_type="application/json")

    openapi_json.__openapi__ = None
    app.add_route(public(openapi_json), "/docs/openapi.json", methods=["GET"], name="openapi_json")
    answer_head(app)
    body = orjson.dumps(build_document(app, schemas, version=version, security=security))
