"""The service stack's link to the data stack: what it imports, and the demo without one.

With `DataStackName` set (default `api-cars-data`), the service imports the data stack's exports
(names.DATA_EXPORT): the database and cache endpoints reach the API as libpq/Redis variables, the
credentials as ECS secrets with JSON keys, and the tasks wear the data-client security group. Both
stacks import their VPC from the same network stack (network_link.py). Conditions cannot read an
imported value, so whether the data stack has a cache comes in as `DataStackHasCache` and whether
it has readers as `DataStackHasReaders` (cars-stack copies both from the data stack's EnableCache
and ReaderCount). Reads go to the reader endpoint only with readers: without them it leads to the
writer anyway, and the API would open a second pool and stop caching list pages for a "replica"
that is the writer.

Without a data stack and without `DatabaseUrlSecretArn` there is no database: the template's Rules
refuse that unless `EmbeddedDemoDatabase=true`, which they pin to one task without auto scaling.
"""

from dataclasses import dataclass

from troposphere import And, Equals, If, ImportValue, Parameter, Ref, Sub, Template, ecs

from template_builder import names
from template_builder.parameters import (
    STACK_NAME_PATTERN,
    ServiceParameters,
    add_grouped,
    boolean_parameter,
    is_set,
    optional_value,
)

# Contract with the API and the image (docs/architecture.md, "What the service passes to the API").
RDS_CA_BUNDLE = "/opt/rds-ca/global-bundle.pem"
# Empty: no data stack (the demo, or a database of your own).
OPTIONAL_STACK_NAME_PATTERN = "^$|" + STACK_NAME_PATTERN
# Keys of the generated secrets (SecretStringTemplate + GenerateStringKey in the data stack).
SECRET_USERNAME_KEY = "username"  # noqa: S105 (JSON keys, not credentials)
SECRET_PASSWORD_KEY = "password"  # noqa: S105


@dataclass(frozen=True)
class DataLink:
    data_stack_name: Parameter
    data_stack_has_cache: Parameter
    data_stack_has_readers: Parameter
    embedded_demo_database: Parameter

    def imported(self, output: str) -> ImportValue:
        """The data stack's export `output` (its name derived from DataStackName)."""
        return ImportValue(
            Sub(names.DATA_EXPORT.format(stack="${" + names.DATA_STACK_NAME + "}", output=output))
        )

    def environment(self) -> list:
        database = {
            "PGHOST": self.imported(names.OUTPUT_WRITER_ENDPOINT),
            "PGPORT": self.imported(names.OUTPUT_DATABASE_PORT),
            "PGDATABASE": self.imported(names.OUTPUT_DATABASE_NAME),
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": RDS_CA_BUNDLE,
        }
        readers = {"DATABASE_READ_HOST": self.imported(names.OUTPUT_READER_ENDPOINT)}
        cache = {
            "REDIS_HOST": self.imported(names.OUTPUT_CACHE_ENDPOINT),
            "REDIS_PORT": self.imported(names.OUTPUT_CACHE_PORT),
            "REDIS_TLS": "true",
        }
        return [
            optional_value(condition, ecs.Environment(Name=name, Value=value))
            for condition, variables in (
                (names.HAS_DATA_STACK, database),
                (names.HAS_DATA_STACK_READERS, readers),
                (names.HAS_DATA_STACK_CACHE, cache),
            )
            for name, value in variables.items()
        ]

    def secrets(self) -> list:
        """Credentials as ECS secrets: `<secret ARN>:<json key>::` selects one key's value."""
        pairs = (
            (names.HAS_DATA_STACK, names.OUTPUT_DATABASE_SECRET_ARN, "PGUSER", "PGPASSWORD"),
            (
                names.HAS_DATA_STACK_CACHE,
                names.OUTPUT_CACHE_SECRET_ARN,
                "REDIS_USERNAME",
                "REDIS_PASSWORD",
            ),
        )
        return [
            optional_value(
                condition,
                ecs.Secret(
                    Name=variable,
                    ValueFrom=Sub(f"${{Arn}}:{key}::", Arn=self.imported(output)),
                ),
            )
            for condition, output, user_variable, password_variable in pairs
            for variable, key in (
                (user_variable, SECRET_USERNAME_KEY),
                (password_variable, SECRET_PASSWORD_KEY),
            )
        ]

    def secret_arns(self) -> list:
        """The imported secrets the execution role may read (exactly those)."""
        return [
            optional_value(names.HAS_DATA_STACK, self.imported(names.OUTPUT_DATABASE_SECRET_ARN)),
            optional_value(
                names.HAS_DATA_STACK_CACHE, self.imported(names.OUTPUT_CACHE_SECRET_ARN)
            ),
        ]

    def client_security_group(self) -> If:
        return optional_value(
            names.HAS_DATA_STACK, self.imported(names.OUTPUT_CLIENT_SECURITY_GROUP)
        )

    def database_mode(self) -> If:
        """What the DatabaseMode output says, plainly."""
        return If(
            names.HAS_DATA_STACK,
            Sub("data stack ${" + names.DATA_STACK_NAME + "} (Aurora PostgreSQL)"),
            If(
                names.HAS_DATABASE_URL_SECRET,
                "DATABASE_URL from DatabaseUrlSecretArn",
                "EMBEDDED DEMO: SQLite in one task, lost when it stops",
            ),
        )


