"""Aurora PostgreSQL Serverless v2: the credentials secret, the cluster, its writer and readers.

Credentials are a generated Secrets Manager secret attached to the cluster (the AWS Copilot Aurora
addon's way): `{"username", "password"}` generated here, `host`, `port`, `engine`, `dbname`
added by the attachment. The template never holds the password; the cluster reads it through a
dynamic reference, the service's tasks through ECS secrets. See docs/architecture.md,
"Credentials", for why not the RDS-managed master secret, and what is still open.
"""

import json
from dataclasses import dataclass
from typing import ClassVar

from troposphere import AWSHelperFn, GetAtt, Ref, Sub, Template, rds, secretsmanager

from template_builder import names
from template_builder.data.network import POSTGRES_PORT, DataNetwork
from template_builder.data.parameters import DataParameters
from template_builder.metadata import checkov_skips, guard_skips

ENGINE = "aurora-postgresql"
# A current release cfn-lint 1.58 does not flag as deprecated; every 17.x supports auto-pause.
ENGINE_VERSION = "17.7"
INSTANCE_CLASS = "db.serverless"
# Aurora pauses an idle instance at MinCapacity 0 after this many seconds (AWS's default).
SECONDS_UNTIL_AUTO_PAUSE = 300
# Performance Insights' free tier keeps 7 days.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
# Passwords of letters and digits: nothing for a shell, a URL or a connection string to escape.
PASSWORD_LENGTH = 32

SECRET_SKIPS = checkov_skips(
    CKV_AWS_149="Encrypted with the AWS-managed key aws/secretsmanager; a customer-managed key "
    "would add a key policy the execution role must be granted, for no gain here.",
    CKV2_AWS_57="No rotation by default: ECS reads secrets only when a task starts, so a "
    "rotation would break running tasks' new connections (docs/architecture.md, Credentials).",
)


def aurora_capacity(value):
    """Aurora Serverless v2 capacity: 0 (auto-pause) or 0.5 to 256 in half steps.

    troposphere 4.11's own validator still refuses 0 and anything above 128, both valid today;
    deploy-time values come from Refs, which no validator sees.
    """
    if isinstance(value, AWSHelperFn):
        return value
    number = float(value)
    if not (number == 0 or 0.5 <= number <= 256) or (number * 2) % 1:
        raise ValueError(f"Aurora Serverless v2 capacity {value} is not 0 or 0.5-256 in 0.5 steps")
    return value


class ServerlessV2Scaling(rds.ServerlessV2ScalingConfiguration):
    """troposphere's ServerlessV2ScalingConfiguration with today's capacity range."""

    props: ClassVar[dict] = {
        **rds.ServerlessV2ScalingConfiguration.props,
        "MinCapacity": (aurora_capacity, False),
        "MaxCapacity": (aurora_capacity, False),
    }


@dataclass(frozen=True)
class Database:
    secret: secretsmanager.Secret
    cluster: rds.DBCluster
    writer: rds.DBInstance
    readers: list[rds.DBInstance]


def generated_credentials(logical_id: str, name: str, description, username: str, **extra):
    """A secret `${AWS::StackName}/<name>` holding {"username": username, "password": <generated>}
    (named under the stack, so the release roles can be scoped to it)."""
    return secretsmanager.Secret(
        logical_id,
        Name=Sub(names.DATA_SECRET_NAME.format(stack=names.OWN_STACK_NAME, name=name)),
        Description=description,
        GenerateSecretString=secretsmanager.GenerateSecretString(
            SecretStringTemplate=json.dumps({"username": username}),
            GenerateStringKey="password",
            PasswordLength=PASSWORD_LENGTH,
            ExcludePunctuation=True,
        ),
        Metadata=SECRET_SKIPS,
        **extra,
    )


def secret_value(secret: secretsmanager.Secret, key: str) -> Sub:
    """A dynamic reference: CloudFormation reads the value when it acts, the template holds none."""
    return Sub(f"{{{{resolve:secretsmanager:${{Secret}}:SecretString:{key}}}}}", Secret=Ref(secret))


