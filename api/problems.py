"""Errors as RFC 9457 problem details (``application/problem+json``), for every failure path.

Views raise a ``Problem`` subclass; ``ProblemErrorHandler`` turns those, Sanic's own exceptions
(unknown route, wrong method, oversized body ...) and anything unexpected into a problem body. An
unexpected exception is logged with its traceback and answered with a 500 problem without details.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import orjson
from sanic import HTTPResponse, Request
from sanic.exceptions import RequestCancelled, SanicException
from sanic.handlers import ErrorHandler

PROBLEM_CONTENT_TYPE = "application/problem+json"
# nginx's "client closed request": what the access log says of a request whose client went away.
CLIENT_CLOSED_REQUEST = 499

log = logging.getLogger("api.errors")


class Problem(Exception):
    """An error the client should see: status, a one-line detail, optional per-field errors."""

    status = 500
    # A URI naming the kind of problem when a client should tell it apart from others of its
    # status (RFC 9457 3.1.1); about:blank otherwise: the status says it all.
    type = "about:blank"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions or {}

    def body(self, instance: str) -> dict[str, Any]:
        """The problem details object, as a response body or inside one (a batch row)."""
        return problem_body(
            self.status,
            self.detail,
            instance,
            errors=self.errors,
            type_=self.type,
            extensions=self.extensions,
        )


class BadRequest(Problem):
    status = 400


class NotFound(Problem):
    status = 404


class Conflict(Problem):
    status = 409


class PreconditionFailed(Problem):
    status = 412


class ContentTooLarge(Problem):
    status = 413


class UnsupportedMediaType(Problem):
    status = 415


class Unprocessable(Problem):
    status = 422


class ServiceUnavailable(Problem):
    status = 503


def field_error(field: str, detail: str, location: str = "body") -> dict[str, str]:
    """One entry of a problem's ``errors`` list."""
    return {"in": location, "field": field, "detail": detail}


def problem_body(
    status: int,
    detail: str,
    instance: str,
    *,
    errors: list[dict[str, str]] | None = None,
    type_: str = "about:blank",
    extensions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    if extensions:
        body.update(extensions)
    return body


def problem_response(
    request: Request | None,
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    type_: str = "about:blank",
    extensions: dict[str, Any] | None = None,
) -> HTTPResponse:
    instance = request.path if request is not None else ""
    body = problem_body(status, detail, instance, errors=errors, type_=type_, extensions=extensions)
    return HTTPResponse(
        orjson.dumps(body), status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )


# Sanic's exceptions carry messages meant for developers; these say it for an API client.
_SANIC_DETAILS = {
    400: "The request could not be understood.",
    404: "No such resource: {path}.",
    405: "Method {method} is not allowed on {path}.",
    408: "The request took too long to arrive.",
    413: "The request body is larger than the limit of {max_size} bytes.",
    416: "The requested range cannot be served.",
    417: "Expectation failed.",
}


class ProblemErrorHandler(ErrorHandler):
    def default(self, request: Request, exception: BaseException) -> HTTPResponse:
        if isinstance(exception, RequestCancelled):
            # The client went away mid-request: nobody to answer and nothing broken, so no
            # traceback and no 5xx (which would trip an error alarm); the response is not sent.
            return HTTPResponse(status=CLIENT_CLOSED_REQUEST)
        if isinstance(exception, Problem):
            return problem_response(
                request,
                exception.status,
                exception.detail,
                errors=exception.errors,
                headers=exception.headers,
                type_=exception.type,
                extensions=exception.extensions,
            )
        if isinstance(exception, SanicException) and 400 <= exception.status_code < 500:
            status = exception.status_code
            template = _SANIC_DETAILS.get(status)
            path = request.path if request is not None else ""
            if template is None:
                detail = str(exception) or HTTPStatus(status).phrase
            else:
                max_size = request.app.config.REQUEST_MAX_SIZE if request is not None else ""
                method = request.method if request is not None else ""
                detail = template.format(path=path, method=method, max_size=max_size)
            headers = {k: v for k, v in (exception.headers or {}).items()}
            has_allow = "allow" in {name.lower() for name in headers}
            if status == 405 and request is not None and not has_allow:
                headers["Allow"] = _allowed_methods(request)
            return problem_response(request, status, detail, headers=headers)
        if isinstance(exception, SanicException) and exception.status_code == 503:
            return problem_response(request, 503, str(exception) or "Service unavailable.")
        log.error(
            "unhandled exception",
            exc_info=(type(exception), exception, exception.__traceback__),
            extra={
                "method": getattr(request, "method", None),
                "path": getattr(request, "path", None),
                "request_id": _request_id(request),
            },
        )
        return problem_response(request, 500, "An internal error occurred; it has been logged.")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Sanic leaves Allow out for routes with parameters: ask the router for each method."""
    allowed = []
    for method in _METHODS:
        try:
            request.app.router.get(request.path, method, request.headers.get("host"))
        except Exception:  # noqa: S112 - any routing failure means "not allowed"
            continue
        allowed.append(method)
    return ", ".join(allowed)


def _request_id(request: Request | None) -> str | None:
    return getattr(request, "request_id", None)
