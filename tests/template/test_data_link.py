"""The service with a data stack gets exactly its endpoints, secrets and security group; without
one it gets none of them; and without any database only the named, one-task demo is accepted."""

import pytest

from template_builder import names
from template_builder.data_link import RDS_CA_BUNDLE

DATABASE_ENVIRONMENT = {
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
}
CACHE_ENVIRONMENT = {"REDIS_HOST", "REDIS_PORT", "REDIS_TLS"}


def container(resolved: dict) -> dict:
    return resolved["Resources"][names.TASK_DEFINITION]["Properties"]["ContainerDefinitions"][0]


def environment(resolved: dict) -> dict[str, str]:
    """The variables of the data tier and the image (AUTH_*: test_auth_link.py)."""
    variables = {e["Name"]: e["Value"] for e in container(resolved)["Environment"]}
    return {k: v for k, v in variables.items() if not k.startswith("AUTH_")}


def secrets(resolved: dict) -> dict[str, str]:
    return {s["Name"]: s["ValueFrom"] for s in container(resolved)["Secrets"]}


def readable_secrets(resolved: dict) -> list[str]:
    role = resolved["Resources"][names.EXECUTION_ROLE]["Properties"]
    policies = [p for p in role["Policies"] if p["PolicyName"] == "read-api-secrets"]
    return [r for p in policies for s in p["PolicyDocument"]["Statement"] for r in s["Resource"]]


def task_security_groups(resolved: dict) -> list[str]:
    service = resolved["Resources"][names.SERVICE]["Properties"]
    return service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]


def test_by_default_the_service_uses_the_data_stack_api_cars_data(render):
    parameters = render.service()["Parameters"]
    assert parameters[names.DATA_STACK_NAME]["Default"] == "api-cars-data"
    assert parameters[names.DATA_STACK_HAS_CACHE]["Default"] == "true"
    assert parameters[names.DATA_STACK_HAS_READERS]["Default"] == "false"
    assert parameters[names.EMBEDDED_DEMO_DATABASE]["Default"] == "false"


def test_with_a_data_stack_the_api_gets_its_endpoints_and_tls_settings(render, default_stack):
    out = render.data_outputs
    assert environment(default_stack) == {
        "APP_VERSION": "v1.0.0",
        "PORT": "8000",
        "SHUTDOWN_DRAIN_SECONDS": "30",
        "PGHOST": out[names.OUTPUT_WRITER_ENDPOINT],
        "PGPORT": out[names.OUTPUT_DATABASE_PORT],
        "PGDATABASE": out[names.OUTPUT_DATABASE_NAME],
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": RDS_CA_BUNDLE,
        "REDIS_HOST": out[names.OUTPUT_CACHE_ENDPOINT],
        "REDIS_PORT": out[names.OUTPUT_CACHE_PORT],
        "REDIS_TLS": "true",
    }


def test_with_a_data_stack_credentials_are_ecs_secrets_with_json_keys(render, default_stack):
    database = render.data_outputs[names.OUTPUT_DATABASE_SECRET_ARN]
    cache = render.data_outputs[names.OUTPUT_CACHE_SECRET_ARN]
    assert secrets(default_stack) == {
        "PGUSER": f"{database}:username::",
        "PGPASSWORD": f"{database}:password::",
        "REDIS_USERNAME": f"{cache}:username::",
        "REDIS_PASSWORD": f"{cache}:password::",
    }
    assert not set(secrets(default_stack)) & set(environment(default_stack))


def test_the_execution_role_reads_exactly_the_data_stacks_secrets(render, default_stack):
    assert readable_secrets(default_stack) == [
        render.data_outputs[names.OUTPUT_DATABASE_SECRET_ARN],
        render.data_outputs[names.OUTPUT_CACHE_SECRET_ARN],
    ]


def test_with_a_data_stack_the_tasks_wear_its_client_group_in_its_vpc(render, default_stack):
    assert task_security_groups(default_stack) == [
        names.TASK_SECURITY_GROUP,
        render.data_outputs[names.OUTPUT_CLIENT_SECURITY_GROUP],
    ]
    group = default_stack["Resources"][names.TASK_SECURITY_GROUP]["Properties"]
    # The data stack's VPC is the network stack's, which both import.
    assert group["VpcId"] == render.vpc["VpcId"]


def test_the_data_stacks_name_picks_the_exports(render):
    resolved = render.resolve(DataStackName="cars-staging-data")
    assert render.data_outputs[names.OUTPUT_WRITER_ENDPOINT] == environment(resolved)["PGHOST"]
    client_group = render.service()["Resources"][names.SERVICE]["Properties"][
        "NetworkConfiguration"
    ]["AwsvpcConfiguration"]["SecurityGroups"][1]
    assert client_group["Fn::If"][1] == {
        "Fn::ImportValue": {"Fn::Sub": "${DataStackName}-ClientSecurityGroupId"}
    }


