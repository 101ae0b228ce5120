"""Every grant on "*" in the builder says why, in a comment at the statement."""

import ast
from pathlib import Path

import template_builder

SOURCES = sorted(Path(template_builder.__file__).parent.glob("*.py"))


def any_resource_statements(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(
            isinstance(arg, ast.Attribute) and arg.attr == "ANY_RESOURCE" for arg in node.args
        ):
            yield node


def test_every_statement_on_any_resource_carries_a_comment_saying_why():
    found = 0
    for source in SOURCES:
        lines = source.read_text().splitlines()
        for call in any_resource_statements(ast.parse(source.read_text())):
            found += 1
            window = lines[max(0, call.lineno - 4) : call.end_lineno]
            comments = [line for line in window if line.strip().startswith("#")]
            assert any('"*"' in c for c in comments), f"{source.name}:{call.lineno}"
    assert found >= 5  # the scan sees the statements it is about
