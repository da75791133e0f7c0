"""Documents the sweeper reads to find due complaints, as the total grows (explain()).

Run: `.venv/bin/python benchmarks/sweep_index.py [--sizes 10000,100000] [--due 1000]`
(starts a throw-away embedded database; filling 100,000 takes about 6 minutes: the embedded
database writes about 300 documents/s with this collection's 8 indexes). The complaints are
generated projections, written in bulk: this measures the query and its index, not writes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resolution.domain.lifecycle import TIMED_STATES  # noqa: E402
from resolution.service.sweeper import due_complaints  # noqa: E402
from resolution.store import database  # noqa: E402
from resolution.store.documents import ComplaintDocument  # noqa: E402
from resolution.store.embedded import EmbeddedServer  # noqa: E402

NOW = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)
STATES = [*TIMED_STATES, "awaiting_care", "in_mediation", "closed"]


def _complaint(n: int, due: bool) -> dict:
    state = STATES[n % len(STATES)] if not due else TIMED_STATES[n % len(TIMED_STATES)]
    due_at = None
    if state in TIMED_STATES:
        due_at = NOW - timedelta(minutes=1 + n % 600) if due else NOW + timedelta(hours=1 + n % 70)
    return {
        "_id": str(ObjectId()),
        "state": state,
        "version": 1,
        "buyer_id": f"buyer-{n % 5000}",
        "shop_id": f"shop-{n % 800}",
        "channel": "tokopedia",
        "order": {"id": f"INV-{n}"},
        "due_at": due_at,
        "active": state != "closed",
    }


def fill(collection, total: int, due: int, start: int) -> None:
    batch = []
    for n in range(start, total):
        batch.append(_complaint(n, due=n < due))
        if len(batch) == 5000:
            collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        database.connect(server.uri, "bench_sweep")
        collection = ComplaintDocument._get_collection()
        print(
            f"{'complaints':>10} {'due':>6} {'returned':>8} {'docs examined':>13} "
            f"{'keys examined':>13}  index"
        )
        filled = 0
        for size in sizes:
            started = time.monotonic()
            fill(collection, size, args.due, filled)
            filled = size
            query = {"state": {"$in": list(TIMED_STATES)}, "due_at": {"$lte": NOW}}
            plan = collection.find(query).sort("due_at", 1).hint("due").explain()  # as the sweeper
            stats = plan["executionStats"]
            stage = plan["queryPlanner"]["winningPlan"]
            index = _index_name(stage)
            returned = len(due_complaints(NOW))
            print(
                f"{size:>10} {args.due:>6} {returned:>8} {stats['totalDocsExamined']:>13} "
                f"{stats.get('totalKeysExamined', '?'):>13}  {index}"
                f"   (filled in {time.monotonic() - started:.0f} s)"
            )
        database.disconnect()


def _index_name(stage: dict) -> str:
    while stage:
        if "indexName" in stage:
            return stage["indexName"]
        stage = stage.get("inputStage") or (stage.get("inputStages") or [None])[0]
    return "COLLSCAN"


if __name__ == "__main__":
    main()
