"""Data subjects' reads and writes: a subject's complaints, the erased events written back, the
copies of their words elsewhere (webhook payloads, remembered responses), the receipts, and
the identity documents an agent opened."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ..domain.events import Event
from .documents import (
    ErasureReceipt,
    EventDocument,
    IdempotencyRecord,
    WebhookDelivery,
    WebhookSubscription,
)
from .errors import guarded
from .eventstore import event_from_mongo
from .transactions import Session


@guarded
def complaints_of(role: str, subject_id: str) -> list[str]:
    """Ids of the complaints where this person wrote anything (the events' `by_actor` index)."""
    # The role is checked here, not in the filter: a clause the index lacks would make the
    # embedded database read every event (store/documents.py).
    events = EventDocument._get_collection()
    found = events.find({"actor.id": subject_id}, {"complaint_id": 1, "actor.role": 1, "_id": 0})
    return sorted({d["complaint_id"] for d in found if d["actor"]["role"] == role})


@guarded
def rewrite_events(session: Session, edited: Sequence[Event]) -> None:
    """Writes back erased events: their data, salts and kept commitments (hash unchanged)."""
    events = EventDocument._get_collection()
    for event in edited:
        events.update_one(
            {"complaint_id": event.complaint_id, "seq": event.seq, "hash": event.hash},
            {
                "$set": {
                    "data": dict(event.data),
                    "salts": dict(event.salts),
                    "commitments": dict(event.commitments),
                }
            },
            session=session,
        )


@guarded
def deliveries_of(complaint_id: str) -> list[dict[str, Any]]:
    """(delivery id, seq, its subscription's owner) of every webhook delivery of a complaint:
    per subscription, a prefix of its `one_per_event` index."""
    found = []
    deliveries = WebhookDelivery._get_collection()
    for sub in WebhookSubscription._get_collection().find({}, {"owner": 1}):
        query = {"subscription_id": sub["_id"], "complaint_id": complaint_id}
        for doc in deliveries.find(query, {"seq": 1}):
            found.append({"id": doc["_id"], "seq": doc["seq"], "owner": sub["owner"]})
    return found


@guarded
def set_payload(delivery_id: str, payload: dict[str, Any]) -> None:
    WebhookDelivery._get_collection().update_one(
        {"_id": delivery_id}, {"$set": {"payload": payload}}
    )


@guarded
def forget_responses(complaint_ids: Iterable[str]) -> int:
    """Removes remembered Idempotency-Key responses about these complaints (they may quote
    what was erased; a retry after this runs anew). The collection holds one day of keys."""
    ids = list(complaint_ids)
    query = {"$or": [{"body.id": {"$in": ids}}, {"body.complaint_id": {"$in": ids}}]}
    return IdempotencyRecord._get_collection().delete_many(query).deleted_count


@guarded
def save_receipt(receipt: dict[str, Any], session: Session | None = None) -> None:
    ErasureReceipt._get_collection().insert_one(dict(receipt), session=session)


@guarded
def latest_receipt(subject_id: str) -> dict[str, Any] | None:
    found = ErasureReceipt._get_collection().find_one(
        {"subject_id": subject_id}, sort=[("_id", -1)]
    )
    return found


@guarded
def identity_views(
    viewer: str, since: datetime, until: datetime, after: tuple | None, limit: int
) -> list[Event]:
    """The identity documents `viewer` opened in [since, until), oldest first, after the
    (at, complaint id, seq) `after`: one range of the events' `by_actor` index."""
    query: dict[str, Any] = {
        "actor.id": viewer,
        "type": "evidence_viewed",
        "at": {"$gte": after[0] if after else since, "$lt": until},
        "data.kind": "identity_document",
    }
    order = [("at", 1), ("complaint_id", 1), ("seq", 1)]
    cursor = EventDocument._get_collection().find(query).sort(order)
    found = []
    for doc in cursor:
        event = event_from_mongo(doc)
        if after and (event.at, event.complaint_id, event.seq) <= after:
            continue
        found.append(event)
        if len(found) > limit:
            break
    return found
