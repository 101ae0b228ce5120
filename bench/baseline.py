"""The baseline: a bare Sanic app answering a constant JSON object, served like the API.

`python -m bench.baseline PORT` serves GET / on 127.0.0.1:PORT in one process, no access log.
"""

from __future__ import annotations

import sys

from sanic import Sanic, json
from sanic.request import Request
from sanic.response import HTTPResponse

# About the size of a car as the API returns it, so both answers cost the same on the wire.
CONSTANT = {
    "id": 1,
    "make": "Toyota",
    "model": "Corolla",
    "year": 2021,
    "color": "white",
    "price": "18950.00",
    "mileage_km": 42000,
    "vin": "JTDBR32E530012345",
    "created_at": "2025-01-01T00:00:00Z",
    "updated_at": "2025-01-01T00:00:00Z",
}


def create_app() -> Sanic:
    app = Sanic("bench_baseline")
    # Bare: no sanic-ext (installed for the API, and Sanic would attach it on its own).
    app.config.AUTO_EXTEND = False

    @app.get("/")
    async def constant(request: Request) -> HTTPResponse:
        return json(CONSTANT)

    return app


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    port = int(argv[0]) if argv else 8001
    create_app().run(host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
