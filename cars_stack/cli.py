"""``cars-stack``: argument parsing, dispatch, and every failure as one line with an exit code.

Exit codes: EXIT_CODE_MEANINGS below, the same words as README.md's table.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
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

from cars_stack import deploy, destroy, imports, release, status
from cars_stack.errors import EXIT_ABORTED, EXIT_FAILED, EXIT_REFUSED, CarsStackError
from cars_stack.protection import ALLOW_DATA_LOSS_FLAG
from cars_stack.replacement import ALLOW_REPLACEMENT_FLAG
from cars_stack.runtime import Answer, Context, Runtime
from cars_stack.stack import is_missing_stack
from cars_stack.template import default_template_path
from template_builder.names import DATA_STACK_SUFFIX, DEFAULT_STACK_NAME

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


# The exit codes, as README.md's table states them (a test holds the two equal).
EXIT_CODE_MEANINGS = {
    0: "success, or nothing to do: nothing to change, the tag already live, "
    "destroy of a stack that does not exist",
    1: "the deployment failed: rolled back (e.g. `UPDATE_ROLLBACK_COMPLETE`), timed out, "
    "delete failed, `/version` never reported the tag",
    2: "bad input or refused: bad version or parameter, image not in ECR, not a service stack, "
    "stack busy or failed, change set touching too much or losing data, data stack still "
    "imported or misnamed, rollback target older than a contracting migration, "
    "no credentials/region, no such stack (release, rollback, execute, status), AWS said no",
    130: "aborted: Ctrl-C, or the confirmation was not given",
}
_VERSION_FORMAT = "vX.Y.Z, e.g. v1.2.3"
_HELP_WIDTH = 88
_VERIFY_HELP = (
    "after the rollout, poll {ServiceUrl}/version until it reports the released ImageTag; "
    "the stack's ServiceUrl output is checked before anything changes"
)


def _exit_codes() -> str:
    lines = [
        textwrap.fill(
            meaning.replace("`", ""),
            _HELP_WIDTH,
            initial_indent=f"  {code:<4} ",
            subsequent_indent=" " * 7,
        )
        for code, meaning in EXIT_CODE_MEANINGS.items()
    ]
    return "exit codes:\n" + "\n".join(lines)


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _options() -> dict[str, argparse.ArgumentParser]:
    """Option groups, each offered only by the commands it means something for."""

    def group() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    groups = {name: group() for name in ("aws", "changing", "role", "following", "review")}
    groups |= {name: group() for name in ("template", "verifying", "data", "data_loss")}
    groups |= {name: group() for name in ("network", "identity", "replacement", "edge")}
    aws = groups["aws"]
    aws.add_argument(
        "--stack-name",
        default=DEFAULT_STACK_NAME,
        help="the stack to act on (default: %(default)s)",
    )
    aws.add_argument(
        "--region",
        help="AWS region (default: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's)",
    )
    aws.add_argument("--profile", help="AWS profile (default: AWS_PROFILE, else the default chain)")
    aws.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="text for people (default), or json: the result as one JSON document on stdout, "
        "progress on stderr",
    )
    groups["changing"].add_argument(
        "--yes", "-y", action="store_true", help="do not ask before changing anything (for CI)"
    )
    groups["role"].add_argument(
        "--cfn-role-arn",
        metavar="ARN",
        help="service role CloudFormation assumes to change the stack (RoleARN); "
        "default: the caller's own permissions",
    )
    groups["following"].add_argument(
        "--timeout",
        type=_positive,
        default=30,
        metavar="MINUTES",
        help="past it, cancel an update and follow its rollback; stop following a create or "
        "delete (default: %(default)s)",
    )
    review = groups["review"]
    review.add_argument(
        "--no-execute",
        action="store_true",
        help="create and print the change set, leave it for cars-stack execute",
    )
    review.add_argument(
        "--summary-file",
        type=Path,
        metavar="PATH",
        help="also write the change set as a Markdown review (e.g. $GITHUB_STEP_SUMMARY)",
    )
    groups["template"].add_argument(
        "--template-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="the service template (default: templates/api-cars.yaml)",
    )
    verifying = groups["verifying"]
    verifying.add_argument("--verify", action="store_true", help=_VERIFY_HELP)
    verifying.add_argument(
        "--verify-timeout",
        type=_positive,
        default=300,
        metavar="SECONDS",
        help="how long --verify polls before the command fails (default: %(default)s)",
    )
    groups["data"].add_argument(
        "--data-stack-name",
        metavar="NAME",
        help="the data stack (default: the stack name + '-data', e.g. api-cars-data)",
    )
    groups["identity"].add_argument(
        "--identity-stack-name",
        metavar="NAME",
        help="the identity stack (default: the service's IdentityStackName, else the stack name "
        "+ '-identity', e.g. api-cars-identity)",
    )
    groups["edge"].add_argument(
        "--edge-stack-name",
        metavar="NAME",
        help="the edge stack (default: the stack name + '-edge', e.g. api-cars-edge), whose "
        "ServiceUrl (CloudFront's) is the service's when CloudFrontOrigin is not none",
    )
    groups["network"].add_argument(
        "--network-stack-name",
        metavar="NAME",
        help="the network stack (default: the stack name + '-network', e.g. api-cars-network)",
    )
    groups["data_loss"].add_argument(
        ALLOW_DATA_LOSS_FLAG,
        dest="allow_data_loss",
        action="store_true",
        help="execute a change set that REPLACES OR DELETES the database cluster, its writer or "
        "the cache (their data is lost; a snapshot is kept): lifts the stack policy for it",
    )
    groups["replacement"].add_argument(
        ALLOW_REPLACEMENT_FLAG,
        dest="allow_replacement",
        action="store_true",
        help="execute a change set that REPLACES the load balancer (a new DNS name), a listener "
        "or the target group; a replacement of the service (its name is fixed) stays refused",
    )
    return groups


def _parser() -> argparse.ArgumentParser:
    o = _options()
    parser = _Parser(
        prog="cars-stack",
        description="Deploy, release, roll back and tear down the api-cars stack through "
        "reviewed CloudFormation change sets. Each command's --help has its options and examples.",
        epilog=_exit_codes(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )

    def command(name: str, summary: str, description: str, examples: str, *parents: str):
        return commands.add_parser(
            name,
            parents=[o["aws"], *(o[p] for p in parents)],
            help=summary,
            description=textwrap.fill(description, _HELP_WIDTH),
            epilog=examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    cmd = command(
        "deploy",
        "create or update the network, data and identity stacks, then the service wired to them",
        "Create or update, in this order, the network stack (templates/network.yaml, default "
        "name <stack>-network: the VPC and subnets), the data stack (templates/data.yaml, "
        "default name <stack>-data), the identity stack (templates/identity.yaml, default name "
        "<stack>-identity: the issuer of the tokens writes need) and then the service "
        "(templates/api-cars.yaml) wired to them, each through a change set that is shown and "
        "asked for before it is executed. Parameters not given keep their deployed values; a "
        "new service needs --image-tag. With --param AuthDisabled=true the identity stack is "
        "skipped and anyone can write. A change set that would replace or delete the database "
        "or the cache is refused unless --allow-data-loss is given, one that would replace the "
        "load balancer, a listener or the target group unless --allow-replacement is given, and "
        "one that would replace the service always (its fixed name makes that fail).",
        _examples(
            "cars-stack deploy --image-tag v1.0.0           # data, identity, then a new service",
            "cars-stack deploy --param DesiredCount=3       # one parameter, the rest kept",
            "cars-stack deploy --only data --data-param ReaderCount=1",
            "cars-stack deploy --only network --network-param VpcName=prod",
            "cars-stack deploy --only import --import-param MaximumConcurrency=4",
            "cars-stack deploy --only identity --identity-param AuthIssuer=https://x.eu.auth0.com/ "
            "...",
            "cars-stack deploy --edge --param CloudFrontOrigin=public-alb   # CloudFront in front",
            "cars-stack deploy --only edge-global --edge-global-param CertificateDomainName=cars."
            "example.com",
        ),
        "changing",
        "role",
        "following",
        "review",
        "template",
        "data",
        "data_loss",
        "replacement",
        "network",
        "identity",
        "edge",
    )
    cmd.add_argument(
        "--only",
        choices=deploy.STACKS + deploy.EDGE_STACKS,
        help="deploy this stack alone (default: each in this order, the service wired to them)",
    )
    cmd.add_argument(
        "--network-template-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="the network stack's template (default: templates/network.yaml)",
    )
    cmd.add_argument(
        "--network-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a network-stack parameter (repeatable): VpcId, VpcName, PublicSubnetIds, "
        "TaskSubnetIds",
    )
    cmd.add_argument(
        "--data-template-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="the data stack's template (default: templates/data.yaml)",
    )
    cmd.add_argument(
        "--data-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a data-stack parameter (repeatable)",
    )
    cmd.add_argument(
        "--identity-template-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="the identity stack's template (default: templates/identity.yaml)",
    )
    cmd.add_argument(
        "--identity-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an identity-stack parameter (repeatable), e.g. AuthIssuer=... for an existing "
        "issuer instead of a Cognito pool",
    )
    cmd.add_argument(
        "--edge",
        action="store_true",
        help="also deploy the edge stack (templates/edge.yaml: CloudFront in front of the ALB, or "
        "the regional WAF) after the service, in the mode of its CloudFrontOrigin",
    )
    cmd.add_argument(
        "--edge-template-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="the edge stack's template (default: templates/edge.yaml)",
    )
    cmd.add_argument(
        "--edge-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an edge-stack parameter (repeatable; implies --edge), e.g. Alias=..., "
        "OriginDomainName=..., RegionalWaf=true",
    )
    cmd.add_argument(
        "--edge-global",
        action="store_true",
        help="also deploy the edge-global stack (templates/edge-global.yaml, in us-east-1: the "
        "CLOUDFRONT web ACL and certificate) before the service; its outputs go to the edge stack",
    )
    cmd.add_argument(
        "--edge-global-template-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="the edge-global stack's template (default: templates/edge-global.yaml)",
    )
    cmd.add_argument(
        "--edge-global-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an edge-global parameter (repeatable; implies --edge-global), e.g. "
        "CertificateDomainName=..., HostedZoneId=...",
    )
    cmd.add_argument(
        "--edge-global-stack-name",
        metavar="NAME",
        help="the edge-global stack in us-east-1 (default: the stack name + '-edge-global')",
    )
    cmd.add_argument(
        "--import-template-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="the import stack's template (default: templates/import.yaml)",
    )
    cmd.add_argument(
        "--import-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an import-stack parameter (repeatable), e.g. MaximumConcurrency=4",
    )
    cmd.add_argument(
        "--image-tag",
        metavar="VERSION",
        help=f"set ImageTag to VERSION ({_VERSION_FORMAT}), an image in ECR; a new stack needs it",
    )
    cmd.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a template parameter (repeatable)",
    )
    cmd.add_argument(
        "--permissions-boundary-arn",
        metavar="ARN",
        help="set PermissionsBoundaryArn of every stack that has it (the boundary of its IAM "
        "roles; empty: none); default with --cfn-role-arn: the GitHub OIDC stack's boundary "
        "policy <stack>-permissions-boundary in that role's account",
    )
    cmd.add_argument(
        "--replace-failed",
        action="store_true",
        help="delete a ROLLBACK_COMPLETE stack (a failed first create) and create it again",
    )

    cmd = command(
        "release",
        "release an image tag that is in ECR: change the image and nothing else",
        "Release VERSION: check it is in ECR, create a change set that sets ImageTag and "
        "nothing else, refuse it if it touches more than the task definition, the service and "
        "the image check, then ask, execute and follow it.",
        _examples(
            "cars-stack release v1.2.3 --verify",
            "cars-stack release v1.2.3 --no-execute --summary-file review.md",
        ),
        "changing",
        "role",
        "following",
        "review",
        "template",
        "verifying",
        "edge",
    )
    cmd.add_argument(
        "version", metavar="VERSION", help=f"the image tag to release ({_VERSION_FORMAT})"
    )

    cmd = command(
        "rollback",
        "go back to the tag live before the current one, or to VERSION",
        "Roll back through the same checks as a release: to VERSION, or without it to the tag "
        "that was live before the current one (from the ECS task-definition revisions).",
        _examples("cars-stack rollback", "cars-stack rollback v1.2.1 --verify"),
        "changing",
        "role",
        "following",
        "review",
        "template",
        "verifying",
        "edge",
    )
    cmd.add_argument(
        "version",
        nargs="?",
        metavar="VERSION",
        help=f"the image tag to go back to ({_VERSION_FORMAT}); default: the one live before "
        "the current one",
    )

    cmd = command(
        "execute",
        "execute a change set left by --no-execute",
        "Execute a reviewed change set (left by --no-execute) after the same checks as when it "
        "was created, then follow it. The change set carries its own CloudFormation role.",
        _examples(
            "cars-stack execute cars-stack-release-v1-2-3-20261128-120000 "
            "--expect-version v1.2.3 --verify",
        ),
        "changing",
        "following",
        "verifying",
        "data_loss",
        "replacement",
        "edge",
    )
    cmd.add_argument(
        "change_set_name",
        metavar="CHANGE_SET_NAME",
        help="as printed by --no-execute (and written to $GITHUB_OUTPUT)",
    )
    cmd.add_argument(
        "--expect-version",
        metavar="VERSION",
        help="refuse to execute unless the change set sets ImageTag to VERSION "
        f"({_VERSION_FORMAT})",
    )

    command(
        "status",
        "stack, live image, tasks, who may write, last releases, the data tier",
        "Show the stack's status, the live image tag, the service URL and whether its traffic is "
        "encrypted, where the access logs go, the load balancer's deletion protection, running "
        "and desired tasks, the rollout state, whether writes are protected (and by which "
        "issuer) or OPEN, the SNS topic the alarms notify (or that they page nobody) and the "
        "last releases, and the data stack: engine, capacity, readers, cache, protections, "
        "whether the database is paused. Changes nothing.",
        _examples("cars-stack status", "cars-stack status --output json"),
        "data",
        "identity",
        "edge",
    )
    cmd = command(
        "import",
        "upload a CSV or JSONL file of cars to the import bucket, and follow it to its report",
        "Upload FILE (.csv with a header naming the cars' columns, or .jsonl: one car object a "
        "line) to imports/ of the data stack's import bucket, with its SHA-256. The import "
        "stack's function creates each row once (re-uploading the same file creates nothing) "
        "and writes reports/<name>.json. With --wait, poll that report and print the summary "
        "and the first refused rows; exit 1 when the file was rejected.",
        _examples(
            "cars-stack import stock.csv --wait",
            "cars-stack import stock.jsonl --data-stack-name api-cars-staging-data",
        ),
        "data",
    )
    cmd.add_argument("file", type=Path, metavar="FILE", help="the .csv or .jsonl file")
    cmd.add_argument("--wait", action="store_true", help="follow the file to its report")
    cmd.add_argument(
        "--wait-timeout",
        type=_positive,
        default=900,
        metavar="SECONDS",
        help="how long --wait polls for the report (default: %(default)s)",
    )
    cmd = command(
        "destroy",
        "delete the service stack (type its name to confirm); the data and identity stacks stay",
        "Delete the service stack and its resources after you type its name; the load "
        "balancer's deletion protection is lifted first, in a reviewed change set. Say what "
        "stays (the data stack and its data, the identity stack and its clients, the ECR "
        "repository and its images, resources with DeletionPolicy Retain). A stack that does "
        "not exist is nothing to do (exit 0). "
        "--delete-data NAME also deletes the data stack: its deletion protection is lifted in a "
        "reviewed change set, the final snapshot's id is printed, and the access-log bucket is "
        "kept and named with the command that deletes it.",
        _examples(
            "cars-stack destroy",
            "cars-stack destroy --stack-name api-cars-test --yes",
            "cars-stack destroy --delete-data api-cars-data   # the data too (snapshot kept)",
        ),
        "changing",
        "role",
        "following",
        "data",
        "edge",
    )
    cmd.add_argument(
        "--delete-data",
        metavar="DATA_STACK_NAME",
        help="also delete the data stack and its data (a final snapshot stays): type its name",
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
            only=args.only,
            data_template_path=args.data_template_file,
            data_params=args.data_param,
            data_stack_name=args.data_stack_name,
            allow_data_loss=args.allow_data_loss,
            allow_replacement=args.allow_replacement,
            identity_template_path=args.identity_template_file,
            identity_params=args.identity_param,
            identity_stack_name=args.identity_stack_name,
            network_template_path=args.network_template_file,
            network_params=args.network_param,
            network_stack_name=args.network_stack_name,
            import_template_path=args.import_template_file,
            import_params=args.import_param,
            permissions_boundary_arn=args.permissions_boundary_arn,
            edge=args.edge,
            edge_template_path=args.edge_template_file,
            edge_params=args.edge_param,
            edge_stack_name=args.edge_stack_name,
            edge_global=args.edge_global,
            edge_global_template_path=args.edge_global_template_file,
            edge_global_params=args.edge_global_param,
            edge_global_stack_name=args.edge_global_stack_name,
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
            allow_data_loss=args.allow_data_loss,
            allow_replacement=args.allow_replacement,
        )
    if args.command == "import":
        return imports.import_file(
            ctx,
            args.file,
            data_name=args.data_stack_name or args.stack_name + DATA_STACK_SUFFIX,
            wait=args.wait,
            timeout_seconds=args.wait_timeout,
        )
    if args.command == "status":
        return status.status(
            ctx, data_stack_name=args.data_stack_name, identity_stack_name=args.identity_stack_name
        )
    return destroy.destroy(
        ctx,
        timeout_minutes=args.timeout,
        data_stack_name=args.data_stack_name,
        delete_data=args.delete_data,
    )


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
        if (code.isdigit() or not err.get("Code")) and answer is not None:
            # botocore names an answer without an AWS error code by its HTTP status, or by none.
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
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Name the command: an option it does not offer may well be another command's.
        parser.exit(
            EXIT_REFUSED,
            f"cars-stack {args.command}: unrecognized arguments: {' '.join(unknown)} "
            f"(see cars-stack {args.command} --help)\n",
        )
    ctx = Context(
        runtime,
        stack_name=args.stack_name,
        region=args.region,
        profile=args.profile,
        output=args.output,
        yes=getattr(args, "yes", False),
        cfn_role_arn=getattr(args, "cfn_role_arn", None),
    )
    ctx.edge_stack_name = getattr(args, "edge_stack_name", None)
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
