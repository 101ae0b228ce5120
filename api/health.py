"""Liveness, readiness and version: what the ALB, ECS and a release check ask."""

from __future__ import annotations

import platform

import orjson
import sanic
from sanic import Blueprint, HTTPResponse, Request

from api import __version__
from api.auth import public
from api.database import DatabaseUnavailable
from api.openapi import json_response, operation, problem
from api.problems import ServiceUnavailable

bp = Blueprint("health")

_OK = orjson.dumps({"status": "ok"})
_READY = orjson.dumps({"status": "ready"})


def version_document(settings) -> dict[str, str | None]:
    return {
        "version": settings.app_version,
        "git_sha": settings.git_sha,
        "build_date": settings.build_date,
        "package_version": __version__,
        "python": platform.python_version(),
        "sanic": sanic.__version__,
    }


_STATUS = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string"}},
}
_VERSION = {
    "type": "object",
    "required": ["version", "git_sha", "build_date"],
    "properties": {
        "version": {"type": "string", "description": "APP_VERSION: the image tag."},
        "git_sha": {"type": "string", "nullable": True, "description": "GIT_SHA; null when unset."},
        "build_date": {
            "type": "string",
            "nullable": True,
            "description": "BUILD_DATE; null when unset.",
        },
        "package_version": {"type": "string"},
        "python": {"type": "string"},
        "sanic": {"type": "string"},
    },
}


@bp.get("/health", name="health")
@public
@operation(
    {
        "operationId": "health",
        "summary": "Liveness (no I/O)",
        "tags": ["operations"],
        "responses": {
            "200": json_response("Alive", _STATUS),
            "503": problem(503, "Still starting, or stopping (draining after SIGTERM)"),
        },
    }
)
async def health(request: Request) -> HTTPResponse:
    """Liveness: answers without touching any backing service.

    503 while the server is still starting (its socket accepts before the last start-up step):
    a 200 means start-up is over, SIGTERM handling included. 503 again once SIGTERM arrived
    (draining): the load balancer stops sending while requests are still served.
    """
    if not request.app.state.is_running:
        raise ServiceUnavailable("Starting.")
    if request.app.ctx.draining:
        raise ServiceUnavailable("Stopping: draining before shutdown.")
    return HTTPResponse(_OK, content_type="application/json")


@bp.get("/ready", name="ready")
@public
@operation(
    {
        "operationId": "ready",
        "summary": "Readiness (the database answers)",
        "tags": ["operations"],
        "responses": {
            "200": json_response("Ready", _STATUS),
            "503": problem(503, "The database cannot be reached, or stopping (draining)"),
        },
    }
)
async def ready(request: Request) -> HTTPResponse:
    """Readiness: 503 when the database cannot be reached (the cache is optional) or while
    draining after SIGTERM."""
    if request.app.ctx.draining:
        raise ServiceUnavailable("Stopping: draining before shutdown.")
    try:
        await request.app.ctx.db.ping()
    except DatabaseUnavailable as error:
        raise ServiceUnavailable(f"The database cannot be reached: {error}") from None
    return HTTPResponse(_READY, content_type="application/json")


@bp.get("/version", name="version")
@public
@operation(
    {
        "operationId": "version",
        "summary": "Running version and build information",
        "tags": ["operations"],
        "responses": {"200": json_response("Version", _VERSION)},
    }
)
async def version(request: Request) -> HTTPResponse:
    """The running version (APP_VERSION, the image tag) and build information."""
    return HTTPResponse(request.app.ctx.version_body, content_type="application/json")
