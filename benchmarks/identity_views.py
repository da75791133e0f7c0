"""How long "every identity document agent X opened between A and B" takes at 100,000
complaints: `GET /v1/audit/identity-views?viewer=&since=&until=` (issue #21: under a second).

Run: `.venv/bin/python benchmarks/identity_views.py [--complaints 100000]` (starts a
throw-away embedded database; inserting takes a few minutes on the shared 2-core machine).

What the query reads is inserted directly with `insert_many`, in the shapes the service
writes: the events of 100,000 complaints opened over a year (`open` and the seller's message
each), and their recorded reads of restricted evidence (`evidence_viewed`, with `bytes`).
Three in five complaints carry the buyer's identity document; two in five of those reach
care, whose assigned agent opens it one to three times over the following days (a handover
in ten brings a second agent; an auditor checks one in fifty). 120 agents, their workloads
uneven (agent-0 is the busiest, about five times the median), 4 auditors; one complaint in
ten also has a care-only photo opened. The figures: the store query
(`store.erasure.identity_views`, what the route runs) and the whole HTTP request, for a
typical agent over 30 days (the breach question), the busiest agent over the whole year
(its first page of 1,000), and an account that opened nothing; each the median of 5 runs,
with the plan's index and the documents and keys it examined (`explain`, executionStats).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bson import ObjectId  # noqa: E402

from resolution.config import Config  # noqa: E402
from resolution.store import database  # noqa: E402
from resolution.store import erasure as subject_store  # noqa: E402
from resolution.store.documents import EventDocument  # noqa: E402
from resolution.store.embedded import EmbeddedServer  # noqa: E402
from resolution.web.app import create_app  # noqa: E402
from resolution.web.auth import issue_token  # noqa: E402

NOW = datetime(2026, 12, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
AGENTS = 120
AUDITORS = 4
SECRET = "benchmark-secret-of-at-least-32-bytes"
BATCH = 5000


def _weights() -> list[float]:
    # Agent i's share of the cases: 1 / (i + 10), so agent-0 carries about five times the median.
    return [1 / (i + 10) for i in range(AGENTS)]


def events(n: int, rng: random.Random, weights: list[float]) -> list[dict]:
    """Complaint n's events: opened at a random moment of the year, the seller's message,
    and the reads of its restricted evidence."""
    complaint_id = f"{n:024x}"
    opened = NOW - YEAR + timedelta(seconds=rng.randrange(int(YEAR.total_seconds()) - 86400 * 20))
    buyer = {"role": "buyer", "id": f"buyer-{n // 3}"}
    seller = {"role": "seller", "id": f"seller-{n % 5000}"}
    log = [
        ("open", buyer, {"reason": "damaged", "description": "Kaosnya robek di jahitan."}),
        ("message", seller, {"body": "Mohon maaf, kami cek."}),
    ]
    at = [opened, opened + timedelta(hours=5)]
    reads: list[tuple[dict, str, str]] = []
    if n % 5 < 3 and rng.random() < 0.4:  # an identity document, and the case reached care
        ktp = str(ObjectId())
        agent = rng.choices(range(AGENTS), weights)[0]
        agents = [agent] + ([rng.choices(range(AGENTS), weights)[0]] if rng.random() < 0.1 else [])
        for who in agents:
            for _ in range(rng.randint(1, 3)):
                reads.append(({"role": "care", "id": f"agent-{who}"}, ktp, "identity_document"))
        if rng.random() < 0.02:
            auditor = {"role": "auditor", "id": f"auditor-{rng.randrange(AUDITORS)}"}
            reads.append((auditor, ktp, "identity_document"))
    if n % 10 == 0:  # a care-only photo, opened by care
        who = rng.choices(range(AGENTS), weights)[0]
        reads.append(({"role": "care", "id": f"agent-{who}"}, str(ObjectId()), "photo"))
    moment = opened + timedelta(days=1)
    for actor, evidence_id, kind in reads:
        moment += timedelta(minutes=rng.randrange(5, 60 * 24 * 3))
        data = {"evidence_id": evidence_id, "kind": kind, "bytes": rng.randrange(40_000, 900_000)}
        log.append(("evidence_viewed", actor, data))
        at.append(moment)
    return [
        {
            "complaint_id": complaint_id,
            "seq": seq,
            "type": type_,
            "actor": actor,
            "data": data,
            "at": when,
            "prev_hash": "0" * 64,
            "hash": f"{n:060x}{seq:04x}",
            "hash_version": 2,
            "salts": {},
            "commitments": {},
        }
        for seq, ((type_, actor, data), when) in enumerate(zip(log, at, strict=True), start=1)
    ]


def fill(complaints: int) -> Counter:
    """Inserts the events of `complaints` complaints: how many of each kind of reader."""
    collection = EventDocument._get_collection()
    rng, weights = random.Random(21), _weights()
    counted: Counter = Counter()
    pending: list[dict] = []
    for n in range(complaints):
        for event in events(n, rng, weights):
            pending.append(event)
            counted["events"] += 1
            if event["type"] == "evidence_viewed" and event["data"]["kind"] == "identity_document":
                counted[event["actor"]["id"]] += 1
                counted["identity views"] += 1
        if len(pending) >= BATCH:
            collection.insert_many(pending, ordered=False)
            pending = []
    if pending:
        collection.insert_many(pending, ordered=False)
    return counted


def _query(viewer: str, since: datetime, until: datetime) -> dict:
    """The filter and sort `store.erasure.identity_views` sends (its first page)."""
    return {
        "filter": {
            "actor.id": viewer,
            "type": "evidence_viewed",
            "at": {"$gte": since, "$lt": until},
            "data.kind": "identity_document",
        },
        "sort": {"at": 1, "complaint_id": 1, "seq": 1},
    }


def _plan(viewer: str, since: datetime, until: datetime) -> dict:
    collection = EventDocument._get_collection()
    command = {"find": collection.name, **_query(viewer, since, until)}
    explained = collection.database.command("explain", command, verbosity="executionStats")
    stats = explained.get("executionStats", {})
    winning = str(explained.get("queryPlanner", {}).get("winningPlan", {}))
    index = "by_actor" if "by_actor" in winning else ("COLLSCAN" if "COLLSCAN" in winning else "?")
    return {
        "index": index,
        "docs": stats.get("totalDocsExamined"),
        "keys": stats.get("totalKeysExamined"),
        "returned": stats.get("nReturned"),
    }


def _median_ms(run, times: int = 5) -> tuple[float, object]:
    spans, result = [], None
    for _ in range(times):
        started = time.perf_counter()
        result = run()
        spans.append((time.perf_counter() - started) * 1000)
    return statistics.median(spans), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        name = "bench_identity_views"
        database.connect(server.uri, name)
        started = time.monotonic()
        counted = fill(args.complaints)
        agents = sorted(
            (counted[f"agent-{i}"], f"agent-{i}") for i in range(AGENTS) if counted[f"agent-{i}"]
        )
        print(
            f"{args.complaints:,} complaints: {counted['events']:,} events, "
            f"{counted['identity views']:,} recorded views of identity documents by "
            f"{len(agents)} agents and {AUDITORS} auditors; inserted in "
            f"{time.monotonic() - started:.0f} s"
        )
        median_views, typical = agents[len(agents) // 2]
        busiest_views, busiest = agents[-1]
        print(
            f"views per agent over the year: median {median_views:,} ({typical}), "
            f"most {busiest_views:,} ({busiest})"
        )
        app = create_app(Config(jwt_secret=SECRET, mongodb_uri=server.uri, db_name=name))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {issue_token(SECRET, 'auditor', 'auditor-9')}"}
        month = (NOW - timedelta(days=120), NOW - timedelta(days=90))
        cases = [
            (f"a typical agent ({typical}), 30 days", typical, *month),
            (f"the busiest agent ({busiest}), the year", busiest, NOW - YEAR, NOW),
            ("an account that opened nothing, the year", "agent-none", NOW - YEAR, NOW),
        ]
        print(
            f"\n  {'viewer, period':48} {'store ms':>8} {'HTTP ms':>8} {'returned':>8} "
            f"{'docs exam.':>10} {'keys exam.':>10}  index"
        )
        for label, viewer, since, until in cases:
            store_ms, found = _median_ms(
                lambda v=viewer, s=since, u=until: subject_store.identity_views(v, s, u, None, 1000)
            )
            url = (
                f"/v1/audit/identity-views?viewer={viewer}"
                f"&since={since.isoformat().replace('+00:00', 'Z')}"
                f"&until={until.isoformat().replace('+00:00', 'Z')}"
            )
            http_ms, response = _median_ms(lambda u=url: client.get(u, headers=headers))
            assert response.status_code == 200, response.get_json()
            items = response.get_json()["items"]
            assert len(items) == min(len(found), 1000)
            plan = _plan(viewer, since, until)
            print(
                f"  {label:48} {store_ms:8.0f} {http_ms:8.0f} {len(items):8} "
                f"{plan['docs']!s:>10} {plan['keys']!s:>10}  {plan['index']}"
            )
        EventDocument._get_db().client.drop_database(name)
        database.disconnect()


if __name__ == "__main__":
    main()