def _instance(logical_id: str, cluster: rds.DBCluster, tier: int, **extra) -> rds.DBInstance:
    return rds.DBInstance(
        logical_id,
        DBClusterIdentifier=Ref(cluster),
        DBInstanceClass=INSTANCE_CLASS,
        Engine=ENGINE,
        PromotionTier=tier,
        PubliclyAccessible=False,
        AutoMinorVersionUpgrade=True,
        EnablePerformanceInsights=True,
        PerformanceInsightsRetentionPeriod=PERFORMANCE_INSIGHTS_RETENTION_DAYS,
        Metadata=checkov_skips(
            CKV_AWS_118="Enhanced Monitoring needs a monitoring role and bills CloudWatch Logs "
            "per instance; Performance Insights and the RDS metrics cover this API.",
        )
        | guard_skips(
            rds_instance_enhanced_monitoring_enabled_check="Performance Insights and the RDS "
            "metrics cover this API without a monitoring role.",
        ),
        **extra,
    )


def add_database(template: Template, params: DataParameters, network: DataNetwork) -> Database:
    secret = template.add_resource(
        generated_credentials(
            names.DATABASE_SECRET,
            "database",
            Sub("api-cars database master user of ${AWS::StackName}"),
            names.DATABASE_MASTER_USER,
        )
    )
    cluster = template.add_resource(
        rds.DBCluster(
            names.DATABASE_CLUSTER,
            Engine=ENGINE,
            EngineVersion=ENGINE_VERSION,
            DatabaseName=Ref(params.database_name),
            Port=POSTGRES_PORT,
            MasterUsername=secret_value(secret, "username"),
            MasterUserPassword=secret_value(secret, "password"),
            ServerlessV2ScalingConfiguration=ServerlessV2Scaling(
                MinCapacity=Ref(params.min_capacity),
                MaxCapacity=Ref(params.max_capacity),
                SecondsUntilAutoPause=SECONDS_UNTIL_AUTO_PAUSE,
            ),
            DBSubnetGroupName=Ref(network.subnet_group),
            VpcSecurityGroupIds=[Ref(network.database)],
            StorageEncrypted=True,
            DeletionProtection=Ref(params.deletion_protection),
            BackupRetentionPeriod=Ref(params.backup_retention_days),
            CopyTagsToSnapshot=True,
            EnableIAMDatabaseAuthentication=True,
            EnableCloudwatchLogsExports=["postgresql"],
            # The data outlives the stack and any replacement: a final snapshot is taken first.
            DeletionPolicy="Snapshot",
            UpdateReplacePolicy="Snapshot",
            Metadata=checkov_skips(
                CKV_AWS_327="Encrypted at rest with the AWS-managed RDS key; a customer-managed "
                "key would add a key policy and cost without a gain for this data.",
            )
            | guard_skips(
                rds_cluster_deletion_protection_enabled_check="Set by the DeletionProtection "
                "parameter (default true), which Guard cannot resolve.",
            ),
        )
    )
    template.add_resource(
        secretsmanager.SecretTargetAttachment(
            names.DATABASE_SECRET_ATTACHMENT,
            SecretId=Ref(secret),
            TargetId=Ref(cluster),
            TargetType="AWS::RDS::DBCluster",
        )
    )
    # Tier 0 for the writer, 1 for readers: instances in tiers 0-1 scale with the writer, so a
    # reader promoted on failover already has the writer's capacity.
    writer = template.add_resource(_instance(names.DATABASE_WRITER, cluster, 0))
    readers = [
        template.add_resource(
            _instance(
                names.DATABASE_READER.format(index=index),
                cluster,
                1,
                Condition=names.HAS_READER.format(index=index),
            )
        )
        for index in range(1, names.MAX_READERS + 1)
    ]
    return Database(secret=secret, cluster=cluster, writer=writer, readers=readers)


def reader_endpoint(database: Database) -> GetAtt:
    """The cluster's reader endpoint, with or without readers: without, Aurora connects it to the
    writer. One value whatever ReaderCount is, because CloudFormation refuses to change an export
    another stack imports: a value that followed ReaderCount would make a reader change fail."""
    return database.cluster.GetAtt("ReadEndpoint.Address")
