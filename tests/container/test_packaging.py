"""The api-cars distribution: setuptools builds it without a warning, and it holds every file the
API reads at run time (an installed, not editable, api-cars has no repository beside it)."""

from __future__ import annotations

import shutil
import sys
import zipfile

import pytest

SOURCES = (
    "setup.cfg",
    "pyproject.toml",
    "README.md",
    "api",
    "template_builder",
    "cars_stack",
    "lambdas",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory, repo, run) -> tuple[set[str], str]:
    """The wheel's file names and what the build printed, built from a copy of the sources."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (repo / name).is_dir():
            shutil.copytree(
                repo / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(repo / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    # The venv's setuptools (sanic requires it): no download, the warnings of an isolated build.
    done = run(
        sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "--no-build-isolation",
        "--wheel-dir", out, source, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("api_cars-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist()), done.stdout + done.stderr


def test_build_prints_no_setuptools_warning(built):
    _, output = built
    warnings = [line for line in output.splitlines() if "Warning" in line or "absent from" in line]
    assert warnings == []


def test_wheel_holds_the_sql_the_api_runs(built, repo):
    names, _ = built
    for path in [*repo.glob("api/sql/*.sql"), *repo.glob("api/migrations/*.sql")]:
        assert str(path.relative_to(repo)) in names


def test_wheel_holds_the_docs_page_and_swagger_ui_files(built):
    names, _ = built
    assert {
        "api/docs/init.js",
        "api/docs/swagger-ui/swagger-ui-bundle.js",
        "api/docs/swagger-ui/swagger-ui.css",
        "api/docs/swagger-ui/LICENSE",
    } <= names
