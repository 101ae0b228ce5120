"""The GitHub Actions workflows: triggers, least privilege, pinning, the reviewed release path."""

import re

import pytest

PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+|[0-9a-f]{40})$")
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"
BUILD_PUSH = "docker/build-push-action"


def test_every_action_is_pinned_to_a_major_version_or_a_commit(workflows):
    used = [
        step["uses"]
        for workflow in workflows.values()
        for job in workflow.jobs.values()
        for step in job.steps
        if "uses" in step
    ]
    assert used
    assert [action for action in used if not PINNED.match(action)] == []


def test_every_workflow_sets_permissions_and_grants_no_write_at_the_top(workflows):
    for workflow in workflows.values():
        assert "permissions" in workflow.data, workflow.name
        top = workflow.data["permissions"]
        assert all(level != "write" for level in top.values()), workflow.name


def test_only_jobs_that_assume_an_aws_role_may_request_an_oidc_token(workflows):
    for workflow in workflows.values():
        for job in workflow.jobs.values():
            assumes_role = bool(job.uses(AWS_CREDENTIALS))
            wants_token = job.permissions.get("id-token") == "write"
            assert wants_token == assumes_role, f"{workflow.name}: {job.name}"


def test_aws_credentials_come_from_roles_never_from_stored_keys(workflows):
    for workflow in workflows.values():
        for job in workflow.jobs.values():
            for step in job.uses(AWS_CREDENTIALS):
                assert set(step["with"]) >= {"role-to-assume", "aws-region"}
                assert "aws-access-key-id" not in step["with"]


def test_ci_runs_on_pushes_and_pull_requests(ci):
    assert set(ci.on) == {"push", "pull_request"}


