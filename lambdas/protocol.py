"""The CloudFormation custom resource protocol: exactly one response per event, on every path.

crhelper's pattern (aws-cloudformation/custom-resource-helper, ``resource_helper.py``) in a form
that can be inlined into ``Code.ZipFile``: the whole request sits in try/except, a timer answers
FAILED shortly before the Lambda's deadline, errors during import are reported on the first event,
and the response PUT is retried with exponential backoff. An unanswered custom resource hangs its
stack for an hour, so no path may end without a response, and none may send two.

Standard library only: the builder inlines this module in front of each handler.
"""

import json
import logging
import threading
import time
import urllib.request

# Tunables, module globals so tests can shorten them. Helpers take positional-only arguments
# (the "/"): callers pass them by position only.
PUT_ATTEMPTS = 5
PUT_BACKOFF_SECONDS = 0.5
PUT_TIMEOUT_SECONDS = 5
TIMEOUT_MARGIN_SECONDS = 5
# CloudFormation rejects response bodies of 4,096 bytes or more.
BODY_LIMIT = 4000


class Failed(Exception):
    """A FAILED answer whose message is the Reason shown in the stack's events."""


def prop(properties, name, kind, required=True, /):
    """``properties[name]`` checked against ``kind``; an absent or empty optional one is None."""
    value = properties.get(name)
    if value in (None, "", {}) and not required:
        return None
    if not (isinstance(value, kind) and value):
        raise Failed(f"property {name} must be a non-empty {kind.__name__}, got {value!r:.80}")
    return value


def body(event, status, reason, physical_id, data, /):
    """The response JSON, top-level strings shortened until it fits CloudFormation's limit."""
    fields = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        **{key: str(event.get(key, "")) for key in ("StackId", "RequestId", "LogicalResourceId")},
        "Data": data,
    }
    cap = 2048
    while True:
        # ensure_ascii (the default) makes characters and bytes the same count.
        text = json.dumps({k: v[:cap] if isinstance(v, str) else v for k, v in fields.items()})
        if len(text) < BODY_LIMIT or cap < 9:
            return text
        cap //= 2


def put(url, text, /):
    """PUT the response, retrying with exponential backoff; never raises."""
    for attempt in range(PUT_ATTEMPTS):
        try:
            # An empty Content-Type, as cfn-response sends: the presigned S3 URL signs none.
            # answer() lets only http(s) URLs through, hence no S310.
            headers = {"Content-Type": ""}
            request = urllib.request.Request(url, text.encode(), headers, method="PUT")  # noqa: S310
            with urllib.request.urlopen(request, timeout=PUT_TIMEOUT_SECONDS):  # noqa: S310
                print("response sent:", text)
                return
        except Exception as error:
            logging.warning("response PUT attempt %d failed: %s", attempt + 1, error)
            if attempt + 1 < PUT_ATTEMPTS:
                time.sleep(PUT_BACKOFF_SECONDS * 2**attempt)
    logging.error("gave up sending the response: %s", text)


def answer(event, context, create_or_update, import_error=None, /):
    """Handle one event: Delete succeeds untouched, Create/Update run ``create_or_update``.

    ``create_or_update(properties)`` returns ``(physical_id, data)`` or raises; ``Failed``
    carries a reason worded for people, any other exception is reported with its type.
    """
    url = event.get("ResponseURL") if isinstance(event, dict) else None
    if not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        # Nowhere to answer: raising would only make Lambda retry the same event.
        logging.error("no usable ResponseURL in event of type %s", type(event).__name__)
        return
    lock = threading.Lock()
    sent = []
    old_id = event.get("PhysicalResourceId")
    if not (isinstance(old_id, str) and old_id):
        # A failed Create still needs an id; CloudFormation sends it back in the rollback Delete.
        old_id = f"failed-{event.get('RequestId')}"

    def respond(status, reason="", physical_id=old_id, data=None, /):
        text = body(event, status, reason, physical_id, data or {})
        with lock:
            if sent:
                return
            sent.append(status)
        put(url, text)

    timer = None
    try:
        kind = event.get("RequestType")
        if kind == "Delete":
            # A lookup owns nothing, and a failing Delete blocks the stack's deletion.
            return respond("SUCCESS")
        seconds = context.get_remaining_time_in_millis() / 1000
        # Half the time left when the function's timeout is short, so the PUT still fits.
        timer = threading.Timer(
            max(seconds - TIMEOUT_MARGIN_SECONDS, seconds / 2),
            respond,
            ("FAILED", "timed out: no answer before the Lambda's deadline"),
        )
        timer.start()
        if kind not in ("Create", "Update"):
            raise Failed(f"unknown RequestType {kind!r:.80}")
        elif import_error:
            raise Failed(f"import failed: {type(import_error).__name__}: {import_error}")
        else:
            properties = event.get("ResourceProperties")
            if not isinstance(properties, dict):
                raise Failed("ResourceProperties must be a map")
            respond("SUCCESS", "", *create_or_update(properties))
    except Failed as error:
        respond("FAILED", str(error))
    except Exception as error:
        logging.exception("request failed")
        respond("FAILED", f"{type(error).__name__}: {error}")
    finally:
        if timer:
            # Wait for a timer that already fired, so its PUT is not frozen with the sandbox.
            timer.cancel()
            timer.join()
