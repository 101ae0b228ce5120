"""The custom resource protocol: exactly one answer per event, whatever happens."""

import json
import logging
import sys
import threading

import boto3
import pytest

from lambdas import protocol, vpc_lookup


def test_response_is_a_put_with_an_empty_content_type(endpoint, make_event, context):
    protocol.answer(make_event(), context, lambda properties: ("id-1", {"Answer": "42"}))

    (request,) = endpoint.requests
    assert request["method"] == "PUT"
    assert request["path"] == "/cloudformation-response"
    assert request["headers"]["Content-Type"] == ""
    assert int(request["headers"]["Content-Length"]) == len(request["raw"])


def test_create_answers_the_action_result_with_the_request_ids(
    endpoint, make_event, expected_body, context
):
    protocol.answer(make_event(), context, lambda properties: ("id-1", {"Answer": "42"}))

    assert endpoint.only_body() == expected_body("SUCCESS", "", "id-1", {"Answer": "42"})


def test_response_url_failing_twice_is_retried_until_accepted(
    endpoint, make_event, expected_body, context
):
    endpoint.failures = 2

    vpc_lookup.handler(make_event("Delete", PhysicalResourceId="vpc-0a1b"), context)

    assert len(endpoint.requests) == 3
    assert endpoint.bodies == [expected_body("SUCCESS", "", "vpc-0a1b")] * 3


def test_unreachable_response_url_gives_up_after_the_last_attempt_without_raising(
    endpoint, make_event, context
):
    endpoint.failures = 100

    result = protocol.answer(make_event(), context, lambda properties: ("id-1", {}))

    assert result is None
    assert len(endpoint.requests) == protocol.PUT_ATTEMPTS


def test_timer_answers_failed_before_the_deadline_and_the_late_answer_is_dropped(
    endpoint, make_event, expected_body, load_handler, aws, short_context
):
    handler = load_handler("vpc_lookup")

    hung = []

    def hang_until_answered(**kwargs):
        # An AWS call that outlives the function: it returns only once the timer has answered.
        hung.append(endpoint.received.wait(10))

    events = boto3.client("ec2").meta.events  # the client the handler will get
    events.register("before-call.ec2.DescribeVpcs", hang_until_answered)
    try:
        handler(make_event(), short_context)
    finally:
        events.unregister("before-call.ec2.DescribeVpcs", hang_until_answered)

    assert hung == [True]
    failed_id = "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab"
    assert endpoint.only_body() == expected_body(
        "FAILED", "timed out: no answer before the Lambda's deadline", failed_id
    )


def test_answer_sent_before_the_timer_fires_is_the_only_one(
    endpoint, make_event, expected_body, short_context, monkeypatch
):
    fired = threading.Event()

    class RecordingTimer(threading.Timer):
        """Fires only once the answer has reached the endpoint, however loaded the machine."""

        def __init__(self, interval, function, args=None, kwargs=None):
            def call(*a, **k):
                if endpoint.received.wait(10):
                    function(*a, **k)
                    fired.set()

            super().__init__(interval, call, args, kwargs)

    monkeypatch.setattr(threading, "Timer", RecordingTimer)
    # The answer's PUT is still in flight when the timer fires.
    endpoint.hold_until = fired

    protocol.answer(make_event("Rollback"), short_context, lambda properties: ("id-1", {}))

    assert fired.is_set()
    failed_id = "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab"
    assert endpoint.only_body() == expected_body(
        "FAILED", "unknown RequestType 'Rollback'", failed_id
    )


@pytest.mark.parametrize(
    "event",
    [None, [], "Create", 42, {}, {"ResponseURL": 5}, {"ResponseURL": "ftp://example.com/x"}],
    ids=repr,
)
def test_event_without_a_usable_response_url_is_logged_and_not_raised(
    event, endpoint, context, load_handler, caplog
):
    with caplog.at_level(logging.ERROR):
        result = load_handler("image_check")(event, context)

    assert result is None
    assert endpoint.requests == []
    assert "no usable ResponseURL" in caplog.text


