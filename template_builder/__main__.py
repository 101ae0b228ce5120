"""`python -m template_builder [--check]`: write templates/*.yaml, or check they are current."""

import argparse
import sys
from pathlib import Path

from template_builder.render import (
    oversized,
    render_all,
    stale_files,
    write_all,
)

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m template_builder", description="Generate the CloudFormation templates."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming each committed template that differs from the builder",
    )
    args = parser.parse_args(argv)
    rendered = render_all()
    too_big = oversized(rendered)
    for path, (size, budget) in too_big.items():
        print(
            f"template_builder: {path} is {size} bytes, over its allowance of {budget} "
            "(TEMPLATE_BUDGETS in template_builder/render.py)",
            file=sys.stderr,
        )
    if too_big:
        return 1
    if args.check:
        stale = stale_files(ROOT, rendered)
        for path in stale:
            print(f"template_builder: {path} is stale: run `make template`", file=sys.stderr)
        return 1 if stale else 0
    for path in write_all(ROOT, rendered):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
