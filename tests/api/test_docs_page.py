"""/docs: Swagger UI from the API's own origin, under a Content-Security-Policy admitting no other.

Plain HTTP here; tests/api_ops/test_docs_in_browser.py renders the page in Chromium.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest_asyncio
from carkit import serve

from api import docs
from api.config import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(
        Settings(sqlite_path=str(tmp_path / "cars.sqlite3"), auth_disabled=True)
    ) as client:
        yield client


class PageReferences(HTMLParser):
    """Every URL the page loads, and the text of each script element."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value is not None:
                self.urls.append(value)
        if tag == "script":
            self._in_script = True
            self.script_bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies[-1] += data


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


def page_references(html: str) -> PageReferences:
    parser = PageReferences()
    parser.feed(html)
    return parser


async def test_page_loads_only_files_of_its_own_origin_and_no_inline_script(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = page_references(response.text)
    assert page.urls, "the page loads nothing"
    for url in page.urls:
        assert url.startswith("/docs/") or url == "data:,", url
    assert page.script_bodies == ["", ""]


async def test_every_file_the_page_loads_is_served_with_its_type(client):
    page = page_references((await client.get("/docs")).text)
    types = {}
    for url in page.urls:
        if url.startswith("/docs/"):
            response = await client.get(url)
            assert response.status_code == 200, url
            assert response.content, url
            assert response.headers["x-content-type-options"] == "nosniff"
            types[url] = response.headers["content-type"]
    assert types == {
        "/docs/swagger-ui.css": "text/css; charset=utf-8",
        "/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
        "/docs/init.js": "text/javascript; charset=utf-8",
    }


async def test_content_security_policy_admits_this_origin_only(client):
    response = await client.get("/docs")
    directives = csp_directives(response.headers["content-security-policy"])
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    for name, sources in directives.items():
        for source in sources:
            # No host, scheme-wide source but data: for images, no inline code, no eval.
            assert source in {"'self'", "'none'"} or (name == "img-src" and source == "data:"), (
                f"{name} {source}"
            )


async def test_page_sends_no_referrer_and_is_not_sniffed(client):
    response = await client.get("/docs")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"


async def test_init_script_loads_the_served_document_and_no_validator(client):
    script = (await client.get("/docs/init.js")).text
    assert 'url: "/docs/openapi.json"' in script
    assert "validatorUrl: null" in script
    assert "http" not in script


async def test_file_answers_304_when_its_etag_is_sent_back(client):
    first = await client.get("/docs/swagger-ui.css")
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get(
        "/docs/swagger-ui.css", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_unknown_file_under_docs_is_a_404_problem(client):
    response = await client.get("/docs/swagger-initializer.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_served_bundle_is_the_swagger_ui_dist_version_the_lock_pins(client):
    lock = json.loads((REPO / "api/docs/package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/swagger-ui-dist"]
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]+=*", pinned["integrity"])
    manifest = json.loads((REPO / "api/docs/package.json").read_text())
    assert manifest["dependencies"]["swagger-ui-dist"] == pinned["version"]  # exact, no range
    bundle = (await client.get("/docs/swagger-ui-bundle.js")).text
    assert f'"{pinned["version"]}"' in bundle


async def test_without_the_copied_files_the_page_is_a_503_and_the_api_still_serves(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(docs.ASSETS, "swagger-ui.css", (tmp_path / "absent.css", "text/css"))
    async with serve(
        Settings(sqlite_path=str(tmp_path / "cars.sqlite3"), auth_disabled=True)
    ) as client:
        page = await client.get("/docs")
        assert page.status_code == 503
        assert "swagger-ui-assets.sh" in page.json()["detail"]
        assert (await client.get("/docs/init.js")).status_code == 503
        assert (await client.get("/v1/cars")).status_code == 200
