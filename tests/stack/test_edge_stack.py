"""The edge stacks through cars-stack: what `deploy` checks and fills in before any change set,
where it deploys the edge-global stack (us-east-1), and the URL `status` and `--verify` use.

moto's CloudFormation models no AWS::CloudFront::* nor AWS::WAFv2::* resource, so these are
botocore Stubber conversations shaped like the CloudFormation and EC2 API references
(DescribeStacks, ListExports, CreateChangeSet, DescribeChangeSet, DescribeManagedPrefixLists);
the templates themselves are proven by tests/template/test_edge.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cars_stack.template import Template
from template_builder.names import (
    CERTIFICATE_ARN,
    CLOUDFRONT_ORIGIN,
    CLOUDFRONT_PREFIX_LIST_ID,
    CLOUDFRONT_PREFIX_LIST_NAME,
    EDGE_CERTIFICATE_ARN,
    EDGE_TEMPLATE_FILE,
    IMAGE_TAG,
    ORIGIN_MODE,
    OUTPUT_CERTIFICATE_ARN,
    OUTPUT_LOAD_BALANCER_DNS,
    OUTPUT_SERVICE_URL,
    OUTPUT_WEB_ACL_ARN,
    REPOSITORY_NAME,
    SERVICE_STACK_NAME,
    VPC_LOOKUP_ATTRIBUTES,
    WEB_ACL_ARN,
)
from tests.stack.answers import list_exports_answer, no_such_stack
from tests.stack.conftest import REPO_ROOT

REGION = "eu-west-1"
ACCOUNT = "123456789012"
SERVICE, EDGE, EDGE_GLOBAL = "api-cars", "api-cars-edge", "api-cars-edge-global"
NETWORK = "api-cars-network"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PREFIX_LIST = "pl-4fa04526"
WEB_ACL = (
    f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/{EDGE_GLOBAL}-acl/"
    "a1b2c3d4-5678-90ab-cdef-0123456789ab"
)
CERTIFICATE = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/1c2d3e4f-1111-4a2b-9c3d-123456789abc"
ALB_DNS = "api-cars-LoadBal-AbCdEf-123456789.eu-west-1.elb.amazonaws.com"
EDGE_TEMPLATE = REPO_ROOT / EDGE_TEMPLATE_FILE
# What the service exports for the edge stack (template_builder/outputs.py).
SERVICE_EXPORTS = ("LoadBalancerDnsName", "LoadBalancerArn", "ListenerArn", "TargetGroupArn",
                   "AlbSecurityGroup")  # fmt: skip


def stack_id(name: str, region: str = REGION) -> str:
    uuid = "1c2fa620-982a-11e3-aff7-50e2416294e0"
    return f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/{uuid}"


def described(
    name: str,
    parameters: dict[str, str],
    outputs: dict[str, str] | None = None,
    *,
    status: str = "UPDATE_COMPLETE",
    region: str = REGION,
) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackId": stack_id(name, region),
                "StackName": name,
                "CreationTime": T0,
                "StackStatus": status,
                "Parameters": [
                    {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                ],
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
            }
        ]
    }


def service(origin: str, **extra: str) -> dict[str, str]:
    return {IMAGE_TAG: "v1.0.0", REPOSITORY_NAME: "api-cars", CLOUDFRONT_ORIGIN: origin, **extra}


class Aws:
    def __init__(self) -> None:
        self.clients = {
            "cloudformation": boto3.client("cloudformation", region_name=REGION),
            "ec2": boto3.client("ec2", region_name=REGION),
            "cloudformation@us-east-1": boto3.client("cloudformation", region_name="us-east-1"),
        }
        self.stubs = {name: Stubber(c) for name, c in self.clients.items()}

    @property
    def cfn(self) -> Stubber:
        return self.stubs["cloudformation"]

    @property
    def us_east_1(self) -> Stubber:
        return self.stubs["cloudformation@us-east-1"]

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def aws() -> Iterator[Aws]:
    answers = Aws()
    for stub in answers.stubs.values():
        stub.activate()
    yield answers
    for stub in answers.stubs.values():
        stub.deactivate()


def expect_prefix_list(aws: Aws) -> None:
    aws.stubs["ec2"].add_response(
        "describe_managed_prefix_lists",
        {
            "PrefixLists": [
                {
                    "PrefixListId": PREFIX_LIST,
                    "AddressFamily": "IPv4",
                    "State": "create-complete",
                    "PrefixListArn": f"arn:aws:ec2:{REGION}:aws:prefix-list/{PREFIX_LIST}",
                    "PrefixListName": CLOUDFRONT_PREFIX_LIST_NAME,
                    "MaxEntries": 55,
                    "Version": 4,
                    "OwnerId": "AWS",
                }
            ]
        },
        {"Filters": [{"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST_NAME]}]},
    )


def expect_global_stack(aws: Aws, outputs: dict[str, str] | None) -> None:
    if outputs is None:
        no_such_stack(aws.us_east_1, EDGE_GLOBAL)
        return
    aws.us_east_1.add_response(
        "describe_stacks",
        described(EDGE_GLOBAL, {}, outputs, region="us-east-1"),
        {"StackName": EDGE_GLOBAL},
    )


def expect_edge_create(aws: Aws, given: dict[str, str]) -> None:
    """The edge stack's first change set, left for review (--no-execute)."""
    no_such_stack(aws.cfn, EDGE)
    aws.cfn.add_response("list_exports", list_exports_answer({SERVICE: SERVICE_EXPORTS}), {})
    order = list(Template.from_file(EDGE_TEMPLATE).parameters)
    cs_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/cars-stack-deploy/1"
    aws.cfn.add_response(
        "create_change_set",
        {"Id": cs_id, "StackId": stack_id(EDGE)},
        {
            "StackName": EDGE,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "Parameters": [
                {"ParameterKey": k, "ParameterValue": given[k]} for k in order if k in given
            ],
            "Capabilities": ["CAPABILITY_IAM"],
            "Description": ANY,
            "TemplateBody": EDGE_TEMPLATE.read_text(encoding="utf-8"),
        },
    )
    answer = {
        "ChangeSetName": "cars-stack-deploy",
        "ChangeSetId": cs_id,
        "StackId": stack_id(EDGE),
        "StackName": EDGE,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
        "CreationTime": T0,
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "Changes": [],
    }
    aws.cfn.add_response("describe_change_set", answer)
    aws.cfn.add_response("describe_change_set", answer)


