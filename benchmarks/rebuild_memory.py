"""Memory and speed of `resolution rebuild` as the log grows, against a bare read of the events.

Run: `.venv/bin/python benchmarks/rebuild_memory.py [--sizes 10000,100000]` (starts a
throw-away embedded database; filling 100,000 events takes one to two minutes, and a rebuild
writes one projection per ten events: the whole run takes about six minutes).

The log is `generate_log` of the audit export test (`benchmarks/_data.py`): ten sealed,
chained events per complaint that replay into a decided complaint. Each figure comes from a
fresh child process (`benchmarks/_memory.py`), run once plain (time, resident size) and once
under tracemalloc (peak of Python allocations):
- `rebuild`: what `resolution rebuild` does (`service.rebuild_all`: one pass over the events
  in (complaint, seq) order, a fold per complaint, one projection written per complaint);
- `bare`: a pymongo cursor over the same events in the same order, documents decoded and
  dropped: the floor any rebuild from this database stands on.
`rebuild/bare` is the price of the fold and the writes; the traced peak should stay flat
from 10,000 to 100,000 events (memory holds one complaint at a time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _memory  # noqa: E402


def _reader(what: str) -> Callable[[], Callable[[], int]]:
    """What the child measures: one pass over every event; returns how many events."""

    def build() -> Callable[[], int]:
        from resolution import service
        from resolution.store.documents import EventDocument

        def bare() -> int:
            # The same cursor rebuild reads: same order, same batches.
            cursor = (
                EventDocument._get_collection()
                .find()
                .sort([("complaint_id", 1), ("seq", 1)])
                .batch_size(1000)
            )
            return sum(1 for _ in cursor)

        def rebuild() -> int:
            complaints = service.rebuild_all(service.Context())
            return complaints * PER_COMPLAINT

        return bare if what == "bare" else rebuild

    return build


PER_COMPLAINT = 10  # generate_log's events per complaint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="events, multiples of 10")
    _memory.add_child_arguments(parser, ["rebuild", "bare"])
    args = parser.parse_args()
    if args.measure:
        _memory.measure(args, _reader(args.measure))
        return

    from benchmarks._data import generate_log
    from resolution.store import database
    from resolution.store.embedded import EmbeddedServer

    sizes = sorted(int(s) for s in args.sizes.split(","))
    peaks: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        database.connect(server.uri, "bench_rebuild")
        print(_memory.HEADER)
        filled = 0
        for size in sizes:
            started = time.monotonic()
            generate_log(size - filled)
            filled = size
            fill_seconds = time.monotonic() - started
            rows = {}
            for what in ("bare", "rebuild"):
                rows[what] = row = _memory.figures(__file__, what, server.uri, "bench_rebuild")
                assert row["count"] == size, (what, row["count"], size)
                print(_memory.row(size, what, row), flush=True)
            print(
                f"{'':>8} {_memory.ratios('rebuild', rows['rebuild'], rows['bare'])}"
                f"   (generated in {fill_seconds:.0f} s)"
            )
            peaks[size] = rows
        database.disconnect()
    if len(sizes) > 1:
        print("\n" + _memory.growth("rebuild", sizes, peaks))


if __name__ == "__main__":
    main()
