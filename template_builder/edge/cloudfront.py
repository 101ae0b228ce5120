"""The distribution in front of the service: viewers on HTTPS (HTTP redirects), HTTP/2 and 3,
compression, an optional alias with its us-east-1 certificate and web ACL, and one origin, the
service's ALB: a VPC origin (vpc-origin, the ALB internal) or a custom origin with the secret
header (public-alb).

Caching follows the origin: the cache policy has MinTTL 0 (with more, CloudFront would cache even
`no-cache` answers) and DefaultTTL 0 (an answer without Cache-Control is not cached), and keys on
the query string and Authorization, which CloudFront forwards only from the cache policy (an origin
request policy naming it is refused), so one caller's answer never serves another. The origin
request policy forwards the query string and the headers the API reads: If-None-Match, If-Match,
Content-Type, X-Request-ID.
"""

from dataclasses import dataclass

from troposphere import GetAtt, If, NoValue, Ref, Sub, Template, cloudfront

from template_builder import names
from template_builder.edge.origin import OriginSecret, service_value
from template_builder.edge.parameters import EdgeParameters
from template_builder.metadata import checkov_skips, guard_skips

ORIGIN_ID = "service"
CACHE_KEY_HEADERS = ["Authorization"]
FORWARDED_HEADERS = ["If-None-Match", "If-Match", "Content-Type", "X-Request-ID"]
MAX_TTL_SECONDS = 86400
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
TLS_ORIGIN = ["TLSv1.2"]
VIEWER_TLS = "TLSv1.2_2021"
CDN_ONLY = {"Condition": names.HAS_CDN}

# The origin's error codes CloudFront caches whatever Cache-Control says, for ErrorCachingMinTTL
# (10 s by default): a 503 of a database blip would be served on for 10 s after it ended. The
# CloudFront Developer Guide, "How CloudFront processes HTTP 4xx and 5xx status codes from your
# origin", lists exactly these; each gets a minimum of 0 (the API's errors say no-store).
CACHED_ERROR_CODES = (400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504)


@dataclass(frozen=True)
class Edge:
    distribution: cloudfront.Distribution


def _origin_protocol() -> If:
    return If(names.HAS_ORIGIN_DOMAIN, "https-only", "http-only")


def _add_policies(template: Template) -> tuple:
    cache_policy = template.add_resource(
        cloudfront.CachePolicy(
            names.CACHE_POLICY,
            CachePolicyConfig=cloudfront.CachePolicyConfig(
                Name=Sub("${AWS::StackName}-honour-origin"),
                Comment="Cache-Control of the API decides; MinTTL 0",
                MinTTL=0,
                DefaultTTL=0,
                MaxTTL=MAX_TTL_SECONDS,
                ParametersInCacheKeyAndForwardedToOrigin=(
                    cloudfront.ParametersInCacheKeyAndForwardedToOrigin(
                        EnableAcceptEncodingGzip=True,
                        EnableAcceptEncodingBrotli=True,
                        HeadersConfig=cloudfront.CacheHeadersConfig(
                            HeaderBehavior="whitelist", Headers=CACHE_KEY_HEADERS
                        ),
                        CookiesConfig=cloudfront.CacheCookiesConfig(CookieBehavior="none"),
                        QueryStringsConfig=cloudfront.CacheQueryStringsConfig(
                            QueryStringBehavior="all"
                        ),
                    )
                ),
            ),
            **CDN_ONLY,
        )
    )
    request_policy = template.add_resource(
        cloudfront.OriginRequestPolicy(
            names.ORIGIN_REQUEST_POLICY,
            OriginRequestPolicyConfig=cloudfront.OriginRequestPolicyConfig(
                Name=Sub("${AWS::StackName}-api-headers"),
                Comment="Query strings and the headers the API reads",
                HeadersConfig=cloudfront.OriginRequestHeadersConfig(
                    HeaderBehavior="whitelist", Headers=FORWARDED_HEADERS
                ),
                CookiesConfig=cloudfront.OriginRequestCookiesConfig(CookieBehavior="none"),
                QueryStringsConfig=cloudfront.OriginRequestQueryStringsConfig(
                    QueryStringBehavior="all"
                ),
            ),
            **CDN_ONLY,
        )
    )
    return cache_policy, request_policy


def _add_vpc_origin(template: Template) -> cloudfront.VpcOrigin:
    return template.add_resource(
        cloudfront.VpcOrigin(
            names.VPC_ORIGIN_RESOURCE,
            VpcOriginEndpointConfig=cloudfront.VpcOriginEndpointConfig(
                Name=Sub("${AWS::StackName}-alb"),
                Arn=service_value(names.OUTPUT_LOAD_BALANCER_ARN),
                HTTPPort=80,
                HTTPSPort=443,
                OriginProtocolPolicy=_origin_protocol(),
                OriginSSLProtocols=TLS_ORIGIN,
            ),
            Condition=names.VPC_ORIGIN,
        )
    )


