"""IAM helpers in one place: trust policies, policy statements and ARNs (awacs, not dicts).

`ANY_RESOURCE` is the only way a policy in this package says ``"*"``; every use carries a comment
naming the AWS API that cannot be scoped, and tests/template check nothing else uses it.
"""

from awacs.aws import (
    Allow,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from awacs.sts import AssumeRole, AssumeRoleWithWebIdentity
from troposphere import AWSHelperFn, Sub, iam

ANY_RESOURCE = "*"

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"


def allow(actions: list, resources: list | str, condition: Condition | None = None) -> Statement:
    resources = resources if isinstance(resources, list) else [resources]
    if condition is None:
        return Statement(Effect=Allow, Action=actions, Resource=resources)
    return Statement(Effect=Allow, Action=actions, Resource=resources, Condition=condition)


def deny(actions: list, resources: list | str, condition: Condition | None = None) -> Statement:
    """An explicit Deny: it wins over any Allow, in this policy or any other of the principal."""
    resources = resources if isinstance(resources, list) else [resources]
    if condition is None:
        return Statement(Effect=Deny, Action=actions, Resource=resources)
    return Statement(Effect=Deny, Action=actions, Resource=resources, Condition=condition)


def document(*statements: Statement) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def inline_policy(name: str, *statements: Statement) -> iam.Policy:
    return iam.Policy(PolicyName=name, PolicyDocument=document(*statements))


def service_trust_policy(service: str) -> PolicyDocument:
    """Trust policy letting one AWS service principal (e.g. ``lambda.amazonaws.com``) assume a role.

    No aws:SourceAccount condition: Lambda does not send it when assuming an execution role, and a
    role can only be handed to a service by iam:PassRole inside this account anyway.
    """
    return document(
        Statement(Effect=Allow, Principal=Principal("Service", [service]), Action=[AssumeRole])
    )


def github_trust_policy(provider_arn: AWSHelperFn, subjects: list[AWSHelperFn]) -> PolicyDocument:
    """Trust policy for GitHub Actions OIDC tokens whose `sub` claim matches one of `subjects`."""
    return document(
        Statement(
            Effect=Allow,
            Principal=Principal("Federated", provider_arn),
            Action=[AssumeRoleWithWebIdentity],
            Condition=Condition(
                [
                    StringEquals({f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE}),
                    StringLike({f"{GITHUB_OIDC_HOST}:sub": subjects}),
                ]
            ),
        )
    )


# --- ARNs ---------------------------------------------------------------------------------------
# `resource` is an Fn::Sub string; `variables` bind its ${placeholders} (e.g. Repository=Ref(p)).


def arn(service: str, resource: str, *, region: bool = True, **variables) -> Sub:
    where = "${AWS::Region}:${AWS::AccountId}" if region else ":${AWS::AccountId}"
    return Sub(f"arn:${{AWS::Partition}}:{service}:{where}:{resource}", **variables)


def ecr_repository_arn(repository: AWSHelperFn) -> Sub:
    return arn("ecr", "repository/${Repository}", Repository=repository)


def oidc_provider_arn(host: str) -> Sub:
    return arn("iam", f"oidc-provider/{host}", region=False)
