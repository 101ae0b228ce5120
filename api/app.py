"""The application factory: ``sanic api.app:create_app --factory`` or ``python -m api``."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
import uuid

import orjson
from sanic import HTTPResponse, Request, Sanic

from api import auth, cors, docs, health, openapi
from api.cache import CarCache
from api.cars import batch as cars_batch
from api.cars import idempotency
from api.cars import openapi as cars_openapi
from api.cars import views as cars_views
from api.config import ConfigError, Settings, settings_or_exit
from api.database import DatabaseUnavailable, create_database
from api.logs import access_log, configure_logging, flush_access_log
from api.problems import ProblemErrorHandler, ServiceUnavailable

log = logging.getLogger("api.app")

# A caller's X-Request-ID is kept when it is short and plain; otherwise one is generated.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# Above the ALB idle timeout (60 s), so the ALB never reuses a connection the API is closing.
KEEP_ALIVE_TIMEOUT = 75

# Generated ids: a random per-process prefix and a counter (unique, and cheaper than uuid4).
_ID_PREFIX = uuid.uuid4().hex[:12]
_id_counter = itertools.count(1)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}-{next(_id_counter):x}"


def create_app(settings: Settings | object | None = None, *, migrate: bool | None = None) -> Sanic:
    """Build the API. ``settings`` default to the environment (exit 2 with a message if invalid);
    ``migrate`` defaults to MIGRATE_ON_START (``python -m api`` migrates before forking workers).
    """
    if not isinstance(settings, Settings):
        # None, or the argparse namespace the `sanic ... --factory` command passes.
        settings = settings_or_exit(serving=True)
    if settings.serving_problems():
        raise ConfigError(settings.serving_problems())
    if migrate is None:
        migrate = settings.migrate_on_start
    configure_logging(settings.log_level)

    app = Sanic(
        "api-cars",
        error_handler=ProblemErrorHandler(),
        configure_logging=False,
        dumps=orjson.dumps,
        loads=orjson.loads,
        strict_slashes=True,
        request_class=TimedRequest,
    )
    app.config.update(
        REQUEST_MAX_SIZE=settings.request_max_size,
        GRACEFUL_SHUTDOWN_TIMEOUT=settings.shutdown_grace_seconds,
        KEEP_ALIVE_TIMEOUT=KEEP_ALIVE_TIMEOUT,
        ACCESS_LOG=False,
        MOTD=False,
        FALLBACK_ERROR_FORMAT="json",
        NOISY_EXCEPTIONS=False,
        TOUCHUP=True,
    )
    app.ctx.settings = settings
    app.ctx.db = None
    app.ctx.cache = None
    app.ctx.auth = None
    # Set on SIGTERM (api/__main__.py): the health checks fail while requests are still served.
    app.ctx.draining = False
    app.ctx.version_body = orjson.dumps(health.version_document(settings))

    app.blueprint(health.bp)
    app.blueprint(cars_views.bp)
    app.blueprint(cars_batch.bp)
    _add_openapi(app, settings)
    # After every route exists: a route nobody marked public needs a token for writes.
    auth.install(app, settings)
    cors.install(app, settings)
    _add_request_logging(app, settings)
    _add_listeners(app, settings, migrate)
    return app


def _add_listeners(app: Sanic, settings: Settings, migrate: bool) -> None:
    @app.before_server_start
    async def open_backends(app: Sanic) -> None:
        if migrate:
            from api.migrations import apply_migrations

            applied = await asyncio.to_thread(apply_migrations, settings)
            if applied:
                log.info("migrations applied", extra={"migrations": applied})
        app.ctx.db = create_database(settings)
        await app.ctx.db.open()
        if settings.redis_address is not None:
            app.ctx.cache = CarCache(settings)
            await app.ctx.cache.open()

    @app.after_server_start
    async def start_purging_keys(app: Sanic) -> None:
        app.ctx.purge = asyncio.get_running_loop().create_task(
            idempotency.purge_forever(app.ctx.db)
        )

    @app.before_server_stop
    async def stop_purging_keys(app: Sanic) -> None:
        purge = getattr(app.ctx, "purge", None)
        if purge is not None:
            purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purge

    @app.after_server_stop
    async def close_backends(app: Sanic) -> None:
        if app.ctx.cache is not None:
            await app.ctx.cache.close()
        if app.ctx.db is not None:
            await app.ctx.db.close()
        flush_access_log()

    @app.exception(DatabaseUnavailable)
    async def database_unavailable(request: Request, error: DatabaseUnavailable) -> HTTPResponse:
        # Logged as an outage where it is detected (api.database), not once per request.
        return app.error_handler.default(
            request, ServiceUnavailable("The database is unavailable; retry shortly.")
        )


class TimedRequest(Request):
    """A request that knows when it arrived and its request id (no request middleware needed)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.started = time.perf_counter()
        self._request_id: str | None = None
        self.sub: str | None = None  # the caller, once a bearer token has been checked

    @property
    def request_id(self) -> str:
        if self._request_id is None:
            given = self.headers.get("x-request-id")
            if given is not None and _SANE_REQUEST_ID.fullmatch(given):
                self._request_id = given
            else:
                self._request_id = _new_request_id()
        return self._request_id


def _add_request_logging(app: Sanic, settings: Settings) -> None:
    cors_headers = cors.response_headers(settings)

    @app.on_response(priority=1000)
    async def finish_request(request: TimedRequest, response: HTTPResponse) -> None:
        request_id = request.request_id
        response.headers["x-request-id"] = request_id
        if cors_headers is not None:
            cors_headers(request, response)
        duration_ms = round((time.perf_counter() - request.started) * 1000, 2)
        access_log(
            request.method, request.path, response.status, duration_ms, request_id, request.sub
        )


def _add_openapi(app: Sanic, settings: Settings) -> None:
    # Sanic would otherwise load sanic-ext by itself (slow to import, and per-request extensions).
    app.config.AUTO_EXTEND = False
    docs.install(app)
    openapi.install(
        app,
        cars_openapi.schemas(settings.batch_max_items),
        version=settings.app_version,
        security=openapi.Security.from_settings(settings),
    )
