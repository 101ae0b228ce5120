"""Each deploy-time decision: HTTPS, auto scaling, secrets, Fargate Spot. Every combination is a
template that cfn-lint accepts once its conditions are decided, and each one behaves as
documented."""

import itertools
import json

import pytest
from cfnlint.api import ManualArgs, lint

from template_builder import names

HTTPS = {"https": {names.CERTIFICATE_ARN: "certificate"}, "http": {}}
SCALING = {
    "autoscaling": {names.AUTO_SCALING: "true"},
    "fixed-count": {names.AUTO_SCALING: "false"},
    # The options of template_builder/scaling.py, each alone and both (auto scaling on).
    "predictive-cpu": {names.PREDICTIVE_SCALING: "cpu"},
    "predictive-requests": {
        names.PREDICTIVE_SCALING: "requests",
        names.PREDICTIVE_MODE: "ForecastAndScale",
    },
    "business-hours": {names.BUSINESS_HOURS: "business-hours"},
    "predictive-business-hours": {
        names.PREDICTIVE_SCALING: "cpu",
        names.BUSINESS_HOURS: "business-hours",
    },
}
SECRETS = {
    "secrets": {names.DATABASE_URL_SECRET_ARN: "database", names.REDIS_URL_SECRET_ARN: "redis"},
    "no-secrets": {},
}
DATA = {
    "data-stack-with-cache": {},
    "data-stack-without-cache": {names.DATA_STACK_HAS_CACHE: "false"},
    # Without a data stack, access logs go to a bucket given (the demo opts out: AccessLogs=false).
    "no-data-stack": {names.DATA_STACK_NAME: "", names.ACCESS_LOG_BUCKET_NAME: "company-alb-logs"},
}
SPOT = {"on-demand": {}, "spot": {names.SPOT_WEIGHT: "3"}}
# Parameters a variant no longer uses once its conditions are decided (e.g. CertificateArn on
# HTTP): expected, so W2001 (unused parameter) says nothing about the variant.
LINT_CONFIG = ManualArgs(regions=["eu-west-1"], ignore_checks=["W2001"])


def parameters(render, *choices: dict) -> dict:
    values = {
        "certificate": render.certificate,
        "database": render.database_secret,
        "redis": render.redis_parameter,
    }
    merged = {}
    for choice in choices:
        for name, value in choice.items():
            if value == "business-hours":  # the three parameters of render.business_hours
                merged |= render.business_hours
            else:
                merged[name] = values.get(value, value)
    return merged


def _combinations():
    """Every choice meets every other choice it could interact with, not the full product (each
    case is a cfn-lint run): each database x secrets choice over HTTPS with auto scaling and over
    HTTP with a fixed count; each HTTPS x plain scaling pair on Spot and on demand; each scaling
    option on demand and on Spot."""
    for secrets, data in itertools.product(SECRETS, DATA):
        if data == "no-data-stack" and secrets == "no-secrets":
            # No database at all: only the demo, which the Rules pin to one fixed on-demand task.
            yield "http", "fixed-count", "demo", data, "on-demand"
            yield "https", "fixed-count", "demo", data, "on-demand"
            continue
        yield "https", "autoscaling", secrets, data, "on-demand"
        yield "http", "fixed-count", secrets, data, "on-demand"
    plain = ("autoscaling", "fixed-count")
    for https, scaling in itertools.product(HTTPS, plain):  # each pair, on Spot, and on demand
        yield https, scaling, "no-secrets", "data-stack-with-cache", "spot"
    yield "http", "autoscaling", "no-secrets", "data-stack-with-cache", "on-demand"
    yield "https", "fixed-count", "no-secrets", "data-stack-with-cache", "on-demand"
    # The scaling options read neither HTTPS nor the database: each on demand and on Spot, the
    # scheme alternating.
    options = [name for name in SCALING if name not in plain]
    for number, (scaling, spot) in enumerate(itertools.product(options, SPOT)):
        https = ("https", "http")[number % 2]
        yield https, scaling, "no-secrets", "data-stack-with-cache", spot


