"""The access-log bucket: where the service's load balancer writes its access logs.

It lives in the data stack because it outlives the service, as the data does, and because the
service template has no bytes to spare (docs/architecture.md, "Guard rails"). It is kept when the
stack is deleted: the logs outlive both stacks. Each newly created data stack gets a bucket of its
own (the name carries the stack ID's first eight characters), so a stack created again never
collides with a bucket kept from before. The service writes under `<stack>/AWSLogs/<account>/`.
"""

from awacs.aws import Allow, Principal, Statement
from awacs.s3 import PutObject
from troposphere import Condition as ConditionRef
from troposphere import Equals, If, Or, Parameter, Ref, Select, Split, Sub, Template, s3

from template_builder import buckets, names
from template_builder.metadata import checkov_skips, guard_skips
from template_builder.parameters import add_grouped
from template_builder.policies import document

# Who delivers access logs, per the ALB guide ("Enable access logs", step 2): in the Regions opened
# before August 2022, this Elastic Load Balancing account; in later ones, the service principal.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
DEFAULT_RETENTION_DAYS = 90


def bucket_name() -> Sub:
    """``<stack>-alb-<account>-<region>-<first 8 characters of the stack's UUID>``."""
    uuid = Select(2, Split("/", Ref("AWS::StackId")))
    return Sub(
        names.ACCESS_LOG_BUCKET_NAME_PATTERN.format(
            stack=names.OWN_STACK_NAME,
            account="${AWS::AccountId}",
            region="${AWS::Region}",
            id="${Id}",
        ),
        Id=Select(0, Split("-", uuid)),
    )


def _region_condition(region: str) -> str:
    return names.ELB_ACCOUNT_IN_REGION.format(region="".join(map(str.title, region.split("-"))))


def elb_log_account() -> If | str:
    """The Region's ELB account: one condition per Region, not a Mapping, because CloudFormation
    resolves Fn::FindInMap in both branches of an Fn::If and fails on a Region missing from the
    map, which would fail every Region opened later. Used only where ElbAccountRegion holds, so
    the last account needs no condition of its own."""
    *chained, (_, last) = ELB_LOG_ACCOUNTS.items()
    account: If | str = last
    for region, other in reversed(chained):
        account = If(_region_condition(region), other, account)
    return account


def _add_elb_account_conditions(template: Template) -> None:
    for region in ELB_LOG_ACCOUNTS:
        template.add_condition(_region_condition(region), Equals(Ref("AWS::Region"), region))
    regions = [ConditionRef(_region_condition(region)) for region in ELB_LOG_ACCOUNTS]
    # Fn::Or takes at most ten conditions.
    template.add_condition(
        names.ELB_ACCOUNT_REGION,
        Or(*(Or(*regions[i : i + 10]) for i in range(0, len(regions), 10))),
    )


def add_access_log_retention_parameter(template: Template) -> Parameter:
    return add_grouped(
        template,
        "Logging",
        "Access-log retention (days)",
        Parameter(
            names.ACCESS_LOG_DAYS,
            Type="Number",
            Default=DEFAULT_RETENTION_DAYS,
            MinValue=1,
            MaxValue=3653,
            Description="Days the access-log bucket keeps the load balancer's logs.",
        ),
    )


def add_access_log_bucket(template: Template, retention_days: Parameter) -> s3.Bucket:
    """The bucket, SSE-S3 (the only encryption ELB delivers to), private, TLS only, expiring."""
    _add_elb_account_conditions(template)
    bucket = template.add_resource(
        s3.Bucket(
            names.ACCESS_LOG_BUCKET,
            # Kept when the stack is deleted, not when its first create fails (nothing logged yet).
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
            BucketName=bucket_name(),
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                            SSEAlgorithm="AES256"
                        )
                    )
                ]
            ),
            **buckets.private(),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    s3.LifecycleRule(
                        Id="ExpireAccessLogs",
                        Status="Enabled",
                        ExpirationInDays=Ref(retention_days),
                        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                            DaysAfterInitiation=1
                        ),
                    )
                ]
            ),
            Metadata=checkov_skips(
                CKV_AWS_18="This is the log bucket: logging its own access needs a second one.",
                CKV_AWS_21="Log files are written once and expire; old versions would outlive "
                "the retention the lifecycle rule sets.",
                CKV_AWS_145="ELB delivers access logs only to SSE-S3 buckets, not SSE-KMS.",
            )
            | guard_skips(
                s3_bucket_default_encryption_kms_check="ELB delivers only to SSE-S3 buckets.",
                s3_bucket_logging_enabled_check="The log bucket; its own logs need a second.",
                s3_bucket_object_lock_enabled_check="Logs expire by lifecycle; a lock blocks it.",
                s3_bucket_versioning_enabled_check="Written once, expired; versions outlive it.",
                s3_event_notifications_enabled_check="Nothing consumes the log files' events.",
            ),
        )
    )
    arn = bucket.GetAtt("Arn")
    delivery = If(
        names.ELB_ACCOUNT_REGION,
        Principal("AWS", elb_log_account()),
        Principal("Service", LOG_DELIVERY_SERVICE),
    )
    template.add_resource(
        s3.BucketPolicy(
            names.ACCESS_LOG_BUCKET_POLICY,
            Bucket=Ref(bucket),
            Metadata=guard_skips(
                s3_bucket_policy_ssl_requests_only_check="TlsOnly denies s3:* without TLS; the "
                "rule reads no Fn::Sub variable map.",
            ),
            PolicyDocument=document(
                buckets.tls_only(arn),
                Statement(
                    Sid="ElbLogDelivery",
                    Effect=Allow,
                    Principal=delivery,
                    Action=[PutObject],
                    # Any prefix (the service stack's name), this account's logs only.
                    Resource=[Sub("${Arn}/*/AWSLogs/${AWS::AccountId}/*", Arn=arn)],
                ),
            ),
        )
    )
    return bucket