def test_event_missing_its_ids_is_answered_with_empty_ids(endpoint, context, load_handler):
    load_handler("image_check")({"ResponseURL": endpoint.url, "RequestType": "Create"}, context)

    assert endpoint.only_body() == {
        "Status": "FAILED",
        "Reason": "ResourceProperties must be a map",
        "PhysicalResourceId": "failed-None",
        "StackId": "",
        "RequestId": "",
        "LogicalResourceId": "",
        "Data": {},
    }


def test_unknown_request_type_is_failed(endpoint, make_event, expected_body, context, load_handler):
    load_handler("vpc_lookup")(make_event("Rollback", PhysicalResourceId="vpc-0a1b"), context)

    assert endpoint.only_body() == expected_body(
        "FAILED", "unknown RequestType 'Rollback'", "vpc-0a1b"
    )


@pytest.mark.parametrize("physical_id", ["vpc-0a1b", None, "", 42])
def test_delete_succeeds_without_aws_calls_whatever_create_left(
    physical_id, endpoint, make_event, expected_body, context, load_handler, monkeypatch
):
    def no_aws(*args, **kwargs):
        raise AssertionError("Delete must not call AWS")

    monkeypatch.setattr(boto3, "client", no_aws)
    event = make_event("Delete", {"VpcTags": "not even a map"})
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id

    load_handler("vpc_lookup")(event, context)

    kept = physical_id if physical_id == "vpc-0a1b" else f"failed-{event['RequestId']}"
    assert endpoint.only_body() == expected_body("SUCCESS", "", kept)


@pytest.mark.parametrize("name", ["vpc_lookup", "image_check"])
def test_import_error_is_reported_on_the_first_create(
    name, endpoint, make_event, expected_body, context, load_handler, monkeypatch
):
    monkeypatch.setitem(sys.modules, "boto3", None)
    handler = load_handler(name)

    handler(make_event(), context)

    assert endpoint.only_body() == expected_body(
        "FAILED",
        "import failed: ModuleNotFoundError: import of boto3 halted; None in sys.modules",
        "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab",
    )


def test_import_error_does_not_block_delete(endpoint, make_event, expected_body, context):
    protocol.answer(
        make_event("Delete", PhysicalResourceId="vpc-0a1b"),
        context,
        lambda properties: pytest.fail("Delete ran the action"),
        ImportError("No module named 'boto3'"),
    )

    assert endpoint.only_body() == expected_body("SUCCESS", "", "vpc-0a1b")


def test_unexpected_exception_is_failed_with_its_type(endpoint, make_event, expected_body, context):
    def broken(properties):
        return {}["Subnets"]

    protocol.answer(make_event(), context, broken)

    failed_id = "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab"
    assert endpoint.only_body() == expected_body("FAILED", "KeyError: 'Subnets'", failed_id)


def test_long_reason_is_cut_to_keep_the_body_under_4_kb(endpoint, make_event, context):
    def verbose(properties):
        raise protocol.Failed("no VPC matches " + "tag:Name=x " * 1000)

    protocol.answer(make_event(), context, verbose)

    (request,) = endpoint.requests
    assert len(request["raw"]) < 4096
    assert json.loads(request["raw"])["Reason"].startswith("no VPC matches tag:Name=x")


def test_oversized_echoed_fields_still_give_a_body_under_4_kb(endpoint, make_event, context):
    huge = "\U0001f697" * 5000  # 12 bytes each once JSON-escaped
    event = make_event(StackId=huge, RequestId=huge, LogicalResourceId=huge)

    protocol.answer(event, context, lambda properties: ("id-1", {"Answer": "42"}))

    (request,) = endpoint.requests
    assert len(request["raw"]) < 4096
    assert json.loads(request["raw"])["Data"] == {"Answer": "42"}


def test_resource_properties_that_are_not_a_map_fail(
    endpoint, make_event, expected_body, context, load_handler
):
    load_handler("image_check")(make_event(ResourceProperties=["api-cars"]), context)

    failed_id = "failed-6f1d7a52-8a3e-4c1b-9d2e-1234567890ab"
    assert endpoint.only_body() == expected_body(
        "FAILED", "ResourceProperties must be a map", failed_id
    )
