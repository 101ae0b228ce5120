"""docker-compose.yml: the schema, start-up order, health checks and settings of the local stack."""

import hashlib
import re

INTERPOLATION = re.compile(r"(?<!\$)\$\{([^}]*)\}")
# ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
WITH_DEFAULT_OR_MESSAGE = re.compile(r"^[A-Z][A-Z0-9_]*(:-|-|:\?|\?).*$")


def test_compose_file_matches_the_compose_specification(run, tool, repo):
    result = run(
        tool("check-jsonschema"),
        "--schemafile",
        repo / "tests/schemas/compose-spec.json",
        repo / "docker-compose.yml",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_rejects_an_unknown_depends_on_condition(run, tool, repo, tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n"
        "  db: {image: 'postgres:16'}\n"
        "  api:\n"
        "    image: api\n"
        "    depends_on: {db: {condition: service_ready}}\n"
    )
    result = run(
        tool("check-jsonschema"), "--schemafile", repo / "tests/schemas/compose-spec.json", broken
    )
    assert result.returncode == 1
    assert "service_ready" in result.stdout


def test_stored_compose_schema_is_the_one_its_readme_names(repo):
    readme = (repo / "tests/schemas/README.md").read_text()
    documented = re.search(r"\*\*sha256:\*\* `([0-9a-f]{64})`", readme).group(1)
    stored = hashlib.sha256((repo / "tests/schemas/compose-spec.json").read_bytes()).hexdigest()
    assert stored == documented


def test_api_waits_for_healthy_backing_services_and_finished_migrations(compose):
    assert compose["services"]["api"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_migrations_run_once_before_the_api_from_the_same_image(compose):
    migrate, api = compose["services"]["migrate"], compose["services"]["api"]
    assert migrate["entrypoint"] == ["python", "-m", "api.migrations"]
    assert migrate["image"] == api["image"]
    assert migrate["build"] == api["build"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    assert api["environment"]["MIGRATE_ON_START"] == "false"


def test_postgres_is_checked_with_pg_isready_and_keeps_data_in_a_named_volume(compose):
    postgres = compose["services"]["postgres"]
    assert re.fullmatch(r"postgres:\d+(-[a-z]+)?", postgres["image"]), "pinned major version"
    assert postgres["healthcheck"]["test"][0] == "CMD-SHELL"
    assert postgres["healthcheck"]["test"][1].startswith("pg_isready ")
    volume, target = postgres["volumes"][0].split(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"]


def test_redis_is_checked_with_ping(compose):
    redis = compose["services"]["redis"]
    assert re.fullmatch(r"redis:\d+(-[a-z]+)?", redis["image"]), "pinned major version"
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_api_health_check_is_the_images_own(compose, runtime):
    image_check = list(runtime.one("HEALTHCHECK").value)
    assert compose["services"]["api"]["healthcheck"]["test"] == image_check


def test_api_is_published_on_port_8000_and_reaches_its_services_by_name(compose):
    api = compose["services"]["api"]
    assert api["ports"] == ["${API_PORT:-8000}:8000"]
    assert "@postgres:5432/" in api["environment"]["DATABASE_URL"]
    assert api["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_the_local_stack_opens_writes_explicitly(compose):
    # No token issuer locally: the API refuses to start unless told, and compose tells it.
    assert compose["services"]["api"]["environment"]["AUTH_DISABLED"] == "true"


def test_api_runs_like_on_fargate_read_only_with_a_writable_tmp(compose):
    api = compose["services"]["api"]
    assert api["read_only"] is True
    assert api["tmpfs"] == ["/tmp"]
    assert api["cap_drop"] == ["ALL"]


def test_stop_grace_period_outlasts_the_shutdown_grace(compose):
    api = compose["services"]["api"]
    grace = int(
        re.fullmatch(
            r"\$\{SHUTDOWN_GRACE_SECONDS:-(\d+)\}", api["environment"]["SHUTDOWN_GRACE_SECONDS"]
        ).group(1)
    )
    stop = int(re.fullmatch(r"(\d+)s", api["stop_grace_period"]).group(1))
    assert stop > grace


def test_every_setting_has_a_default_or_a_message(repo):
    text = (repo / "docker-compose.yml").read_text()
    found = INTERPOLATION.findall(text)
    assert found, "no ${...} settings found"
    bare = [expression for expression in found if not WITH_DEFAULT_OR_MESSAGE.match(expression)]
    assert bare == []
