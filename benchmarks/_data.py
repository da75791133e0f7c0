"""Generated data for the benchmarks and the query-plan test, in the shapes the service writes.

Fast, not realistic in every detail: documents are built directly (projections through the
domain's own `Complaint` and `complaint_to_mongo`, so every field is there) and inserted with
`insert_many`, no transactions. Everything is a pure function of the complaint's number `n`,
so a larger set is the smaller one plus more complaints, and a query's expected answer can be
counted from the same rules.

The event log for rebuilds and exports is `generate_log` of the audit export test: ten sealed,
chained events per complaint that replay into a decided complaint.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from resolution.domain.projection import Complaint  # noqa: E402
from resolution.store import counters  # noqa: E402
from resolution.store.documents import (  # noqa: E402
    ComplaintDocument,
    EventDocument,
    OrderDocument,
    WebhookDelivery,
    WebhookSubscription,
)
from resolution.store.eventstore import FANOUT, complaint_to_mongo, new_complaint_id  # noqa: E402
from resolution.store.files import _files_collection as files_collection  # noqa: E402
from tests.support.audit_log import generate_log  # noqa: E402, F401 - re-exported

# "Now" for every generated deadline: queries are asked as of this instant.
NOW = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)
START = NOW - timedelta(days=60)
CHANNELS = ("tokopedia", "tiktok_shop", "shopee")
REASONS = ("damaged", "not_received", "wrong_item", "incomplete", "not_as_described")
# One complaint in 22 of each state, by weight: most closed, a few in each open state.
STATE_WEIGHTS = {
    "closed": 8,
    "awaiting_seller": 3,
    "awaiting_buyer": 2,
    "appealed": 1,
    "awaiting_care": 2,
    "in_mediation": 2,
    "awaiting_return": 1,
    "return_shipped": 1,
    "awaiting_shipment": 1,
    "shipment_sent": 1,
}
STATE_CYCLE = [state for state, weight in STATE_WEIGHTS.items() for _ in range(weight)]
PARTY_STATES = [s for s in STATE_WEIGHTS if s not in ("closed", "awaiting_care", "in_mediation")]
BIG_SHOP = "shop-big"  # one complaint in 20: the seller whose listing is long
SUBSCRIPTION = "5f0000000000000000000001"  # webhook subscription of every generated delivery
INTEGRATOR = "market-1"
AGENTS = 7


def state_of(n: int) -> str:
    return STATE_CYCLE[n % len(STATE_CYCLE)]


def buyer_of(n: int) -> str:
    return f"buyer-{n // 5}"  # five complaints per buyer


def shop_of(n: int) -> str:
    return BIG_SHOP if n % 20 == 0 else f"shop-{n % 997}"


def channel_of(n: int) -> str:
    return CHANNELS[n % len(CHANNELS)]


def order_of(n: int) -> dict:
    return {
        "id": f"INV-{n}",
        "shop_id": shop_of(n),
        "channel": channel_of(n),
        "total": 105000,
        "items": [{"sku": "KAOS-M", "name": "Kaos polos M", "qty": 2, "price": 45000}],
        "paid_at": "2025-05-30T01:00:00.000+00:00",
    }


def registered_order(n: int) -> dict:
    """Complaint n's order as the marketplace registered it (the `orders` collection)."""
    order = order_of(n)
    return {
        "_id": f"{order['channel']}/{order['id']}",
        "channel": order["channel"],
        "order_id": order["id"],
        "buyer_id": buyer_of(n),
        "shop_id": order["shop_id"],
        "items": order["items"],
        "total": order["total"],
        "payment": {"method": "transfer", "status": "paid", "paid_at": START},
        "shipment": None,
        "completed_at": None,
        "invoice_url": None,
        "held_amount": order["total"],
        "version": 1,
        "registered_at": START,
        "updated_at": START,
    }


