"""The cache in front of the API is a real cache, following RFC 9111: the controls that show the
API's tests (test_api_behind_a_cache.py) would fail if the API's headers were wrong. A backend
of our own answers whatever headers a test asks for and counts what reaches it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.edge_cache.varnish import Varnish


class Backend:
    """Answers GET /<anything>?cc=<Cache-Control> with that header, an ETag, and 304 on a
    matching If-None-Match; records each request's conditional header."""

    ETAG = '"v1"'

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []  # (path, If-None-Match)
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                backend.seen.append((path, self.headers.get("If-None-Match")))
                cache_control = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                headers = {"ETag": Backend.ETAG}
                if "cc" in cache_control:
                    headers["Cache-Control"] = cache_control["cc"].replace("+", " ")
                if self.headers.get("If-None-Match") == Backend.ETAG:
                    self.send_response(304)
                    body = b""
                else:
                    self.send_response(200)
                    body = b"hello"
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def hits(self, path: str) -> list[str | None]:
        return [condition for seen, condition in self.seen if seen == path]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    server = Backend()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cache(backend: Backend) -> Iterator[Varnish]:
    varnish = Varnish(backend.port)
    # The readiness probe asks /health: answered by the backend like any path.
    varnish.start()
    yield varnish
    varnish.stop()


def twice(cache: Varnish, path: str, first: dict | None = None, second: dict | None = None):
    with httpx.Client(base_url=cache.base_url, timeout=10) as client:
        return client.get(path, headers=first or {}), client.get(path, headers=second or {})


def test_an_answer_without_cache_control_is_kept_heuristically(cache, backend):
    # What every read of the API would suffer without its Cache-Control (RFC 9111 4.2.2).
    twice(cache, "/plain")
    assert backend.hits("/plain") == [None]


def test_a_no_cache_answer_is_stored_and_revalidated_before_each_reuse(cache, backend):
    first, second = twice(cache, "/revalidated?cc=no-cache")
    assert backend.hits("/revalidated") == [None, Backend.ETAG]
    assert second.status_code == 200
    assert second.content == first.content == b"hello"


def test_a_private_answer_is_not_stored(cache, backend):
    twice(cache, "/private?cc=private,+no-cache")
    assert backend.hits("/private") == [None, None]


def test_an_answer_to_a_request_with_authorization_is_not_reused_by_default(cache, backend):
    # RFC 9111 3.5: max-age alone does not let a shared cache reuse it for anyone.
    token = {"Authorization": "Bearer a"}
    twice(cache, "/authorized?cc=max-age=60", token, {"Authorization": "Bearer b"})
    assert backend.hits("/authorized") == [None, None]


def test_an_answer_to_a_request_with_authorization_marked_public_is_shared(cache, backend):
    twice(cache, "/shared?cc=public,+max-age=60", {"Authorization": "Bearer a"})
    assert backend.hits("/shared") == [None]
