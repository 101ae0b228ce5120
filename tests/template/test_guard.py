"""The cfn-guard gate of `make lint-cfn` (template_builder.guard): the real cfn-guard binary and
the Control Tower rules, as `make guard-tools` installs them (`make test` depends on it), on
templates small enough to show one behaviour each."""

import json
import subprocess

import pytest

from template_builder import guard
from template_builder.metadata import checkov_skips, guard_skips

ENCRYPTION = "cloudwatch_log_group_encrypted_check"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b6d6f2e-1111-4a2b-9c3d-123456789abc"


@pytest.fixture(scope="module", autouse=True)
def installed_guard():
    # Not a skip: without the binary the gate does not run, and that is a failure.
    if not guard.CFN_GUARD.is_file() or not guard.RULES.is_dir():
        pytest.fail(f"no cfn-guard at {guard.CFN_GUARD}: run `make guard-tools` (make test does)")


def log_group(*, encrypted: bool = False, metadata: dict | None = None) -> dict:
    """A log group kept a year (so the retention rule passes), encrypted with a key or not."""
    properties = {"RetentionInDays": 400, **({"KmsKeyId": KEY_ARN} if encrypted else {})}
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": properties,
        **({"Metadata": metadata} if metadata is not None else {}),
    }


def write(tmp_path, name: str, **resources) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}))
    return str(path)


def run(capsys, *data: str, **options) -> tuple[int, list[str], str]:
    argv = [f"--{key.replace('_', '-')}={value}" for key, value in options.items()]
    code = guard.main([*argv, *data])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_the_installed_cfn_guard_is_the_pinned_version():
    version = subprocess.run(
        [str(guard.CFN_GUARD), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == "cfn-guard 3.1.1"
    assert len(list(guard.RULES.rglob("*.guard"))) == 237


def test_a_failure_is_one_line_with_template_resource_rule_and_message(tmp_path, capsys):
    template = write(tmp_path, "t.json", Logs=log_group())

    code, lines, _ = run(capsys, template)

    assert code == 1
    assert lines == [
        f"{template}: Logs: {ENCRYPTION}: [CT.CLOUDWATCH.PR.3]: Require an Amazon CloudWatch "
        "log group to be encrypted at rest with an AWS KMS key"
    ]


def test_a_compliant_template_passes(tmp_path, capsys):
    code, lines, _ = run(capsys, write(tmp_path, "t.json", Logs=log_group(encrypted=True)))

    assert (code, lines[-1:]) == (0, ["guard: 1 templates, 0 problem(s)"])


def test_a_suppression_with_a_reason_drops_that_failure(tmp_path, capsys):
    skips = guard_skips(**{ENCRYPTION: "AWS-owned keys suffice here."})
    template = write(tmp_path, "t.json", Logs=log_group(metadata=skips), Other=log_group())

    code, lines, _ = run(capsys, template)

    assert code == 1
    assert [line.split(": ")[1] for line in lines] == ["Other"]


def test_a_suppression_without_a_reason_is_an_error(tmp_path, capsys):
    metadata = {"guard": {"SuppressedRules": [ENCRYPTION]}}
    template = write(tmp_path, "t.json", Logs=log_group(metadata=metadata))

    code, lines, _ = run(capsys, template)

    # The error, and the failure it does not suppress.
    assert code == 1
    assert [line.split(": ")[3] for line in lines] == [
        "[CT.CLOUDWATCH.PR.3]",
        "suppressed without a reason",
    ]


def test_a_stale_suppression_is_an_error(tmp_path, capsys):
    skips = guard_skips(**{ENCRYPTION: "No longer true."})
    template = write(tmp_path, "t.json", Logs=log_group(encrypted=True, metadata=skips))

    code, lines, _ = run(capsys, template)

    assert code == 1
    assert lines[0].startswith(f"{template}: Logs: {ENCRYPTION}: stale suppression")


def test_a_suppression_of_a_misspelt_rule_is_stale(tmp_path, capsys):
    skips = guard_skips(cloudwatch_log_group_encryption_check="A typo.")
    template = write(tmp_path, "t.json", Logs=log_group(encrypted=True, metadata=skips))

    code, lines, _ = run(capsys, template)

    assert code == 1
    assert "stale suppression" in lines[0]


def test_a_suppression_needed_by_one_template_of_the_run_is_not_stale(tmp_path, capsys):
    # The template with its Conditions may fail a rule that each decided variant passes.
    skips = guard_skips(**{ENCRYPTION: "Needed by one of the two."})
    failing = write(tmp_path, "a.json", Logs=log_group(metadata=skips))
    passing = write(tmp_path, "b.json", Logs=log_group(encrypted=True, metadata=skips))

    code, lines, _ = run(capsys, failing, passing)

    assert (code, lines) == (0, ["guard: 2 templates, 0 problem(s)"])


def test_a_folder_is_read_for_its_templates(tmp_path, capsys):
    write(tmp_path, "a.json", Logs=log_group())
    write(tmp_path, "b.json", Logs=log_group(encrypted=True))

    code, lines, _ = run(capsys, str(tmp_path))

    assert code == 1
    assert [line.split(": ")[0] for line in lines] == [str(tmp_path / "a.json")]


def test_yaml_templates_with_short_tags_are_read(tmp_path, capsys):
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n"
        "    Properties: {RetentionInDays: 400, LogGroupName: !Sub '${AWS::StackName}-x'}\n"
        f"    Metadata: {json.dumps(guard_skips(**{ENCRYPTION: 'Short tags parse.'}))}\n"
    )

    code, lines, _ = run(capsys, str(path))

    assert (code, lines) == (0, ["guard: 1 templates, 0 problem(s)"])


def test_a_missing_binary_is_one_line_naming_the_make_target(tmp_path, capsys):
    template = write(tmp_path, "t.json", Logs=log_group())

    code, lines, err = run(capsys, template, cfn_guard=tmp_path / "absent")

    assert (code, lines) == (2, [])
    assert err == f"guard: no cfn-guard binary at {tmp_path / 'absent'}: run `make guard-tools`\n"


def test_a_template_guard_cannot_parse_fails(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("Resources: [unclosed\n")

    code, _, err = run(capsys, str(path))

    assert code == 2
    assert err.startswith("guard: ")


def test_guard_skips_compose_with_checkov_skips():
    metadata = checkov_skips(CKV_AWS_158="why") | guard_skips(**{ENCRYPTION: "why not"})

    assert metadata == {
        "checkov": {"skip": [{"id": "CKV_AWS_158", "comment": "why"}]},
        "guard": {"SuppressedRules": [{"id": ENCRYPTION, "reason": "why not"}]},
    }


def test_guard_skips_refuse_an_empty_reason():
    with pytest.raises(ValueError, match="needs a reason"):
        guard_skips(**{ENCRYPTION: " "})
