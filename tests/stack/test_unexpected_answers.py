"""An endpoint that answers something other than AWS (a proxy's error page, a web server, the wrong
port): the one line says what came back (endpoint, operation, HTTP status, content type, the start
of the body), never only what it is not."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@pytest.fixture
def not_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list]]:
    """An HTTP server at AWS_ENDPOINT_URL answering every request with the scripted answer."""
    answer: list[tuple[int, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, content_type, body = answer[0]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    yield url, answer
    server.shutdown()
    thread.join()


def test_a_proxys_error_page_is_named_with_its_status_and_body(cli, not_aws) -> None:
    url, answer = not_aws
    answer.append((502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"))
    result = cli("status")
    assert result.code == 2
    assert result.err == (
        f"cars-stack status: {url} answered DescribeStacks with HTTP 502 (text/html): "
        "<html><body><h1>502 Bad Gateway</h1></body></html>, which is not an AWS answer "
        "(check AWS_ENDPOINT_URL and any proxy)\n"
    )


def test_an_answer_to_the_data_stacks_deploy_is_named_too(cli, not_aws) -> None:
    """Deploy asks about the data stack through a context of its own (Context.for_stack): what
    came back to that context is what the one line names."""
    url, answer = not_aws
    answer.append((502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"))
    result = cli("deploy", "--only", "data", "--yes")
    assert result.code == 2
    assert result.err == (
        f"cars-stack deploy: {url} answered DescribeStacks with HTTP 502 (text/html): "
        "<html><body><h1>502 Bad Gateway</h1></body></html>, which is not an AWS answer "
        "(check AWS_ENDPOINT_URL and any proxy)\n"
    )


def test_an_answer_botocore_reads_without_any_error_code_is_named(cli, not_aws) -> None:
    url, answer = not_aws
    answer.append((502, "text/html", b"<h1>502 Bad Gateway</h1>"))
    result = cli("status")
    assert result.code == 2
    assert result.err == (
        f"cars-stack status: {url} answered DescribeStacks with HTTP 502 (text/html): "
        "<h1>502 Bad Gateway</h1>, which is not an AWS answer (check AWS_ENDPOINT_URL and any "
        "proxy)\n"
    )


def test_a_json_answer_to_a_query_api_is_named_with_its_status_and_body(cli, not_aws) -> None:
    url, answer = not_aws
    answer.append((404, "application/json", b'{"detail": "Not Found"}'))
    result = cli("status")
    assert result.code == 2
    assert result.err == (
        f"cars-stack status: {url} answered DescribeStacks with HTTP 404 (application/json): "
        '{"detail": "Not Found"}, which is not an AWS answer (check AWS_ENDPOINT_URL and any '
        "proxy)\n"
    )


def test_a_web_page_answered_with_200_is_one_line_not_a_traceback(cli, not_aws) -> None:
    url, answer = not_aws
    answer.append((200, "text/html; charset=utf-8", b"<html>It works!</html>"))
    result = cli("status")
    assert result.code == 2
    assert result.err == (
        f"cars-stack status: {url} answered DescribeStacks with HTTP 200 "
        "(text/html; charset=utf-8): <html>It works!</html>, which is not an AWS answer "
        "(check AWS_ENDPOINT_URL and any proxy)\n"
    )


def test_an_aws_error_names_its_code_and_http_status(cli, stubbed) -> None:
    stubbed.cfn_stub.add_client_error(
        "describe_stacks",
        service_error_code="Throttling",
        service_message="Rate exceeded",
        http_status_code=400,
    )
    result = cli("status", clients=stubbed.clients)
    assert result.code == 1
    assert result.err == (
        "cars-stack status: AWS refused DescribeStacks (Throttling, HTTP 400): Rate exceeded\n"
    )
