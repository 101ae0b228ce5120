"""``python -m api`` (or ``api-cars``): serve in production mode.

Migrations run once here (when MIGRATE_ON_START) before any worker starts. WORKERS=1 serves in this
very process (Sanic single-process mode): fast start, and SIGTERM reaches the server directly.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader

from api.app import create_app
from api.config import settings_or_exit

SIGNAL_POLL_SECONDS = 0.05


def _remember_stop_signals(requested: dict[str, bool]) -> None:
    def remember(signum, frame) -> None:
        requested["stop"] = True

    signal.signal(signal.SIGTERM, remember)
    signal.signal(signal.SIGINT, remember)


def _stop_gracefully_on_signals(app: Sanic, requested: dict[str, bool]) -> None:
    """SIGTERM (or SIGINT) at any moment, even during start-up, ends in a graceful stop, exit 0.

    Sanic's own handlers arrive only once the socket is open, and a stop requested while its
    after-start listeners run is lost (the process then ignores SIGTERM for good). So ``main``
    installs a handler that only remembers the signal, Sanic installs none (it does set SIGTERM
    to "ignore" just before its after-start listeners, so the first one puts the handler back), and
    this task stops the server once it is really serving: in-flight requests get
    SHUTDOWN_GRACE_SECONDS.

    First it drains: for SHUTDOWN_DRAIN_SECONDS the health checks answer 503 while every other
    request is still served, so a load balancer that has not deregistered the task yet (a Spot
    interruption signals first) marks it unhealthy and stops sending before the socket closes.
    """

    @app.listener("after_server_start", priority=1_000_000)
    async def stop_on_request(app: Sanic) -> None:
        _remember_stop_signals(requested)

        async def stop_once_serving() -> None:
            # Polled: the signal handler cannot touch the loop, and Sanic sets is_running
            # (no event to await) just before its serving loop starts.
            while not (requested["stop"] and app.state.is_running):  # noqa: ASYNC110
                await asyncio.sleep(SIGNAL_POLL_SECONDS)
            app.ctx.draining = True
            await asyncio.sleep(app.ctx.settings.shutdown_drain_seconds)
            app.stop(terminate=False)

        app.add_task(stop_once_serving(), name="api-cars-stop-on-signal")


def main() -> int:
    requested = {"stop": False}
    _remember_stop_signals(requested)
    settings = settings_or_exit(serving=True)
    if settings.migrate_on_start:
        from api.migrations import MigrationError, apply_migrations, describe

        try:
            apply_migrations(settings)
        except MigrationError as error:
            print(f"api-cars: migrations failed on {describe(settings)}: {error}", file=sys.stderr)
            return 1
    factory = partial(create_app, settings, migrate=False)
    serve_options = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,
        "motd": False,
    }
    if settings.workers == 1:
        app = factory()
        _stop_gracefully_on_signals(app, requested)
        app.prepare(single_process=True, register_sys_signals=False, **serve_options)
        Sanic.serve_single(app)
    else:
        loader = AppLoader(factory=factory)
        app = loader.load()
        app.prepare(workers=settings.workers, **serve_options)
        Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
