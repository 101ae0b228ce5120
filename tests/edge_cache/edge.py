"""One API process and the caching proxy in front of it, and how a test asks what reached the
origin (tests/edge_cache/conftest.py starts them)."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from tests.api_process import ApiProcess
from tests.auth_issuer import READ_SCOPE, WRITE_SCOPE, Issuer
from tests.edge_cache.varnish import Varnish

ORIGINS = ("https://a.example", "https://b.example")
LOG_TIMEOUT_S = 5.0
_request_numbers = itertools.count(1)


@dataclass
class Edge:
    """One API process and the cache in front of it."""

    api: ApiProcess
    cache: Varnish
    issuer: Issuer

    def client(self, token: str | None = None) -> httpx.Client:
        """A caller of the cache; with ``token``, every request carries it."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.cache.base_url, headers=headers, timeout=10)

    def writer(self) -> httpx.Client:
        return self.client(self.issuer.token(scope=f"{WRITE_SCOPE} {READ_SCOPE}"))

    def origin_saw(self, request_id: str) -> list[int]:
        """The statuses the API answered to requests with this X-Request-ID (polled: the access
        log is written just after the answer)."""
        deadline = time.monotonic() + LOG_TIMEOUT_S
        while True:
            statuses = [
                line["status"]
                for line in _access_lines(self.api.log_lines())
                if line.get("request_id") == request_id
            ]
            if statuses or time.monotonic() > deadline:
                return statuses
            time.sleep(0.02)

    def counters_after(self, condition: Callable[[dict[str, int]], bool]) -> dict[str, int]:
        """Varnish's counters once ``condition`` holds (a worker adds its counts to the totals
        after it has sent the answer), or as they are after LOG_TIMEOUT_S."""
        deadline = time.monotonic() + LOG_TIMEOUT_S
        while not condition(counters := self.cache.counters()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return counters


def request_id(what: str) -> dict[str, str]:
    """Headers naming a request uniquely, so the API's log tells whether it reached the origin."""
    return {"X-Request-ID": f"edge-{what}-{next(_request_numbers)}-{secrets.token_hex(3)}"}


def _access_lines(lines: list[str]) -> Iterator[dict]:
    for text in lines:
        if text.startswith("{") and '"api.access"' in text:
            yield json.loads(text)
