"""Parameters of the edge stack, the conditions they drive and the Rules between them.

`OriginMode` is the service's `CloudFrontOrigin` (cars-stack refuses a change set when the two
disagree): `public-alb` and `vpc-origin` put a distribution in front of the ALB; `none` means no
CloudFront, and then the stack is only the regional WAF on the ALB (`RegionalWaf=true`). A
regional web ACL behind CloudFront would see CloudFront's addresses, not the clients': with
CloudFront the ACL is the edge-global stack's, given as `WebAclArn`.
"""

from dataclasses import dataclass

from troposphere import And, Condition, Equals, Not, Parameter, Ref, Template

from template_builder import names
from template_builder.edge.waf import add_rate_limit_parameter
from template_builder.parameters import (
    add_grouped,
    boolean_parameter,
    is_set,
    stack_name_parameter,
)

DNS_NAME_PATTERN = r"^$|^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
# CloudFront takes certificates from us-east-1 only.
US_EAST_1_CERTIFICATE_PATTERN = (
    r"^$|^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$"
)
CLOUDFRONT_WEB_ACL_PATTERN = (
    r"^$|^arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/[\w-]{1,128}/[0-9a-f-]{36}$"
)
PRICE_CLASSES = ["PriceClass_100", "PriceClass_200", "PriceClass_All"]


@dataclass(frozen=True)
class EdgeParameters:
    service_stack_name: Parameter
    origin_mode: Parameter
    origin_domain_name: Parameter
    prefix_list_id: Parameter
    alias: Parameter
    certificate_arn: Parameter
    price_class: Parameter
    web_acl_arn: Parameter
    regional_waf: Parameter
    rate_limit: Parameter


def _rule(template: Template, name: str, condition, assertion, description: str) -> None:
    template.add_rule(
        name,
        {
            "RuleCondition": condition,
            "Assertions": [{"Assert": assertion, "AssertDescription": description}],
        },
    )


