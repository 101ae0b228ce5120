"""inline_source: one compact, deterministic, self-contained source per handler for Code.ZipFile."""

import ast
import os
import shutil
import subprocess
import sys
import types

import pytest

from template_builder import lambda_code
from template_builder.lambda_code import InlineSourceError, inline_source

HANDLERS = ["vpc_lookup", "image_check"]


@pytest.mark.parametrize("name", HANDLERS)
def test_inlined_handler_fits_the_zipfile_limit_and_compiles(name):
    source = inline_source(name)

    assert len(source.encode()) < lambda_code.ZIPFILE_LIMIT
    compile(source, "index.py", "exec")


@pytest.mark.parametrize("name", HANDLERS)
def test_inlined_handler_stands_alone_with_index_handler(name):
    tree = ast.parse(inline_source(name))

    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= {"json", "logging", "threading", "time", "urllib", "boto3"}
    (handler,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler"]
    assert [arg.arg for arg in handler.args.args] == ["event", "context"]


def test_output_is_the_same_in_every_process():
    script = "from template_builder.lambda_code import inline_source as s\n" + "".join(
        f"print(s({name!r}))\n" for name in HANDLERS
    )
    here = "".join(f"{inline_source(name)}\n" for name in HANDLERS)
    for seed in ("1", "2"):
        run = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        assert run.stdout == here


def test_unknown_handler_is_refused_by_name():
    with pytest.raises(InlineSourceError, match="unknown handler 'vpc'; expected one of"):
        inline_source("vpc")


def test_handler_over_the_byte_budget_is_a_build_error(monkeypatch):
    monkeypatch.setattr(lambda_code, "ZIPFILE_LIMIT", 1000)

    with pytest.raises(InlineSourceError, match=r"inlined image_check is \d+ bytes, over"):
        inline_source("image_check")


@pytest.fixture
def lambdas_dir(tmp_path, monkeypatch):
    """A lambdas/ folder with the real protocol and a handler the test writes."""
    shutil.copy(lambda_code.LAMBDAS_DIR / "protocol.py", tmp_path / "protocol.py")
    monkeypatch.setattr(lambda_code, "LAMBDAS_DIR", tmp_path)
    return tmp_path


HANDLER_TAIL = """
def handler(event, context):
    return "from lambdas.protocol import Failed, prop"
"""


@pytest.mark.parametrize(
    "import_line",
    [
        "from lambdas.protocol import Failed, prop",
        "from lambdas.protocol import (\n    Failed,  # comment\n    prop,\n)",
        "from lambdas . protocol import Failed, \\\n    prop",
        "from .protocol import Failed, prop",
    ],
    ids=["plain", "parenthesized", "continued", "relative"],
)
def test_protocol_import_is_removed_from_the_syntax_tree_not_the_text(lambdas_dir, import_line):
    (lambdas_dir / "image_check.py").write_text(f'"""Doc."""\n\n{import_line}\n{HANDLER_TAIL}')

    module = types.ModuleType("index")
    exec(compile(inline_source("image_check"), "index.py", "exec"), module.__dict__)

    # The same words inside a string are data, and stay.
    assert module.handler(None, None) == "from lambdas.protocol import Failed, prop"


@pytest.mark.parametrize(
    ("import_line", "message"),
    [
        ("import lambdas.protocol", "use 'from lambdas.protocol import ...'"),
        ("from lambdas.protocol import prop as p", "must be a plain name"),
        ("from lambdas.protocol import nothing", "must be a plain name"),
    ],
)
def test_protocol_imports_that_cannot_be_inlined_are_refused(lambdas_dir, import_line, message):
    (lambdas_dir / "image_check.py").write_text(f"{import_line}\n{HANDLER_TAIL}")

    with pytest.raises(InlineSourceError, match=message):
        inline_source("image_check")


def test_handler_redefining_a_protocol_name_is_refused(lambdas_dir):
    (lambdas_dir / "image_check.py").write_text(f"def answer():\n    pass\n{HANDLER_TAIL}")

    with pytest.raises(InlineSourceError, match="redefines protocol names: answer"):
        inline_source("image_check")
