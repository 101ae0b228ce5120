"""The seed's script names stay: thin wrappers over cars-stack."""

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("script", "subcommand"), [("aws-deploy.sh", "deploy"), ("cleanup.sh", "destroy")]
)
def test_script_forwards_to_its_subcommand(script: str, subcommand: str, tmp_path: Path) -> None:
    completed = subprocess.run(
        [str(REPO_ROOT / script), "--help"],
        cwd=tmp_path,  # runs from anywhere
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(f"usage: cars-stack {subcommand}")
