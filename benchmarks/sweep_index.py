"""Documents the sweeper reads to find due complaints, as the total grows (explain()).

Two queries: the complaints past `due_at` (to move, index `due`) and the turn-holders to remind
(`remind_at <= now < due_at`, index `remind`). Half of the past-due complaints still carry a
`remind_at` (a sweeper that was down during their reminder's window): the `remind` index must
pass over them on its keys, without reading the documents.

Run: `.venv/bin/python benchmarks/sweep_index.py [--sizes 10000,100000] [--due 1000]
[--remind 1000]` (starts a throw-away embedded database; filling 100,000 takes about 6 minutes:
the embedded database writes about 300 documents/s with this collection's 9 indexes). The
complaints are generated projections, written in bulk: this measures the queries and their
indexes, not writes.
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
from resolution.service.sweeper import (  # noqa: E402
    due_complaints,
    due_reminders,
    reminders_query,
)
from resolution.store import database  # noqa: E402
from resolution.store.documents import ComplaintDocument  # noqa: E402
from resolution.store.embedded import EmbeddedServer  # noqa: E402

NOW = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)
STATES = [*TIMED_STATES, "awaiting_care", "in_mediation", "closed"]


def _complaint(n: int, due: bool, remind: bool) -> dict:
    timed = due or remind
    state = TIMED_STATES[n % len(TIMED_STATES)] if timed else STATES[n % len(STATES)]
    due_at = remind_at = None
    if due:
        due_at = NOW - timedelta(minutes=1 + n % 600)
        remind_at = due_at - timedelta(hours=24) if n % 2 else None  # half never reminded
    elif remind:
        due_at = NOW + timedelta(minutes=1 + n % (23 * 60))
        remind_at = due_at - timedelta(hours=24)
    elif state in TIMED_STATES:
        due_at = NOW + timedelta(hours=1 + n % 70)
        # Within a day of its deadline: reminded already; otherwise reminded later.
        remind_at = due_at - timedelta(hours=24) if due_at > NOW + timedelta(hours=24) else None
    return {
        "_id": str(ObjectId()),
        "state": state,
        "version": 1,
        "buyer_id": f"buyer-{n % 5000}",
        "shop_id": f"shop-{n % 800}",
        "channel": "tokopedia",
        "order": {"id": f"INV-{n}"},
        "due_at": due_at,
        "remind_at": remind_at,
        "active": state != "closed",
    }


def fill(collection, total: int, due: int, remind: int, start: int) -> None:
    batch = []
    for n in range(start, total):
        batch.append(_complaint(n, due=n < due, remind=due <= n < due + remind))
        if len(batch) == 5000:
            collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--remind", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        database.connect(server.uri, "bench_sweep")
        collection = ComplaintDocument._get_collection()
        print(
            f"{'query':>7} {'complaints':>10} {'due':>6} {'returned':>8} {'docs examined':>13} "
            f"{'keys examined':>13}  index"
        )
        filled = 0
        for size in sizes:
            started = time.monotonic()
            fill(collection, size, args.due, args.remind, filled)
            filled = size
            # As the sweeper asks: `due_complaints`, then `due_reminders`.
            moves = {"state": {"$in": list(TIMED_STATES)}, "due_at": {"$lte": NOW}}
            rows = [
                (
                    "move",
                    args.due,
                    collection.find(moves).sort("due_at", 1).hint("due").explain(),
                    len(due_complaints(NOW)),
                ),
                ("remind", args.remind, reminders_query(NOW).explain(), len(due_reminders(NOW))),
            ]
            for name, due, plan, returned in rows:
                stats = plan["executionStats"]
                index = _index_name(plan["queryPlanner"]["winningPlan"])
                print(
                    f"{name:>7} {size:>10} {due:>6} {returned:>8} "
                    f"{stats['totalDocsExamined']:>13} "
                    f"{stats.get('totalKeysExamined', '?'):>13}  {index}"
                )
            print(f"        (filled in {time.monotonic() - started:.0f} s)")
        database.disconnect()


def _index_name(stage: dict) -> str:
    while stage:
        if "indexName" in stage:
            return stage["indexName"]
        stage = stage.get("inputStage") or (stage.get("inputStages") or [None])[0]
    return "COLLSCAN"


if __name__ == "__main__":
    main()
