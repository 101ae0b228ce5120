"""Inline a custom resource handler as one readable source for ``Code.ZipFile``.

``lambdas/protocol.py`` and the handler become one module (``index.py`` in Lambda, so the
function's Handler is ``index.handler``): the handler's ``from lambdas.protocol import ...`` is
removed from its syntax tree and the protocol's statements go first. The source stays as written,
names and layout kept; only docstrings and comments go (``ast.unparse`` keeps no comments), so what
a reviewer reads in the template's change set is the code in lambdas/. ``ZipFile`` may hold 4 MB
(the CloudFormation resource schema; the old 4,096-byte cap is gone): the binding limit is each
template's byte allowance (``render.py``), which the network and registry stacks, where the
functions live, have room for. The output is deterministic, because the rendered templates are
committed and compared byte for byte.
"""

import ast
from pathlib import Path

HANDLERS = ("vpc_lookup", "image_check")
# Handlers that are no custom resource: inlined alone, without the protocol (the bulk import).
STANDALONE = ("bulk_import",)
PROTOCOL_MODULE = "lambdas.protocol"
# AWS::Lambda::Function Code.ZipFile's maxLength in the CloudFormation resource schema.
ZIPFILE_LIMIT = 4 * 1024 * 1024
LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"


class InlineSourceError(ValueError):
    """The handler cannot be inlined: unknown, wrongly shaped, or over the byte budget."""


def _top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _is_protocol_import(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.level, node.module) in ((0, PROTOCOL_MODULE), (1, "protocol"))
    if isinstance(node, ast.Import) and any(a.name == PROTOCOL_MODULE for a in node.names):
        raise InlineSourceError(
            f"use 'from {PROTOCOL_MODULE} import ...' in handlers: a module object "
            "does not exist once inlined"
        )
    return False


def combined_module(name: str) -> ast.Module:
    """The protocol's statements followed by the handler's, minus its protocol import (a
    STANDALONE handler: its own statements only)."""
    if name in STANDALONE:
        return ast.parse((LAMBDAS_DIR / f"{name}.py").read_text(), f"{name}.py")
    if name not in HANDLERS:
        raise InlineSourceError(f"unknown handler {name!r}; expected one of {', '.join(HANDLERS)}")
    protocol = ast.parse((LAMBDAS_DIR / "protocol.py").read_text(), "protocol.py")
    handler = ast.parse((LAMBDAS_DIR / f"{name}.py").read_text(), f"{name}.py")
    provided = _top_level_names(protocol)
    body = []
    for node in handler.body:
        if _is_protocol_import(node):
            for alias in node.names:
                if alias.asname or alias.name not in provided:
                    raise InlineSourceError(
                        f"{name}.py: 'import {alias.name}' from the protocol must be a plain "
                        f"name defined at its top level ({', '.join(sorted(provided))})"
                    )
            continue
        body.append(node)
    clashes = provided & _top_level_names(ast.Module(body=body, type_ignores=[]))
    if clashes:
        raise InlineSourceError(f"{name}.py redefines protocol names: {', '.join(sorted(clashes))}")
    return ast.Module(body=protocol.body + body, type_ignores=[])


def _without_docstrings(tree: ast.Module) -> ast.Module:
    """Drop docstrings and other bare string statements (the handler's module docstring sits
    after the protocol's code once combined)."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        kept = [
            statement
            for statement in body
            if not (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            )
        ]
        node.body = kept or [ast.Pass()]
    return tree


def inline_source(name: str) -> str:
    """The self-contained source of handler ``name`` (HANDLERS, STANDALONE)."""
    source = ast.unparse(_without_docstrings(combined_module(name))) + "\n"
    compile(source, "index.py", "exec")
    size = len(source.encode())
    if size >= ZIPFILE_LIMIT:
        raise InlineSourceError(
            f"inlined {name} is {size} bytes, over CloudFormation's ZipFile limit of "
            f"{ZIPFILE_LIMIT - 1}: shorten lambdas/{name}.py or lambdas/protocol.py"
        )
    return source