def complaint(n: int) -> dict:
    """Complaint n's projection document, deadlines set as the fold would set them."""
    state = state_of(n)
    # One opened every 30 seconds, back from NOW: a larger set adds older complaints, and
    # the newest are as old as a live service's (10,000 span 3.5 days, 1,000,000 a year).
    created = NOW - timedelta(seconds=30 * (n + 1))
    fields: dict = {
        "id": new_complaint_id(),
        "state": state,
        "version": 3,
        "last_hash": f"{n:064x}",
        "channel": channel_of(n),
        "order": order_of(n),
        "buyer_id": buyer_of(n),
        "shop_id": shop_of(n),
        "reason": REASONS[n % len(REASONS)],
        "description": "Kaosnya robek di jahitan.",
        "proposal": {"solution": {"kind": "refund", "amount": 45000}, "by": "buyer"},
        "seller_answered": True,
        "created_at": created,
        "updated_at": created + timedelta(hours=1),
    }
    if state in PARTY_STATES:
        # Deadlines from 20 hours past to 120 hours ahead: some due, some to remind.
        due_at = NOW + timedelta(minutes=(n * 37) % (140 * 60) - 20 * 60)
        fields |= {"turn": "seller", "turn_started_at": due_at - timedelta(hours=72)}
        fields["due_at"] = due_at
        remind_at = due_at - timedelta(hours=24)
        # Reminded already when its window was open and it is not past due (half of the
        # past-due ones were never reminded: a sweeper was down).
        reminded = remind_at <= NOW < due_at and n % 4 == 0 or due_at <= NOW and n % 2 == 0
        fields["remind_at"] = None if reminded else remind_at
    elif state in ("awaiting_care", "in_mediation"):
        escalated = NOW - timedelta(minutes=(n * 53) % (48 * 60))
        fields |= {"turn": "care", "escalated_at": escalated}
        fields["care_due_at"] = escalated + timedelta(hours=24)
        if state == "in_mediation":
            assigned = escalated + timedelta(minutes=30)
            fields |= {"assigned_to": f"agent-{n % AGENTS}", "assigned_at": assigned}
            fields["care_due_at"] = assigned + timedelta(hours=24)
    else:
        fields |= {"outcome": "agreed", "resolution": fields["proposal"], "proposal": None}
        # Closed from today to 60 days ago; half keep an identity document and a photo (the
        # sweeper's retention reads).
        closed_at = NOW - timedelta(days=n % 60, minutes=n % 97)
        fields["closed_at"] = closed_at
        if n % 2 == 0:
            fields |= {"retain_from": closed_at, "retained_kinds": ["identity_document", "photo"]}
        # Made when it closed, its last change: spread as the openings are (closing times
        # above cluster at whole days back, which no marketplace's payouts do).
        fields["settlement"] = settlement(n, min(fields["updated_at"], NOW))
    return complaint_to_mongo(Complaint(**fields))


def settlement(n: int, closed_at: datetime) -> dict:
    """Closed complaint n's settlement, made at `closed_at` (its id an ObjectId's hex of that
    second, as `eventstore.new_id` makes them), paid out but for one in 50 still asked of the
    payment system."""
    at = closed_at.isoformat()
    return {
        "id": f"{int(closed_at.timestamp()):08x}{n:016x}",
        "held": 45000,
        "to_buyer": 45000,
        "to_seller": 0,
        "status": "requested" if n % 50 == 1 else "confirmed",
        "release_at": at,
        "reference": None if n % 50 == 1 else f"PAY-{n}",
        "attempts": [{"number": 1, "requested_at": at}],
        "created_at": at,
        "updated_at": at,
    }


def events_of(n: int, complaint_id: str, at: datetime) -> Iterator[dict]:
    """Complaint n's events: `open`, a message, and for one in three an evidence reading."""
    buyer = {"role": "buyer", "id": buyer_of(n)}
    care = {"role": "care", "id": f"agent-{n % AGENTS}"}
    opened = {
        "order": order_of(n),
        "reason": REASONS[n % len(REASONS)],
        "description": "Kaosnya robek di jahitan.",
        "requested_solution": {"kind": "refund", "amount": 45000},
    }
    stories = [
        ("open", buyer, opened),
        ("message", buyer, {"body": "Halo?"}),
        ("evidence_viewed", care, {"evidence_id": f"{n:024x}", "kind": "identity_document"}),
    ]
    for seq, (type_, actor, data) in enumerate(stories[: 2 + (n % 3 == 2)], start=1):
        yield {
            "complaint_id": complaint_id,
            "seq": seq,
            "type": type_,
            "actor": actor,
            "data": data,
            "at": at + timedelta(minutes=seq),
            "prev_hash": "0" * 64,
            "hash": f"{n:060x}{seq:04x}",
        }


