"""The edge: the service's CloudFrontOrigin (its load balancer's side), the edge stack
(templates/edge.yaml: the distribution, or the regional WAF) and the edge-global stack
(templates/edge-global.yaml, us-east-1). Each option adds exactly its resources, every
combination passes cfn-lint, and the cache policy keeps what the API's caching needs."""

import json

import pytest
from cfnlint.api import ManualArgs, lint

from template_builder import names

LINT = ManualArgs(regions=["eu-west-1"], ignore_checks=["W2001"])
LINT_US_EAST_1 = ManualArgs(regions=["us-east-1"], ignore_checks=["W2001"])
EDGE_STACK = "api-cars-edge"


def edge_modes(render) -> dict[str, dict]:
    """Every edge combination: each origin mode with and without alias/certificate, web ACL and
    an origin host name, and the regional WAF alone."""
    viewer = {
        names.EDGE_ALIAS: "cars.example.com",
        names.EDGE_CERTIFICATE_ARN: render.edge_certificate,
        names.WEB_ACL_ARN: render.cloudfront_web_acl,
    }
    public = {names.CLOUDFRONT_PREFIX_LIST_ID: render.prefix_list}
    https = {names.ORIGIN_DOMAIN_NAME: "origin.cars.example.com"}
    vpc = {names.ORIGIN_MODE: names.ORIGIN_VPC}
    return {
        "public-alb": public,
        "public-alb-https-alias-acl": public | https | viewer,
        "vpc-origin": vpc,
        "vpc-origin-https-alias-acl": vpc | https | viewer,
        "regional-waf": {names.ORIGIN_MODE: names.ORIGIN_NONE, names.REGIONAL_WAF: "true"},
    }


# What each mode adds, and nothing else.
EDGE_RESOURCES = {
    "public-alb": {
        names.ORIGIN_SECRET,
        names.ORIGIN_INGRESS,
        names.ORIGIN_LISTENER_RULE,
        names.CACHE_POLICY,
        names.ORIGIN_REQUEST_POLICY,
        names.DISTRIBUTION,
    },
    "vpc-origin": {
        names.VPC_ORIGIN_RESOURCE,
        names.CACHE_POLICY,
        names.ORIGIN_REQUEST_POLICY,
        names.DISTRIBUTION,
    },
    "regional-waf": {names.REGIONAL_WEB_ACL, names.WEB_ACL_ASSOCIATION},
}


def edge(render, **parameters) -> dict:
    return render.resolve(render.edge(), EDGE_STACK, **parameters)


@pytest.mark.parametrize("mode", sorted(EDGE_RESOURCES))
def test_each_edge_mode_adds_exactly_its_resources(render, mode):
    assert set(edge(render, **edge_modes(render)[mode])["Resources"]) == EDGE_RESOURCES[mode]


@pytest.mark.parametrize(
    "mode",
    [
        "public-alb",
        "public-alb-https-alias-acl",
        "vpc-origin",
        "vpc-origin-https-alias-acl",
        "regional-waf",
    ],
)
def test_every_edge_combination_passes_cfn_lint(render, mode):
    variant = render.variant(render.edge(), **edge_modes(render)[mode])
    assert lint(json.dumps(variant), config=LINT) == []


@pytest.mark.parametrize("certificate", [True, False])
def test_the_edge_global_stack_passes_cfn_lint_in_us_east_1(render, certificate):
    parameters = {names.CERTIFICATE_DOMAIN_NAME: "cars.example.com"} if certificate else {}
    variant = render.variant(render.edge_global(), **parameters)
    assert (names.EDGE_CERTIFICATE in variant["Resources"]) == certificate
    assert lint(json.dumps(variant), config=LINT_US_EAST_1) == []


def _policy(resolved: dict, logical_id: str, key: str) -> dict:
    return resolved["Resources"][logical_id]["Properties"][key]