def test_ci_tests_against_postgres_and_redis_service_containers(ci):
    services = ci.job("lint-and-test").data["services"]
    assert services["postgres"]["ports"] == ["5432:5432"]
    assert services["postgres"]["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert "pg_isready" in services["postgres"]["options"]
    assert services["redis"]["ports"] == ["6379:6379"]
    assert "redis-cli ping" in services["redis"]["options"]


def test_ci_caches_pip_downloads(ci):
    (setup,) = ci.job("lint-and-test").uses("actions/setup-python")
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["python-version"] == "3.11"


def test_ci_runs_lint_and_test_and_fails_when_templates_drift(ci):
    script = ci.job("lint-and-test").script
    for command in (
        "make lint",
        "make test",
        "make test-imports-10k",
        "make template",
        "git diff --exit-code -- templates/",
    ):
        assert command in script
    assert script.index("make template") < script.index("git diff --exit-code")


def test_ci_builds_and_smoke_tests_the_image_without_pushing(ci):
    docker = ci.job("docker")
    (build,) = docker.uses(BUILD_PUSH)
    assert build["with"]["push"] is False
    assert build["with"]["load"] is True
    assert "scripts/container-smoke.sh api-cars:ci" in docker.script
    assert "docker compose config" in docker.script


def test_release_ships_published_releases_only(release):
    assert release.on == {"release": {"types": ["published"]}}


def test_release_and_rollback_queue_in_one_group_and_never_cancel(release, rollback):
    assert release.data["concurrency"] == rollback.data["concurrency"]
    assert release.data["concurrency"]["cancel-in-progress"] is False
    assert "STACK_NAME" in release.data["concurrency"]["group"]


def test_release_validates_the_tag_before_anything_else(release):
    version = release.job("version")
    assert 'scripts/check-release-tag.sh "$TAG"' in version.script
    assert version.step("tag")["env"]["TAG"] == "${{ github.event.release.tag_name }}"
    for name, job in release.jobs.items():
        if name != "version":
            needs = job.data["needs"]
            assert "version" in ([needs] if isinstance(needs, str) else needs) or "plan" in needs


def test_release_pushes_the_version_and_latest_with_layer_caching(release):
    image = release.job("image")
    assert image.uses("aws-actions/amazon-ecr-login")
    (build,) = image.uses(BUILD_PUSH)
    tags = build["with"]["tags"].splitlines()
    assert [t.rsplit(":", 1)[1] for t in tags] == ["${{ needs.version.outputs.version }}", "latest"]
    assert build["with"]["push"] is True
    assert build["with"]["cache-from"].startswith("type=gha")
    assert build["with"]["cache-to"].startswith("type=gha")


def test_release_plan_creates_the_change_set_into_the_summary_without_executing(release):
    plan = release.job("plan")
    command = plan.step("plan")["run"]
    assert (
        'cars-stack release "$VERSION" --no-execute --summary-file "$GITHUB_STEP_SUMMARY"'
        in command
    )
    assert '--cfn-role-arn "$CFN_ROLE_ARN"' in command
    assert plan.step("plan")["env"]["CFN_ROLE_ARN"] == "${{ vars.CLOUDFORMATION_ROLE_ARN }}"
    assert plan.data["outputs"]["change-set-name"] == "${{ steps.plan.outputs.change_set_name }}"
    assert "environment" not in plan.data


@pytest.mark.parametrize("workflow_name", ["release.yml", "rollback.yml"])
def test_execute_waits_for_production_approval_and_checks_version(workflows, workflow_name):
    execute = workflows[workflow_name].job("execute")
    assert execute.data["environment"] == "production"
    assert (
        'cars-stack execute "$CHANGE_SET_NAME" --expect-version "$VERSION" --verify'
        in execute.script
    )
    assert "plan" in execute.data["needs"]
    assert execute.data["if"] == "${{ needs.plan.outputs.change-set-name != '' }}"


@pytest.mark.parametrize("workflow_name", ["release.yml", "rollback.yml"])
def test_only_the_production_job_assumes_the_deploy_role(workflows, workflow_name):
    for job in workflows[workflow_name].jobs.values():
        for step in job.uses(AWS_CREDENTIALS):
            expected = "DEPLOY_ROLE_ARN" if job.name == "execute" else "PUBLISH_ROLE_ARN"
            assert step["with"]["role-to-assume"] == f"${{{{ vars.{expected} }}}}", job.name


def test_workflows_consume_the_oidc_stacks_outputs(repo):
    from cfnlint.decode import decode

    template, errors = decode(str(repo / "templates/github-oidc.yaml"))
    assert not errors
    assert {"PublishRoleArn", "DeployRoleArn", "CloudFormationRoleArn"} <= set(template["Outputs"])


def test_rollback_is_dispatched_by_hand_with_an_optional_version(rollback):
    version = rollback.on["workflow_dispatch"]["inputs"]["version"]
    assert version["required"] is False
    assert version["type"] == "string"


def test_rollback_plans_through_cars_stack_rollback_from_main_only(rollback):
    plan = rollback.job("plan")
    assert 'if [ "$GITHUB_REF" != "refs/heads/main" ]' in plan.script
    assert 'scripts/check-release-tag.sh "$VERSION"' in plan.script
    command = plan.step("plan")["run"]
    assert 'cars-stack rollback "${version_arg[@]}" --no-execute' in command
    assert '--summary-file "$GITHUB_STEP_SUMMARY"' in command


@pytest.mark.parametrize("tag", ["v1.2.3", "v0.0.0", "v10.20.300"])
def test_release_tag_check_accepts_vx_y_z(run, tag):
    result = run("scripts/check-release-tag.sh", tag)
    assert result.returncode == 0
    assert result.stderr == ""


@pytest.mark.parametrize(
    "tag", ["1.2.3", "v1.2", "v01.2.3", "v1.2.3-rc1", "v1.2.3\nv1", "latest", ""]
)
def test_release_tag_check_refuses_anything_else_in_one_line(run, tag):
    result = run("scripts/check-release-tag.sh", tag)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 + tag.count("\n")
    assert "is not vX.Y.Z" in result.stderr


def test_every_repository_variable_the_workflows_read_is_documented(workflows, repo):
    readme = (repo / "README.md").read_text()
    section = readme[readme.index("## CI/CD") :]
    used = set()
    for workflow in workflows.values():
        used |= set(
            re.findall(r"vars\.([A-Z_]+)", (repo / ".github/workflows" / workflow.name).read_text())
        )
    assert used
    assert {name for name in used if f"`{name}`" not in section} == set()


REQUIRED_VARIABLES = (
    "AWS_REGION",
    "PUBLISH_ROLE_ARN",
    "DEPLOY_ROLE_ARN",
    "CLOUDFORMATION_ROLE_ARN",
)


@pytest.mark.parametrize(
    ("workflow_name", "job_name"), [("release.yml", "version"), ("rollback.yml", "plan")]
)
def test_first_job_names_missing_repository_variables_before_touching_aws(
    workflows, workflow_name, job_name
):
    job = workflows[workflow_name].job(job_name)
    check = next(s for s in job.steps if "scripts/require-vars.sh" in s.get("run", ""))
    (line,) = [line for line in check["run"].splitlines() if "scripts/require-vars.sh" in line]
    assert line.split()[1:] == list(REQUIRED_VARIABLES)
    assert job.steps.index(check) < min(
        [job.steps.index(s) for s in job.uses(AWS_CREDENTIALS)] or [len(job.steps)]
    )


def test_require_vars_names_every_missing_variable_in_one_line(run):
    result = run(
        "scripts/require-vars.sh",
        "SET_ONE",
        "EMPTY_ONE",
        "UNSET_ONE",
        env={"PATH": "/usr/bin:/bin", "SET_ONE": "x", "EMPTY_ONE": ""},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("repository variables not set: EMPTY_ONE UNSET_ONE (")
    assert result.stderr.count("\n") == 1


def test_require_vars_passes_when_every_variable_is_set(run):
    result = run(
        "scripts/require-vars.sh",
        "ONE",
        "TWO",
        env={"PATH": "/usr/bin:/bin", "ONE": "1", "TWO": "2"},
    )
    assert result.returncode == 0
    assert result.stderr == ""
