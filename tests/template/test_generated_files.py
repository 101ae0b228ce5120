"""The committed templates are exactly what the builder produces, and small enough to deploy."""

from pathlib import Path

from template_builder import __main__ as cli
from template_builder.picture import IMAGE_FILE
from template_builder.render import TEMPLATE_BODY_LIMIT, render_all

ROOT = Path(__file__).resolve().parents[2]


def test_committed_templates_are_what_the_builder_produces():
    for path, text in render_all().items():
        assert (ROOT / path).read_text() == text, f"{path} is stale: run `make template`"


def test_each_template_fits_the_limit_of_deploy_without_an_s3_bucket():
    for path, text in render_all().items():
        assert len(text.encode()) < TEMPLATE_BODY_LIMIT, path


def test_rendering_twice_gives_identical_text():
    assert render_all() == render_all()


def test_check_mode_passes_when_templates_are_current(monkeypatch, tmp_path):
    for path, text in render_all().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / IMAGE_FILE).write_bytes((ROOT / IMAGE_FILE).read_bytes())
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    assert cli.main(["--check"]) == 0


def test_check_mode_fails_naming_the_stale_template(monkeypatch, tmp_path, capsys):
    for path, text in render_all().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / IMAGE_FILE).write_bytes((ROOT / IMAGE_FILE).read_bytes())
    (tmp_path / "templates/registry.yaml").write_text("# edited by hand\n")
    monkeypatch.setattr(cli, "ROOT", tmp_path)

    assert cli.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "templates/registry.yaml is stale" in err
    assert "api-cars.yaml" not in err


def test_write_mode_creates_missing_templates(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    assert cli.main([]) == 0
    assert sorted(p.name for p in (tmp_path / "templates").iterdir()) == [
        "api-cars.yaml",
        "data-stack-policy.json",
        "data.yaml",
        "edge-global.yaml",
        "edge.yaml",
        "github-oidc.yaml",
        "identity.yaml",
        "import.yaml",
        "network.yaml",
        "registry.yaml",
    ]
