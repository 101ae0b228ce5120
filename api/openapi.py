"""The OpenAPI 3 document, served by sanic-ext at /docs/openapi.json.

Each handler carries its operation (``@operation({...})``, written next to it); ``install`` walks
the app's real routes and refuses to start if one is undocumented, so the document lists exactly
the routes that exist. Shared pieces (the problem body, common headers and responses) live here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from sanic import Sanic

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


_PARAM = re.compile(r"<([a-zA-Z_][a-zA-Z0-9_]*)(?::[^>]*)?>")


def install(app: Sanic, schemas: dict[str, Any]) -> None:
    """Put every route's operation and the named ``schemas`` into sanic-ext's document.

    Fails if a route has no operation.
    """
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes:
        if route.name.startswith(f"{app.name}.openapi."):
            continue
        handler = route.handler
        spec = getattr(handler, "__openapi__", None)
        path = "/" + _PARAM.sub(r"{\1}", route.path)
        if spec is None:
            raise RuntimeError(f"route {path} has no OpenAPI operation (use @operation)")
        for method in route.methods:
            paths.setdefault(path, {})[method.lower()] = spec
    components = {"schemas": {"Problem": PROBLEM_SCHEMA, **schemas}}
    app.ext.openapi.raw({"paths": paths, "components": components})
    # sanic-ext would add its own guessed operations for these handlers on top of ours.
    from sanic_ext.extensions.openapi.builders import OperationStore

    for route in app.router.routes:
        if hasattr(route.handler, "__openapi__"):
            OperationStore()[route.handler].exclude()
