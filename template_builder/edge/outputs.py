"""Outputs of the edge stack: the URL viewers use, which `cars-stack status` and `release --verify`
prefer to the service's own when the edge stack exists (cars_stack/verify.py)."""

from troposphere import GetAtt, If, Output, Ref, Sub, Template

from template_builder import names
from template_builder.edge.cloudfront import Edge
from template_builder.edge.parameters import EdgeParameters


def add_edge_outputs(template: Template, params: EdgeParameters, edge: Edge, web_acl) -> None:
    domain = GetAtt(edge.distribution, "DomainName")
    template.add_output(
        [
            Output(
                names.OUTPUT_SERVICE_URL,
                Description="Base URL of the API through CloudFront",
                Value=Sub("https://${Host}", Host=If(names.HAS_ALIAS, Ref(params.alias), domain)),
                Condition=names.HAS_CDN,
            ),
            Output(
                names.OUTPUT_DISTRIBUTION_ID,
                Description="CloudFront distribution (aws cloudfront create-invalidation)",
                Value=Ref(edge.distribution),
                Condition=names.HAS_CDN,
            ),
            Output(
                names.OUTPUT_DISTRIBUTION_DOMAIN,
                Description="Point the alias's CNAME or alias record here",
                Value=domain,
                Condition=names.HAS_CDN,
            ),
            Output(
                names.OUTPUT_EDGE_MODE,
                Description="The service's CloudFrontOrigin this stack was deployed for",
                Value=Ref(params.origin_mode),
            ),
            Output(
                names.OUTPUT_WEB_ACL_ARN,
                Description="The regional web ACL on the load balancer",
                Value=GetAtt(web_acl, "Arn"),
                Condition=names.USE_REGIONAL_WAF,
            ),
        ]
    )
