"""Documents examined per query, for every query the service makes, as the data grows.

Run: `.venv/bin/python benchmarks/query_plans.py [--sizes 10000,100000]` (starts a throw-away
embedded database; filling 100,000 complaints, with their 230,000 events and 100,000 webhook
deliveries, takes about 5 minutes on the shared 2-core machine: the embedded database writes
a few hundred documents a second into these indexed collections).

Each query is made by the service's own function (`benchmarks/_plans.py`), its commands
captured as sent and explained with `executionStats`. Columns: the documents the service got
back (`returned`; for a count, the number counted), the documents and index keys the server
read (`docs exam.`, `keys exam.`), and the winning plan. `!` marks a query that reads more
than twice what it returns (plus 5) and is not a read of a whole collection by design.
The data (`benchmarks/_data.py`): one complaint in 22 per open state, 8 in 22 closed; five
complaints per buyer; one complaint in 20 in one big shop; two or three events each; one
webhook delivery each (1 in 25 pending).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _data, _plans  # noqa: E402
from resolution.service import Context  # noqa: E402
from resolution.store import database  # noqa: E402
from resolution.store.embedded import EmbeddedServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="complaints, e.g. 10000,100000")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    _plans.recorder()  # before connecting: listeners attach to clients made afterwards
    flagged: dict[str, tuple] = {}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        database.connect(server.uri, "bench_plans")
        ctx = Context(clock=lambda: _data.NOW, signing_key=Ed25519PrivateKey.generate())
        filled = 0
        for size in sizes:
            started = time.monotonic()
            counts = _data.fill(filled, size)
            filled = size
            print(
                f"\n{size:,} complaints (+{counts['events']:,} events, "
                f"+{counts['deliveries']:,} deliveries; filled in "
                f"{time.monotonic() - started:.0f} s)"
            )
            print(
                f"  {'query':40} {'ms':>6} {'command':>16} {'returned':>8} {'docs exam.':>10} "
                f"{'keys exam.':>10}  plan"
            )
            sample = _plans.Sample.find()
            for query in _plans.QUERIES:
                for n, plan in enumerate(_plans.plans(ctx, query, sample)):
                    command = plan.command
                    expected = query.indexes[n] if n < len(query.indexes) else "(unexpected)"
                    bad = not _plans.examines_what_it_returns(plan) and not query.scans
                    bad = bad or not _plans.selective(plan)
                    blind = _plans.explained_blind(query, plan, expected)
                    wrong = not blind and not _plans.uses_index(plan, expected)
                    wrong = wrong or _plans.scans_anyway(plan)
                    bad = bad and not blind
                    if bad or wrong:
                        key = f"{query.name} / {command.label} {command.collection}"
                        flagged[key] = (query, plan, size, expected)
                    what = command.label
                    ms = f"{command.seconds * 1000:.0f}" if command.seconds is not None else ""
                    mark = "!" if bad else " "
                    mark += "?" if wrong else " "
                    print(
                        f"{mark}{(query.name if n == 0 else ''):40} {ms:>6} {what:>16} "
                        f"{command.returned:>8} {plan.docs_examined:>10} "
                        f"{plan.keys_examined:>10}  {plan.index}  ({plan.stages})"
                    )
        database.disconnect()
    if flagged:
        print(
            "\n`!`: reads far more than it returns; `?`: not the index expected."
            " At the largest size:"
        )
        for name, (query, plan, size, expected) in flagged.items():
            print(
                f"  {name}: {plan.docs_examined:,} examined for {plan.command.returned:,} "
                f"returned at {size:,}, plan {plan.index}; expected {expected}"
                + (f"\n    known: {query.known}" if query.known else "")
            )


if __name__ == "__main__":
    main()
