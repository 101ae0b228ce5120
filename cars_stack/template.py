"""The committed template: its body, its parameters and what they allow.

The ImageTag pattern is read from the template (one place for that fact), never repeated here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cfn_flip

from cars_stack.errors import BadInput
from template_builder.names import IMAGE_TAG, SERVICE_TEMPLATE_FILE

# CreateChangeSet takes at most this much as TemplateBody; larger templates need S3.
TEMPLATE_BODY_LIMIT = 51_200
_REPO_ROOT = Path(__file__).resolve().parent.parent


def default_template_path(relative_path: str = SERVICE_TEMPLATE_FILE) -> Path:
    """``templates/api-cars.yaml`` (or another committed template) in the working directory, else
    in the checkout we run from."""
    relative = Path(relative_path)
    return relative if relative.is_file() else _REPO_ROOT / relative


@dataclass(frozen=True)
class Template:
    body: str
    document: dict[str, Any]
    source: str

    @classmethod
    def from_file(cls, path: Path) -> Template:
        try:
            body = path.read_text(encoding="utf-8")
        except OSError as error:
            raise BadInput(f"cannot read template {path}: {error.strerror}") from None
        return cls.from_body(body, source=str(path))

    @classmethod
    def from_body(cls, body: str, *, source: str) -> Template:
        try:
            document, _ = cfn_flip.load(body)  # JSON or YAML with the short tags
        except Exception as error:  # yaml and json raise a dozen types; all mean "not a template"
            raise BadInput(f"{source} is not a readable CloudFormation template: {error}") from None
        if not isinstance(document, dict) or "Resources" not in document:
            raise BadInput(f"{source} is not a CloudFormation template (no Resources)")
        return cls(body=body, document=document, source=source)

    @classmethod
    def of_stack(cls, cfn: Any, stack_name: str) -> Template:
        """The template the stack was last deployed with."""
        body = cfn.get_template(StackName=stack_name)["TemplateBody"]
        if not isinstance(body, str):  # boto3 hands JSON templates back as a dict
            body = json.dumps(body)
        return cls.from_body(body, source=f"the template of stack {stack_name}")

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return dict(self.document.get("Parameters") or {})

    def required_parameters(self) -> list[str]:
        return [name for name, spec in self.parameters.items() if "Default" not in spec]

    def check_body_size(self) -> None:
        size = len(self.body.encode("utf-8"))
        if size > TEMPLATE_BODY_LIMIT:
            raise BadInput(
                f"{self.source} is {size} bytes, over CloudFormation's {TEMPLATE_BODY_LIMIT}-byte "
                "TemplateBody limit"
            )

    def check_parameter_keys(self, keys: list[str]) -> None:
        unknown = sorted(set(keys) - set(self.parameters))
        if unknown:
            known = ", ".join(sorted(self.parameters)) or "none"
            raise BadInput(
                f"unknown parameter {', '.join(unknown)} for {self.source} (parameters: {known})"
            )

    def check_value(self, key: str, value: str) -> None:
        """The template's own AllowedPattern/AllowedValues, checked before anything reaches AWS."""
        spec = self.parameters.get(key, {})
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            hint = spec.get("ConstraintDescription") or f"it must match {pattern}"
            raise BadInput(f"bad {key} {value!r}: {hint}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                raise BadInput(f"bad {key} {value!r}: not a number") from None
            low, high = spec.get("MinValue"), spec.get("MaxValue")
            if (low is not None and number < float(low)) or (
                high is not None and number > float(high)
            ):
                raise BadInput(f"bad {key} {value!r}: must be between {low} and {high}")
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [str(item) for item in allowed]:
            raise BadInput(
                f"bad {key} {value!r}: allowed values are {', '.join(map(str, allowed))}"
            )

    def check_version(self, version: str) -> None:
        if IMAGE_TAG not in self.parameters:
            raise BadInput(f"{self.source} has no {IMAGE_TAG} parameter")
        self.check_value(IMAGE_TAG, version)

    def retained_resources(self) -> list[str]:
        """Logical IDs CloudFormation keeps when the stack is deleted."""
        resources = self.document.get("Resources") or {}
        keep = {"Retain", "RetainExceptOnCreate", "Snapshot"}
        return [lid for lid, res in resources.items() if res.get("DeletionPolicy") in keep]
