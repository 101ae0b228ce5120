"""What a run of the command talks to: AWS clients, the clock, the terminal, the output mode.

Everything with a side effect the tests need to control lives here, injected into each command, so
tests poll with no delay and answer prompts without a terminal.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import boto3
from botocore.config import Config

from cars_stack.errors import Aborted, Refused

# Where the region comes from, first found wins (then the profile's). The installed botocore reads
# AWS_DEFAULT_REGION only; AWS_REGION is what the AWS CLI v2, the other SDKs and GitHub's
# configure-aws-credentials set, so it is honoured here, above AWS_DEFAULT_REGION as they rank it.
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def region_from_environment(given: str | None) -> str | None:
    """``--region``, else AWS_REGION, else AWS_DEFAULT_REGION; None leaves it to the profile."""
    if given:
        return given
    return next((os.environ[v] for v in REGION_VARIABLES if os.environ.get(v)), None)


# Standard retry mode backs off on throttling, which CloudFormation does under polling;
# AWS_MAX_ATTEMPTS still tunes the number of attempts.
_BOTO_CONFIG = Config(retries={"mode": "standard"}, user_agent_extra="cars-stack")


@dataclass(frozen=True)
class Answer:
    """The last HTTP answer a client received, kept so an unparsable one can be described."""

    endpoint: str
    operation: str
    status: int
    content_type: str
    body: bytes

    def describe(self) -> str:
        text = self.body[:120].decode("utf-8", "replace").strip()
        text = " ".join(text.split()) or "an empty body"
        content_type = self.content_type or "no Content-Type"
        return f"HTTP {self.status} ({content_type}): {text}"


@dataclass
class Runtime:
    """Injected dependencies. Defaults are the real ones; tests replace what they need."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 5.0
    ask: Callable[[str], str] | None = None  # None: input() when stdin is a terminal
    stdin_is_tty: Callable[[], bool] = field(default=lambda: sys.stdin.isatty())
    stdout: TextIO | None = None
    stderr: TextIO | None = None
    # Tests hand in botocore clients wrapped by Stubber; keyed by service name, and for another
    # Region than the command's by "<service>@<region>" (the edge-global stack's us-east-1).
    clients: dict[str, Any] = field(default_factory=dict)


class Context:
    """One command invocation: its AWS session, options and how it talks to the user."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        stack_name: str,
        region: str | None = None,
        profile: str | None = None,
        output: str = "text",
        yes: bool = False,
        cfn_role_arn: str | None = None,
    ):
        self.runtime = runtime
        self.stack_name = stack_name
        self.output = output
        self.yes = yes
        self.cfn_role_arn = cfn_role_arn
        self._region = region
        self._profile = profile
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {k: v for k, v in runtime.clients.items() if "@" not in k}
        # None: the command's Region; for_region sets another (clients made there).
        self._client_region: str | None = None
        # --edge-stack-name where a command has it; None: <stack>-edge.
        self.edge_stack_name: str | None = None
        # One slot, shared with the contexts for_stack makes: the last answer of any client of
        # this run, whichever context made the call, is what an error message reports.
        self._last_answer: list[Answer | None] = [None]
        for given in runtime.clients.values():
            self._record_answers(given)
        # Set on a context for one stack of a command that changes several: their results are
        # gathered into the command's one JSON document instead of each printing its own.
        self.results: list[dict[str, Any]] | None = None

    def for_stack(self, stack_name: str) -> Context:
        """The same run (session, clients, options, terminal) aimed at another stack."""
        _ = self.session  # made once here, so both contexts share it (and its credentials)
        other = copy.copy(self)  # shares the clients, their recorded answer and the session
        other.stack_name = stack_name
        other.results = []
        return other

    def for_region(self, region: str, stack_name: str) -> Context:
        """The same run aimed at a stack in another Region (its own clients, same credentials)."""
        other = self.for_stack(stack_name)
        other._client_region = region
        suffix = f"@{region}"
        other._clients = {
            k.removesuffix(suffix): v for k, v in self.runtime.clients.items() if k.endswith(suffix)
        }
        return other

    @property
    def last_answer(self) -> Answer | None:
        return self._last_answer[0]

    # --- AWS -------------------------------------------------------------------------------
    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            # boto3 reads AWS_PROFILE, the profile's region, the credential chain and
            # AWS_ENDPOINT_URL(_<SERVICE>) itself; only AWS_REGION is added (see above).
            self._session = boto3.Session(
                profile_name=self._profile, region_name=region_from_environment(self._region)
            )
        return self._session

    def client(self, service: str) -> Any:
        if service not in self._clients:
            made = self.session.client(
                service, region_name=self._client_region, config=_BOTO_CONFIG
            )
            self._record_answers(made)
            self._clients[service] = made
        return self._clients[service]

    def _record_answers(self, made: Any) -> None:
        endpoint = made.meta.endpoint_url

        def record(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
            body = response_dict.get("body") or b""
            self._last_answer[0] = Answer(
                endpoint=endpoint,
                operation=operation_model.name,
                status=response_dict.get("status_code", 0),
                content_type=response_dict.get("headers", {}).get("content-type", ""),
                body=body if isinstance(body, bytes) else b"",
            )

        made.meta.events.register("before-parse", record)

    @property
    def region(self) -> str:
        return self.client("cloudformation").meta.region_name

    # --- time ------------------------------------------------------------------------------
    def now(self) -> float:
        return self.runtime.now()

    def pause(self) -> None:
        self.runtime.sleep(self.runtime.poll_seconds)

    # --- the terminal ----------------------------------------------------------------------
    @property
    def json_mode(self) -> bool:
        return self.output == "json"

    def _out(self) -> TextIO:
        return self.runtime.stdout or sys.stdout

    def _err(self) -> TextIO:
        return self.runtime.stderr or sys.stderr

    def say(self, text: str = "") -> None:
        """Human progress: stdout for people, stderr in JSON mode so stdout stays one document."""
        stream = self._err() if self.json_mode else self._out()
        print(text, file=stream, flush=True)

    def warn(self, text: str) -> None:
        print(text, file=self._err(), flush=True)

    def emit(self, document: dict[str, Any], text: str | None = None) -> None:
        """The command's result: JSON in JSON mode, else the rendered text."""
        if self.results is not None:
            self.results.append(document)
            if text is not None and not self.json_mode:
                print(text, file=self._out(), flush=True)
            return
        if self.json_mode:
            print(json.dumps(document, indent=2, default=str, sort_keys=True), file=self._out())
        elif text is not None:
            print(text, file=self._out(), flush=True)

    def _answer(self, prompt: str) -> str:
        ask = self.runtime.ask
        if ask is None:
            if not self.runtime.stdin_is_tty():
                raise Refused("confirmation needed but there is no terminal to ask: pass --yes")
            ask = input
        return ask(prompt).strip()

    def confirm(self, question: str, *, expected: tuple[str, ...] = ("y", "yes")) -> None:
        """Ask before changing anything; ``--yes`` answers for CI; other answers abort.

        A yes/no question shows ``[y/N]`` (Enter is no); any other expected answer must be typed
        as it is, and nothing is shown in brackets that would read as a default.
        """
        if self.yes:
            return
        if expected == ("y", "yes"):
            accepted = self._answer(f"{question} [y/N] ").lower() in expected
        else:
            accepted = self._answer(f"{question} ") in expected
        if not accepted:
            raise Aborted("not confirmed: nothing executed")

    def confirm_by_typing(self, word: str, action: str) -> None:
        """For what cannot be undone: the user types ``word``; there is no default."""
        self.confirm(f'Type "{word}" to {action} (anything else cancels):', expected=(word,))
