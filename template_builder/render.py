"""Render every template to YAML deterministically: committed files are compared byte for byte."""

from collections.abc import Callable
from pathlib import Path

from troposphere import Template

from template_builder import names
from template_builder.github_oidc import build_github_oidc_template
from template_builder.registry import build_registry_template
from template_builder.service_stack import build_template

# Each template, by its path relative to the repository root.
BUILDERS: dict[str, Callable[[], Template]] = {
    names.SERVICE_TEMPLATE_FILE: build_template,
    names.REGISTRY_TEMPLATE_FILE: build_registry_template,
    names.OIDC_TEMPLATE_FILE: build_github_oidc_template,
}
# `aws cloudformation deploy --template-file` without an S3 bucket accepts at most this many bytes.
TEMPLATE_BODY_LIMIT = 51_200


def render(build: Callable[[], Template]) -> str:
    """YAML with sorted keys (troposphere's default), so equal templates are equal text."""
    return build().to_yaml()


def render_all() -> dict[str, str]:
    return {path: render(build) for path, build in BUILDERS.items()}


def stale_files(root: Path, rendered: dict[str, str]) -> list[str]:
    """Paths whose committed text differs from what the builder produces (or that are missing)."""
    return [
        path
        for path, text in rendered.items()
        if not (root / path).is_file() or (root / path).read_text() != text
    ]


def write_all(root: Path, rendered: dict[str, str]) -> list[str]:
    """Write the templates that changed; return their paths."""
    changed = stale_files(root, rendered)
    for path in changed:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(rendered[path])
    return changed


def oversized(rendered: dict[str, str]) -> list[str]:
    return [path for path, text in rendered.items() if len(text.encode()) >= TEMPLATE_BODY_LIMIT]
