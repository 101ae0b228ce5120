"""``python -m api`` (or ``api-cars``): serve in production mode.

Migrations run once here (when MIGRATE_ON_START) before any worker starts. WORKERS=1 serves in this
very process (Sanic single-process mode): fast start, and SIGTERM reaches the server directly.
"""

from __future__ import annotations

import sys
from functools import partial

from sanic import Sanic
from sanic.worker.loader import AppLoader

from api.app import create_app
from api.config import settings_or_exit


def main() -> int:
    settings = settings_or_exit()
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
        app.prepare(single_process=True, **serve_options)
        Sanic.serve_single(app)
    else:
        loader = AppLoader(factory=factory)
        app = loader.load()
        app.prepare(workers=settings.workers, **serve_options)
        Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
