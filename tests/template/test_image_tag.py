"""ImageTag is the one parameter a release changes: it reaches the image and the version the API
reports, and changing it alone changes nothing but the task definition (and what refers to it)."""

import pytest

from template_builder import names


def container(resolved: dict) -> dict:
    task = resolved["Resources"][names.TASK_DEFINITION]["Properties"]
    (only,) = task["ContainerDefinitions"]
    return only


def test_image_tag_reaches_the_container_image(render):
    image = container(render.resolve(ImageTag="v2.3.4"))["Image"]
    assert image == f"{render.account_id}.dkr.ecr.{render.region}.amazonaws.com/api-cars:v2.3.4"


def test_image_comes_from_the_repository_parameter(render):
    image = container(render.resolve(RepositoryName="team/cars"))["Image"]
    assert image.endswith(".amazonaws.com/team/cars:v1.0.0")


def test_image_tag_is_the_version_the_api_reports(render):
    environment = {
        e["Name"]: e["Value"] for e in container(render.resolve(ImageTag="v2.3.4"))["Environment"]
    }
    assert environment["APP_VERSION"] == "v2.3.4"


def test_live_image_tag_output_is_the_image_tag(render):
    outputs = render.resolve(ImageTag="v2.3.4")["Outputs"]
    assert outputs[names.OUTPUT_IMAGE_TAG]["Value"] == "v2.3.4"


def test_image_check_verifies_the_tag_the_task_runs(render):
    check = render.resolve(ImageTag="v2.3.4")["Resources"][names.IMAGE_CHECK]["Properties"]
    assert (check["RepositoryName"], check["ImageTag"]) == ("api-cars", "v2.3.4")


@pytest.mark.parametrize("spot", [{}, {names.SPOT_WEIGHT: "3"}], ids=["on-demand", "spot"])
def test_a_tag_change_changes_only_the_task_definition_and_the_image_check(render, spot):
    """What a release (`cars-stack release`) produces, and what its image-only guard allows.

    The image check changes too, by design: its ImageTag property is the new tag, so
    CloudFormation asks the Lambda to verify the new image before anything uses it. The service
    changes only through its Ref to the task definition, which CloudFormation replaces; resolved
    here, that Ref reads the same, so the service must show no difference of its own.
    """
    before = render.resolve(ImageTag="v1.0.0", **spot)
    after = render.resolve(ImageTag="v1.1.0", **spot)

    changed = {
        logical_id: sorted(
            key
            for key in set(resource["Properties"])
            | set(after["Resources"][logical_id]["Properties"])
            if resource["Properties"].get(key)
            != after["Resources"][logical_id]["Properties"].get(key)
        )
        for logical_id, resource in before["Resources"].items()
        if resource != after["Resources"][logical_id]
    }
    assert set(before["Resources"]) == set(after["Resources"])
    assert changed == {
        names.TASK_DEFINITION: ["ContainerDefinitions"],
        names.IMAGE_CHECK: [names.IMAGE_TAG],
    }


def test_the_service_runs_the_task_definition_so_a_new_revision_rolls_it_out(render):
    service = render.service()["Resources"][names.SERVICE]["Properties"]
    assert service["TaskDefinition"] == {"Ref": names.TASK_DEFINITION}


@pytest.mark.parametrize("tag", ["latest", "1.2.3", "v1.2", "v1.2.3 ", "v1.2.3/x", ""])
def test_a_tag_that_is_not_a_release_version_is_refused(render, tag):
    with pytest.raises(ValueError, match=names.IMAGE_TAG):
        render.resolve(ImageTag=tag)


@pytest.mark.parametrize("tag", ["v0.0.1", "v1.2.3", "v10.20.30-rc.1"])
def test_release_versions_are_accepted(render, tag):
    assert container(render.resolve(ImageTag=tag))["Image"].endswith(f":{tag}")


def test_image_tag_has_no_default_so_every_deploy_names_one(render):
    assert "Default" not in render.service()["Parameters"][names.IMAGE_TAG]
