"""The documentation page, /docs: Swagger UI served by the API itself, nothing from elsewhere.

The files come from swagger-ui-dist as pinned (with its sha512) in ``api/docs/package-lock.json``;
``scripts/swagger-ui-assets.sh`` copies them into ``api/docs/swagger-ui/`` (``make dev`` and the
Dockerfile run it). The page's Content-Security-Policy admits this origin only, so the page works
without internet and a script from anywhere else, inline ones included, does not run on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sanic import HTTPResponse, Request, Sanic

from api.auth import public
from api.caching import REVALIDATE, body_etag, none_match
from api.problems import NotFound, Problem

log = logging.getLogger("api.docs")

HERE = Path(__file__).resolve().parent
SWAGGER_UI_DIR = HERE / "swagger-ui"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Swagger UI's stylesheet draws its icons as data: SVG images.
        "img-src 'self' data:",
        # The document and "Try it out" requests: this API only.
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

PAGE = b"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>api-cars</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

# Every file the page loads, by the name it is served under.
ASSETS = {
    "swagger-ui-bundle.js": (SWAGGER_UI_DIR / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (SWAGGER_UI_DIR / "swagger-ui.css", "text/css"),
    "init.js": (HERE / "init.js", "text/javascript"),
}

# On every response under /docs: no content sniffing, and the page's URL is not sent anywhere.
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class AssetsMissing(Problem):
    status = 503


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset] | None:
    """The page's files, read once; None when swagger-ui-dist's files were never copied here."""
    assets = {}
    for name, (path, content_type) in ASSETS.items():
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return None
        assets[name] = Asset(body, f"{content_type}; charset=utf-8", body_etag(body))
    return assets


def install(app: Sanic) -> None:
    """Serve the page at /docs and its files at /docs/<name>."""
    assets = load_assets()
    if assets is None:
        # The API still serves cars; only the page is missing, and it says how to get it.
        log.warning("Swagger UI files missing in %s: /docs answers 503", SWAGGER_UI_DIR)

    def require_assets() -> dict[str, Asset]:
        if assets is None:
            raise AssetsMissing(
                "The documentation page's files are not installed "
                "(scripts/swagger-ui-assets.sh; make dev runs it)."
            )
        return assets

    async def docs_page(request: Request) -> HTTPResponse:
        require_assets()
        headers = {
            **COMMON_HEADERS,
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": REVALIDATE,
        }
        return HTTPResponse(PAGE, content_type="text/html; charset=utf-8", headers=headers)

    async def docs_asset(request: Request, name: str) -> HTTPResponse:
        asset = require_assets().get(name)
        if asset is None:
            raise NotFound(f"No file {name} under /docs.")
        # The URL does not change with the version: revalidate, and a 304 costs no body.
        headers = {**COMMON_HEADERS, "ETag": asset.etag, "Cache-Control": REVALIDATE}
        if none_match(request.headers.get("if-none-match"), asset.etag):
            return HTTPResponse(status=304, headers=headers)
        return HTTPResponse(asset.body, content_type=asset.content_type, headers=headers)

    docs_page.__openapi__ = None
    docs_asset.__openapi__ = None
    app.add_route(public(docs_page), "/docs", methods=["GET"], name="docs_page")
    app.add_route(public(docs_asset), "/docs/<name:str>", methods=["GET"], name="docs_asset")
