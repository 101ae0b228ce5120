""".pre-commit-config.yaml: the make lint linters, pinned, runnable from a clone after make init."""

import re
import shlex


def _hooks(precommit) -> dict[str, dict]:
    return {hook["id"]: hook for repo in precommit["repos"] for hook in repo["hooks"]}


def test_precommit_runs_every_linter_of_make_lint(precommit):
    expected = {
        "ruff-check",
        "ruff-format",
        "hadolint",
        "shellcheck",
        "actionlint",
        "compose-schema",
        "cfn-lint",
    }
    assert expected <= set(_hooks(precommit))


def test_remote_hook_repositories_are_pinned_to_a_release_or_commit(precommit):
    remote = [repo for repo in precommit["repos"] if repo["repo"] not in ("local", "meta")]
    assert remote
    for repo in remote:
        assert re.fullmatch(r"v\d+\.\d+\.\d+|[0-9a-f]{40}", repo["rev"]), repo


def test_local_hooks_run_the_projects_own_tools(precommit, repo):
    makefile = (repo / "Makefile").read_text()
    local = [hook for r in precommit["repos"] if r["repo"] == "local" for hook in r["hooks"]]
    for hook in local:
        program, *arguments = shlex.split(hook["entry"])
        if program == "make":
            assert re.search(rf"^{re.escape(arguments[0])}:", makefile, re.MULTILINE), hook["id"]
        else:
            assert program.startswith(".venv/bin/"), hook["id"]
            assert (repo / program).exists(), f"{program} is missing: run make init"


def test_compose_hook_uses_the_same_schema_as_make_lint_compose(precommit, repo):
    entry = _hooks(precommit)["compose-schema"]["entry"]
    assert "--schemafile tests/schemas/compose-spec.json" in entry
    assert "--schemafile tests/schemas/compose-spec.json" in (repo / "Makefile").read_text()
