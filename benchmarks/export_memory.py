"""Memory and speed of the audit export as the log grows: flat memory, throughput near a bare read.

Run: `.venv/bin/python benchmarks/export_memory.py [--sizes 10000,100000] [--format ndjson]`
(starts a throw-away embedded database; filling 100,000 events takes about a minute, the whole
run about four). The log is generated like the round-trip test's (`generate_log` in
tests/integration/test_audit_export.py): ten sealed, chained events per complaint, with NIKs
to mask and identity documents to withhold, inserted in bulk.

Each figure comes from a fresh child process that does one thing, so one run cannot inherit
another's memory:
- `export`: what `resolution export` does (`export_records`, rendered, written to a file);
- `bare`: a pymongo cursor over the same events in the same order (`find().sort()`, the
  documents decoded and dropped): the floor any export of this database stands on.
Each runs twice: once plain, for the time and the peak resident size (`ru_maxrss`, less the
resident size before the first read), once under tracemalloc, for the peak of Python
allocations. Figures, not asserts: times depend on the machine; the ratios are the point.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIB = 1 << 20
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _resident() -> int:
    """This process's resident size now, in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _reader(what: str, fmt: str, out: Path) -> Callable[[], int]:
    """What the child measures: a function that reads every event once and returns how many.

    Everything is imported and connected here, before the measuring starts.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from resolution.domain.actors import Actor, Role
    from resolution.service import Context, audit
    from resolution.store.documents import EventDocument

    def bare() -> int:
        cursor = (
            EventDocument._get_collection()
            .find({"at": {"$gte": audit.EPOCH, "$lte": NOW}}, {"_id": 0})
            .sort([("at", 1), ("complaint_id", 1), ("seq", 1)])
            .batch_size(1000)
        )
        return sum(1 for _ in cursor)

    def export() -> int:
        ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
        auditor = Actor(Role.AUDITOR, "benchmark")
        records = audit.export_records(ctx, auditor, audit.ExportQuery())
        render = audit.as_csv if fmt == "csv" else audit.as_ndjson
        count = 0
        with out.open("w", encoding="utf-8", newline="") as sink:
            for line in render(records):
                sink.write(line)
                count += 1
        return count - (2 if fmt == "csv" else 1)  # less the header and the manifest

    return bare if what == "bare" else export


def measure(args: argparse.Namespace) -> None:
    """The child: one read of the log, its figures as one JSON line on stdout."""
    from resolution.store import database

    database.connect(args.uri, args.db)
    read = _reader(args.measure, args.format, Path(args.out))
    before = _resident()
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


def child(what: str, uri: str, db: str, fmt: str, out: Path, trace: bool) -> dict:
    command = [sys.executable, __file__, "--measure", what, "--uri", uri, "--db", db]
    command += ["--format", fmt, "--out", str(out)] + (["--trace"] if trace else [])
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def figures(what: str, uri: str, db: str, fmt: str, out: Path) -> dict:
    plain = child(what, uri, db, fmt, out, trace=False)
    traced = child(what, uri, db, fmt, out, trace=True)
    assert plain["count"] == traced["count"]
    return {
        "count": plain["count"],
        "seconds": plain["seconds"],
        "rate": plain["count"] / plain["seconds"],
        "rss_growth": plain["max_rss"] - plain["rss_before"],
        "max_rss": plain["max_rss"],
        "traced_peak": traced["traced_peak"],
        "size": out.stat().st_size if what == "export" else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--format", default="ndjson", choices=["ndjson", "csv"])
    parser.add_argument("--measure", choices=["export", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args)
        return

    from resolution.store import database
    from resolution.store.embedded import EmbeddedServer
    from tests.integration.test_audit_export import START, generate_log

    sizes = sorted(int(s) for s in args.sizes.split(","))
    peaks: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        database.connect(server.uri, "bench_export")
        out = Path(tmp) / f"export.{args.format}"
        print(
            f"{'events':>8} {'read':>6} {'seconds':>8} {'events/s':>9} "
            f"{'traced peak':>12} {'RSS growth':>11} {'max RSS':>8} {'file':>9}"
        )
        filled = 0
        for size in sizes:
            started = time.monotonic()
            # More complaints, later in time: the first ones stay as they were.
            generate_log(size - filled, START + timedelta(days=len(peaks)))
            filled = size
            fill_seconds = time.monotonic() - started
            rows = {}
            for what in ("bare", "export"):
                rows[what] = row = figures(what, server.uri, "bench_export", args.format, out)
                assert row["count"] == size, (what, row["count"], size)
                print(
                    f"{size:>8} {what:>6} {row['seconds']:>8.1f} {row['rate']:>9,.0f} "
                    f"{row['traced_peak'] / MIB:>9.1f} MiB {row['rss_growth'] / MIB:>7.1f} MiB "
                    f"{row['max_rss'] / MIB:>4.0f} MiB "
                    + (f"{row['size'] / MIB:>5.1f} MiB" if row["size"] else f"{'':>9}")
                )
            bare, export = rows["bare"], rows["export"]
            print(
                f"{'':>8} export/bare: time x{export['seconds'] / bare['seconds']:.2f}, "
                f"traced peak x{export['traced_peak'] / bare['traced_peak']:.2f}, "
                f"RSS growth x{export['rss_growth'] / max(bare['rss_growth'], 1):.2f}"
                f"   (generated in {fill_seconds:.0f} s)"
            )
            peaks[size] = rows
        database.disconnect()
    if len(sizes) > 1:
        small, large = peaks[sizes[0]], peaks[sizes[-1]]
        print(
            f"\n{sizes[-1]:,} against {sizes[0]:,} events ({sizes[-1] / sizes[0]:.0f} times as"
            f" many): export traced peak x"
            f"{large['export']['traced_peak'] / small['export']['traced_peak']:.2f}, "
            f"RSS growth x"
            f"{large['export']['rss_growth'] / max(small['export']['rss_growth'], 1):.2f}; "
            f"bare read traced peak x"
            f"{large['bare']['traced_peak'] / small['bare']['traced_peak']:.2f}"
        )


if __name__ == "__main__":
    main()
