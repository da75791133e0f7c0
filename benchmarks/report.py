"""Every performance figure of the service from one run, one after another on a quiet box.

Run: `.venv/bin/python benchmarks/report.py [--quick] [--out FILE]` (about 25 minutes;
`--quick` uses the small sizes and short rows, about 5). It runs, each in a process of its
own and in this order (the timed load first, while nothing else has run):
1. `bench_actions.py`: actions/s through `resolution serve` with 1, 2 and 4 sync workers,
   then 1 and 2 gthread workers of 4 threads, each beside the bare driver doing the same
   database writes (the ratio `service/bare`);
2. `roundtrips.py`: database round trips per request type;
3. `query_plans.py`: documents examined per query at 10,000 and 100,000 complaints;
4. `rebuild_memory.py` and `export_memory.py`: throughput and peak memory at 10,000 and
   100,000 events, each against a bare cursor read;
5. `checkpoint.py`: a checkpoint's time and peak memory at 10,000 and 100,000 complaints;
6. `scale.py`: every query's time and documents examined at 10,000 and 100,000 complaints
   (with `--million`, 1,000,000 too: hours on a 2-core box), the sweeper pass included.
Each script's own output is printed whole under its heading (and written to `--out`), so the
figures quoted in docs/operations.md and the README come from one run of one box.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def steps(quick: bool, million: bool = False) -> list[tuple[str, list[str]]]:
    row = ["--duration", "6", "--warmup", "2"] if quick else ["--duration", "15"]
    sizes = ["--sizes", "1000,10000"] if quick else []
    return [
        ("actions/s, sync workers", ["bench_actions.py", "--workers", "1,2,4", *row]),
        (
            "actions/s, gthread workers (4 threads each)",
            ["bench_actions.py", "--workers", "1,2", "--threads", "4", *row],
        ),
        ("round trips per request", ["roundtrips.py"]),
        ("documents examined per query", ["query_plans.py", *sizes]),
        ("rebuild: throughput and memory", ["rebuild_memory.py", *sizes]),
        ("export: throughput and memory", ["export_memory.py", *sizes]),
        (
            "checkpoints: time and memory",
            ["checkpoint.py", "--sizes", "1000,10000" if quick else "10000,100000"],
        ),
        (
            "every query at scale",
            ["scale.py", "--complaints", "10000" if quick else "1000000" if million else "100000"],
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short rows")
    parser.add_argument("--out", type=Path, help="also write the report here")
    parser.add_argument("--million", action="store_true", help="scale.py up to 1,000,000")
    args = parser.parse_args()
    out = args.out.open("w") if args.out else None

    def say(text: str = "") -> None:
        print(text, flush=True)
        if out:
            out.write(text + "\n")
            out.flush()

    say(f"# resolution: performance report, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    say(f"{platform.node()}: {os.cpu_count()} cpus, Python {platform.python_version()}")
    worst = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for title, command in steps(args.quick, args.million):
        say(f"\n## {title}\n$ python benchmarks/{' '.join(command)}")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(HERE / command[0]), *command[1:]],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        for line in done.stdout.splitlines():
            say(line)
        if done.returncode:
            say(f"(exit {done.returncode})\n{done.stderr[-3000:]}")
            worst = max(worst, done.returncode)
        say(f"({time.perf_counter() - started:.0f} s)")
    if out:
        out.close()
    return worst


if __name__ == "__main__":
    sys.exit(main())