def test_only_edge_takes_the_services_mode_cloudfronts_prefix_list_and_the_global_acl(
    cli, aws: Aws
) -> None:
    aws.cfn.add_response(
        "describe_stacks", described(SERVICE, service("public-alb")), {"StackName": SERVICE}
    )
    no_such_stack(aws.cfn, EDGE)
    expect_prefix_list(aws)
    expect_global_stack(aws, {OUTPUT_WEB_ACL_ARN: WEB_ACL, OUTPUT_CERTIFICATE_ARN: CERTIFICATE})
    expect_edge_create(
        aws,
        {
            SERVICE_STACK_NAME: SERVICE,
            ORIGIN_MODE: "public-alb",
            CLOUDFRONT_PREFIX_LIST_ID: PREFIX_LIST,
            WEB_ACL_ARN: WEB_ACL,
            EDGE_CERTIFICATE_ARN: CERTIFICATE,
        },
    )
    result = cli("deploy", "--only", "edge", "--no-execute", clients=aws.clients)
    assert result.code == 0, result.err
    assert "Change set left for review" in result.out
    aws.done()


def test_only_edge_refuses_a_mode_other_than_the_services_before_any_change_set(
    cli, aws: Aws
) -> None:
    aws.cfn.add_response(
        "describe_stacks", described(SERVICE, service("none")), {"StackName": SERVICE}
    )
    no_such_stack(aws.cfn, EDGE)
    result = cli(
        "deploy", "--only", "edge", "--edge-param", "OriginMode=vpc-origin", clients=aws.clients
    )
    assert result.code == 2
    assert result.err == (
        "cars-stack deploy: the service api-cars has CloudFrontOrigin=none and edge stack "
        "api-cars-edge OriginMode=vpc-origin: they must agree (--param CloudFrontOrigin=... or "
        "--edge-param OriginMode=...); nothing was changed\n"
    )
    aws.done()


