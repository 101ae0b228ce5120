"""The bulk-import bucket (``ImportBucket=true``): dealers' files under ``imports/``, the import
function's reports under ``reports/``.

It lives in the data stack, not the import stack: its files are data, and outlive a teardown of
the service or of the import workload as the database does (docs/architecture.md, "Bulk import").
Off by default, so an existing data stack changes nothing. Object Created events go to EventBridge
(no bucket notification naming a queue of another stack: no circular dependency), where the
import stack's rule picks ``imports/*.csv`` and ``imports/*.jsonl``.
"""

from troposphere import Equals, Parameter, Ref, Select, Split, Sub, Template, s3

from template_builder import buckets, names
from template_builder.metadata import checkov_skips, guard_skips
from template_builder.parameters import add_grouped, boolean_parameter
from template_builder.policies import document

DEFAULT_RETENTION_DAYS = 30


def add_import_bucket(template: Template) -> s3.Bucket:
    switch = add_grouped(
        template,
        "Bulk import",
        None,
        boolean_parameter(names.IMPORT_BUCKET_SWITCH, False, "Create the bulk-import bucket."),
    )
    days = add_grouped(
        template,
        "Bulk import",
        None,
        Parameter(
            names.IMPORT_RETENTION_DAYS,
            Type="Number",
            Default=DEFAULT_RETENTION_DAYS,
            MinValue=1,
            MaxValue=3653,
            Description="Days imports/ and reports/ are kept.",
        ),
    )
    template.add_condition(names.HAS_IMPORT_BUCKET, Equals(Ref(switch), "true"))
    uuid = Select(2, Split("/", Ref("AWS::StackId")))
    expire = [
        s3.LifecycleRule(
            Id=f"Expire{prefix.title().rstrip('/')}",
            Prefix=prefix,
            Status="Enabled",
            ExpirationInDays=Ref(days),
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1),
        )
        for prefix in (names.IMPORTS_PREFIX, names.REPORTS_PREFIX)
    ]
    bucket = template.add_resource(
        s3.Bucket(
            names.IMPORT_BUCKET,
            Condition=names.HAS_IMPORT_BUCKET,
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
            BucketName=Sub(
                names.IMPORT_BUCKET_NAME_PATTERN.format(
                    stack=names.OWN_STACK_NAME,
                    account="${AWS::AccountId}",
                    region="${AWS::Region}",
                    id="${Id}",
                ),
                Id=Select(0, Split("-", uuid)),
            ),
            # SSE-KMS with the AWS-managed aws/s3 key: no key policy to own, and the function's
            # role needs no kms:* (the key admits the account's principals through S3).
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(
                        BucketKeyEnabled=True,
                        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                            SSEAlgorithm="aws:kms"
                        ),
                    )
                ]
            ),
            **buckets.private(),
            VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
            LifecycleConfiguration=s3.LifecycleConfiguration(Rules=expire),
            NotificationConfiguration=s3.NotificationConfiguration(
                EventBridgeConfiguration=s3.EventBridgeConfiguration(EventBridgeEnabled=True)
            ),
            Metadata=checkov_skips(
                CKV_AWS_18="Access logging needs a second bucket; CloudTrail data events are "
                "the audit trail for who dropped which file.",
            )
            | guard_skips(
                s3_bucket_logging_enabled_check="Needs a second bucket; CloudTrail covers it.",
                s3_bucket_object_lock_enabled_check="Files expire by lifecycle; a lock blocks it.",
            ),
        )
    )
    arn = bucket.GetAtt("Arn")
    template.add_resource(
        s3.BucketPolicy(
            names.IMPORT_BUCKET_POLICY,
            Condition=names.HAS_IMPORT_BUCKET,
            Bucket=Ref(bucket),
            Metadata=guard_skips(
                s3_bucket_policy_ssl_requests_only_check="TlsOnly denies s3:* without TLS; the "
                "rule reads no Fn::Sub variable map.",
            ),
            PolicyDocument=document(
                buckets.tls_only(arn),
            ),
        )
    )
    return bucket
