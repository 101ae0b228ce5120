"""The image's runtime without Docker: the venv of scripts/build-venv.sh (the one the image gets),
the api package alone in a work directory, the Dockerfile's own ENV, ENTRYPOINT and HEALTHCHECK.

This catches what a dev .venv hides: a module the API imports that only a dev tool installed.

This machine is glibc and the image is Alpine (musl): the venv that runs here holds the same
packages at the same pins, built by the same script, but from manylinux wheels. The musllinux venv
the image gets is built too (WHEEL_PLATFORM, as scripts/image-size-estimate.sh does) and checked
for its contents; only `docker build` and CI's smoke test run it on musl.
"""

from __future__ import annotations

import configparser
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

EXTRAS_ONLY = {"troposphere", "awacs", "boto3", "pytest", "moto", "ruff", "cfn-lint", "hypothesis"}
APP_VERSION = "v0.0.0-runtime-test"


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>!~ ;]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _install_requires(repo: Path) -> list[str]:
    config = configparser.RawConfigParser()
    config.read(repo / "setup.cfg")
    return [line for line in config["options"]["install_requires"].split("\n") if line.strip()]


# The Alpine base's wheels (as in scripts/image-size-estimate.sh).
MUSL_PLATFORM = "musllinux_1_2_x86_64"


