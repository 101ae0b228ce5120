"""cars-stack and the network stack: deployed first, and a stack that imports from the network or
the registry stack is refused, before any change set, when an export it needs is missing."""

from __future__ import annotations

import pytest

from template_builder.names import OUTPUT_IMAGE_CHECK_SERVICE_TOKEN, VPC_LOOKUP_ATTRIBUTES
from tests.stack.answers import list_exports_answer, no_such_stack
from tests.stack.demo import DEMO_SERVICE


def _no_service_stack(stubbed) -> None:
    no_such_stack(stubbed.cfn_stub, "api-cars")


def _exports(stubbed, owners: dict[str, tuple[str, ...]]) -> None:
    stubbed.cfn_stub.add_response("list_exports", list_exports_answer(owners), {})


def _deploy_service(cli, stubbed, real_template_path, *extra: str):
    stubbed.ecr_stub.add_response("describe_images", {"imageDetails": [{"imageTags": ["v1.3.0"]}]})
    return cli(
        "deploy",
        *DEMO_SERVICE,
        "--template-file",
        str(real_template_path),
        "--image-tag",
        "v1.3.0",
        "--yes",
        *extra,
        clients=stubbed.clients,
    )


def test_a_service_whose_network_stack_is_missing_is_refused_before_any_change_set(
    cli, stubbed, real_template_path
) -> None:
    _no_service_stack(stubbed)
    _exports(stubbed, {"api-cars-registry": (OUTPUT_IMAGE_CHECK_SERVICE_TOKEN,)})
    result = _deploy_service(cli, stubbed, real_template_path)
    assert result.code == 2, result.err
    (line,) = result.err.splitlines()
    assert line.startswith(
        "cars-stack deploy: stack api-cars-network (NetworkStackName) exports no"
    )
    assert "api-cars-network-TaskSubnetIds" in line
    assert "cars-stack deploy --only network" in line
    stubbed.cfn_stub.assert_no_pending_responses()  # no change set was created


def test_a_registry_without_the_image_check_is_refused_with_how_to_update_it(
    cli, stubbed, real_template_path
) -> None:
    _no_service_stack(stubbed)
    _exports(stubbed, {"api-cars-network": VPC_LOOKUP_ATTRIBUTES})
    result = _deploy_service(cli, stubbed, real_template_path)
    assert result.code == 2, result.err
    assert result.err == (
        "cars-stack deploy: stack api-cars-registry (RegistryStackName) exports no "
        "api-cars-registry-ImageCheckServiceToken: deploy or update it first (aws cloudformation "
        "deploy --template-file templates/registry.yaml --stack-name api-cars-registry "
        "--capabilities CAPABILITY_IAM); nothing was changed\n"
    )


def test_the_network_stack_named_on_the_command_line_is_the_one_checked(
    cli, stubbed, real_template_path
) -> None:
    _no_service_stack(stubbed)
    _exports(
        stubbed,
        {
            "api-cars-registry": (OUTPUT_IMAGE_CHECK_SERVICE_TOKEN,),
            "api-cars-network": VPC_LOOKUP_ATTRIBUTES,
        },
    )
    result = _deploy_service(cli, stubbed, real_template_path, "--network-stack-name", "shared-net")
    assert result.code == 2
    assert "stack shared-net (NetworkStackName) exports no shared-net-" in result.err
    assert "api-cars-network" not in result.err


@pytest.mark.parametrize(
    ("only", "flag"),
    [("data", "--network-param"), ("service", "--network-param"), ("network", "--data-param")],
)
def test_only_one_stack_refuses_the_other_stacks_parameters(cli, only, flag) -> None:
    result = cli("deploy", "--only", only, flag, "VpcName=prod", "--yes")
    assert result.code == 2
    assert f"which --only {only} does not deploy" in result.err
