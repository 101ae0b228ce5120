"""Where cars-stack takes the AWS region from: --region, then AWS_REGION, then AWS_DEFAULT_REGION,
then the profile's. Each answer names the region it asked (a missing stack's line says where it
looked), against moto's server."""

from __future__ import annotations

from pathlib import Path

import pytest


def _region_asked(cli, *argv: str) -> str:
    result = cli("status", "--stack-name", "nope", *argv)
    assert result.code == 2, result.err
    return result.err.split(" in ", 1)[1].split(":", 1)[0]


@pytest.fixture
def profile_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A named profile with its own region (and keys: a named profile skips the key variables)."""

    def configure(region: str) -> str:
        config = tmp_path / "aws-config"
        config.write_text(
            f"[profile ops]\nregion = {region}\n"
            "aws_access_key_id = testing\naws_secret_access_key = testing\n",
            encoding="utf-8",
        )
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        return "ops"

    return configure


def test_the_region_option_wins_over_both_variables(cli, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert _region_asked(cli, "--region", "ap-southeast-2") == "ap-southeast-2"


def test_aws_region_wins_over_aws_default_region(cli, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")  # AWS_DEFAULT_REGION is eu-west-1 (conftest)
    assert _region_asked(cli) == "us-east-1"


def test_aws_region_alone_is_enough(cli, monkeypatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert _region_asked(cli) == "us-east-1"


def test_aws_default_region_alone_is_enough(cli) -> None:
    assert _region_asked(cli) == "eu-west-1"


def test_an_empty_aws_region_counts_as_unset(cli, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "")
    assert _region_asked(cli) == "eu-west-1"


def test_the_profiles_region_is_used_when_no_variable_names_one(
    cli, monkeypatch, profile_in
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    profile = profile_in("eu-central-1")
    assert _region_asked(cli, "--profile", profile) == "eu-central-1"


def test_aws_region_wins_over_the_profiles_region(cli, monkeypatch, profile_in) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    profile = profile_in("eu-central-1")
    assert _region_asked(cli, "--profile", profile) == "us-east-1"