def add_edge_parameters(template: Template) -> EdgeParameters:
    origin = "Origin: the service stack's load balancer"
    service_stack_name = add_grouped(
        template,
        origin,
        "Service stack",
        stack_name_parameter(
            names.SERVICE_STACK_NAME,
            names.DEFAULT_STACK_NAME,
            "Stack (templates/api-cars.yaml) whose load balancer this stack fronts.",
        ),
    )
    origin_mode = add_grouped(
        template,
        origin,
        "Origin mode (= the service's CloudFrontOrigin)",
        Parameter(
            names.ORIGIN_MODE,
            Type="String",
            Default=names.ORIGIN_PUBLIC_ALB,
            AllowedValues=list(names.CLOUDFRONT_ORIGINS),
            Description="The service's CloudFrontOrigin: public-alb (a CloudFront custom origin "
            "with a secret header), vpc-origin (a CloudFront VPC origin on the internal ALB), or "
            "none (no CloudFront: the regional WAF only).",
        ),
    )
    origin_domain_name = add_grouped(
        template,
        origin,
        "Origin host name (HTTPS to the ALB)",
        Parameter(
            names.ORIGIN_DOMAIN_NAME,
            Type="String",
            Default="",
            Description="A name the ALB's certificate covers that resolves to the ALB: CloudFront "
            "then reaches it over HTTPS (443). Empty: HTTP on 80 to the ALB's DNS name (a "
            "service without a certificate).",
            AllowedPattern=DNS_NAME_PATTERN,
            ConstraintDescription="must be empty or a lower-case DNS name",
        ),
    )
    prefix_list_id = add_grouped(
        template,
        origin,
        "CloudFront prefix list ID (public-alb)",
        Parameter(
            names.CLOUDFRONT_PREFIX_LIST_ID,
            Type="String",
            Default="",
            Description=f"ID of {names.CLOUDFRONT_PREFIX_LIST_NAME} in this Region (pl-...), "
            "which the ALB admits with public-alb; cars-stack looks it up.",
            AllowedPattern=r"^$|^pl-[0-9a-f]{8,17}$",
            ConstraintDescription="must be empty or a prefix list ID (pl-...)",
        ),
    )
    viewer = "Viewers: host name, certificate, price class, web ACL"
    alias = add_grouped(
        template,
        viewer,
        "Alias (optional)",
        Parameter(
            names.EDGE_ALIAS,
            Type="String",
            Default="",
            Description="Host name viewers use (a CNAME or alias record to the distribution). "
            "Empty: the distribution's cloudfront.net name.",
            AllowedPattern=DNS_NAME_PATTERN,
            ConstraintDescription="must be empty or a lower-case DNS name",
        ),
    )
    certificate_arn = add_grouped(
        template,
        viewer,
        "Certificate ARN in us-east-1 (with Alias)",
        Parameter(
            names.EDGE_CERTIFICATE_ARN,
            Type="String",
            Default="",
            Description="ACM certificate in us-east-1 covering Alias (the edge-global stack's "
            "CertificateArn, or your own).",
            AllowedPattern=US_EAST_1_CERTIFICATE_PATTERN,
            ConstraintDescription="must be empty or an ACM certificate ARN in us-east-1",
        ),
    )
    price_class = add_grouped(
        template,
        viewer,
        "Price class",
        Parameter(
            names.PRICE_CLASS,
            Type="String",
            Default="PriceClass_100",
            AllowedValues=PRICE_CLASSES,
            Description="Edge locations used: 100 (North America, Europe), 200 (and most of "
            "Asia, Middle East, Africa), All.",
        ),
    )
    web_acl_arn = add_grouped(
        template,
        viewer,
        "CLOUDFRONT web ACL ARN (optional)",
        Parameter(
            names.WEB_ACL_ARN,
            Type="String",
            Default="",
            Description="CLOUDFRONT-scope web ACL (the edge-global stack's WebAclArn, in "
            "us-east-1) on the distribution. Empty: none.",
            AllowedPattern=CLOUDFRONT_WEB_ACL_PATTERN,
            ConstraintDescription="must be empty or a us-east-1 global web ACL ARN",
        ),
    )
    waf = "Regional WAF (without CloudFront only)"
    regional_waf = add_grouped(
        template,
        waf,
        "Regional web ACL on the ALB",
        boolean_parameter(
            names.REGIONAL_WAF,
            False,
            "With OriginMode=none: a REGIONAL web ACL on the load balancer.",
        ),
    )
    rate_limit = add_rate_limit_parameter(template, waf)

    cdn = Not(Equals(Ref(origin_mode), names.ORIGIN_NONE))
    template.add_condition(names.HAS_CDN, cdn)
    template.add_condition(names.VPC_ORIGIN, Equals(Ref(origin_mode), names.ORIGIN_VPC))
    template.add_condition(
        names.PUBLIC_ALB_ORIGIN, Equals(Ref(origin_mode), names.ORIGIN_PUBLIC_ALB)
    )
    template.add_condition(names.HAS_ORIGIN_DOMAIN, is_set(origin_domain_name))
    template.add_condition(names.HAS_ALIAS, is_set(alias))
    template.add_condition(names.HAS_EDGE_CERTIFICATE, is_set(certificate_arn))
    template.add_condition(names.HAS_WEB_ACL, is_set(web_acl_arn))
    template.add_condition(
        names.USE_REGIONAL_WAF,
        And(Equals(Ref(regional_waf), "true"), Not(Condition(names.HAS_CDN))),
    )

    _rule(
        template,
        names.EDGE_MODE_RULE,
        Equals(Ref(origin_mode), names.ORIGIN_NONE),
        And(Equals(Ref(regional_waf), "true"), Equals(Ref(web_acl_arn), "")),
        "OriginMode=none is the regional WAF alone: set RegionalWaf=true (WebAclArn needs "
        "CloudFront)",
    )
    _rule(
        template,
        names.EDGE_WAF_RULE,
        Not(Equals(Ref(origin_mode), names.ORIGIN_NONE)),
        Equals(Ref(regional_waf), "false"),
        "RegionalWaf=true only without CloudFront: behind it a regional ACL sees CloudFront's "
        "addresses; use WebAclArn (the edge-global stack's)",
    )
    _rule(
        template,
        names.EDGE_ALIAS_RULE,
        Not(And(Equals(Ref(alias), ""), Equals(Ref(certificate_arn), ""))),
        And(is_set(alias), is_set(certificate_arn)),
        "Alias and CloudFrontCertificateArn go together (a us-east-1 certificate covering it)",
    )
    _rule(
        template,
        names.EDGE_PREFIX_LIST_RULE,
        Equals(Ref(origin_mode), names.ORIGIN_PUBLIC_ALB),
        is_set(prefix_list_id),
        f"OriginMode=public-alb needs CloudFrontPrefixListId ({names.CLOUDFRONT_PREFIX_LIST_NAME})",
    )
    return EdgeParameters(
        service_stack_name=service_stack_name,
        origin_mode=origin_mode,
        origin_domain_name=origin_domain_name,
        prefix_list_id=prefix_list_id,
        alias=alias,
        certificate_arn=certificate_arn,
        price_class=price_class,
        web_acl_arn=web_acl_arn,
        regional_waf=regional_waf,
        rate_limit=rate_limit,
    )
