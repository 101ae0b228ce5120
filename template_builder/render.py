"""Render every template to YAML deterministically: committed files are compared byte for byte."""

import json
from collections.abc import Callable
from pathlib import Path

import cfn_flip
import yaml
from cfn_flip.yaml_dumper import Dumper as CfnDumper
from troposphere import Template

from template_builder import architecture, names, picture
from template_builder.data.stack import build_data_template
from template_builder.data.stack_policy import stack_policy_text
from template_builder.edge.global_stack import build_edge_global_template
from template_builder.edge.stack import build_edge_template
from template_builder.github_oidc import build_github_oidc_template
from template_builder.identity.stack import build_identity_template
from template_builder.imports.stack import build_import_template
from template_builder.network_stack import build_network_template
from template_builder.registry import build_registry_template
from template_builder.service_stack import build_template

# Each template, by its path relative to the repository root.
BUILDERS: dict[str, Callable[[], Template]] = {
    names.SERVICE_TEMPLATE_FILE: build_template,
    names.REGISTRY_TEMPLATE_FILE: build_registry_template,
    names.OIDC_TEMPLATE_FILE: build_github_oidc_template,
    names.DATA_TEMPLATE_FILE: build_data_template,
    names.IDENTITY_TEMPLATE_FILE: build_identity_template,
    names.NETWORK_TEMPLATE_FILE: build_network_template,
    names.EDGE_TEMPLATE_FILE: build_edge_template,
    names.EDGE_GLOBAL_TEMPLATE_FILE: build_edge_global_template,
    names.IMPORT_TEMPLATE_FILE: build_import_template,
}
# Other generated files: the data stack's policy, for `aws cloudformation set-stack-policy`.
DOCUMENTS: dict[str, Callable[[], str]] = {names.DATA_STACK_POLICY_FILE: stack_policy_text}
# `aws cloudformation deploy --template-file` without an S3 bucket accepts at most this many bytes.
TEMPLATE_BODY_LIMIT = 51_200
# Each template's allowance, with headroom under that limit (docs/architecture.md): a feature that
# does not fit goes to the stack whose lifecycle it shares, not into a squeezed template.
TEMPLATE_BUDGETS: dict[str, int] = {
    names.REGISTRY_TEMPLATE_FILE: 20_480,
    names.NETWORK_TEMPLATE_FILE: 24_576,
    names.DATA_TEMPLATE_FILE: 40_960,
    names.SERVICE_TEMPLATE_FILE: 50_176,
    names.OIDC_TEMPLATE_FILE: 45_056,
    names.IDENTITY_TEMPLATE_FILE: 12_288,
    names.EDGE_TEMPLATE_FILE: 40_960,
    names.EDGE_GLOBAL_TEMPLATE_FILE: 40_960,
    names.IMPORT_TEMPLATE_FILE: 40_960,
}


class _Dumper(CfnDumper):
    """cfn-flip's short-form YAML, with block sequences at their key's indent (`key:` then `- item`,
    PyYAML's and kubectl's style) instead of two spaces in: the same document in about 6% fewer
    bytes, which the 51,200-byte limit counts."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return yaml.emitter.Emitter.increase_indent(self, flow, indentless)


def to_yaml(template: Template) -> str:
    """YAML with sorted keys (troposphere's default), so equal templates are equal text."""
    data, _ = cfn_flip.load(template.to_json())
    return yaml.dump(
        cfn_flip.cfn_literal_parser(data),
        Dumper=_Dumper,
        default_flow_style=False,
        allow_unicode=True,
        width=cfn_flip.config.max_col_width,
    )


def render(build: Callable[[], Template]) -> str:
    """One template's committed text."""
    return to_yaml(build())


def architecture_source(templates: dict[str, dict]) -> str:
    """The architecture picture's dot source, drawn from the templates (path -> the document
    that is rendered to YAML: `json.loads(template.to_json())`, or the committed text parsed)."""
    return picture.dot_source(architecture.build(templates))


def render_all() -> dict[str, str]:
    """Every generated file by path: the templates, the other documents, then the picture's
    source (docs/architecture.dot; the PNG drawn from it is not compared: see picture.py)."""
    built = {path: build() for path, build in BUILDERS.items()}
    templates = {path: to_yaml(template) for path, template in built.items()}
    documents = {path: write() for path, write in DOCUMENTS.items()}
    bodies = {path: json.loads(template.to_json()) for path, template in built.items()}
    return templates | documents | {picture.DOT_FILE: architecture_source(bodies)}


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


def oversized(rendered: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Templates over their allowance: path -> (bytes, allowance)."""
    return {
        path: (len(rendered[path].encode()), budget)
        for path, budget in TEMPLATE_BUDGETS.items()
        if len(rendered[path].encode()) > budget
    }
