"""``cars-stack``: argument parsing, dispatch, and every failure as one line with an exit code.

Exit codes: 0 success or nothing to change; 1 failed deployment (rolled back, timed out, /version
never matched); 2 bad input, refused change, or AWS said no (credentials, region, no such stack);
130 aborted (Ctrl-C, or a confirmation that was not given).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.parsers import ResponseParserError

from cars_stack import deploy, destroy, release, status
from cars_stack.errors import EXIT_ABORTED, EXIT_FAILED, EXIT_REFUSED, CarsStackError
from cars_stack.runtime import Answer, Context, Runtime
from cars_stack.stack import is_missing_stack
from cars_stack.template import default_template_path
from template_builder.names import DEFAULT_STACK_NAME

_CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: the usage is one --help away.
        self.exit(EXIT_REFUSED, f"{self.prog}: {message} (see --help)\n")


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero: {value!r}")
    return number


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack-name", default=DEFAULT_STACK_NAME, help="default: %(default)s")
    common.add_argument(
        "--region",
        help="AWS region (default: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's)",
    )
    common.add_argument("--profile", help="AWS profile (default: AWS_PROFILE / default chain)")
    common.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    common.add_argument("--output", choices=("text", "json"), default="text")
    common.add_argument(
        "--cfn-role-arn", help="service role CloudFormation assumes to change the stack (RoleARN)"
    )
    following = argparse.ArgumentParser(add_help=False)
    following.add_argument(
        "--timeout",
        type=_positive,
        default=30,
        metavar="MINUTES",
        help="past it, cancel an update and follow the rollback (default: %(default)s)",
    )
    review = argparse.ArgumentParser(add_help=False)
    review.add_argument(
        "--no-execute",
        action="store_true",
        help="create and print the change set, leave it for later",
    )
    review.add_argument(
        "--summary-file", type=Path, help="write a Markdown review of the change set"
    )
    template = argparse.ArgumentParser(add_help=False)
    template.add_argument(
        "--template-file", type=Path, default=None, help="default: templates/api-cars.yaml"
    )
    verify_timeout = argparse.ArgumentParser(add_help=False)
    verify_timeout.add_argument(
        "--verify-timeout",
        type=_positive,
        default=300,
        metavar="SECONDS",
        help="default: %(default)s",
    )

    parser = _Parser(
        prog="cars-stack",
        description="Deploy, release, roll back and tear down the api-cars stack through "
        "reviewed CloudFormation change sets.",
        epilog="Exit codes: 0 success or nothing to change; 1 failed deployment; "
        "2 bad input, refused, or AWS said no; 130 aborted.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    cmd = commands.add_parser(
        "deploy",
        parents=[common, following, review, template],
        help="create or update the stack from the committed template",
    )
    cmd.add_argument("--image-tag", help="set ImageTag (needed for a new stack)")
    cmd.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="set a template parameter"
    )
    cmd.add_argument(
        "--replace-failed",
        action="store_true",
        help="delete a ROLLBACK_COMPLETE stack (a failed first create) and create it again",
    )

    for name, help_text in (
        ("release", "release an image tag that is in ECR: change the image and nothing else"),
        ("rollback", "go back to the tag live before the current one, or to VERSION"),
    ):
        cmd = commands.add_parser(
            name, parents=[common, following, review, template, verify_timeout], help=help_text
        )
        cmd.add_argument("version", nargs=None if name == "release" else "?", metavar="VERSION")
        cmd.add_argument(
            "--verify",
            action="store_true",
            help="poll {ServiceUrl}/version until it reports VERSION",
        )

    cmd = commands.add_parser(
        "execute",
        parents=[common, following, verify_timeout],
        help="execute a change set left by --no-execute",
    )
    cmd.add_argument("change_set_name", metavar="CHANGE_SET_NAME")
    cmd.add_argument(
        "--expect-version",
        metavar="VERSION",
        help="refuse to execute unless the change set sets ImageTag to VERSION (vX.Y.Z)",
    )
    cmd.add_argument(
        "--verify",
        action="store_true",
        help="poll {ServiceUrl}/version until it reports the change set's ImageTag",
    )

    commands.add_parser("status", parents=[common], help="stack, live image, tasks, last releases")
    commands.add_parser(
        "destroy", parents=[common, following], help="delete the stack (type its name to confirm)"
    )
    return parser


def _run(ctx: Context, args: argparse.Namespace) -> int:
    template_path = getattr(args, "template_file", None) or default_template_path()
    if args.command == "deploy":
        options = deploy.DeployOptions(
            template_path=template_path,
            image_tag=args.image_tag,
            params=args.param,
            replace_failed=args.replace_failed,
            no_execute=args.no_execute,
            summary_file=args.summary_file,
            timeout_minutes=args.timeout,
        )
        return deploy.deploy(ctx, options)
    if args.command in ("release", "rollback"):
        options = release.ReleaseOptions(
            template_path=template_path,
            verify=args.verify,
            verify_timeout=args.verify_timeout,
            no_execute=args.no_execute,
            summary_file=args.summary_file,
            timeout_minutes=args.timeout,
        )
        if args.command == "release":
            return release.release(ctx, args.version, options)
        return release.rollback(ctx, args.version, options)
    if args.command == "execute":
        return deploy.execute(
            ctx,
            args.change_set_name,
            expect_version=args.expect_version,
            verify_version=args.verify,
            verify_timeout=args.verify_timeout,
            timeout_minutes=args.timeout,
        )
    if args.command == "status":
        return status.status(ctx)
    return destroy.destroy(ctx, timeout_minutes=args.timeout)


def _not_aws(answer: Answer | None, operation: str | None) -> str:
    """An answer that is no AWS error: say what came back, not what it is not."""
    if answer is None:
        return f"the endpoint's answer to {operation or 'a request'} could not be read as AWS's"
    return (
        f"{answer.endpoint} answered {answer.operation} with {answer.describe()}, "
        "which is not an AWS answer (check AWS_ENDPOINT_URL and any proxy)"
    )


def _raised_by_a_parser(error: Exception) -> bool:
    """botocore's parsers raise KeyError/AttributeError/TypeError on some non-AWS bodies."""
    frames = traceback.extract_tb(error.__traceback__)
    return any(frame.filename.endswith("botocore/parsers.py") for frame in frames)


