"""Fixtures for the custom resource handlers: a real HTTP response endpoint, moto, events.

CloudFormation's side of the protocol is a presigned S3 URL taking one PUT; here it is an
``http.server`` on 127.0.0.1 that records every request and can fail or hold some of them.
"""

import functools
import importlib.util
import json
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lambdas import protocol
from template_builder.lambda_code import inline_source

REGION = "eu-west-1"
STACK_ID = (
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/api-cars/"
    "5b0c3a10-0000-11ef-9d4b-0a1b2c3d4e5f"
)
REQUEST_ID = "6f1d7a52-8a3e-4c1b-9d2e-1234567890ab"


class ResponseEndpoint:
    """Records each PUT; answers 500 to the first ``failures`` and can hold one until released."""

    def __init__(self):
        self.requests = []
        self.failures = 0
        self.hold_until = None  # a threading.Event the next request waits for
        self.received = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.requests.append(
                    {"method": "PUT", "path": self.path, "headers": dict(self.headers), "raw": raw}
                )
                endpoint.received.set()
                if endpoint.hold_until is not None:
                    assert endpoint.hold_until.wait(10), "the held request was never released"
                status = 500 if endpoint.failures > 0 else 200
                endpoint.failures -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cloudformation-response"
        # A short poll interval keeps shutdown() at teardown quick.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def bodies(self):
        return [json.loads(request["raw"]) for request in self.requests]

    def only_body(self):
        assert len(self.requests) == 1, f"expected exactly one response, got {self.bodies}"
        return self.bodies[0]


@pytest.fixture
def endpoint():
    endpoint = ResponseEndpoint()
    endpoint.thread.start()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


class LambdaContext:
    """The two things the handlers read from Lambda's context object."""

    def __init__(self, remaining_ms=60_000):
        self.deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self):
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@pytest.fixture
def context():
    return LambdaContext()


@pytest.fixture
def short_context():
    """A function whose deadline is 200 ms away: the timer fires after 100 ms."""
    return LambdaContext(remaining_ms=200)


@pytest.fixture
def make_event(endpoint):
    """Build a CloudFormation custom resource request as the service sends it."""

    def make(request_type="Create", properties=None, **fields):
        event = {
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:api-cars-lookup",
            "ResponseURL": endpoint.url,
            "StackId": STACK_ID,
            "RequestId": REQUEST_ID,
            "LogicalResourceId": "Lookup",
            "ResourceType": "Custom::Lookup",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:…", **(properties or {})},
        }
        return {**event, **fields}

    return make


@pytest.fixture
def expected_body():
    """The exact response body for an event built by ``make_event``."""

    def expected(status, reason, physical_id, data=None):
        return {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": physical_id,
            "StackId": STACK_ID,
            "RequestId": REQUEST_ID,
            "LogicalResourceId": "Lookup",
            "Data": data or {},
        }

    return expected


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """Backoff of milliseconds instead of seconds, for the readable protocol module."""
    monkeypatch.setattr(protocol, "PUT_BACKOFF_SECONDS", 0.001)


@pytest.fixture(scope="session")
def client_cache():
    """boto3 clients by (service, region): creating one costs a quarter second, moto or not."""
    return {}


@pytest.fixture
def aws(monkeypatch, client_cache):
    """moto's in-process EC2 and ECR with fake credentials in one region.

    ``boto3.client`` hands out one real client per service and region for the whole run; moto
    intercepts every client's requests while a mock is active, whenever the client was made.
    """
    real_client = boto3.client

    def client(service, region_name=REGION):
        if (service, region_name) not in client_cache:
            client_cache[service, region_name] = real_client(service, region_name=region_name)
        return client_cache[service, region_name]

    monkeypatch.setattr(boto3, "client", client)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with mock_aws():
        yield


@functools.cache
def compiled_inline_source(name):
    return compile(inline_source(name), "index.py", "exec")


def inlined_module(name):
    """The inlined source for Code.ZipFile, executed as Lambda would: a fresh module named index."""
    module = types.ModuleType("index")
    exec(compiled_inline_source(name), module.__dict__)
    return module


@pytest.fixture(params=["source", "inlined"])
def load_handler(request):
    """Run a test against lambdas/<name>.py and against what the template really deploys."""

    def load(name):
        """A freshly executed module's handler, so import-time behaviour is part of the test."""
        if request.param == "inlined":
            return inlined_module(name).handler
        path = Path(protocol.__file__).with_name(f"{name}.py")
        spec = importlib.util.spec_from_file_location(f"lambdas.fresh_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.handler

    return load