def test_reads_go_to_the_reader_endpoint_only_when_the_data_stack_has_readers(render):
    """Without readers Aurora's reader endpoint leads to the writer: no second pool, and the API
    keeps caching list pages (it does not with a replica)."""
    assert "DATABASE_READ_HOST" not in environment(render.resolve())
    with_readers = environment(render.resolve(DataStackHasReaders="true"))
    assert with_readers["DATABASE_READ_HOST"] == render.data_outputs[names.OUTPUT_READER_ENDPOINT]
    without_data_stack = render.resolve(
        **render.demo, DataStackHasReaders="true",
    )  # fmt: skip
    assert "DATABASE_READ_HOST" not in environment(without_data_stack)


def test_a_data_stack_without_cache_gives_no_cache_settings(render):
    resolved = render.resolve(DataStackHasCache="false")
    assert set(environment(resolved)) == {
        "APP_VERSION",
        "PORT",
        "SHUTDOWN_DRAIN_SECONDS",
        *DATABASE_ENVIRONMENT,
    }
    assert set(secrets(resolved)) == {"PGUSER", "PGPASSWORD"}
    assert readable_secrets(resolved) == [render.data_outputs[names.OUTPUT_DATABASE_SECRET_ARN]]


def test_without_a_data_stack_the_service_gets_none_of_it(render):
    resolved = render.resolve(
        DataStackName="",
        AccessLogs="false",
        DatabaseUrlSecretArn=render.database_secret,
        RedisUrlSecretArn=render.redis_parameter,
    )
    assert set(environment(resolved)) == {"APP_VERSION", "PORT", "SHUTDOWN_DRAIN_SECONDS"}
    assert set(secrets(resolved)) == {"DATABASE_URL", "REDIS_URL"}
    assert readable_secrets(resolved) == [render.database_secret, render.redis_parameter]
    assert task_security_groups(resolved) == [names.TASK_SECURITY_GROUP]


def test_a_bring_your_own_secret_still_reaches_the_api_beside_a_data_stack(render):
    resolved = render.resolve(DatabaseUrlSecretArn=render.database_secret)
    assert secrets(resolved)["DATABASE_URL"] == render.database_secret
    assert render.database_secret in readable_secrets(resolved)


# --- Rules: no database only as the named demo, and the demo is one task ------------------------
def test_the_default_parameters_pass_the_rules(render):
    assert render.rule_failures(render.service(), ImageTag="v1.0.0") == []


def test_no_database_at_all_is_refused(render):
    (failure,) = render.rule_failures(render.service(), DataStackName="", AccessLogs="false")
    assert "No database" in failure
    with pytest.raises(ValueError, match="No database"):
        render.resolve(DataStackName="", AccessLogs="false")


def test_a_database_secret_alone_needs_no_data_stack(render):
    assert (
        render.rule_failures(
            render.service(),
            DataStackName="",
            AccessLogBucketName="company-alb-logs",
            DatabaseUrlSecretArn=render.database_secret,
        )
        == []
    )


def test_the_demo_is_accepted_as_exactly_one_task_without_auto_scaling(render):
    assert render.rule_failures(render.service(), **render.demo) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({names.DESIRED_COUNT: "2"}, "DesiredCount=1"),
        ({names.AUTO_SCALING: "true"}, "AutoScaling=false"),
        ({names.DATA_STACK_NAME: "api-cars-data"}, "no database"),
        ({names.DATABASE_URL_SECRET_ARN: "database"}, "no database"),
    ],
)
def test_the_demo_is_refused_with_anything_but_one_task_and_no_database(render, change, reason):
    change = {k: render.database_secret if v == "database" else v for k, v in change.items()}
    failures = render.rule_failures(render.service(), **{**render.demo, **change})
    assert len(failures) == 1
    assert reason in failures[0]


@pytest.mark.parametrize(
    ("parameters", "says"),
    [
        ({}, "data stack api-cars-data"),
        (
            {
                names.DATA_STACK_NAME: "",
                names.ACCESS_LOGS: "false",
                names.DATABASE_URL_SECRET_ARN: "database",
            },
            "DATABASE_URL",
        ),
        ("demo", "EMBEDDED DEMO"),
    ],
)
def test_the_outputs_state_the_database_mode_plainly(render, parameters, says):
    if parameters == "demo":
        parameters = render.demo
    parameters = {
        k: render.database_secret if v == "database" else v for k, v in parameters.items()
    }
    outputs = render.resolve(**parameters)["Outputs"]
    assert says in outputs[names.OUTPUT_DATABASE_MODE]["Value"]


def test_the_demo_runs_one_task_and_no_scaling(demo_stack):
    resources = demo_stack["Resources"]
    assert resources[names.SERVICE]["Properties"]["DesiredCount"] == "1"
    assert names.SCALABLE_TARGET not in resources
