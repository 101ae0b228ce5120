"""The help teaches: every command and option is described, VERSION's format is stated, examples
are given, options that mean nothing for a command are not offered, --verify means one thing, the
destroy prompt offers no default, and README.md's exit-code table is what the command does."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from cars_stack.cli import EXIT_CODE_MEANINGS, _parser, main
from tests.stack.demo import DEMO_SERVICE

README = Path(__file__).resolve().parents[2] / "README.md"
pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse .* not supported by moto:UserWarning"
)
COMMANDS = ("deploy", "release", "rollback", "execute", "status", "destroy")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as leaving:
        _parser().parse_args([*argv, "--help"])
    assert leaving.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_description_and_examples(capsys, command) -> None:
    text = _help(capsys, command)
    description = text.split("\n\n")[1]
    assert len(description.split()) >= 12, description
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert examples and all(line.startswith(f"  cars-stack {command}") for line in examples)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_and_argument_of_every_command_is_explained(command) -> None:
    unexplained = [
        action.dest
        for action in _subcommands()[command]._actions
        if not (action.help or "").strip() or action.help == "default: %(default)s"
    ]
    assert unexplained == []


@pytest.mark.parametrize("command", ["release", "rollback"])
def test_version_states_its_format(command) -> None:
    version = next(a for a in _subcommands()[command]._actions if a.dest == "version")
    assert "vX.Y.Z, e.g. v1.2.3" in version.help


def test_status_offers_only_what_it_uses(capsys) -> None:
    options = {o for a in _subcommands()["status"]._actions for o in a.option_strings}
    assert options == {
        "-h",
        "--help",
        "--stack-name",
        "--data-stack-name",  # status shows the data tier too
        "--identity-stack-name",  # ... and the issuer writes need
        "--edge-stack-name",  # ... and CloudFront's URL when the service is behind it
        "--region",
        "--profile",
        "--output",
    }
    with pytest.raises(SystemExit) as leaving:
        main(["status", "--yes"])
    assert leaving.value.code == 2
    assert capsys.readouterr().err == (
        "cars-stack status: unrecognized arguments: --yes (see cars-stack status --help)\n"
    )


def test_execute_offers_no_cloudformation_role_its_change_set_carries_one() -> None:
    options = {o for a in _subcommands()["execute"]._actions for o in a.option_strings}
    assert "--cfn-role-arn" not in options and "--no-execute" not in options


def test_verify_means_the_same_on_release_rollback_and_execute() -> None:
    verifies = {
        command: next(a for a in _subcommands()[command]._actions if a.dest == "verify")
        for command in ("release", "rollback", "execute")
    }
    assert {(a.nargs, a.const, a.help) for a in verifies.values()} == {
        (0, True, verifies["release"].help)
    }


def test_the_destroy_prompt_offers_no_default_to_accept_with_enter(deployed, cli) -> None:
    result = cli("destroy", answers=("",))
    assert result.code == 130
    assert result.asked == ['Type "api-cars" to delete stack api-cars (anything else cancels): ']
    assert "[" not in result.asked[0]


def test_a_confirmation_shows_that_enter_means_no(cli, moto_template, push_image) -> None:
    push_image("v1.0.0")
    result = cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(moto_template),
        "--image-tag",
        "v1.0.0",
        answers=("",),
    )
    assert result.code == 130
    assert result.asked[0].endswith("? [y/N] ")


def _readme_exit_codes() -> dict[int, str]:
    text = README.read_text(encoding="utf-8")
    table = text.split("| exit code | meaning |\n| --- | --- |\n", 1)[1].split("\n\n", 1)[0]
    rows = [re.fullmatch(r"\| (\d+) \| (.+) \|", line) for line in table.splitlines()]
    return {int(row.group(1)): row.group(2) for row in rows if row}


def test_the_readme_exit_code_table_is_the_commands(capsys) -> None:
    assert _readme_exit_codes() == EXIT_CODE_MEANINGS
    top = _help(capsys)
    assert " ".join(top.split("exit codes:", 1)[1].split()).startswith(
        "0 success, or nothing to do"
    )


def test_destroy_of_a_missing_stack_is_nothing_to_do_as_the_table_says(cli) -> None:
    assert "destroy of a stack that does not exist" in _readme_exit_codes()[0]
    result = cli("destroy", "--stack-name", "nope", "--yes")
    assert result.code == 0
    assert result.out == "No stack named nope in eu-west-1: nothing to destroy\n"


def test_status_of_a_missing_stack_is_refused_as_the_table_says(cli) -> None:
    assert "no such stack (release, rollback, execute, status)" in _readme_exit_codes()[2]
    assert cli("status", "--stack-name", "nope").code == 2
