"""After a release: poll the service's /version until it reports the released tag."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from cars_stack.errors import DeploymentFailed, Refused
from cars_stack.runtime import Context
from cars_stack.stack import Stack, describe
from template_builder.names import (
    CLOUDFRONT_ORIGIN,
    EDGE_STACK_SUFFIX,
    ORIGIN_NONE,
    OUTPUT_LOAD_BALANCER_DNS,
    OUTPUT_SERVICE_URL,
)


def service_outputs(ctx: Context, stack: Stack) -> dict[str, str]:
    """The service stack's outputs, with ServiceUrl the edge stack's (CloudFront's) when the
    service is behind CloudFront (CloudFrontOrigin not none): viewers, `--verify` and `status`
    go through the distribution, and with vpc-origin the ALB cannot be reached at all. Without
    CloudFrontOrigin the edge stack is not looked up (no call)."""
    origin = stack.parameters.get(CLOUDFRONT_ORIGIN, ORIGIN_NONE)
    if origin == ORIGIN_NONE:
        return stack.outputs
    name = ctx.edge_stack_name or stack.name + EDGE_STACK_SUFFIX
    edge = describe(ctx.client("cloudformation"), name)
    url = (edge.outputs if edge else {}).get(OUTPUT_SERVICE_URL)
    outputs = dict(stack.outputs)
    if OUTPUT_SERVICE_URL in outputs:
        outputs["OriginUrl"] = outputs[OUTPUT_SERVICE_URL]
    outputs[OUTPUT_SERVICE_URL] = url or (
        f"none yet: CloudFrontOrigin={origin} and edge stack {name} has no {OUTPUT_SERVICE_URL} "
        f"(cars-stack deploy --only edge); the ALB is {outputs.get(OUTPUT_LOAD_BALANCER_DNS)}"
    )
    return outputs


def version_url(outputs: dict[str, str]) -> str:
    base = outputs.get(OUTPUT_SERVICE_URL, "")
    if not base.startswith(("http://", "https://")):
        raise DeploymentFailed(
            f"cannot verify: the stack has no {OUTPUT_SERVICE_URL} output (got {base!r})"
        )
    return base.rstrip("/") + "/version"


def require_url(outputs: dict[str, str], stack_name: str) -> str:
    """Before anything changes: what ``--verify`` will poll, or a refusal that says why not."""
    try:
        return version_url(outputs)
    except DeploymentFailed:
        found = outputs.get(OUTPUT_SERVICE_URL)
        has = f"its {OUTPUT_SERVICE_URL} is {found!r}" if found else "the stack has none"
        raise Refused(
            f"--verify needs an http(s) {OUTPUT_SERVICE_URL} output on stack {stack_name} to poll "
            f"/version, and {has}: run without --verify (nothing was changed)"
        ) from None


def wait_for_version(
    ctx: Context, outputs: dict[str, str], version: str, *, timeout_seconds: float
) -> None:
    url = version_url(outputs)
    deadline = ctx.now() + timeout_seconds
    ctx.say(f"Verifying: waiting for {url} to report {version}")
    while True:
        try:
            # The scheme is checked above: only http(s) URLs reach urlopen.
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310
                seen = json.load(answer).get("version")
            if seen == version:
                ctx.say(f"Verified: {url} reports {version}")
                return
            last = f"reports {seen!r}"
        except (urllib.error.URLError, OSError, ValueError, AttributeError) as error:
            last = f"answered {getattr(error, 'reason', error)}"
        if ctx.now() > deadline:
            raise DeploymentFailed(f"{url} {last} after {timeout_seconds:g} s, not {version}")
        ctx.pause()