def test_only_edge_needs_an_origin_host_name_when_the_alb_has_a_certificate(cli, aws: Aws) -> None:
    certificate = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0b6d6f2e-1111-4a2b-9c3d-123456789abc"
    aws.cfn.add_response(
        "describe_stacks",
        described(SERVICE, service("vpc-origin", **{CERTIFICATE_ARN: certificate})),
        {"StackName": SERVICE},
    )
    no_such_stack(aws.cfn, EDGE)
    result = cli("deploy", "--only", "edge", clients=aws.clients)
    assert result.code == 2
    assert "--edge-param OriginDomainName=NAME; nothing was changed" in result.err
    assert result.err.count("\n") == 1
    aws.done()


def test_only_edge_waits_for_its_service_stack(cli, aws: Aws) -> None:
    no_such_stack(aws.cfn, SERVICE)
    result = cli("deploy", "--only", "edge", clients=aws.clients)
    assert result.code == 2
    assert result.err == (
        "cars-stack deploy: service stack api-cars is missing: the edge stack imports its load "
        "balancer; deploy it first (cars-stack deploy --only service)\n"
    )
    aws.done()


def test_only_edge_global_deploys_in_us_east_1_whatever_the_region(cli, aws: Aws) -> None:
    no_such_stack(aws.us_east_1, EDGE_GLOBAL)
    aws.us_east_1.add_client_error(
        "create_change_set",
        service_error_code="AccessDenied",
        service_message="not allowed",
        http_status_code=403,
        expected_params={
            "StackName": EDGE_GLOBAL,
            "ChangeSetName": ANY,
            "ChangeSetType": "CREATE",
            "Parameters": [
                {"ParameterKey": "CertificateDomainName", "ParameterValue": "c.example.com"}
            ],
            "Capabilities": ["CAPABILITY_IAM"],
            "Description": ANY,
            "TemplateBody": ANY,
        },
    )
    result = cli(
        "deploy",
        "--only",
        "edge-global",
        "--edge-global-param",
        "CertificateDomainName=c.example.com",
        clients=aws.clients,
    )
    assert result.code == 2
    assert "access denied by AWS for CreateChangeSet" in result.err
    aws.done()


def test_vpc_origin_is_refused_when_the_network_has_no_private_subnets(
    cli, aws: Aws, real_template_path
) -> None:
    # AuthDisabled's previous value, then the CloudFrontOrigin check: the service twice.
    aws.cfn.add_response(
        "describe_stacks", described(SERVICE, service("none")), {"StackName": SERVICE}
    )
    aws.cfn.add_response(
        "describe_stacks", described(SERVICE, service("none")), {"StackName": SERVICE}
    )
    no_such_stack(aws.cfn, EDGE)
    network_outputs = dict.fromkeys(VPC_LOOKUP_ATTRIBUTES, "x") | {"TaskAssignPublicIp": "ENABLED"}
    aws.cfn.add_response(
        "describe_stacks", described(NETWORK, {}, network_outputs), {"StackName": NETWORK}
    )
    result = cli(
        "deploy", "--only", "service", "--param", "CloudFrontOrigin=vpc-origin", "--template-file",
        str(real_template_path), clients=aws.clients,
    )  # fmt: skip
    assert result.code == 2
    assert "network stack api-cars-network has none (its TaskAssignPublicIp is ENABLED)" in (
        result.err
    )
    aws.done()


def test_switching_to_vpc_origin_under_an_edge_stack_is_refused_naming_the_order(
    cli, aws: Aws, real_template_path
) -> None:
    """Scheme is replacement-only: a new ALB, whose changed exports the edge stack imports."""
    # AuthDisabled's previous value, then the CloudFrontOrigin check: the service twice.
    aws.cfn.add_response(
        "describe_stacks", described(SERVICE, service("public-alb")), {"StackName": SERVICE}
    )
    aws.cfn.add_response(
        "describe_stacks", described(SERVICE, service("public-alb")), {"StackName": SERVICE}
    )
    aws.cfn.add_response(
        "describe_stacks",
        described(EDGE, {ORIGIN_MODE: "public-alb"}),
        {"StackName": EDGE},
    )
    aws.cfn.add_response(
        "describe_stacks",
        described(NETWORK, {}, {"TaskAssignPublicIp": "DISABLED"}),
        {"StackName": NETWORK},
    )
    result = cli(
        "deploy", "--only", "service", "--param", "CloudFrontOrigin=vpc-origin", "--template-file",
        str(real_template_path), clients=aws.clients,
    )  # fmt: skip
    assert result.code == 2
    assert "CloudFrontOrigin public-alb -> vpc-origin replaces the load balancer" in result.err
    assert "delete the edge stack first" in result.err
    aws.done()


