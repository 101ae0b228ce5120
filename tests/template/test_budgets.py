"""Each template keeps within its byte allowance (TEMPLATE_BUDGETS), and the builder refuses to
write one that does not."""

import pytest

from template_builder import __main__ as cli
from template_builder import names, render
from template_builder.render import TEMPLATE_BODY_LIMIT, TEMPLATE_BUDGETS, oversized, render_all

ALLOWANCES = {
    names.REGISTRY_TEMPLATE_FILE: 20_480,
    names.NETWORK_TEMPLATE_FILE: 24_576,
    names.DATA_TEMPLATE_FILE: 40_960,
    names.SERVICE_TEMPLATE_FILE: 50_176,
    names.OIDC_TEMPLATE_FILE: 45_056,
    names.IDENTITY_TEMPLATE_FILE: 12_288,
    names.EDGE_TEMPLATE_FILE: 40_960,
    names.EDGE_GLOBAL_TEMPLATE_FILE: 40_960,
    names.IMPORT_TEMPLATE_FILE: 40_960,
}


def test_every_template_has_the_documented_allowance_under_the_deploy_limit():
    assert TEMPLATE_BUDGETS == ALLOWANCES
    assert set(TEMPLATE_BUDGETS) == set(render.BUILDERS)
    assert all(budget < TEMPLATE_BODY_LIMIT for budget in TEMPLATE_BUDGETS.values())


@pytest.mark.parametrize("path", sorted(ALLOWANCES))
def test_the_template_fits_its_allowance(path):
    assert len(render_all()[path].encode()) <= ALLOWANCES[path]


def test_the_builder_names_a_template_over_its_allowance_and_writes_nothing(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setitem(TEMPLATE_BUDGETS, names.REGISTRY_TEMPLATE_FILE, 100)
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    assert oversized(render_all()).keys() == {names.REGISTRY_TEMPLATE_FILE}
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert f"{names.REGISTRY_TEMPLATE_FILE} is " in err
    assert "over its allowance of 100" in err
    assert not (tmp_path / "templates").exists()
