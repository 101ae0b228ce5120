"""Logging: one JSON object per line on stdout (CloudWatch reads it as is).

Application logs go through ``logging`` with ``JsonFormatter``. The access log (one line per
request, written by ``api.app``) is built directly with orjson: the logging machinery cost more
than a whole cached GET. Sanic's own access log is switched off.

Access lines written in one turn of the event loop leave together, in one ``write`` at the start
of the next turn (and at server stop and exit): under load, one system call for many requests
instead of one each (``write`` was the largest single cost in a POST's profile, responses
included). A line is held for one loop turn at most.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time

import orjson

# Attributes every LogRecord has; anything else was passed through ``extra=`` and is logged.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str) -> None:
    """Send every logger (ours, Sanic's, yoyo's) to stdout as JSON; idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_api_cars", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler._api_cars = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Sanic's access logger would duplicate ours in another format.
    logging.getLogger("sanic.access").disabled = True
    for name in ("sanic.root", "sanic.error", "sanic.server", "sanic.websockets"):
        sanic_logger = logging.getLogger(name)
        sanic_logger.handlers.clear()
        sanic_logger.propagate = True


_clock = {"second": -1, "stamp": ""}


def _timestamp(now: float) -> str:
    second = int(now)
    if second != _clock["second"]:
        _clock["second"] = second
        _clock["stamp"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_clock['stamp']}.{int((now - second) * 1000):03d}Z"


def access_log(
    method: str,
    path: str,
    status: int,
    duration_ms: float | None,
    request_id: str,
    sub: str | None = None,
) -> None:
    """Write one access line: the same shape as the other log lines, plus the request's facts.
    ``sub``: the caller a bearer token named (never the token itself); null when none was."""
    line = orjson.dumps(
        {
            "time": _timestamp(time.time()),
            "level": "INFO",
            "logger": "api.access",
            "message": "request",
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request_id,
            "sub": sub,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )
    if not _pending:
        try:
            asyncio.get_running_loop().call_soon(flush_access_log)
        except RuntimeError:  # no event loop: nothing to wait for
            _write([line])
            return
    _pending.append(line)


_pending: list[bytes] = []


def flush_access_log() -> None:
    """Write the access lines waiting for the end of the loop's turn."""
    if _pending:
        lines = _pending[:]
        _pending.clear()
        _write(lines)


def _write(lines: list[bytes]) -> None:
    out = sys.stdout.buffer
    out.write(b"".join(lines))
    out.flush()


atexit.register(flush_access_log)