@pytest.mark.parametrize(("https", "scaling", "secrets", "data", "spot"), list(_combinations()))
def test_every_condition_combination_passes_cfn_lint(render, https, scaling, secrets, data, spot):
    demo = {
        names.EMBEDDED_DEMO_DATABASE: "true",
        names.DESIRED_COUNT: "1",
        names.ACCESS_LOGS: "false",
        names.ACCESS_LOG_BUCKET_NAME: "",
    }
    params = parameters(
        render, HTTPS[https], SCALING[scaling], DATA[data], SECRETS.get(secrets, demo), SPOT[spot]
    )
    assert render.rule_failures(render.service(), **params) == []
    variant = render.variant(render.service(), **params)

    assert "Conditions" not in variant
    assert (names.HTTPS_LISTENER in variant["Resources"]) == (https == "https")
    service = variant["Resources"][names.SERVICE]["Properties"]
    assert ("CapacityProviderStrategy" in service) == (spot == "spot")
    assert ("LaunchType" in service) == (spot == "on-demand")
    assert (names.SCALABLE_TARGET in variant["Resources"]) == (scaling != "fixed-count")
    assert (names.PREDICTIVE_SCALING_POLICY in variant["Resources"]) == scaling.startswith(
        "predictive"
    )
    assert lint(json.dumps(variant), config=LINT_CONFIG) == []


def test_without_a_certificate_port_80_forwards_and_there_is_no_https_listener(render):
    resources = render.resolve()["Resources"]
    (action,) = resources[names.HTTP_LISTENER]["Properties"]["DefaultActions"]
    assert action["Type"] == "forward"
    assert names.HTTPS_LISTENER not in resources


def test_with_a_certificate_port_80_redirects_permanently_to_https(render):
    resources = render.resolve(CertificateArn=render.certificate)["Resources"]
    (action,) = resources[names.HTTP_LISTENER]["Properties"]["DefaultActions"]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"] == {
        "Protocol": "HTTPS",
        "Port": "443",
        "StatusCode": "HTTP_301",
    }


def test_with_a_certificate_443_serves_it_and_forwards(render):
    https = render.resolve(CertificateArn=render.certificate)["Resources"][names.HTTPS_LISTENER]
    props = https["Properties"]
    assert (props["Port"], props["Protocol"]) == (443, "HTTPS")
    assert props["Certificates"] == [{"CertificateArn": render.certificate}]
    assert props["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert [a["Type"] for a in props["DefaultActions"]] == ["forward"]


def test_the_service_waits_for_whichever_listener_forwards(render):
    for params, listener in [
        ({}, names.HTTP_LISTENER),
        ({names.CERTIFICATE_ARN: render.certificate}, names.HTTPS_LISTENER),
    ]:
        resources = render.resolve(**params)["Resources"]
        assert resources[names.SERVICE]["Metadata"]["ForwardingListener"] == listener


@pytest.mark.parametrize(
    ("params", "scheme", "host"),
    [
        ({}, "http", "LoadBalancer.DNSName"),
        ({names.CERTIFICATE_ARN: "certificate"}, "https", "LoadBalancer.DNSName"),
        ({names.CERTIFICATE_ARN: "certificate", names.DOMAIN_NAME: "cars.example.com"}, "https",
         "cars.example.com"),
    ],
)  # fmt: skip
def test_service_url_follows_https_and_the_public_host_name(render, params, scheme, host):
    params = parameters(render, params)
    assert render.resolve(**params)["Outputs"][names.OUTPUT_SERVICE_URL]["Value"] == (
        f"{scheme}://{host}"
    )


def test_with_auto_scaling_the_service_leaves_the_task_count_to_it(render):
    resources = render.resolve(AutoScaling="true", AutoScalingMinCount=3, AutoScalingMaxCount=9)[
        "Resources"
    ]
    assert "DesiredCount" not in resources[names.SERVICE]["Properties"]
    target = resources[names.SCALABLE_TARGET]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == ("3", "9")
    assert target["ResourceId"] == "service/Cluster/Service.Name"
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"


def test_auto_scaling_tracks_cpu_and_requests_per_task(render):
    resolved = render.resolve(CpuTargetPercent=55, RequestsPerTargetPerMinute=800)
    scaling = render.of_type(resolved, "AWS::ApplicationAutoScaling::ScalingPolicy")
    policies = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"] for p in scaling.values()
    ]
    metrics = {p["PredefinedMetricSpecification"]["PredefinedMetricType"]: p for p in policies}
    assert metrics["ECSServiceAverageCPUUtilization"]["TargetValue"] == "55"
    requests = metrics["ALBRequestCountPerTarget"]
    assert requests["TargetValue"] == "800"
    assert requests["PredefinedMetricSpecification"]["ResourceLabel"] == (
        "LoadBalancer.LoadBalancerFullName/TargetGroup.TargetGroupFullName"
    )