def _build_venv(request, tmp_path_factory, repo, run, wheel_platform: str = "") -> Path:
    """Built once per set of pins (kept in pytest's cache), like the Docker layer it stands for."""
    script = repo / "scripts/build-venv.sh"
    key = hashlib.sha256(
        "\n".join(_install_requires(repo)).encode()
        + script.read_bytes()
        + sys.version.encode()
        + wheel_platform.encode()
    ).hexdigest()[:16]
    cache = getattr(request.config, "cache", None)
    home = cache.mkdir(f"runtime-venv-{key}") if cache else tmp_path_factory.mktemp("runtime-venv")
    venv, complete = home / "venv", home / "complete"
    env = {**os.environ, "PYTHON": sys.executable, "WHEEL_PLATFORM": wheel_platform}
    # Several pytest runs may share the cache at once: one builds, the others wait for it.
    with (home / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not complete.exists():
            shutil.rmtree(venv, ignore_errors=True)
            result = run(script, "setup.cfg", venv, env=env, timeout=600)
            assert result.returncode == 0, result.stderr[-3000:]
            complete.touch()
    return venv


@pytest.fixture(scope="session")
def runtime_venv(request, tmp_path_factory, repo, run) -> Path:
    """The image's venv for this machine (glibc wheels), so the API can run here."""
    return _build_venv(request, tmp_path_factory, repo, run)


@pytest.fixture(scope="session")
def musl_venv(request, tmp_path_factory, repo, run) -> Path:
    """The image's venv as the Alpine image gets it: musllinux wheels only."""
    return _build_venv(request, tmp_path_factory, repo, run, MUSL_PLATFORM)


def _distributions(venv: Path) -> set[str]:
    site = next((venv / "lib").glob("python3.*/site-packages"))
    return {_name(meta.name.split("-")[0]) for meta in site.glob("*.dist-info")}


@pytest.fixture
def app_dir(tmp_path, repo) -> Path:
    """/app of the image: the api package and nothing else from the repository."""
    app = tmp_path / "app"
    shutil.copytree(repo / "api", app / "api", ignore=shutil.ignore_patterns("__pycache__"))
    return app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def image_env(runtime, runtime_venv, app_dir, tmp_path) -> dict[str, str]:
    """The Dockerfile's ENV with the image's paths mapped onto this machine."""
    env = dict(runtime.env)
    env.update(
        PATH=f"{runtime_venv}/bin:/usr/bin:/bin",
        VIRTUAL_ENV=str(runtime_venv),
        PYTHONPATH=str(app_dir),
        HOST="127.0.0.1",
        PORT=str(_free_port()),
        SQLITE_PATH=str(tmp_path / "api-cars.sqlite3"),
        APP_VERSION=APP_VERSION,
        GIT_SHA="0" * 40,
        BUILD_DATE="2026-01-01T00:00:00Z",
        # Serving needs an issuer or this; the auth code is imported (and its library loaded)
        # either way.
        AUTH_DISABLED="true",
    )
    assert not [value for value in env.values() if "${" in value], env
    return env


def _get(port: str, path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
        return answer.status, answer.read()


def _start(runtime, env: dict[str, str], app_dir: Path) -> subprocess.Popen:
    entrypoint = list(runtime.one("ENTRYPOINT").value)
    server = subprocess.Popen(
        entrypoint, cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if _get(env["PORT"], "/health")[0] == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            output = server.communicate()[0].decode(errors="replace")
            pytest.fail(f"the entrypoint did not answer /health within 30 s:\n{output[-3000:]}")
        time.sleep(0.1)


@pytest.fixture
def server(runtime, image_env, app_dir):
    process = _start(runtime, image_env, app_dir)
    yield process
    if process.poll() is None:
        process.kill()
    process.communicate()


def test_runtime_venv_holds_install_requires_and_nothing_of_the_extras(runtime_venv, repo, run):
    listing = run(
        runtime_venv / "bin/python",
        "-c",
        "import importlib.metadata as m\nfor d in m.distributions(): print(d.metadata['Name'])",
    )
    installed = {_name(line) for line in listing.stdout.split()}
    assert {_name(r) for r in _install_requires(repo)} <= installed
    assert installed & EXTRAS_ONLY == set()
    assert "pip" not in installed, "the runtime venv carries no installer"


def test_musl_venv_has_the_same_distributions_as_the_one_that_runs_here(musl_venv, runtime_venv):
    assert _distributions(musl_venv) == _distributions(runtime_venv)


def test_musl_venv_extensions_are_all_built_for_musl(musl_venv):
    # A missing musllinux wheel fails build-venv.sh (wheels only), so every extension is musl's.
    extensions = [p.name for p in musl_venv.rglob("*.so") if "cpython-311" in p.name]
    assert extensions, "no C extension at all: the wheels were not installed"
    assert all(name.endswith("-linux-musl.so") for name in extensions), extensions


def test_musl_venv_is_stripped_byte_compiled_and_carries_no_pip(musl_venv):
    assert "pip" not in _distributions(musl_venv)
    assert list(musl_venv.rglob("sanic/__pycache__/__init__.cpython-311.pyc"))
    assert (musl_venv / "bin/sanic").exists(), "console scripts live in the venv's bin/"
    uvloop = next(musl_venv.rglob("uvloop/loop.cpython-311-x86_64-linux-musl.so"))
    assert uvloop.stat().st_size < 5_000_000, "uvloop keeps its debug symbols (~14 MB unstripped)"


def test_healthcheck_command_passes_against_the_entrypoints_server(
    server, runtime, image_env, app_dir, run
):
    command = list(runtime.one("HEALTHCHECK").value)[1:]  # drop "CMD"
    result = run(*command, cwd=app_dir, env=image_env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_version_reports_the_images_app_version(server, image_env):
    status, body = _get(image_env["PORT"], "/version")
    assert status == 200
    assert json.loads(body)["version"] == APP_VERSION


def test_healthcheck_command_fails_when_nothing_answers(runtime, image_env, app_dir, run):
    command = list(runtime.one("HEALTHCHECK").value)[1:]
    result = run(*command, cwd=app_dir, env=image_env, timeout=30)
    assert result.returncode != 0


def _catches(pid: int, signum: int) -> bool:
    """Whether the process has installed a handler for `signum` (Linux: SigCgt in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE).group(1), 16)
    return bool(caught & (1 << (signum - 1)))


def test_sigterm_stops_the_entrypoint_cleanly_within_the_grace_period(server):
    # Sanic answers requests a moment before it installs its SIGTERM handler: wait for the handler,
    # as ECS only stops a task long after it started.
    deadline = time.monotonic() + 10
    while not _catches(server.pid, signal.SIGTERM):
        assert time.monotonic() < deadline, "the server never installed a SIGTERM handler"
        time.sleep(0.05)
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=25)  # SHUTDOWN_GRACE_SECONDS (20) and a margin; ECS allows 30
    except subprocess.TimeoutExpired:
        pytest.fail("still running 25 s after SIGTERM")
    assert server.returncode == 0
