"""``python -m api.migrations``: apply pending migrations to the configured database."""

from __future__ import annotations

import sys

from api.config import settings_or_exit
from api.migrations import MigrationError, apply_migrations, describe


def main() -> int:
    settings = settings_or_exit()
    try:
        applied = apply_migrations(settings)
    except MigrationError as error:
        print(f"api-cars: migrations failed on {describe(settings)}: {error}", file=sys.stderr)
        return 1
    if applied:
        print(f"Applied {len(applied)} migration(s) to {describe(settings)}: {', '.join(applied)}")
    else:
        print(f"{describe(settings)} is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