def test_without_auto_scaling_the_service_runs_the_desired_count(render):
    resources = render.resolve(AutoScaling="false", DesiredCount=3)["Resources"]
    assert resources[names.SERVICE]["Properties"]["DesiredCount"] == "3"
    assert not render.of_type(
        {"Resources": resources}, "AWS::ApplicationAutoScaling::ScalableTarget"
    )
    assert not render.of_type(
        {"Resources": resources}, "AWS::ApplicationAutoScaling::ScalingPolicy"
    )


def _container(resources: dict) -> dict:
    return resources[names.TASK_DEFINITION]["Properties"]["ContainerDefinitions"][0]


def _secret_policies(resources: dict) -> list[dict]:
    role = resources[names.EXECUTION_ROLE]["Properties"]
    return [p for p in role["Policies"] if p["PolicyName"] == "read-api-secrets"]


def test_without_secrets_nothing_is_injected_and_no_secret_is_readable(demo_stack):
    resources = demo_stack["Resources"]
    assert _container(resources)["Secrets"] == []
    assert _secret_policies(resources) == []


def test_given_secrets_are_injected_from_their_arns(render):
    resources = render.resolve(
        DataStackName="",
        AccessLogs="false",
        DatabaseUrlSecretArn=render.database_secret,
        RedisUrlSecretArn=render.redis_parameter,
    )["Resources"]
    assert _container(resources)["Secrets"] == [
        {"Name": "DATABASE_URL", "ValueFrom": render.database_secret},
        {"Name": "REDIS_URL", "ValueFrom": render.redis_parameter},
    ]


def test_secrets_never_appear_as_plain_environment_values(render):
    resources = render.resolve(
        DatabaseUrlSecretArn=render.database_secret, RedisUrlSecretArn=render.redis_parameter
    )["Resources"]
    environment = {e["Name"] for e in _container(resources)["Environment"]}
    assert not environment & {"DATABASE_URL", "REDIS_URL"}


def test_the_execution_role_reads_exactly_the_given_secrets(render):
    resources = render.resolve(
        DataStackName="", AccessLogs="false", DatabaseUrlSecretArn=render.database_secret
    )["Resources"]
    (policy,) = _secret_policies(resources)
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [render.database_secret]
    assert sorted(statement["Action"]) == ["secretsmanager:GetSecretValue", "ssm:GetParameters"]
    assert _container(resources)["Secrets"] == [
        {"Name": "DATABASE_URL", "ValueFrom": render.database_secret}
    ]


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:s3:::bucket/key",
        "arn:aws:secretsmanager:eu-west-1:123:secret:x",
        # The name alone, without the suffix Secrets Manager adds: IAM would grant a string that
        # matches no secret, and the task would never start.
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-cars/database",
    ],
)
def test_a_secret_parameter_that_is_not_a_secret_arn_is_refused(render, arn):
    with pytest.raises(ValueError, match=names.DATABASE_URL_SECRET_ARN):
        render.resolve(DatabaseUrlSecretArn=arn)


def test_a_full_secret_arn_with_its_suffix_is_accepted(render):
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-cars/database-AbCdEf"
    secrets = _container(render.resolve(DatabaseUrlSecretArn=arn)["Resources"])["Secrets"]
    assert {"Name": "DATABASE_URL", "ValueFrom": arn} in secrets
