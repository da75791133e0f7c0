"""A generated event log in the real database: sealed, hash-chained events built with the
domain's own `Event.sealed` and inserted in bulk with pymongo (no transactions, no
projections). tests/integration/test_audit_export.py exports and verifies it; the benchmarks
(benchmarks/_data.py, export_memory.py, rebuild_memory.py) measure with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from resolution.domain.events import GENESIS, Event
from resolution.store.documents import EventDocument

START = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
PER_COMPLAINT = 10


def nik_of(n: int) -> str:
    """Complaint n's buyer's NIK: 16 digits, planted in free text and a KTP's file name."""
    return f"3171{n:012d}"


def _story(n: int) -> Iterator[tuple[str, dict, dict]]:
    """(type, actor, data) of complaint n's ten events: a case that ends in care's decision."""
    buyer = {"role": "buyer", "id": f"buyer-{n % 997}"}
    seller = {"role": "seller", "id": f"seller-{n % 89}", "shop_id": f"shop-{n % 89}"}
    care = {"role": "care", "id": f"agent-{n % 7}"}
    nik, ktp = nik_of(n), str(ObjectId())
    refund = {"kind": "refund", "amount": 45000}
    order = {
        "id": f"INV-{n}",
        "shop_id": seller["shop_id"],
        "channel": "tokopedia",
        "total": 105000,
        "items": [{"sku": "KAOS-M", "name": "Kaos polos M", "qty": 2, "price": 45000}],
        "paid_at": "2025-05-30T01:00:00.000+00:00",
    }
    yield (
        "open",
        buyer,
        {
            "order": order,
            "reason": "damaged",
            "description": f"Kaos robek. NIK saya {nik}.",
            "requested_solution": refund,
            "state": "awaiting_seller",
        },
    )
    yield "message", buyer, {"body": f"Data saya: NIK {nik}, mohon dicek"}
    yield (
        "evidence_added",
        buyer,
        {
            "kind": "identity_document",
            "caption": f"KTP {nik}",
            "care_only": False,
            "evidence_id": ktp,
            "file": {
                "content_type": "image/png",
                "size": 70,
                "sha256": "ab" * 32,
                "filename": f"ktp-{nik}.png",
            },
        },
    )
    yield (
        "propose",
        seller,
        {
            "solution": {"kind": "refund", "amount": 30000},
            "note": "Sebagian.",
            "state": "awaiting_buyer",
        },
    )
    yield "escalate", buyer, {"reason": "Tidak sepakat.", "state": "awaiting_care"}
    yield "assign", care, {"agent_id": care["id"], "state": "in_mediation"}
    yield "evidence_viewed", care, {"evidence_id": ktp, "kind": "identity_document"}
    yield "evidence_reviewed", care, {"evidence_id": ktp, "note": f"Cocok dengan NIK {nik}."}
    yield "message", care, {"body": "Keputusan segera."}
    yield (
        "decide",
        care,
        {
            "solution": refund,
            "reason_code": "other",
            "rationale": "Foto jelas.",
            "state": "closed",
            "outcome": "decided",
        },
    )


def generate_log(count: int, start: datetime = START, batch: int = 5000) -> list[str]:
    """Inserts `count` events (a multiple of 10: ten per complaint) and returns the complaint ids.

    Complaint n opens 3 s after complaint n-1 and acts every 45 s, so complaints interleave in
    time as they do in production; every event is sealed and chained like a real one.
    """
    collection = EventDocument._get_collection()
    ids, pending = [], []
    for n in range(count // PER_COMPLAINT):
        complaint_id, prev = str(ObjectId()), GENESIS
        ids.append(complaint_id)
        opened = start + timedelta(seconds=3 * n)
        for seq, (type_, actor, data) in enumerate(_story(n), start=1):
            at = opened + timedelta(seconds=45 * (seq - 1))
            event = Event.sealed(complaint_id, seq, type_, actor, data, at, prev)
            prev = event.hash
            pending.append(event.as_data())
            if len(pending) == batch:
                collection.insert_many(pending, ordered=False)
                pending = []
    if pending:
        collection.insert_many(pending, ordered=False)
    return ids
