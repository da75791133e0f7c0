"""The gauntlet's long form: every part of tests/reliability at its large counts, and a table.

Run: `.venv/bin/python benchmarks/gauntlet.py [--short] [--only PART ...]`

Each test file of tests/reliability is one part, run by pytest in a process of its own with
`GAUNTLET=long` (the counts `scale.pick` gives) and `GAUNTLET_REPORT` naming a file where the
tests add their figures (`figures.add`). The table says, per part, whether its tests passed,
what they counted, and how long it took. `--short` runs the form `make test` runs.

Figures, not asserts: the tests assert; this prints what they did. The exit status is pytest's
worst, so a failing part fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "reliability"


def parts() -> list[Path]:
    return sorted(SUITE.glob("test_*.py"))


def run_part(path: Path, long: bool, report: Path) -> tuple[int, str, float]:
    env = {**os.environ, "GAUNTLET_REPORT": str(report), "PYTHONPATH": str(ROOT)}
    if long:
        env["GAUNTLET"] = "long"
    else:
        env.pop("GAUNTLET", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else "no output"
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-6000:] + done.stderr[-2000:])
    return done.returncode, summary, seconds


def figures_of(report: Path) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    if report.exists():
        for line in report.read_text().splitlines():
            row = json.loads(line)
            table[row["part"]][row["name"]] += row["value"]
    return table


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the counts `make test` uses")
    parser.add_argument("--only", nargs="*", default=(), help="parts whose file name has this")
    args = parser.parse_args()
    chosen = [p for p in parts() if not args.only or any(o in p.name for o in args.only)]
    worst, rows = 0, []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for path in chosen:
            report = Path(tmp) / f"{path.stem}.jsonl"
            code, summary, seconds = run_part(path, not args.short, report)
            worst = max(worst, code)
            name = re.sub(r"^test_", "", path.stem)
            figures = figures_of(report)
            shown = "; ".join(
                f"{part}: " + ", ".join(f"{k} {_number(v)}" for k, v in sorted(values.items()))
                for part, values in sorted(figures.items())
            )
            rows.append((name, summary, shown or "-", seconds))
            print(f"{name}: {summary} ({seconds:.0f} s)", file=sys.stderr, flush=True)
    form = "short" if args.short else "long"
    print(f"\nThe gauntlet, {form} form, {time.perf_counter() - started:.0f} s in all\n")
    print("| part | tests | figures | seconds |")
    print("|---|---|---|---|")
    for name, summary, shown, seconds in rows:
        print(f"| {name} | {summary} | {shown} | {seconds:.0f} |")
    return worst


if __name__ == "__main__":
    sys.exit(main())