def delivery(n: int, complaint_id: str, at: datetime) -> dict:
    """The webhook delivery of complaint n's first event: most delivered, some pending."""
    status = "pending" if n % 25 == 0 else "dead" if n % 101 == 0 else "delivered"
    return {
        "_id": str(ObjectId()),
        "subscription_id": SUBSCRIPTION,
        "complaint_id": complaint_id,
        "seq": 1,
        "type": "open",
        "payload": {"id": "x", "type": "open", "complaint_id": complaint_id, "seq": 1},
        "status": status,
        "attempts": 1 if status == "pending" and n % 50 == 0 else 0,
        "next_attempt_at": NOW - timedelta(seconds=n % 600) if status == "pending" else None,
        "lease_until": None,
        "last_status_code": 200 if status == "delivered" else None,
        "last_error": None,
        "created_at": at,
        # The TTL index takes delivered ones 30 days after the wall clock's delivered_at.
        "delivered_at": datetime.now(UTC) if status == "delivered" else None,
    }


def _insert(collection, documents: Iterable[dict], batch: int) -> int:
    pending, count = [], 0
    for doc in documents:
        pending.append(doc)
        if len(pending) == batch:
            collection.insert_many(pending, ordered=False)
            count, pending = count + len(pending), []
    if pending:
        collection.insert_many(pending, ordered=False)
        count += len(pending)
    return count


def _marked(event: dict) -> dict:
    """An event its fan-out has not reached yet: the webhook outbox (eventstore.FANOUT)."""
    return {**event, FANOUT: event["at"]}


def fill(start: int, stop: int, batch: int = 2000, progress: Callable | None = None) -> dict:
    """Inserts complaints `start` to `stop` (not included) with their events, webhook
    deliveries, one complaint in 100 with its first event still to fan out (the webhook
    outbox) and the subscription; returns how many of each."""
    complaints = ComplaintDocument._get_collection()
    events = EventDocument._get_collection()
    deliveries = WebhookDelivery._get_collection()
    WebhookSubscription._get_collection().update_one(
        {"_id": SUBSCRIPTION},
        {
            "$setOnInsert": {
                "owner": INTEGRATOR,
                "url": "https://market.example/hooks",
                "types": [],
                "channel": None,
                "secrets": [{"value": "whsec_x", "expires_at": None}],
                "created_at": START,
            }
        },
        upsert=True,
    )
    counts = {"complaints": 0, "events": 0, "deliveries": 0, "outbox": 0, "files": 0, "orders": 0}
    orders = OrderDocument._get_collection()
    started = time.monotonic()
    for low in range(start, stop, batch):
        docs = [complaint(n) for n in range(low, min(stop, low + batch))]
        counts["complaints"] += _insert(complaints, docs, batch)
        # The states' counters the unit of work keeps with each write (store.counters).
        counters.added(Counter(d["state"] for d in docs))
        counts["orders"] += _insert(
            orders, (registered_order(n) for n in range(low, low + len(docs))), batch
        )
        numbered = list(zip(range(low, low + len(docs)), docs, strict=True))
        counts["events"] += _insert(
            events,
            (
                _marked(e) if n % 100 == 0 and e["seq"] == 1 else e
                for n, d in numbered
                for e in events_of(n, d["_id"], d["created_at"])
            ),
            batch,
        )
        counts["outbox"] += sum(1 for n, _ in numbered if n % 100 == 0)
        counts["deliveries"] += _insert(
            deliveries, (delivery(n, d["_id"], d["created_at"]) for n, d in numbered), batch
        )
        uploads = [
            {
                "_id": ObjectId(),
                "length": 70,
                "chunkSize": 261120,
                "uploadDate": d["created_at"],
                "filename": "evidence",
                # Recorded once its event committed; one in ten never was (orphans).
                "metadata": {"complaint_id": d["_id"], "recorded": n % 500 != 0},
            }
            for n, d in numbered
            if n % 50 == 0
        ]
        counts["files"] += _insert(files_collection(), uploads, batch)
        if progress:
            progress(min(stop, low + batch), time.monotonic() - started)
    return counts