def test_the_cache_policy_honours_the_origins_cache_control_with_a_minimum_ttl_of_0(render):
    policy = _policy(
        edge(render, **edge_modes(render)["public-alb"]), names.CACHE_POLICY, "CachePolicyConfig"
    )
    # With MinTTL above 0 CloudFront would cache even `no-cache` answers.
    assert policy["MinTTL"] == 0
    assert policy["DefaultTTL"] == 0


@pytest.mark.parametrize("mode", ["public-alb", "vpc-origin"])
def test_no_error_answer_is_cached_beyond_what_the_origin_says(render, mode):
    config = _policy(
        edge(render, **edge_modes(render)[mode]), names.DISTRIBUTION, "DistributionConfig"
    )
    cached = {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}  # the ones CloudFront caches
    assert {r["ErrorCode"]: r["ErrorCachingMinTTL"] for r in config["CustomErrorResponses"]} == {
        code: 0 for code in cached
    }


def test_authorization_reaches_the_origin_through_the_cache_key(render):
    """CloudFront forwards Authorization only when the cache policy names it (an origin request
    policy naming it is refused with HTTP 400), which also keeps one caller's answers from
    another's."""
    policy = _policy(
        edge(render, **edge_modes(render)["vpc-origin"]), names.CACHE_POLICY, "CachePolicyConfig"
    )["ParametersInCacheKeyAndForwardedToOrigin"]
    assert policy["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}
    assert policy["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert policy["CookiesConfig"] == {"CookieBehavior": "none"}


def test_the_origin_request_policy_forwards_query_strings_and_the_headers_the_api_reads(render):
    policy = _policy(
        edge(render, **edge_modes(render)["vpc-origin"]),
        names.ORIGIN_REQUEST_POLICY,
        "OriginRequestPolicyConfig",
    )
    assert policy["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert policy["HeadersConfig"] == {
        "HeaderBehavior": "whitelist",
        "Headers": ["If-None-Match", "If-Match", "Content-Type", "X-Request-ID"],
    }


def _distribution(resolved: dict) -> dict:
    return resolved["Resources"][names.DISTRIBUTION]["Properties"]["DistributionConfig"]


def test_viewers_get_https_http2_and_3_and_compression(render):
    config = _distribution(edge(render, **edge_modes(render)["public-alb"]))
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["Compress"] is True
    assert set(behavior["AllowedMethods"]) >= {"POST", "PUT", "PATCH", "DELETE"}
    assert config["HttpVersion"] == "http2and3"
    assert config["PriceClass"] == "PriceClass_100"
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}


def test_an_alias_comes_with_its_us_east_1_certificate_and_the_web_acl(render):
    resolved = edge(render, **edge_modes(render)["vpc-origin-https-alias-acl"])
    config = _distribution(resolved)
    assert config["Aliases"] == ["cars.example.com"]
    assert config["ViewerCertificate"]["AcmCertificateArn"] == render.edge_certificate
    assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
    assert config["WebACLId"] == render.cloudfront_web_acl
    assert resolved["Outputs"][names.OUTPUT_SERVICE_URL]["Value"] == "https://cars.example.com"


def test_vpc_origin_reaches_the_internal_alb_by_its_arn_without_a_secret(render):
    resolved = edge(render, **edge_modes(render)["vpc-origin"])
    endpoint = resolved["Resources"][names.VPC_ORIGIN_RESOURCE]["Properties"]
    assert (
        endpoint["VpcOriginEndpointConfig"]["Arn"]
        == render.service_outputs[names.OUTPUT_LOAD_BALANCER_ARN]
    )
    (origin,) = _distribution(resolved)["Origins"]
    assert origin["VpcOriginConfig"] == {"VpcOriginId": f"{names.VPC_ORIGIN_RESOURCE}.Id"}
    assert "CustomOriginConfig" not in origin and "OriginCustomHeaders" not in origin


def test_public_alb_sends_the_secret_header_that_the_listener_rule_checks(render):
    resolved = edge(render, **edge_modes(render)["public-alb"])
    (origin,) = _distribution(resolved)["Origins"]
    (header,) = origin["OriginCustomHeaders"]
    rule = resolved["Resources"][names.ORIGIN_LISTENER_RULE]["Properties"]
    (condition,) = rule["Conditions"]
    assert condition["HttpHeaderConfig"] == {
        "HttpHeaderName": header["HeaderName"],
        "Values": [header["HeaderValue"]],
    }
    assert header["HeaderValue"] == render.secret_values[f"{names.ORIGIN_SECRET}:SecretString"]
    # The template holds a dynamic reference, never the value.
    raw = render.edge()["Resources"][names.ORIGIN_LISTENER_RULE]["Properties"]["Conditions"]
    assert "{{resolve:secretsmanager:" in json.dumps(raw)
    assert rule["ListenerArn"] == render.service_outputs[names.OUTPUT_LISTENER_ARN]
    assert rule["Actions"] == [
        {"Type": "forward", "TargetGroupArn": render.service_outputs[names.OUTPUT_TARGET_GROUP_ARN]}
    ]


@pytest.mark.parametrize(
    ("https", "port", "protocol"), [(False, 80, "http-only"), (True, 443, "https-only")]
)
def test_the_alb_admits_cloudfronts_prefix_list_on_the_one_origin_port(
    render, https, port, protocol
):
    parameters = edge_modes(render)["public-alb"]
    if https:
        parameters |= {names.ORIGIN_DOMAIN_NAME: "origin.cars.example.com"}
    resolved = edge(render, **parameters)
    ingress = resolved["Resources"][names.ORIGIN_INGRESS]["Properties"]
    assert (ingress["FromPort"], ingress["ToPort"]) == (port, port)
    assert ingress["SourcePrefixListId"] == render.prefix_list
    assert ingress["GroupId"] == render.service_outputs[names.OUTPUT_ALB_SECURITY_GROUP]
    (origin,) = _distribution(resolved)["Origins"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == protocol


def test_the_regional_waf_has_the_managed_rules_and_a_rate_rule_per_ip_on_the_alb(render):
    resolved = edge(render, **edge_modes(render)["regional-waf"], RateLimitPer5Minutes="500")
    acl = resolved["Resources"][names.REGIONAL_WEB_ACL]["Properties"]
    assert acl["Scope"] == "REGIONAL"
    groups = {
        r["Name"]: r["Statement"]["ManagedRuleGroupStatement"]
        for r in acl["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert set(groups) == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    (rate,) = [r for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": "500", "AggregateKeyType": "IP"}
    assert rate["Action"] == {"Block": {}}
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in acl["Rules"])
    assert len({r["Priority"] for r in acl["Rules"]}) == len(acl["Rules"])
    association = resolved["Resources"][names.WEB_ACL_ASSOCIATION]["Properties"]
    assert association["ResourceArn"] == render.service_outputs[names.OUTPUT_LOAD_BALANCER_ARN]
    assert names.OUTPUT_SERVICE_URL not in resolved["Outputs"]


def test_the_cloudfront_web_acl_has_the_same_rules_as_the_regional_one(render):
    regional = edge(render, **edge_modes(render)["regional-waf"])["Resources"][
        names.REGIONAL_WEB_ACL
    ]["Properties"]
    cloudfront = render.resolve(render.edge_global(), "api-cars-edge-global", region="us-east-1")[
        "Resources"
    ][names.GLOBAL_WEB_ACL]["Properties"]
    assert cloudfront["Scope"] == "CLOUDFRONT"
    assert [r["Name"] for r in cloudfront["Rules"]] == [r["Name"] for r in regional["Rules"]]


@pytest.mark.parametrize(
    ("parameters", "refusal"),
    [
        ({names.ORIGIN_MODE: names.ORIGIN_NONE}, "set RegionalWaf=true"),
        (
            {names.REGIONAL_WAF: "true", names.CLOUDFRONT_PREFIX_LIST_ID: "pl-4fa04526"},
            "sees CloudFront's addresses",
        ),
        (
            {names.ORIGIN_MODE: names.ORIGIN_VPC, names.EDGE_ALIAS: "cars.example.com"},
            "go together",
        ),
        ({}, "needs CloudFrontPrefixListId"),
    ],
)
def test_the_rules_refuse_what_cannot_work(render, parameters, refusal):
    with pytest.raises(ValueError, match=refusal):
        edge(render, **parameters)


# --- the service's side: CloudFrontOrigin ---------------------------------------------------------
def _ingress(resolved: dict) -> list:
    group = resolved["Resources"][names.LOAD_BALANCER_SECURITY_GROUP]["Properties"]
    return group.get("SecurityGroupIngress", [])


def test_vpc_origin_makes_the_alb_internal_in_the_task_subnets_open_to_the_vpc_only(render):
    resolved = render.resolve(CloudFrontOrigin=names.ORIGIN_VPC)
    alb = resolved["Resources"][names.LOAD_BALANCER]["Properties"]
    assert alb["Scheme"] == "internal"
    assert alb["Subnets"] == render.vpc["TaskSubnetIds"].split(",")
    assert {rule["CidrIp"] for rule in _ingress(resolved)} == {render.vpc["VpcCidr"]}


def test_public_alb_drops_public_ingress_and_answers_403_unless_a_rule_forwards(render):
    for certificate in ({}, {names.CERTIFICATE_ARN: render.certificate}):
        resolved = render.resolve(CloudFrontOrigin=names.ORIGIN_PUBLIC_ALB, **certificate)
        assert _ingress(resolved) == []
        listener = names.HTTPS_LISTENER if certificate else names.HTTP_LISTENER
        (action,) = resolved["Resources"][listener]["Properties"]["DefaultActions"]
        assert action == {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403"}}
        alb = resolved["Resources"][names.LOAD_BALANCER]["Properties"]
        assert alb["Scheme"] == "internet-facing"


@pytest.mark.parametrize("origin", [names.ORIGIN_PUBLIC_ALB, names.ORIGIN_VPC])
def test_cloudfront_origin_adds_no_resource_to_the_service(render, origin):
    assert set(render.resolve(CloudFrontOrigin=origin)["Resources"]) == set(
        render.resolve()["Resources"]
    )


@pytest.mark.parametrize("origin", [names.ORIGIN_PUBLIC_ALB, names.ORIGIN_VPC])
def test_an_image_tag_change_behind_cloudfront_touches_only_what_it_touched(render, origin):
    before = render.resolve(ImageTag="v1.0.0", CloudFrontOrigin=origin)
    after = render.resolve(ImageTag="v1.1.0", CloudFrontOrigin=origin)
    changed = {k for k, r in before["Resources"].items() if r != after["Resources"][k]}
    assert changed == {names.TASK_DEFINITION, names.IMAGE_CHECK}


@pytest.mark.parametrize("origin", [names.ORIGIN_PUBLIC_ALB, names.ORIGIN_VPC])
@pytest.mark.parametrize("https", [False, True])
def test_every_cloudfront_origin_of_the_service_passes_cfn_lint(render, origin, https):
    parameters = {names.IMAGE_TAG: "v1.0.0", names.CLOUDFRONT_ORIGIN: origin}
    if https:
        parameters[names.CERTIFICATE_ARN] = render.certificate
    variant = render.variant(render.service(), **parameters)
    assert lint(json.dumps(variant), config=LINT) == []


def test_the_service_exports_what_the_edge_stack_imports(render):
    exported = {name for name, output in render.service()["Outputs"].items() if "Export" in output}
    imported = set()

    def walk(node):
        if isinstance(node, dict):
            if "Fn::ImportValue" in node:
                imported.add(node["Fn::ImportValue"]["Fn::Sub"].split("}-", 1)[1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(render.edge()["Resources"])
    assert imported and imported <= exported
