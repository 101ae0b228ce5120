"""What every bucket of the project shares: no public access, objects owned by the bucket's
account (ACLs off), and a policy statement refusing requests without TLS."""

from typing import Any

from awacs.aws import Bool, Condition, Deny, Principal, Statement
from awacs.s3 import Action as S3Action
from troposphere import AWSHelperFn, Sub, s3


def private() -> dict[str, Any]:
    """The properties that keep a bucket private: every public-access block on, ACLs disabled."""
    return {
        "PublicAccessBlockConfiguration": s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True,
            BlockPublicPolicy=True,
            IgnorePublicAcls=True,
            RestrictPublicBuckets=True,
        ),
        "OwnershipControls": s3.OwnershipControls(
            Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
        ),
    }


def tls_only(arn: AWSHelperFn) -> Statement:
    """Deny every request to the bucket `arn` and its objects that does not come over TLS."""
    return Statement(
        Sid="TlsOnly",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[S3Action("*")],
        Resource=[arn, Sub("${Arn}/*", Arn=arn)],
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )
