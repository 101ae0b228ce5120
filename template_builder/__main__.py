"""`python -m template_builder [--check]`: write templates/*.yaml and the architecture picture
(docs/architecture.dot, and docs/architecture.png drawn from it when it changed), or check that
the committed files are current."""

import argparse
import sys
from pathlib import Path

from template_builder import picture
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
        help="write nothing; exit 1 naming each committed file that differs from the builder",
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
        if not (ROOT / picture.IMAGE_FILE).is_file():
            stale.append(picture.IMAGE_FILE)
        for path in stale:
            print(f"template_builder: {path} is stale: run `make template`", file=sys.stderr)
        return 1 if stale else 0
    written = write_all(ROOT, rendered)
    for path in written:
        print(f"wrote {path}")
    image = ROOT / picture.IMAGE_FILE
    if picture.DOT_FILE in written or not image.is_file():
        try:
            picture.draw_image(rendered[picture.DOT_FILE], image)
        except (FileNotFoundError, RuntimeError) as error:
            print(f"template_builder: {picture.IMAGE_FILE} not drawn: {error}", file=sys.stderr)
            return 1
        print(f"wrote {picture.IMAGE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
