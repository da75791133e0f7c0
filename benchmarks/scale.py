"""Every query the service makes, timed and explained, at growing numbers of complaints.

Run: `.venv/bin/python benchmarks/scale.py --complaints 100000 [--sizes 10000,100000]
[--json FILE] [--cache-size 16G] [--on-disk]` (a throw-away embedded database in memory; its
WiredTiger cache is 1G unless `--cache-size` says more, and an in-memory store must fit it
(7 GB at a million complaints): past 200,000 it is 16G unless told. `--on-disk` keeps it in
files, as the service does, syncing every commit: building the indexes then took five times
as long at 20,000).

The data set is `benchmarks/_data.py`'s, written with bulk inserts (`insert_many` in batches of
2,000, no transactions, the secondary indexes dropped and built again after: `bulk_fill`): 8
complaints in 22 closed and the rest spread over the open states, three channels, five
complaints per buyer, one complaint in 20 in one big shop and the rest over 997 shops, one
opened every 30 seconds (so 10,000 complaints span 3.5 days, 100,000 span 35 days), two or three
events and one webhook delivery each. The set grows in place: each size is the previous one plus
more complaints, and its build time is printed.

For each size, each query of `benchmarks/_plans.QUERIES` (run by the service's own
functions, as a request makes it; run once first, to keep its floor: `measure`) is printed
with its time, what the service got back (`page`: the most any one of its commands handed
back; a count's number) and the documents the server examined over all its commands (each
command explained with `executionStats`, times how often it was sent). Then one sweeper pass
(`sweeper.sweep`, 100 at most of each kind, which moves complaints: it runs last at each size)
is printed the same way.
`--attach URI --sizes N` measures a data set another run built and keeps serving (its
server's URI, database `bench_scale`) with this checkout's code, without building: a million
complaints take an hour to build.
`--json` writes `{"queries": [{"name", "complaints", "page_size", "docs_examined", "ms"}]}`,
one row per query and size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _data, _plans  # noqa: E402
from resolution.service import Context, sweeper  # noqa: E402
from resolution.store import database, documents, files  # noqa: E402
from resolution.store.embedded import EmbeddedServer  # noqa: E402

SWEEP_LIMIT = _plans.SWEPT
SWEEP = _plans.Query(
    f"sweeper pass (at most {SWEEP_LIMIT} of each)",
    lambda c, s: sweeper.sweep(c, _data.NOW, limit=SWEEP_LIMIT),
    (),
)


def bulk_fill(filled: int, size: int) -> tuple[dict, float]:
    """Fills complaints `filled` to `size` with the secondary indexes dropped, then builds them
    again (as a bulk load into MongoDB is done): the counts, and the seconds the build took.

    Inserting into the 30 indexes slows as the set grows on the embedded database (220
    complaints/s at 9,000 falling to 48/s at 18,000; 43/s to 100,000), while inserting with
    none stays near 600/s; building the indexes afterwards grows faster than the data too
    (about 60 s at 10,000 complaints, 276 s at 50,000), so the sum is what is printed.
    """
    db = documents.ComplaintDocument._get_db()
    for name in db.list_collection_names():
        db[name].drop_indexes()
    counts = _data.fill(filled, size)
    started = time.monotonic()
    documents.ensure_indexes()
    files.ensure_indexes()
    return counts, time.monotonic() - started


def measure(ctx: Context, query: _plans.Query, sample: _plans.Sample, size: int) -> dict:
    """One row: the query's time, its first command's page, the documents all examined, the
    second time it runs. The first keeps the floors the oldest-first reads start from: each
    size adds complaints older than the last size's, below the floors it kept, which the
    first read at that size reads once (as it would after a restore of older data, never
    for a live service, whose new complaints come above)."""
    if query is not SWEEP:
        query.run(ctx, sample)
    plans = _plans.plans(ctx, query, sample)
    seconds = plans[0].command.seconds if plans and plans[0].command.seconds else 0.0
    return {
        "name": query.name,
        "complaints": size,
        "page_size": max((p.command.returned for p in plans), default=0),
        # Every command's, each repeat explained (`_plans.plans`).
        "docs_examined": sum(p.docs_examined for p in plans),
        "ms": round(seconds * 1000, 1),
        # SecantusDB's explain reports a scan where its executor reads an index (`unexplained`).
        "blind": any(_plans.explained_blind(query, p, "any") for p in plans),
    }


def measure_all(ctx: Context, size: int, rows: list[dict]) -> None:
    """Every query, then the sweeper pass, at `size`: printed, and added to `rows`."""
    print(f"  {'query':66} {'ms':>8} {'page':>6} {'docs exam.':>10}")
    sample = _plans.Sample.find()
    for query in (*_plans.QUERIES, SWEEP):
        row = measure(ctx, query, sample, size)
        rows.append(row)
        blind = "  (explain blind: see _plans)" if row.pop("blind") else ""
        print(
            f"  {row['name'][:66]:66} {row['ms']:>8.1f} {row['page_size']:>6} "
            f"{row['docs_examined']:>10,}{blind}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=100_000, help="the largest size")
    parser.add_argument("--sizes", help="complaints at which to measure, e.g. 10000,100000")
    parser.add_argument("--json", type=Path, help="write the figures there too")
    parser.add_argument(
        "--on-disk",
        action="store_true",
        help="keep the store in files (as the service does), not in memory: a million "
        "complaints do not fit an in-memory cache",
    )
    parser.add_argument(
        "--cache-size",
        help="WiredTiger's cache, e.g. 8G (default: 1G, and 16G in memory past 200,000 "
        "complaints: an in-memory store must fit its cache, 7 GB at a million)",
    )
    parser.add_argument(
        "--attach",
        metavar="URI",
        help="measure the data set another run built (its server's URI, database "
        "bench_scale), at the one size of --sizes, without building",
    )
    args = parser.parse_args()
    sizes = sorted(
        {int(s) for s in args.sizes.split(",")}
        if args.sizes
        else {s for s in (10_000, 100_000, 1_000_000) if s < args.complaints} | {args.complaints}
    )
    if args.cache_size is None and not args.on_disk and sizes[-1] > 200_000:
        args.cache_size = "16G"
    _plans.recorder()  # before connecting: listeners attach to clients made afterwards
    rows: list[dict] = []
    ctx = Context(clock=lambda: _data.NOW, signing_key=Ed25519PrivateKey.generate())
    if args.attach:
        # Another run's store, built already: measured at its one size, with this code.
        database.connect(args.attach, "bench_scale")
        measure_all(ctx, sizes[-1], rows)
        database.disconnect()
    else:
        with (
            tempfile.TemporaryDirectory() as tmp,
            EmbeddedServer(tmp, in_memory=not args.on_disk, cache_size=args.cache_size) as server,
        ):
            database.connect(server.uri, "bench_scale")
            filled = 0
            for size in sizes:
                started = time.monotonic()
                counts, indexing = bulk_fill(filled, size)
                built = time.monotonic() - started
                filled = size
                print(
                    f"\n{size:,} complaints: built in {built:.0f} s, {indexing:.0f} s of it "
                    f"building indexes (+{counts['complaints']:,} "
                    f"complaints, {counts['events']:,} events, {counts['deliveries']:,} "
                    f"deliveries, {counts['orders']:,} orders; "
                    f"{counts['complaints'] / built:,.0f} complaints/s)",
                    flush=True,
                )
                measure_all(ctx, size, rows)
            database.disconnect()
    if args.json:
        args.json.write_text(json.dumps({"queries": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
