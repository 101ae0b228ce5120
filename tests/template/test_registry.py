"""The registry stack: scanned images, kept releases, nothing lost with the stack."""

import fnmatch
import json

import pytest

from template_builder import names


def repository(render, **parameters) -> dict:
    return render.resolve(render.registry(), **parameters)["Resources"][names.REPOSITORY]


def lifecycle_rules(render, **parameters) -> list[dict]:
    text = repository(render, **parameters)["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
    return json.loads(text)["rules"]


def test_images_are_scanned_on_push(render):
    scanning = repository(render)["Properties"]["ImageScanningConfiguration"]
    assert scanning == {"ScanOnPush": True}


def test_the_repository_outlives_the_stack(render):
    resource = repository(render)
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_release_tags_are_immutable_but_latest_may_move(render):
    props = repository(render)["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert props["ImageTagMutabilityExclusionFilters"] == [
        {
            "ImageTagMutabilityExclusionFilterType": "WILDCARD",
            "ImageTagMutabilityExclusionFilterValue": "latest",
        }
    ]


def test_the_lifecycle_keeps_the_last_pre_releases_and_expires_untagged_images(render):
    rules = {r["selection"]["tagStatus"]: r for r in lifecycle_rules(render, KeepPreReleases=15)}
    assert rules["tagged"]["selection"]["tagPatternList"] == ["v*-*"]
    assert rules["tagged"]["selection"]["countType"] == "imageCountMoreThan"
    assert rules["tagged"]["selection"]["countNumber"] == 15
    assert rules["untagged"]["selection"]["countType"] == "sinceImagePushed"
    assert all(r["action"] == {"type": "expire"} for r in rules.values())


def ecr_pattern_matches(pattern: str, tag: str) -> bool:
    """ECR's tagPatternList wildcard: `*` matches any run of characters, nothing else is special."""
    return fnmatch.fnmatchcase(tag, pattern.replace("[", "[[]").replace("?", "[?]"))


@pytest.mark.parametrize("tag", ["v1.0.0", "v1.2.3", "v10.20.30", "latest"])
def test_no_rule_can_expire_a_release_a_rollback_may_need(render, tag):
    rules = lifecycle_rules(render)
    tagged = [r["selection"] for r in rules if r["selection"]["tagStatus"] != "untagged"]
    assert tagged, "expected the pre-release rule"
    assert not any(
        all(ecr_pattern_matches(p, tag) for p in rule.get("tagPatternList", ["*"]))
        for rule in tagged
    )


@pytest.mark.parametrize("tag", ["v1.3.0-rc.1", "v2.0.0-beta"])
def test_pre_releases_are_what_the_count_rule_selects(render, tag):
    (rule,) = [
        r["selection"] for r in lifecycle_rules(render) if r["selection"]["tagStatus"] == "tagged"
    ]
    assert all(ecr_pattern_matches(p, tag) for p in rule["tagPatternList"])


def test_the_repository_name_is_the_service_stacks_default(render):
    assert repository(render)["Properties"]["RepositoryName"] == names.DEFAULT_REPOSITORY
    outputs = render.resolve(render.registry())["Outputs"]
    assert set(outputs) == {
        names.OUTPUT_REPOSITORY_NAME,
        names.OUTPUT_REPOSITORY_URI,
        names.OUTPUT_REPOSITORY_ARN,
        names.OUTPUT_IMAGE_CHECK_SERVICE_TOKEN,
    }