def _aws_error_line(error: Exception, stack_name: str, answer: Answer | None = None) -> str:
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE (or pass --profile) or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(error, ProfileNotFound):
        name = error.kwargs.get("profile")
        return f"AWS profile {name!r} is not configured (aws configure --profile {name})"
    if isinstance(error, EndpointConnectionError):
        return (
            f"cannot reach {error.kwargs.get('endpoint_url')}: check the region "
            "(--region, AWS_REGION), AWS_ENDPOINT_URL and the network"
        )
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        code, message = err.get("Code", "?"), err.get("Message", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code.isdigit() and answer is not None:
            # botocore names an answer without an AWS error code by its HTTP status.
            return _not_aws(answer, error.operation_name)
        if is_missing_stack(error):
            return f"no stack named {stack_name}: {message}"
        if code in _CREDENTIAL_CODES:
            return f"AWS rejected the credentials ({code}): {message}"
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            return f"access denied by AWS for {error.operation_name}: {message}"
        http = f", HTTP {status}" if status else ""
        return f"AWS refused {error.operation_name} ({code}{http}): {message}"
    if isinstance(error, ResponseParserError):
        return _not_aws(answer, None)
    return f"AWS client error: {error}"


def main(argv: list[str] | None = None, runtime: Runtime | None = None) -> int:
    runtime = runtime or Runtime()
    args = _parser().parse_args(argv)
    ctx = Context(
        runtime,
        stack_name=args.stack_name,
        region=args.region,
        profile=args.profile,
        output=args.output,
        yes=args.yes,
        cfn_role_arn=args.cfn_role_arn,
    )
    hints: tuple[str, ...] = ()
    try:
        return _run(ctx, args)
    except CarsStackError as error:
        line, code, hints = error.message, error.exit_code, error.hints
    except KeyboardInterrupt:
        line, code = "interrupted", EXIT_ABORTED
    except (BotoCoreError, ClientError, ResponseParserError) as error:
        line = _aws_error_line(error, args.stack_name, ctx.last_answer)
        hints = getattr(error, "cars_stack_hints", ())
        code = (
            EXIT_FAILED if isinstance(error, ClientError) and _is_throttle(error) else EXIT_REFUSED
        )
    except (KeyError, AttributeError, TypeError) as error:
        if not _raised_by_a_parser(error):
            raise
        line, code = _not_aws(ctx.last_answer, None), EXIT_REFUSED
    stderr = runtime.stderr or sys.stderr
    print(f"cars-stack {args.command}: {line}", file=stderr)
    for hint in hints:
        print(f"  {hint}", file=stderr)
    if ctx.json_mode:
        document: dict[str, Any] = {"error": line, "exit_code": code, "hints": list(hints)}
        print(json.dumps(document, indent=2), file=runtime.stdout or sys.stdout)
    return code


def _is_throttle(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"Throttling", "ThrottlingException"}
