"""The load balancer's guard rails (issue #12 item 6): access logs to a bucket unless opted out,
deletion protection driven by its parameter, HTTPS required when asked, and the outputs saying
plainly when traffic is unencrypted; the data stack's access-log bucket and its policy."""

import re

import pytest

from template_builder import names
from template_builder.access_logs import ELB_LOG_ACCOUNTS, LOG_DELIVERY_SERVICE

OWN_BUCKET = "company-alb-logs"


def attributes(resolved: dict) -> dict[str, str]:
    lb = resolved["Resources"][names.LOAD_BALANCER]["Properties"]
    return {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}


# --- access logs -------------------------------------------------------------------------------
def test_by_default_access_logs_go_to_the_data_stacks_bucket_under_the_stack_name(render):
    logs = attributes(render.resolve())
    assert logs["access_logs.s3.enabled"] == "true"
    assert logs["access_logs.s3.bucket"] == render.data_outputs[names.OUTPUT_ACCESS_LOG_BUCKET]
    assert logs["access_logs.s3.prefix"] == names.DEFAULT_STACK_NAME


def test_a_given_bucket_takes_the_logs_with_or_without_a_data_stack(render):
    beside = attributes(render.resolve(AccessLogBucketName=OWN_BUCKET))
    alone = attributes(
        render.resolve(
            DataStackName="",
            DatabaseUrlSecretArn=render.database_secret,
            AccessLogBucketName=OWN_BUCKET,
        )
    )
    assert beside["access_logs.s3.bucket"] == alone["access_logs.s3.bucket"] == OWN_BUCKET


def test_access_logs_off_sets_no_bucket(render):
    logs = attributes(render.resolve(AccessLogs="false"))
    assert logs["access_logs.s3.enabled"] == "false"
    assert "access_logs.s3.bucket" not in logs
    assert "access_logs.s3.prefix" not in logs


def test_without_a_data_stack_or_a_bucket_access_logs_must_be_turned_off_by_name(render):
    failures = render.rule_failures(
        render.service(), DataStackName="", DatabaseUrlSecretArn=render.database_secret
    )
    assert failures == ["AccessLogs=true needs a data stack or AccessLogBucketName"]
    opted_out = render.rule_failures(
        render.service(),
        DataStackName="",
        DatabaseUrlSecretArn=render.database_secret,
        AccessLogs="false",
    )
    assert opted_out == []


