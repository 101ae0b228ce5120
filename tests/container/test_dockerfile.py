"""The Dockerfile, read by BuildKit's parser: what the image is made of and how it runs."""

import re

# Alpine (musl): the base that keeps the image under 100 MB on disk (docs/container.md).
BASE_PIN = re.compile(r"^python:3\.11\.\d+-alpine3\.\d+@sha256:[0-9a-f]{64}$")
RDS_CA_BUNDLE = ("certs/rds-global-bundle.pem", "/opt/rds-ca/global-bundle.pem")


def named(stages, name):
    return next(stage for stage in stages if stage.name == name)


def test_base_image_is_pinned_by_version_and_digest_in_one_place(stages):
    pinned = [s for s in stages if ":" in s.base]
    assert [s.base for s in pinned] == [stages[0].base]
    assert BASE_PIN.match(stages[0].base), stages[0].base
    earlier = {s.name for s in stages}
    assert all(s.base in earlier for s in stages[1:]), "later stages build on the pinned one"


def test_build_is_multi_stage_ending_with_the_runtime_stage(stages):
    assert [s.name for s in stages] == ["base", "docs-page", "build", "runtime"]
    assert stages[-1].base == named(stages, "build").base == "base", (
        "build and runtime share one interpreter"
    )


def test_build_stage_installs_only_install_requires_through_build_venv(stages):
    build = named(stages, "build")
    runs = [" ".join(r.value) for r in build.all("RUN")]
    assert "./build-venv.sh setup.cfg /opt/venv" in runs
    copied = [c.value[:-1] for c in build.all("COPY")]
    assert ("setup.cfg", "scripts/build-venv.sh") in copied


def test_build_stage_adds_only_a_pinned_binutils_for_strip(stages):
    build = named(stages, "build")
    added = [" ".join(r.value) for r in build.all("RUN") if "apk" in " ".join(r.value)]
    assert len(added) == 1, added
    assert re.fullmatch(r"apk add --no-cache binutils[=~]\d[\w.-]*", added[0]), added[0]


def test_docs_page_stage_takes_swagger_ui_from_npm_as_locked(stages):
    docs_page = named(stages, "docs-page")
    runs = [" ".join(r.value) for r in docs_page.all("RUN")]
    assert len(runs) == 2, runs
    assert re.fullmatch(r"apk add --no-cache npm~\d+", runs[0]), runs[0]
    assert runs[1] == "scripts/swagger-ui-assets.sh api/docs /swagger-ui"
    copied = [c.value for c in docs_page.all("COPY")]
    assert ("api/docs/package.json", "api/docs/package-lock.json", "api/docs/") in copied


def test_build_stage_puts_the_docs_page_files_into_the_api_package(stages):
    build = named(stages, "build")
    from_docs = [c.value for c in build.all("COPY") if c.flags == ("--from=docs-page",)]
    assert from_docs == [("/swagger-ui", "api/docs/swagger-ui/")]
    instructions = [(i.cmd, i.value) for i in build.instructions]
    assert instructions.index(("COPY", from_docs[0])) < instructions.index(
        ("RUN", ("python -m compileall -q --invalidation-mode unchecked-hash api",))
    ), "the files are in place before api/ is compiled and copied on"


def test_runtime_stage_copies_the_venv_the_api_package_and_the_rds_ca_bundle_only(runtime):
    built = [c for c in runtime.all("COPY") if c.flags == ("--from=build",)]
    assert sorted(c.value for c in built) == [("/opt/venv", "/opt/venv"), ("/src/api", "/app/api")]
    from_context = [c for c in runtime.all("COPY") if c not in built]
    assert [c.value for c in from_context] == [RDS_CA_BUNDLE]
    assert from_context[0].flags == ("--chmod=0444",), "read-only, whoever runs the image"
    assert runtime.all("ADD") == []


def test_the_rds_ca_bundle_lands_where_the_task_definition_points_pgsslrootcert(runtime):
    # The contract of docs/architecture.md, "Stack layout".
    assert RDS_CA_BUNDLE[1] == "/opt/rds-ca/global-bundle.pem"
    assert "PGSSLROOTCERT" not in runtime.env, "the task definition sets it, with PGSSLMODE"


def test_tmp_is_a_volume_the_app_user_owns(runtime):
    # Fargate mounts a volume without a host path with the image's owner and mode only at a path
    # the image declares with VOLUME; anywhere else it is root's, mode 0755.
    volumes = runtime.all("VOLUME")
    assert [v.value for v in volumes] == [("/tmp",)]
    made = [
        " ".join(r.value)
        for r in runtime.all("RUN")
        if runtime.instructions.index(r) < runtime.instructions.index(volumes[0])
    ]
    assert "chown 10001:10001 /tmp && chmod 1777 /tmp" in made, made
    assert runtime.instructions.index(volumes[0]) < runtime.instructions.index(
        runtime.all("USER")[-1]
    ), "made as root, before the image switches to uid 10001"


def test_runtime_stage_installs_no_packages(runtime):
    for command in runtime.all("RUN"):
        text = " ".join(command.value)
        assert not re.search(r"\b(apk|apt-get|apt|pip|curl|wget)\b", text), text


def test_image_runs_as_non_root_uid_10001(runtime):
    users = runtime.all("USER")
    assert users, "no USER: the image would run as root"
    assert users[-1].value == ("10001:10001",)
    last_user = runtime.instructions.index(users[-1])
    entrypoint = runtime.instructions.index(runtime.one("ENTRYPOINT"))
    assert last_user < entrypoint


def test_entrypoint_is_exec_form_so_sigterm_reaches_the_server(runtime):
    entrypoint = runtime.one("ENTRYPOINT")
    assert entrypoint.json, "shell form would make /bin/sh PID 1 and swallow SIGTERM"
    assert entrypoint.value == ("python", "-m", "api")
    assert runtime.all("CMD") == []
    assert runtime.one("STOPSIGNAL").value == ("SIGTERM",)


def test_healthcheck_asks_health_through_python_not_curl(runtime):
    healthcheck = runtime.one("HEALTHCHECK")
    assert healthcheck.json
    assert healthcheck.value == ("CMD", "python", "-m", "api.healthcheck")
    assert any(flag.startswith("--interval=") for flag in healthcheck.flags)


def test_image_settings_suit_a_container(runtime):
    env = runtime.env
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["HOST"] == "0.0.0.0"
    assert env["PORT"] == "8000"
    assert env["WORKERS"] == "1"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert runtime.one("EXPOSE").value == ("8000",)


def test_embedded_database_lives_in_the_one_writable_directory(runtime):
    assert runtime.env["SQLITE_PATH"].startswith("/tmp/")


def test_oci_labels_carry_version_source_and_revision_from_build_args(runtime):
    labels = runtime.labels
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert labels["org.opencontainers.image.revision"] == "${GIT_SHA}"
    assert labels["org.opencontainers.image.source"] == "${SOURCE_URL}"
    assert labels["org.opencontainers.image.created"] == "${BUILD_DATE}"
    assert {"VERSION", "GIT_SHA", "SOURCE_URL", "BUILD_DATE"} <= runtime.args


def test_build_info_reaches_the_version_endpoint_settings(runtime):
    env = runtime.env
    assert env["APP_VERSION"] == "${VERSION}"
    assert env["GIT_SHA"] == "${GIT_SHA}"
    assert env["BUILD_DATE"] == "${BUILD_DATE}"


def test_dockerignore_admits_exactly_what_the_dockerfile_copies(stages, repo):
    lines = [
        line.strip()
        for line in (repo / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allow-list: everything is excluded first"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for stage in stages
        for copy in stage.all("COPY")
        if not any(flag.startswith("--from=") for flag in copy.flags)
        for source in copy.value[:-1]
    }

    def within(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder + "/")

    assert all(any(within(path, folder) for folder in admitted) for path in copied), copied
    assert all(any(within(path, folder) for path in copied) for folder in admitted), admitted
    # What a stage fetches itself never comes from the context: the local copy is excluded.
    assert "api/docs/swagger-ui" in lines