def add_distribution(template: Template, params: EdgeParameters, secret: OriginSecret) -> Edge:
    cache_policy, request_policy = _add_policies(template)
    vpc_origin = _add_vpc_origin(template)
    origin = cloudfront.Origin(
        Id=ORIGIN_ID,
        DomainName=If(
            names.HAS_ORIGIN_DOMAIN,
            Ref(params.origin_domain_name),
            service_value(names.OUTPUT_LOAD_BALANCER_DNS),
        ),
        VpcOriginConfig=If(
            names.VPC_ORIGIN,
            cloudfront.VpcOriginConfig(VpcOriginId=GetAtt(vpc_origin, "Id")),
            NoValue,
        ),
        CustomOriginConfig=If(
            names.VPC_ORIGIN,
            NoValue,
            cloudfront.CustomOriginConfig(
                HTTPPort=80,
                HTTPSPort=443,
                OriginProtocolPolicy=_origin_protocol(),
                OriginSSLProtocols=TLS_ORIGIN,
            ),
        ),
        OriginCustomHeaders=If(
            names.PUBLIC_ALB_ORIGIN,
            [
                cloudfront.OriginCustomHeader(
                    HeaderName=names.ORIGIN_HEADER, HeaderValue=secret.header_value()
                )
            ],
            NoValue,
        ),
    )
    distribution = template.add_resource(
        cloudfront.Distribution(
            names.DISTRIBUTION,
            DistributionConfig=cloudfront.DistributionConfig(
                Enabled=True,
                Comment=Sub("${AWS::StackName}: api-cars"),
                HttpVersion="http2and3",
                IPV6Enabled=True,
                PriceClass=Ref(params.price_class),
                Aliases=If(names.HAS_ALIAS, [Ref(params.alias)], NoValue),
                ViewerCertificate=If(
                    names.HAS_EDGE_CERTIFICATE,
                    cloudfront.ViewerCertificate(
                        AcmCertificateArn=Ref(params.certificate_arn),
                        SslSupportMethod="sni-only",
                        MinimumProtocolVersion=VIEWER_TLS,
                    ),
                    cloudfront.ViewerCertificate(CloudFrontDefaultCertificate=True),
                ),
                WebACLId=If(names.HAS_WEB_ACL, Ref(params.web_acl_arn), NoValue),
                Origins=[origin],
                CustomErrorResponses=[
                    cloudfront.CustomErrorResponse(ErrorCode=code, ErrorCachingMinTTL=0)
                    for code in CACHED_ERROR_CODES
                ],
                DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
                    TargetOriginId=ORIGIN_ID,
                    ViewerProtocolPolicy="redirect-to-https",
                    AllowedMethods=ALL_METHODS,
                    CachedMethods=["GET", "HEAD"],
                    Compress=True,
                    CachePolicyId=Ref(cache_policy),
                    OriginRequestPolicyId=Ref(request_policy),
                ),
            ),
            Metadata=checkov_skips(
                CKV_AWS_86="The ALB's access logs record every request that reaches the API; "
                "CloudFront standard logs are a bucket and a cost of their own.",
                CKV_AWS_68="WebAclArn (the edge-global stack's CLOUDFRONT ACL) is optional: "
                "WAF costs per ACL and per request.",
                CKV_AWS_174="TLSv1.2_2021 with an alias; the cloudfront.net certificate "
                "without one (CloudFront then allows TLSv1).",
                CKV_AWS_310="One origin, the service: no origin group to fail over to.",
                CKV_AWS_305="An API: no default root object.",
            )
            | guard_skips(
                cloudfront_access_logs_enabled_check="The ALB's access logs cover the requests.",
                cloudfront_origin_failover_enabled_check="One origin: the service.",
                cloudfront_default_root_object_configured_check="An API: no root object.",
                cloudfront_custom_ssl_certificate_check="Optional alias and certificate.",
                cloudfront_sni_enabled_check="sni-only whenever a certificate is given.",
                cloudfront_security_policy_check="TLSv1.2_2021 whenever a certificate is given.",
                cloudfront_traffic_to_origin_encrypted_check="HTTPS with OriginDomainName; "
                "HTTP only to an ALB without a certificate.",
            ),
            **CDN_ONLY,
        )
    )
    return Edge(distribution=distribution)
