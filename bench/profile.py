"""`python -m bench.profile ENDPOINT`: where the API's time goes under load, by function.

Sets up the same stage as `python -m bench`, drives one endpoint with wrk, samples the serving
process with py-spy (`pip install py-spy`; it is not a project dependency) and prints the
functions with the most samples: own time, and time including what they call.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from bench.cli import measure, stage
from bench.procs import BenchError
from bench.report import ENDPOINTS
from bench.wrk import find_wrk

_LINE = re.compile(r":\d+\)$")


def parse_raw_profile(text: str) -> tuple[Counter, Counter, int]:
    """(own samples, inclusive samples, total samples) per frame from py-spy's raw format.

    Each line is `frame;frame;...;frame COUNT`, outermost frame first; a frame is
    `function (file:line)`, counted here per function (the line dropped).
    """
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return own, inclusive, total


def render_profile(own: Counter, inclusive: Counter, total: int, top: int) -> str:
    lines = [f"{total} samples", "", "own time:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "including callees:"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("endpoint", choices=[endpoint.key for endpoint in ENDPOINTS])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--top", type=int, default=30, help="functions to list (default 30)")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's raw samples in this file")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--native", action="store_true", help="include C frames (asyncpg, uvloop, orjson)"
    )
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("bench.profile: py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    try:
        wrk = find_wrk()
        with stage(args.postgres) as st:
            server = st.servers[st.plans[args.endpoint].server]
            load = threading.Thread(
                target=measure,
                args=(st, args.endpoint),
                kwargs={"seconds": args.duration + 2, "connections": args.connections,
                        "run_number": 0, "wrk": wrk},
            )  # fmt: skip
            load.start()
            raw = Path(st.procs.log_dir) / "profile.txt"
            sampled = subprocess.run(
                [py_spy, "record", "--pid", str(server.proc.pid), "--duration",
                 str(int(args.duration)), "--rate", "250", "--format", "raw", "--output",
                 str(raw), *(["--native"] if args.native else ["--nonblocking"])],
                capture_output=True, text=True, timeout=args.duration + 60, check=False,
            )  # fmt: skip
            load.join()
            if sampled.returncode != 0:
                raise BenchError(f"py-spy failed: {sampled.stderr.strip()[-300:]}")
            own, inclusive, total = parse_raw_profile(raw.read_text())
            if args.raw:
                shutil.copyfile(raw, args.raw)
    except BenchError as error:
        print(f"bench.profile: {error}", file=sys.stderr)
        return 2
    label = next(e.label for e in ENDPOINTS if e.key == args.endpoint)
    print(f"{label}, {args.duration:g} s under wrk with {args.connections} connections")
    print(render_profile(own, inclusive, total, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
