"""Outputs of the data stack, each exported as `${AWS::StackName}-<output>` (names.EXPORT):
what the service stack imports and `cars-stack status` reads."""

from troposphere import Ref, Template, s3

from template_builder import names
from template_builder.data.aurora import Database, reader_endpoint
from template_builder.data.cache import Cache
from template_builder.data.network import DataNetwork
from template_builder.exports import exported as _exported


def add_data_outputs(
    template: Template,
    database: Database,
    cache: Cache,
    network: DataNetwork,
    access_log_bucket: s3.Bucket,
    import_bucket: s3.Bucket,
) -> None:
    cluster = database.cluster
    with_cache = {"Condition": names.HAS_CACHE}
    template.add_output(
        [
            _exported(
                names.OUTPUT_WRITER_ENDPOINT,
                "Writer endpoint (PGHOST)",
                cluster.GetAtt("Endpoint.Address"),
            ),
            _exported(
                names.OUTPUT_READER_ENDPOINT,
                "Reader endpoint (DATABASE_READ_HOST); the writer while there are no readers",
                reader_endpoint(database),
            ),
            _exported(
                names.OUTPUT_DATABASE_PORT, "PostgreSQL port", cluster.GetAtt("Endpoint.Port")
            ),
            _exported(
                names.OUTPUT_DATABASE_NAME,
                "Database name (PGDATABASE)",
                Ref(names.DATABASE_NAME),
            ),
            _exported(
                names.OUTPUT_DATABASE_SECRET_ARN,
                "Secret with the database username and password (JSON)",
                Ref(database.secret),
            ),
            _exported(
                names.OUTPUT_CACHE_ENDPOINT,
                "Cache endpoint (REDIS_HOST, TLS)",
                cache.cache.GetAtt("Endpoint.Address"),
                **with_cache,
            ),
            _exported(
                names.OUTPUT_CACHE_PORT,
                "Cache port (REDIS_PORT)",
                cache.cache.GetAtt("Endpoint.Port"),
                **with_cache,
            ),
            _exported(
                names.OUTPUT_CACHE_SECRET_ARN,
                "Secret with the cache username and password (JSON)",
                Ref(cache.secret),
                **with_cache,
            ),
            _exported(
                names.OUTPUT_CLIENT_SECURITY_GROUP,
                "Security group a client wears to reach the database and the cache",
                network.client.GetAtt("GroupId"),
            ),
            # The service imports the network stack's VPC itself; this export stays because
            # service stacks of the previous layout import it (an imported export cannot go).
            _exported(
                names.OUTPUT_DATA_VPC_ID, "VPC of the data tier", network.client.GetAtt("VpcId")
            ),
            _exported(
                names.OUTPUT_ACCESS_LOG_BUCKET,
                "Bucket of the load balancer's access logs (kept when the stack is deleted)",
                Ref(access_log_bucket),
            ),
            _exported(
                names.OUTPUT_IMPORT_BUCKET,
                "Bulk-import bucket (imports/, reports/; kept when the stack is deleted)",
                Ref(import_bucket),
                Condition=names.HAS_IMPORT_BUCKET,
            ),
        ]
    )
