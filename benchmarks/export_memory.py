"""Memory and speed of the audit export as the log grows: flat memory, throughput near a bare read.

Run: `.venv/bin/python benchmarks/export_memory.py [--sizes 10000,100000] [--format ndjson]`
(starts a throw-away embedded database; filling 100,000 events takes about a minute, the whole
run about four). The log is generated like the round-trip test's (`generate_log` in
tests/integration/test_audit_export.py): ten sealed, chained events per complaint, with NIKs
to mask and identity documents to withhold, inserted in bulk.

Each figure comes from a fresh child process that does one thing (`benchmarks/_memory.py`),
so one run cannot inherit another's memory:
- `export`: what `resolution export` does (`export_records`, rendered, written to a file);
- `bare`: a pymongo cursor over the same events in the same order (`find().sort()`, the
  documents decoded and dropped): the floor any export of this database stands on.
Each runs twice: once plain, for the time and the peak resident size (`ru_maxrss`, less the
resident size before the first read), once under tracemalloc, for the peak of Python
allocations. Figures, not asserts: times depend on the machine; the ratios are the point.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _memory  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _reader(fmt: str, out: Path, what: str) -> Callable[[], Callable[[], int]]:
    """What the child measures: a function that reads every event once and returns how many.

    Everything is imported and connected when it is built, before the measuring starts.
    """

    def build() -> Callable[[], int]:
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

    return build


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--format", default="ndjson", choices=["ndjson", "csv"])
    parser.add_argument("--out", help=argparse.SUPPRESS)
    _memory.add_child_arguments(parser, ["export", "bare"])
    args = parser.parse_args()
    if args.measure:
        _memory.measure(args, _reader(args.format, Path(args.out), args.measure))
        return

    from benchmarks._data import generate_log
    from resolution.store import database
    from resolution.store.embedded import EmbeddedServer
    from tests.support.audit_log import START

    sizes = sorted(int(s) for s in args.sizes.split(","))
    peaks: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        database.connect(server.uri, "bench_export")
        out = Path(tmp) / f"export.{args.format}"
        print(f"{_memory.HEADER} {'file':>9}")
        filled = 0
        for size in sizes:
            started = time.monotonic()
            # More complaints, later in time: the first ones stay as they were.
            generate_log(size - filled, START + timedelta(days=len(peaks)))
            filled = size
            fill_seconds = time.monotonic() - started
            rows = {}
            for what in ("bare", "export"):
                extra = ["--format", args.format, "--out", str(out)]
                rows[what] = row = _memory.figures(
                    __file__, what, server.uri, "bench_export", extra
                )
                assert row["count"] == size, (what, row["count"], size)
                written = out.stat().st_size / _memory.MIB if what == "export" else None
                print(
                    _memory.row(size, what, row)
                    + (f" {written:>5.1f} MiB" if written is not None else "")
                )
            print(
                f"{'':>8} {_memory.ratios('export', rows['export'], rows['bare'])}"
                f"   (generated in {fill_seconds:.0f} s)"
            )
            peaks[size] = rows
        database.disconnect()
    if len(sizes) > 1:
        print("\n" + _memory.growth("export", sizes, peaks))


if __name__ == "__main__":
    main()
