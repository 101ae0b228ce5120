"""AWS CloudFormation Guard as a gate (`make lint-cfn`): the Control Tower proactive controls on the
generated templates and their decided variants, with suppressions read from resource metadata.

The Control Tower rules have no suppression clause of their own, so this runner applies the
cfn-guard convention after the fact: a failure of rule R on resource X is dropped when X's
``Metadata.guard.SuppressedRules`` lists ``{id: R, reason: WHY}`` (what
template_builder.metadata.guard_skips writes). A suppression without a reason is an error, and
so is a stale one: a suppression of a rule that fails on that resource in none of the documents
of the run (so run every document at once, as the Makefile does: a suppression may be needed by
the template with its Conditions and by no variant, or the reverse).

    python -m template_builder.guard [--cfn-guard BIN] [--rules DIR] DATA...

The binary and rules default to where `make guard-tools` installs them. DATA are template
files or folders of them (.yaml, .yml, .json). Prints one line per remaining failure or
suppression error, ``template: resource: rule: message``; exits 1 if any, 2 when cfn-guard
cannot run.
"""

import argparse
import json
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cfn_flip

ROOT = Path(__file__).resolve().parent.parent
# Where `make guard-tools` installs @cdklabs/cdk-validator-cfnguard (tools/cfn-guard/package.json).
PACKAGE = ROOT / ".tools" / "cfn-guard" / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
CFN_GUARD = PACKAGE / "bin" / "ubuntu" / platform.machine() / "cfn-guard"
RULES = PACKAGE / "rules" / "control-tower" / "cfn-guard"
DATA_SUFFIXES = (".yaml", ".yml", ".json")
# cfn-guard 3.x: 0 when every rule passes or skips, 19 when one fails; anything else is an error.
EXIT_PASS, EXIT_FAIL = 0, 19
RESOURCE_PATH = re.compile(r"^/Resources/([^/]+)")
NO_RESOURCE = "-"
SHAPE = "Metadata.guard.SuppressedRules must list {id: RULE, reason: WHY} objects"


class GuardError(Exception):
    """cfn-guard could not run, or answered something this runner cannot read."""


@dataclass(frozen=True, order=True)
class Finding:
    template: str
    resource: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.template}: {self.resource}: {self.rule}: {self.message}"


def data_files(paths: Iterable[Path]) -> list[Path]:
    """The template files named, and those in the folders named, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in DATA_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise GuardError(f"no template file or folder {path}")
    if not files:
        raise GuardError(
            f"no templates ({', '.join(DATA_SUFFIXES)}) in {', '.join(map(str, paths))}"
        )
    return files


def run_cfn_guard(cfn_guard: Path, rules: Path, files: Sequence[Path]) -> list[dict]:
    """cfn-guard's structured JSON report: one entry per data file."""
    if not cfn_guard.is_file():
        raise GuardError(f"no cfn-guard binary at {cfn_guard}: run `make guard-tools`")
    if not rules.is_dir():
        raise GuardError(f"no Guard rules folder {rules}: run `make guard-tools`")
    command = [str(cfn_guard), "validate", "--rules", str(rules), "--output-format", "json"]
    command += ["--show-summary", "none", "--structured"]
    for file in files:
        command += ["--data", str(file)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode not in (EXIT_PASS, EXIT_FAIL):
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise GuardError(
            f"cfn-guard exited {result.returncode}: {detail[0] if detail else 'no output'}"
        )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise GuardError(f"cfn-guard's output is not JSON: {error}") from error
    if not isinstance(report, list):
        raise GuardError("cfn-guard's output is not a list of per-file reports")
    # Fail closed: a failing exit whose report names no failure is a report this runner misreads.
    failed = any(isinstance(d, dict) and d.get("not_compliant") for d in report)
    if failed != (result.returncode == EXIT_FAIL):
        raise GuardError(f"cfn-guard exited {result.returncode}, its report disagrees")
    return report


def _walk(node: object, key: str) -> Iterable[object]:
    """Every value stored under `key` anywhere in a nested JSON value."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            yield from _walk(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, key)


def _message(rule_report: dict) -> str:
    """The rule's own first message line, e.g. `[CT.LAMBDA.PR.3]: Require ...`."""
    for message in _walk(rule_report, "custom_message"):
        if isinstance(message, str) and message.strip():
            return message.strip().splitlines()[0].strip()
    return "failed"


def failures(report: list[dict]) -> list[Finding]:
    """One finding per failing rule and resource: a resource is one whose path a failing
    clause names (a rule that fails with no resource path gets the resource `-`)."""
    found = set()
    for document in report:
        for entry in document.get("not_compliant", []):
            rule_report = entry.get("Rule", entry)
            rule = rule_report["name"]
            paths = [p for p in _walk(rule_report, "path") if isinstance(p, str)]
            resources = {m.group(1) for p in paths if (m := RESOURCE_PATH.match(p))}
            message = _message(rule_report)
            for resource in resources or {NO_RESOURCE}:
                found.add(Finding(document["name"], resource, rule, message))
    return sorted(found)


def load_template(path: Path) -> dict:
    try:
        document, _ = cfn_flip.load(path.read_text())  # JSON or YAML with the short tags
    except Exception as error:  # cfn_flip raises json/yaml errors alike
        raise GuardError(f"{path}: not a JSON or YAML template: {error}") from error
    return document if isinstance(document, dict) else {}


def suppressions(template: dict, name: str) -> tuple[dict[tuple[str, str], str], list[Finding]]:
    """The template's suppressions, {(resource, rule): reason}, and the malformed ones."""
    found: dict[tuple[str, str], str] = {}
    errors: list[Finding] = []
    for resource, body in (template.get("Resources") or {}).items():
        guard = ((body or {}).get("Metadata") or {}).get("guard")
        if guard is None:
            continue
        rules = guard.get("SuppressedRules") if isinstance(guard, dict) else None
        if not isinstance(rules, list):
            errors.append(Finding(name, resource, NO_RESOURCE, f"{SHAPE}, not {rules!r}"))
            continue
        for item in rules:
            rule = item.get("id") if isinstance(item, dict) else item
            reason = item.get("reason") if isinstance(item, dict) else None
            if not isinstance(rule, str) or not rule:
                errors.append(Finding(name, resource, NO_RESOURCE, f"{SHAPE}, not {item!r}"))
            elif not isinstance(reason, str) or not reason.strip():
                errors.append(
                    Finding(name, resource, rule, f"suppressed without a reason: {SHAPE}")
                )
            else:
                found[(resource, rule)] = reason
    return found, errors


def gate(report: list[dict], templates: dict[str, dict]) -> list[Finding]:
    """What fails the gate: unsuppressed failures, malformed suppressions and stale ones.

    `templates` maps each report entry's name to the parsed template.
    """
    problems: list[Finding] = []
    suppressed_by: dict[str, dict[tuple[str, str], str]] = {}
    for name, template in templates.items():
        suppressed_by[name], errors = suppressions(template, name)
        problems += errors
    used: set[tuple[str, str]] = set()
    for finding in failures(report):
        key = (finding.resource, finding.rule)
        if key in suppressed_by.get(finding.template, {}):
            used.add(key)
        else:
            problems.append(finding)
    for name, suppressed in suppressed_by.items():
        for resource, rule in suppressed.keys() - used:
            problems.append(
                Finding(
                    name,
                    resource,
                    rule,
                    "stale suppression: the rule fails on this resource in no template checked",
                )
            )
    return sorted(set(problems))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m template_builder.guard",
        description="cfn-guard on templates, suppressions from Metadata.guard (docs/guard.md).",
    )
    parser.add_argument("--cfn-guard", type=Path, default=CFN_GUARD, help="the cfn-guard binary")
    parser.add_argument("--rules", type=Path, default=RULES, help="a folder of Guard rules")
    parser.add_argument("data", type=Path, nargs="+", help="template files or folders")
    args = parser.parse_args(argv)
    try:
        files = data_files(args.data)
        report = run_cfn_guard(args.cfn_guard, args.rules, files)
        templates = {str(file): load_template(file) for file in files}
    except GuardError as error:
        print(f"guard: {error}", file=sys.stderr)
        return 2
    # cfn-guard names each file by its absolute path: report it by the path given.
    given = {str(file.resolve()): str(file) for file in files}
    for entry in report:
        entry["name"] = given.get(str(Path(str(entry.get("name"))).resolve()), entry.get("name"))
    reported = {entry["name"] for entry in report}
    if reported != templates.keys():
        # Fail closed: a template cfn-guard did not report on was not checked.
        print(
            f"guard: cfn-guard reported on {sorted(map(str, reported))}, "
            f"not on the templates given {sorted(templates)}",
            file=sys.stderr,
        )
        return 2
    problems = gate(report, templates)
    for problem in problems:
        print(problem)
    print(
        f"guard: {len(files)} templates, {len(problems)} problem(s)",
        file=sys.stderr if problems else sys.stdout,
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
