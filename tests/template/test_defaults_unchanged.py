"""With every option off, each template renders exactly the resources it rendered before the
edge, scaling and Spot options existed: an existing stack's next update adds, removes and replaces
nothing. The snapshots in tests/template/defaults/ were taken from the templates of commit 6f467a5
(before those options) with `python -m tests.template.test_defaults_unchanged --write`; rewrite them
only for a change that is meant to reach every existing stack, and say so in its commit. The
release roles (github-oidc) are not pinned: each new stack extends them by design."""

import json
import sys
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "defaults"
# The template, and the parameters of the deploy whose resources are pinned: the documented default,
# and for the service also the embedded demo that the rehearsal and the moto tests deploy.
CASES = {
    "service-default": ("service", {}),
    "service-demo": ("service", "demo+auth_off"),
    "network": ("network", {}),
    "data": ("data", {}),
    "registry": ("registry", {}),
    "identity": ("identity", {}),
}


def resources(render, builder: str, parameters: dict | str) -> dict:
    if isinstance(parameters, str):  # parameter sets the fixture names, joined by +
        parameters = {
            k: v for name in parameters.split("+") for k, v in getattr(render, name).items()
        }
    template = getattr(render, builder)()
    if "Conditions" not in template:
        return template["Resources"]
    return render.variant(template, **parameters)["Resources"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_with_every_option_off_the_resources_are_those_of_before_the_options(render, case):
    path, parameters = CASES[case]
    pinned = json.loads((SNAPSHOTS / f"{case}.json").read_text())
    now = resources(render, path, parameters)
    assert sorted(now) == sorted(pinned), "resources added or removed with every option off"
    changed = [logical_id for logical_id in pinned if now[logical_id] != pinned[logical_id]]
    assert not changed, f"resources whose properties changed with every option off: {changed}"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    from tests.template.conftest import Render  # the writer only: the test takes the fixture

    for case, (path, parameters) in CASES.items():
        body = resources(Render(), path, parameters)
        (SNAPSHOTS / f"{case}.json").write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
        print(f"wrote {SNAPSHOTS / case}.json")