def test_public_alb_without_the_edge_stack_is_refused(cli, aws: Aws, real_template_path) -> None:
    # AuthDisabled's previous value, then the CloudFrontOrigin check: the service twice.
    aws.cfn.add_response(
        "describe_stacks", described(SERVICE, service("none")), {"StackName": SERVICE}
    )
    aws.cfn.add_response(
        "describe_stacks", described(SERVICE, service("none")), {"StackName": SERVICE}
    )
    no_such_stack(aws.cfn, EDGE)
    result = cli(
        "deploy", "--only", "service", "--param", "CloudFrontOrigin=public-alb", "--template-file",
        str(real_template_path), clients=aws.clients,
    )  # fmt: skip
    assert result.code == 2
    assert "deploy with --edge (the edge stack goes first" in result.err
    aws.done()


def test_edge_flags_are_refused_beside_only_service(cli) -> None:
    result = cli("deploy", "--only", "service", "--edge-param", "Alias=x.example.com")
    assert result.code == 2
    assert result.err == (
        "cars-stack deploy: --edge and --edge-param set the edge stack, which --only service "
        "does not deploy\n"
    )


# --- the URL status and --verify use ----------------------------------------------------------
def test_status_url_is_cloudfronts_when_the_service_is_behind_it(aws: Aws) -> None:
    from cars_stack import verify
    from cars_stack.runtime import Context, Runtime
    from cars_stack.stack import Stack

    stack = Stack.from_api(
        described(
            SERVICE,
            service("vpc-origin"),
            {OUTPUT_SERVICE_URL: f"http://{ALB_DNS}", OUTPUT_LOAD_BALANCER_DNS: ALB_DNS},
        )["Stacks"][0]
    )
    aws.cfn.add_response(
        "describe_stacks",
        described(EDGE, {}, {OUTPUT_SERVICE_URL: "https://d111111abcdef8.cloudfront.net"}),
        {"StackName": EDGE},
    )
    ctx = Context(Runtime(clients=aws.clients), stack_name=SERVICE)
    outputs = verify.service_outputs(ctx, stack)
    assert outputs[OUTPUT_SERVICE_URL] == "https://d111111abcdef8.cloudfront.net"
    assert outputs["OriginUrl"] == f"http://{ALB_DNS}"
    assert verify.version_url(outputs) == "https://d111111abcdef8.cloudfront.net/version"
    aws.done()


def test_verify_is_refused_behind_cloudfront_until_the_edge_stack_exists(aws: Aws) -> None:
    from cars_stack import verify
    from cars_stack.errors import Refused
    from cars_stack.runtime import Context, Runtime
    from cars_stack.stack import Stack

    stack = Stack.from_api(
        described(SERVICE, service("vpc-origin"), {OUTPUT_SERVICE_URL: f"http://{ALB_DNS}"})[
            "Stacks"
        ][0]
    )
    no_such_stack(aws.cfn, EDGE)
    ctx = Context(Runtime(clients=aws.clients), stack_name=SERVICE)
    with pytest.raises(Refused, match="edge stack api-cars-edge has no ServiceUrl"):
        verify.require_url(verify.service_outputs(ctx, stack), SERVICE)
    aws.done()


def test_without_cloudfront_the_edge_stack_is_not_looked_up(aws: Aws) -> None:
    from cars_stack import verify
    from cars_stack.runtime import Context, Runtime
    from cars_stack.stack import Stack

    stack = Stack.from_api(
        described(SERVICE, service("none"), {OUTPUT_SERVICE_URL: f"http://{ALB_DNS}"})["Stacks"][0]
    )
    ctx = Context(Runtime(clients=aws.clients), stack_name=SERVICE)
    assert verify.service_outputs(ctx, stack)[OUTPUT_SERVICE_URL] == f"http://{ALB_DNS}"
    aws.done()  # no DescribeStacks was stubbed, and none was made


