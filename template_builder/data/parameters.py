"""Parameters of the data stack, and the conditions they drive.

Capacities are AllowedValues lists: CloudFormation then refuses a value Aurora would refuse
(anything but 0 and half-steps from 0.5 up to 256), before creating anything.
"""

from dataclasses import dataclass

from troposphere import Equals, Or, Parameter, Ref, Template

from template_builder import names
from template_builder.network_link import NetworkLink, add_network_link
from template_builder.parameters import add_grouped, boolean_parameter

# Aurora Serverless v2 capacity in ACUs (1 ACU is about 2 GiB of memory). 0 pauses the database
# when idle (auto-pause, Aurora PostgreSQL 13.15+/14.12+/15.7+/16.3+ and every 17.x).
MIN_CAPACITIES = [0, 0.5, 1, 2, 4, 8, 16, 32, 64, 128]
MAX_CAPACITIES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
BACKUP_RETENTION_DAYS = 7
DATABASE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


@dataclass(frozen=True)
class DataParameters:
    reader_count: Parameter
    min_capacity: Parameter
    max_capacity: Parameter
    database_name: Parameter
    backup_retention_days: Parameter
    deletion_protection: Parameter
    enable_cache: Parameter
    cache_max_data_storage_gb: Parameter
    cache_max_ecpu_per_second: Parameter
    network: NetworkLink


def add_data_parameters(template: Template) -> DataParameters:
    database = "Database (Aurora PostgreSQL Serverless v2)"
    reader_count = add_grouped(
        template,
        database,
        "Readers",
        Parameter(
            names.READER_COUNT,
            Type="Number",
            Default=0,
            AllowedValues=list(range(names.MAX_READERS + 1)),
            Description="Reader instances beside the writer (reads go to the reader endpoint; "
            "a reader is also the failover target).",
        ),
    )
    min_capacity = add_grouped(
        template,
        database,
        "Minimum capacity (ACU)",
        Parameter(
            names.MIN_CAPACITY,
            Type="Number",
            Default=0,
            AllowedValues=MIN_CAPACITIES,
            Description="Lowest capacity per instance; 0 pauses it after 5 idle minutes "
            "(about 15 s to resume).",
        ),
    )
    max_capacity = add_grouped(
        template,
        database,
        "Maximum capacity (ACU)",
        Parameter(
            names.MAX_CAPACITY,
            Type="Number",
            Default=4,
            AllowedValues=MAX_CAPACITIES,
            Description="Highest capacity per instance: the cost ceiling (must be >= minimum).",
        ),
    )
    database_name = add_grouped(
        template,
        database,
        "Database name",
        Parameter(
            names.DATABASE_NAME,
            Type="String",
            Default="cars",
            AllowedPattern=DATABASE_NAME_PATTERN,
            ConstraintDescription="must be a lower-case PostgreSQL identifier",
            Description="Database created in the cluster (PGDATABASE of the service).",
        ),
    )
    backup_retention_days = add_grouped(
        template,
        database,
        "Backup retention (days)",
        Parameter(
            names.BACKUP_RETENTION_DAYS,
            Type="Number",
            Default=BACKUP_RETENTION_DAYS,
            MinValue=1,
            MaxValue=35,
            Description="Days of automated backups (the point-in-time restore window).",
        ),
    )
    deletion_protection = add_grouped(
        template,
        database,
        "Deletion protection",
        boolean_parameter(
            names.DELETION_PROTECTION,
            True,
            "Refuse to delete the cluster. Create the stack with false, then "
            "update to true (docs/architecture.md): a failed first create can then roll back.",
        ),
    )
    cache = "Cache (ElastiCache for Valkey Serverless)"
    enable_cache = add_grouped(
        template,
        cache,
        "Enable the cache",
        boolean_parameter(
            names.ENABLE_CACHE,
            True,
            "Create the cache (the service's DataStackHasCache must match).",
        ),
    )
    cache_max_data_storage_gb = add_grouped(
        template,
        cache,
        "Maximum cache data (GB)",
        Parameter(
            names.CACHE_MAX_DATA_STORAGE_GB,
            Type="Number",
            Default=1,
            MinValue=1,
            MaxValue=5000,
            Description="Cache data storage ceiling: writes beyond it are refused (cost bound).",
        ),
    )
    cache_max_ecpu_per_second = add_grouped(
        template,
        cache,
        "Maximum cache ECPU per second",
        Parameter(
            names.CACHE_MAX_ECPU_PER_SECOND,
            Type="Number",
            Default=5000,
            MinValue=1000,
            MaxValue=15000000,
            Description="Cache compute ceiling: requests beyond it are throttled (cost bound).",
        ),
    )
    network = add_network_link(template, "Network")

    _add_capacity_rules(template, min_capacity, max_capacity)
    template.add_condition(names.HAS_CACHE, Equals(Ref(enable_cache), "true"))
    for index in range(1, names.MAX_READERS + 1):
        counts = [Equals(Ref(reader_count), str(n)) for n in range(index, names.MAX_READERS + 1)]
        template.add_condition(
            names.HAS_READER.format(index=index), counts[0] if len(counts) == 1 else Or(*counts)
        )

    return DataParameters(
        reader_count=reader_count,
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        database_name=database_name,
        backup_retention_days=backup_retention_days,
        deletion_protection=deletion_protection,
        enable_cache=enable_cache,
        cache_max_data_storage_gb=cache_max_data_storage_gb,
        cache_max_ecpu_per_second=cache_max_ecpu_per_second,
        network=network,
    )


def _add_capacity_rules(template: Template, minimum: Parameter, maximum: Parameter) -> None:
    """One rule per minimum some maximum is below: CloudFormation refuses minimum > maximum
    before it creates anything (Rules cannot compare numbers, so each case is spelled out)."""
    for low in MIN_CAPACITIES:
        allowed = [high for high in MAX_CAPACITIES if high >= low]
        if allowed == MAX_CAPACITIES:
            continue
        template.add_rule(
            f"MaxCapacityAtLeast{str(low).replace('.', '_')}",
            {
                "RuleCondition": Equals(Ref(minimum), str(low)),
                "Assertions": [
                    {
                        "Assert": {"Fn::Contains": [[str(h) for h in allowed], Ref(maximum)]},
                        "AssertDescription": f"With MinCapacity {low}, MaxCapacity must be "
                        f"at least {low}",
                    }
                ],
            },
        )