def test_the_bucket_name_parameter_refuses_what_s3_would(render):
    pattern = render.service()["Parameters"][names.ACCESS_LOG_BUCKET_NAME]["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, OWN_BUCKET)
    assert not re.fullmatch(pattern, "Company_Logs")
    assert not re.fullmatch(pattern, "s3://company-alb-logs")


# --- deletion protection -----------------------------------------------------------------------
@pytest.mark.parametrize("value", ["true", "false"])
def test_deletion_protection_follows_its_parameter(render, value):
    resolved = render.resolve(LoadBalancerDeletionProtection=value)
    assert attributes(resolved)["deletion_protection.enabled"] == value


def test_deletion_protection_defaults_on_for_cars_stack_to_apply_after_the_first_create(render):
    parameter = render.service()["Parameters"][names.LOAD_BALANCER_DELETION_PROTECTION]
    assert parameter["Default"] == "true"


# --- HTTPS -------------------------------------------------------------------------------------
def test_require_https_refuses_a_deploy_without_a_certificate(render):
    assert render.rule_failures(render.service(), RequireHttps="true") == [
        "RequireHttps is true: CertificateArn must be set"
    ]
    with pytest.raises(ValueError, match="CertificateArn must be set"):
        render.resolve(RequireHttps="true")
    assert (
        render.rule_failures(
            render.service(), RequireHttps="true", CertificateArn=render.certificate
        )
        == []
    )


def test_plain_http_stays_possible_for_a_first_try(render):
    assert render.service()["Parameters"][names.REQUIRE_HTTPS]["Default"] == "false"
    assert render.rule_failures(render.service()) == []


def test_the_outputs_say_plainly_when_traffic_is_unencrypted(render):
    plain = render.resolve()["Outputs"]
    assert plain[names.OUTPUT_TRANSPORT]["Value"] == (
        "plain HTTP (no certificate): traffic is unencrypted"
    )
    assert plain[names.OUTPUT_SERVICE_URL]["Value"].startswith("http://")
    encrypted = render.resolve(CertificateArn=render.certificate)["Outputs"]
    assert encrypted[names.OUTPUT_TRANSPORT]["Value"] == "HTTPS (port 80 redirects)"


def test_with_a_certificate_port_80_redirects_to_https(render):
    resolved = render.resolve(CertificateArn=render.certificate)["Resources"]
    (action,) = resolved[names.HTTP_LISTENER]["Properties"]["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"


# --- the data stack's access-log bucket ----------------------------------------------------------
def data_stack(render, region: str = "eu-west-1") -> dict:
    return render.resolve(render.data(), stack_name=names.DEFAULT_DATA_STACK_NAME, region=region)


def test_the_bucket_is_private_sse_s3_owner_enforced_and_kept_after_the_stack(render):
    bucket = data_stack(render)["Resources"][names.ACCESS_LOG_BUCKET]
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"  # a failed create leaves nothing
    assert bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_the_bucket_name_is_unique_to_the_account_region_and_stack(render):
    bucket = data_stack(render)["Resources"][names.ACCESS_LOG_BUCKET]["Properties"]
    first_eight = render.stack_uuid.split("-")[0]
    expected = f"api-cars-data-alb-{render.account_id}-eu-west-1-{first_eight}"
    assert bucket["BucketName"] == expected
    assert len(expected) <= 63


def test_the_logs_expire_after_the_retention_parameter(render):
    def expiry(resolved):
        (rule,) = resolved["Resources"][names.ACCESS_LOG_BUCKET]["Properties"][
            "LifecycleConfiguration"
        ]["Rules"]
        return rule["ExpirationInDays"], rule["Status"]

    assert expiry(data_stack(render)) == ("90", "Enabled")
    custom = render.resolve(
        render.data(), stack_name=names.DEFAULT_DATA_STACK_NAME, AccessLogRetentionDays=400
    )
    assert expiry(custom) == ("400", "Enabled")


def _statements(resolved: dict) -> dict[str, dict]:
    policy = resolved["Resources"][names.ACCESS_LOG_BUCKET_POLICY]["Properties"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_the_bucket_policy_refuses_every_request_without_tls(render):
    deny = _statements(data_stack(render))["TlsOnly"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == ["s3:*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(deny["Resource"]) == 2  # the bucket and its objects


@pytest.mark.parametrize(
    ("region", "principal"),
    [
        ("eu-west-1", {"AWS": "156460612806"}),
        ("us-east-1", {"AWS": "127311923021"}),
        # Opened after August 2022: the log delivery service, no account.
        ("eu-central-2", {"Service": LOG_DELIVERY_SERVICE}),
        ("ap-southeast-4", {"Service": LOG_DELIVERY_SERVICE}),
    ],
)
def test_log_delivery_is_granted_as_the_alb_guide_says_for_the_region(render, region, principal):
    allow = _statements(data_stack(render, region))["ElbLogDelivery"]
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == principal
    assert allow["Action"] == ["s3:PutObject"]
    (resource,) = allow["Resource"]
    assert resource.endswith(f"/*/AWSLogs/{render.account_id}/*")


def test_the_region_table_is_the_guides_twenty_two_regions():
    assert len(ELB_LOG_ACCOUNTS) == 22
    assert all(len(account) == 12 and account.isdigit() for account in ELB_LOG_ACCOUNTS.values())


def test_the_data_stack_exports_the_bucket_the_service_imports(render):
    outputs = data_stack(render)["Outputs"]
    exported = outputs[names.OUTPUT_ACCESS_LOG_BUCKET]
    assert exported["Export"]["Name"] == "api-cars-data-AccessLogBucket"
