"""The plain path: the README's `aws cloudformation deploy` command for the service stack, run by
AWS CLI v1 against moto's server on the real generated template, so the command, its capabilities
and parameter names are known to be accepted. `--no-execute-changeset` is added: it stops before
the custom resources would have to run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from template_builder.names import IDENTITY_TEMPLATE_FILE, IMAGE_TAG, SERVICE_TEMPLATE_FILE

REPO_ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = Path(sys.executable).with_name("aws")


def readme_deploy_command(template_file: str = SERVICE_TEMPLATE_FILE) -> list[str]:
    """The README's deploy command for a template, continuation lines joined."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    pattern = rf"aws cloudformation deploy --template-file {re.escape(template_file)}[^\n`]*"
    found = re.search(pattern, text)
    assert found, f"README.md has no `aws cloudformation deploy` of {template_file}"
    return shlex.split(found.group(0))


def test_the_readme_deploy_command_is_accepted_with_the_real_template(aws) -> None:
    argv = readme_deploy_command()
    completed = subprocess.run(
        [str(AWS_CLI), *argv[1:], "--no-execute-changeset"],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    cfn = aws("cloudformation")
    stack_name = argv[argv.index("--stack-name") + 1]
    summaries = cfn.list_change_sets(StackName=stack_name)["Summaries"]
    assert [s["Status"] for s in summaries] == ["CREATE_COMPLETE"]
    described = cfn.describe_change_set(ChangeSetName=summaries[0]["ChangeSetId"])
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    given = next(a for a in argv if a.startswith(f"{IMAGE_TAG}="))
    assert parameters[IMAGE_TAG] == given.split("=", 1)[1]


def test_the_readme_deploy_command_of_the_identity_stack_is_accepted(aws) -> None:
    argv = readme_deploy_command(IDENTITY_TEMPLATE_FILE)
    completed = subprocess.run(
        [str(AWS_CLI), *argv[1:], "--no-execute-changeset"],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    stack_name = argv[argv.index("--stack-name") + 1]
    assert stack_name == "api-cars-identity"
    summaries = aws("cloudformation").list_change_sets(StackName=stack_name)["Summaries"]
    assert [s["Status"] for s in summaries] == ["CREATE_COMPLETE"]