# --- the order of the change sets -------------------------------------------------------------
def test_turning_public_alb_on_puts_the_edge_stack_between_two_service_change_sets(
    monkeypatch, real_template_path
) -> None:
    """The ALB admits someone at every step: the service keeps its public ingress (first change
    set), the edge stack adds CloudFront's prefix list and header rule, and only then does the
    service drop its public ingress (second change set). The AWS conversations of each step are
    the ones above; here, their order."""
    from cars_stack import deploy, edge
    from cars_stack.runtime import Context, Runtime

    steps: list[tuple[str, str]] = []

    def service_step(ctx, template, given, options):
        steps.append(("service", given[CLOUDFRONT_ORIGIN]))
        return {"executed": True}

    def edge_step(ctx, options, *, origin=None):
        steps.append(("edge", origin))
        return {"executed": True}

    monkeypatch.setattr(deploy, "_deploy_service", service_step)
    monkeypatch.setattr(edge, "deploy_edge", edge_step)
    monkeypatch.setattr(edge, "service_origin", lambda ctx, template, given: ("none", "none"))
    ctx = Context(Runtime(), stack_name=SERVICE)
    options = deploy.DeployOptions(template_path=real_template_path, edge=True)
    template = Template.from_file(real_template_path)
    code = deploy._deploy_service_around_the_edge(
        ctx, template, {CLOUDFRONT_ORIGIN: "public-alb"}, options, {}
    )
    assert code == 0
    assert steps == [("service", "none"), ("edge", "public-alb"), ("service", "public-alb")]


def test_the_service_keeps_its_public_ingress_when_the_edge_change_set_is_left_for_review(
    monkeypatch, real_template_path
) -> None:
    from cars_stack import deploy, edge
    from cars_stack.runtime import Context, Runtime

    steps: list[str] = []
    monkeypatch.setattr(
        deploy, "_deploy_service", lambda *a: steps.append("service") or {"executed": True}
    )
    monkeypatch.setattr(
        edge, "deploy_edge", lambda *a, **k: steps.append("edge") or {"executed": False}
    )
    monkeypatch.setattr(edge, "service_origin", lambda ctx, template, given: ("none", "none"))
    ctx = Context(Runtime(), stack_name=SERVICE)
    options = deploy.DeployOptions(template_path=real_template_path, edge=True, no_execute=True)
    deploy._deploy_service_around_the_edge(
        ctx, Template.from_file(real_template_path), {CLOUDFRONT_ORIGIN: "public-alb"}, options, {}
    )
    assert steps == ["service", "edge"]


# --- destroy: the edge stack before the service it imports --------------------------------------
def test_destroy_deletes_the_edge_stack_first_then_the_service(cli, aws_env, moto_template) -> None:
    """On moto (its own clients: no Stubber). CloudFormation would refuse to delete the service's
    exports while the edge stack imports them; moto models no CloudFront, so the edge stack here
    is a stand-in with one resource that does nothing, deployed under the edge stack's name. moto
    computes outputs only for stacks made with CreateStack, as a stack deployed earlier would be."""
    from tests.stack.conftest import client, push_image

    push_image("v1.0.0")
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName=SERVICE,
        TemplateBody=moto_template.read_text(encoding="utf-8"),
        Parameters=[{"ParameterKey": IMAGE_TAG, "ParameterValue": "v1.0.0"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    assert "LoadBalancerArn" in {
        o["OutputKey"] for o in cfn.describe_stacks(StackName=SERVICE)["Stacks"][0]["Outputs"]
    }
    stand_in = {"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    cfn.create_stack(StackName=EDGE, TemplateBody=json.dumps(stand_in))
    result = cli("destroy", "--yes")
    assert result.code == 0, result.err
    assert "Edge stack api-cars-edge (CREATE_COMPLETE) in front of it will be deleted first." in (
        result.out
    )
    edge_gone = result.out.index("Edge stack api-cars-edge deleted.")
    assert edge_gone < result.out.index("Stack api-cars deleted.")
    assert "edge-global stack api-cars-edge-global in us-east-1, if any" in result.out
    left = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"}  # fmt: skip
    assert left.isdisjoint({SERVICE, EDGE})