def add_data_link(template: Template, params: ServiceParameters) -> DataLink:
    group = "Data tier"
    data_stack_name = add_grouped(
        template,
        group,
        "Data stack name",
        Parameter(
            names.DATA_STACK_NAME,
            Type="String",
            Default=names.DEFAULT_DATA_STACK_NAME,
            Description="Data stack (templates/data.yaml) to use. Empty: DatabaseUrlSecretArn "
            "or the demo.",
            AllowedPattern=OPTIONAL_STACK_NAME_PATTERN,
            ConstraintDescription="must be empty or a CloudFormation stack name",
        ),
    )
    data_stack_has_cache = add_grouped(
        template,
        group,
        "Data stack has a cache",
        boolean_parameter(
            names.DATA_STACK_HAS_CACHE,
            True,
            "The data stack's EnableCache (cars-stack copies it).",
        ),
    )
    data_stack_has_readers = add_grouped(
        template,
        group,
        "Data stack has readers",
        boolean_parameter(
            names.DATA_STACK_HAS_READERS,
            False,
            "The data stack's ReaderCount is above 0 (cars-stack copies it).",
        ),
    )
    embedded_demo_database = add_grouped(
        template,
        group,
        "Embedded demo database",
        boolean_parameter(
            names.EMBEDDED_DEMO_DATABASE,
            False,
            "true: no database, SQLite in one task (a demo that keeps nothing).",
        ),
    )
    template.add_condition(names.HAS_DATA_STACK, is_set(data_stack_name))
    template.add_condition(
        names.HAS_DATA_STACK_CACHE,
        And({"Condition": names.HAS_DATA_STACK}, Equals(Ref(data_stack_has_cache), "true")),
    )
    template.add_condition(
        names.HAS_DATA_STACK_READERS,
        And({"Condition": names.HAS_DATA_STACK}, Equals(Ref(data_stack_has_readers), "true")),
    )
    no_database = And(
        Equals(Ref(data_stack_name), ""), Equals(Ref(params.database_url_secret_arn), "")
    )
    template.add_rule(
        names.DATABASE_REQUIRED_RULE,
        {
            "RuleCondition": no_database,
            "Assertions": [
                {
                    "Assert": Equals(Ref(embedded_demo_database), "true"),
                    "AssertDescription": "No database: set DataStackName or "
                    "DatabaseUrlSecretArn (or EmbeddedDemoDatabase=true)",
                }
            ],
        },
    )
    template.add_rule(
        names.EMBEDDED_DEMO_RULE,
        {
            "RuleCondition": Equals(Ref(embedded_demo_database), "true"),
            "Assertions": [
                {
                    "Assert": no_database,
                    "AssertDescription": "The demo has no database: DataStackName and "
                    "DatabaseUrlSecretArn must be empty",
                },
                {
                    "Assert": Equals(Ref(params.desired_count), "1"),
                    "AssertDescription": "The demo is one task: DesiredCount=1",
                },
                {
                    "Assert": Equals(Ref(params.auto_scaling), "false"),
                    "AssertDescription": "The demo is one task: AutoScaling=false",
                },
                {
                    # Spot would take the one task back with no other to serve meanwhile.
                    "Assert": Equals(Ref(params.spot.spot_weight), "0"),
                    "AssertDescription": "The demo is one task: SpotWeight=0",
                },
            ],
        },
    )
    return DataLink(
        data_stack_name=data_stack_name,
        data_stack_has_cache=data_stack_has_cache,
        data_stack_has_readers=data_stack_has_readers,
        embedded_demo_database=embedded_demo_database,
    )
