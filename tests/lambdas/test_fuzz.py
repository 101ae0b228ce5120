"""Whatever arrives, a handler answers exactly once (when it can) and never raises."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BODY_KEYS = {
    "Status",
    "Reason",
    "PhysicalResourceId",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "Data",
}

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)

PROPERTIES = {
    "vpc_lookup": {
        "VpcId": st.sampled_from(["", "vpc-0123456789abcdef0"]) | st.text(max_size=30) | json_like,
        "VpcTags": st.dictionaries(st.text(max_size=10), st.text(max_size=10) | json_like)
        | json_like,
    },
    "image_check": {
        "RepositoryName": st.sampled_from(["api-cars", "", "a"]) | st.text(max_size=30) | json_like,
        "ImageTag": st.sampled_from(["v1.2.3", ""]) | st.text(max_size=30) | json_like,
    },
}


def near_valid_events(name, url):
    """CloudFormation-shaped events with any field missing, mistyped or odd, and a usable URL."""
    properties = st.fixed_dictionaries(
        {}, optional={"ServiceToken": st.text(max_size=10), **PROPERTIES[name]}
    )
    return st.fixed_dictionaries(
        {"ResponseURL": st.just(url) | st.text("abc-_=", max_size=8).map(f"{url}?x=".__add__)},
        optional={
            "RequestType": st.sampled_from(["Create", "Update", "Delete"]) | json_like,
            "StackId": st.text(max_size=1500) | json_like,
            "RequestId": st.uuids().map(str) | json_like,
            "LogicalResourceId": st.text(max_size=40) | json_like,
            "PhysicalResourceId": st.text(max_size=40) | json_like,
            "ResourceType": st.text(max_size=20),
            "ResourceProperties": properties | json_like,
            "OldResourceProperties": properties | json_like,
        },
    )


def assert_well_formed(raw):
    assert len(raw) < 4096
    body = json.loads(raw)
    assert set(body) == BODY_KEYS
    assert body["Status"] in ("SUCCESS", "FAILED")
    for key in BODY_KEYS - {"Data"}:
        assert isinstance(body[key], str), key
    assert body["PhysicalResourceId"]
    assert all(isinstance(value, str) for value in body["Data"].values())
    if body["Status"] == "FAILED":
        assert body["Reason"]


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("name", ["vpc_lookup", "image_check"])
def test_near_valid_events_get_exactly_one_well_formed_answer(
    name, endpoint, context, load_handler, aws
):
    handler = load_handler(name)

    @FUZZ
    @given(event=near_valid_events(name, endpoint.url))
    def check(event):
        before = len(endpoint.requests)

        assert handler(event, context) is None

        assert len(endpoint.requests) == before + 1
        assert_well_formed(endpoint.requests[-1]["raw"])

    check()


@pytest.mark.parametrize("name", ["vpc_lookup", "image_check"])
def test_arbitrary_events_never_raise(name, endpoint, context, load_handler, aws):
    handler = load_handler(name)

    @FUZZ
    @given(event=json_like)
    def check(event):
        before = len(endpoint.requests)

        assert handler(event, context) is None

        # Without a ResponseURL there is nobody to answer.
        assert len(endpoint.requests) == before

    check()
