"""The web ACL both edge stacks build, REGIONAL (on the ALB, no CloudFront) or CLOUDFRONT (on the
distribution, in us-east-1): AWS's IP reputation list, a rate-based rule per client IP, the common
rule set and known bad inputs, each with its CloudWatch metrics and sampled requests.

The common rule set's SizeRestrictions_BODY blocks bodies over 8 KB; POST /v1/cars:batch takes up
to 500 cars, so that one rule counts instead of blocking (the API itself limits its bodies).
"""

from troposphere import Parameter, Ref, Sub, Template, wafv2

from template_builder import names
from template_builder.parameters import add_grouped

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
RATE_RULE = "RatePerClientIp"
COUNTED_NOT_BLOCKED = {"AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY"]}


def add_rate_limit_parameter(template: Template, group: str) -> Parameter:
    return add_grouped(
        template,
        group,
        "Requests per client IP per 5 minutes",
        Parameter(
            names.RATE_LIMIT,
            Type="Number",
            Default=2000,
            MinValue=10,
            MaxValue=2000000000,
            Description="Requests one client IP may send in any 5-minute window before the web "
            "ACL blocks it (WAF rate-based rule).",
        ),
    )


def _visibility(metric: str) -> wafv2.VisibilityConfig:
    return wafv2.VisibilityConfig(
        CloudWatchMetricsEnabled=True, MetricName=metric, SampledRequestsEnabled=True
    )


def _managed(name: str, priority: int) -> wafv2.WebACLRule:
    overrides = [
        wafv2.RuleActionOverride(Name=rule, ActionToUse=wafv2.RuleAction(Count=wafv2.CountAction()))
        for rule in COUNTED_NOT_BLOCKED.get(name, [])
    ]
    statement = wafv2.ManagedRuleGroupStatement(VendorName="AWS", Name=name)
    if overrides:
        statement.RuleActionOverrides = overrides
    return wafv2.WebACLRule(
        Name=name,
        Priority=priority,
        OverrideAction=wafv2.OverrideAction(**{"None": {}}),
        Statement=wafv2.Statement(ManagedRuleGroupStatement=statement),
        VisibilityConfig=_visibility(name),
    )


def web_acl(logical_id: str, scope: str, rate_limit: Parameter, **extra) -> wafv2.WebACL:
    ip_reputation, common, bad_inputs = MANAGED_RULE_GROUPS
    return wafv2.WebACL(
        logical_id,
        Name=Sub(names.WEB_ACL_NAME.format(stack=names.OWN_STACK_NAME)),
        Scope=scope,
        DefaultAction=wafv2.DefaultAction(Allow=wafv2.AllowAction()),
        VisibilityConfig=_visibility(logical_id),
        Rules=[
            _managed(ip_reputation, 0),
            wafv2.WebACLRule(
                Name=RATE_RULE,
                Priority=1,
                Action=wafv2.RuleAction(Block=wafv2.BlockAction()),
                Statement=wafv2.Statement(
                    RateBasedStatement=wafv2.RateBasedStatement(
                        Limit=Ref(rate_limit), AggregateKeyType="IP"
                    )
                ),
                VisibilityConfig=_visibility(RATE_RULE),
            ),
            _managed(common, 2),
            _managed(bad_inputs, 3),
        ],
        **extra,
    )
