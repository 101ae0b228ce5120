"""/docs in a real browser without internet: headless Chromium renders the cars operations.

Chromium is Debian's (`make test` installs it when absent), or the command in CHROMIUM. Every
request it makes to anything but loopback goes to a proxy that does not exist, so a page that needed
a CDN would stay blank here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

# Virtual time: Chromium fast-forwards timers and stops once the page is idle, so this is an upper
# bound on the page's own clock, not a wait.
VIRTUAL_TIME_BUDGET_MS = 20_000
CHROMIUM_TIMEOUT_S = 90
# Every flag keeps Chromium from reaching out on its own (updates, sync, field trials, first-run).
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    # Loopback bypasses proxies; all else goes to port 9 on loopback, where nothing listens.
    "--proxy-server=http://127.0.0.1:9",
    # The page's console (CSP violations among it) on stderr.
    "--enable-logging=stderr", "--v=0",
)  # fmt: skip


def chromium() -> str:
    command = os.environ.get("CHROMIUM", "chromium")
    path = shutil.which(command)
    if path is None:
        pytest.fail(
            f"{command} not found: `make test` installs Debian's chromium with apt-get "
            "(make chromium); this test needs it and never skips"
        )
    return path


@pytest.fixture(scope="module")
def rendered(start_api, tmp_path_factory, issuer) -> tuple[str, str]:
    """The /docs DOM once Swagger UI has rendered, and Chromium's stderr; writes need tokens, as
    deployed."""
    root = tmp_path_factory.mktemp("docs-browser")
    api = start_api(SQLITE_PATH=str(root / "cars.sqlite3"), **issuer.env())
    profile = root / "profile"
    profile.mkdir()
    done = subprocess.run(
        [
            chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}", "--dump-dom",
            f"{api.base_url}/docs",
        ],
        capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S, check=False,
    )  # fmt: skip
    if done.returncode != 0 or "<html" not in done.stdout:
        pytest.fail(f"chromium exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout, done.stderr


def operations(dom: str) -> set[tuple[str, str]]:
    """(method, path) of every operation block Swagger UI drew."""
    found = set()
    for block in re.findall(r'<div class="opblock opblock-(\w+)[^"]*".*?data-path="([^"]+)"', dom):
        found.add((block[0].upper(), block[1]))
    return found


def test_page_renders_every_cars_operation(rendered):
    dom, _ = rendered
    assert {
        ("GET", "/v1/cars"),
        ("POST", "/v1/cars"),
        ("GET", "/v1/cars/{car_id}"),
        ("PUT", "/v1/cars/{car_id}"),
        ("PATCH", "/v1/cars/{car_id}"),
        ("DELETE", "/v1/cars/{car_id}"),
    } <= operations(dom)


def test_page_shows_the_document_title(rendered):
    dom, _ = rendered
    assert re.search(r'<h1 class="title">api-cars<', dom)


def test_page_breaks_none_of_its_content_security_policy(rendered):
    _, log = rendered
    violations = [line for line in log.splitlines() if "Content Security Policy" in line]
    assert violations == []


def test_page_offers_to_authorize_with_a_bearer_token(rendered):
    dom, _ = rendered
    assert re.search(r'<button class="btn authorize[^"]*"', dom)
    # Each write operation shows the lock of its security requirement; reads show none.
    assert re.search(r"opblock-post.*?authorization__btn", dom, re.DOTALL)
