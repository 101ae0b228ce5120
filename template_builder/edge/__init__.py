"""The edge stacks: `api-cars-edge` (templates/edge.yaml, the service's Region: the CloudFront
distribution in front of the service's load balancer, or a regional WAF on it without CloudFront)
and `api-cars-edge-global` (templates/edge-global.yaml, us-east-1: the CLOUDFRONT-scope web ACL and
the distribution's certificate). `stack.build_edge_template()` and
`global_stack.build_edge_global_template()` are their tables of contents (docs/architecture.md,
"Edge").
"""
