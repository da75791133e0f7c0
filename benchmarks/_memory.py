"""Time and peak memory of one read of the event log, each in a fresh child process.

Shared by `export_memory.py` and `rebuild_memory.py`. The script runs itself as the child
(`--measure WHAT`), so one figure cannot inherit another's memory. Each figure runs twice:
once plain, for the time and the peak resident size (`ru_maxrss`, less the resident size
before the first read), once under tracemalloc, for the peak of Python allocations.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


def resident() -> int:
    """This process's resident size now, in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def add_child_arguments(parser: argparse.ArgumentParser, choices: list[str]) -> None:
    """The hidden options the script's child is run with."""
    parser.add_argument("--measure", choices=choices, help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)


def measure(args: argparse.Namespace, reader: Callable[[], Callable[[], int]]) -> None:
    """The child: connects, builds the reader (imports included), then measures one read
    and prints its figures as one JSON line on stdout."""
    from resolution.store import database

    database.connect(args.uri, args.db)
    read = reader()
    before = resident()
    if args.trace:
        tracemalloc.start()
    started = time.perf_counter()
    count = read()
    seconds = time.perf_counter() - started
    figures = {"count": count, "seconds": seconds, "rss_before": before}
    figures["max_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if args.trace:
        figures["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(json.dumps(figures))


def _child(script: str, what: str, uri: str, db: str, extra: list[str], trace: bool) -> dict:
    command = [sys.executable, script, "--measure", what, "--uri", uri, "--db", db, *extra]
    command += ["--trace"] if trace else []
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def figures(script: str, what: str, uri: str, db: str, extra: list[str] = ()) -> dict:
    """`what`'s figures: count, seconds, rate, RSS growth, max RSS, traced peak."""
    plain = _child(script, what, uri, db, list(extra), trace=False)
    traced = _child(script, what, uri, db, list(extra), trace=True)
    assert plain["count"] == traced["count"]
    return {
        "count": plain["count"],
        "seconds": plain["seconds"],
        "rate": plain["count"] / plain["seconds"],
        "rss_growth": plain["max_rss"] - plain["rss_before"],
        "max_rss": plain["max_rss"],
        "traced_peak": traced["traced_peak"],
    }


HEADER = (
    f"{'events':>8} {'read':>7} {'seconds':>8} {'events/s':>9} "
    f"{'traced peak':>12} {'RSS growth':>11} {'max RSS':>8}"
)


def row(size: int, what: str, figures: dict) -> str:
    return (
        f"{size:>8} {what:>7} {figures['seconds']:>8.1f} {figures['rate']:>9,.0f} "
        f"{figures['traced_peak'] / MIB:>9.1f} MiB {figures['rss_growth'] / MIB:>7.1f} MiB "
        f"{figures['max_rss'] / MIB:>4.0f} MiB"
    )


def ratios(name: str, measured: dict, bare: dict) -> str:
    return (
        f"{name}/bare: time x{measured['seconds'] / bare['seconds']:.2f}, "
        f"traced peak x{measured['traced_peak'] / bare['traced_peak']:.2f}, "
        f"RSS growth x{measured['rss_growth'] / max(bare['rss_growth'], 1):.2f}"
    )


def growth(name: str, sizes: list[int], peaks: dict[int, dict]) -> str:
    """How the largest size's memory compares with the smallest's."""
    small, large = peaks[sizes[0]], peaks[sizes[-1]]
    return (
        f"{sizes[-1]:,} against {sizes[0]:,} events ({sizes[-1] / sizes[0]:.0f} times as"
        f" many): {name} traced peak x{large[name]['traced_peak'] / small[name]['traced_peak']:.2f}"
        f", RSS growth x{large[name]['rss_growth'] / max(small[name]['rss_growth'], 1):.2f}; "
        f"bare read traced peak x{large['bare']['traced_peak'] / small['bare']['traced_peak']:.2f}"
    )
