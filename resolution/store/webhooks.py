"""Webhook subscriptions, their deliveries, and the outbox marks on events.

No findAndModify anywhere: on SecantusDB it reads the whole collection. A conditional
`update_one` by `_id` (its matched or modified count says who won), then a `find_one`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from ..domain.events import EPOCH
from ..domain.webhooks import PENDING, STATUSES
from .documents import EventDocument, WebhookDelivery, WebhookSubscription
from .errors import guarded
from .eventstore import FANOUT
from .transactions import Session


def _subscriptions():
    return WebhookSubscription._get_collection()


def _queue():
    return WebhookDelivery._get_collection()


@guarded
def add_subscription(doc: dict[str, Any], session: Session) -> None:
    _subscriptions().insert_one(doc, session=session)


@guarded
def subscriptions_of(owner: str) -> list[dict]:
    """An integrator's subscriptions, newest first."""
    return list(WebhookSubscription.objects(owner=owner).order_by("-id").as_pymongo())


@guarded
def subscription(subscription_id: str, owner: str | None = None) -> dict | None:
    """The subscription (only if `owner`'s, when given), or None."""
    query = {"_id": subscription_id}
    if owner is not None:
        query["owner"] = owner
    return _subscriptions().find_one(query)


@guarded
def all_subscriptions() -> list[dict]:
    return list(_subscriptions().find())


@guarded
def remove_subscription(subscription_id: str) -> None:
    """The subscription and its deliveries still pending go (sent ones stay, for the record)."""
    _subscriptions().delete_one({"_id": subscription_id})
    _queue().delete_many({"subscription_id": subscription_id, "status": PENDING})


@guarded
def set_secrets(subscription_id: str, secrets: list[dict], session: Session) -> dict | None:
    """Replaces the subscription's secrets; the subscription as it now stands, or None."""
    result = _subscriptions().update_one(
        {"_id": subscription_id}, {"$set": {"secrets": secrets}}, session=session
    )
    if result.matched_count != 1:
        return None
    return _subscriptions().find_one({"_id": subscription_id}, session=session)


@guarded
def deliveries_page(
    subscription_id: str,
    owner: str,
    *,
    status: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> list[dict] | None:
    """The owner's subscription's deliveries, newest first, at most `limit` (without their
    payloads); None when the subscription is not the owner's.

    One round trip: the subscription, its page of deliveries joined by `$lookup` on the
    `listing` index (nothing comes back for another integrator's subscription).
    """
    match: dict[str, Any] = {}
    if status:
        match["status"] = status
    if before:
        match["_id"] = {"$lt": before}
    page_of = [{"$match": match}] if match else []
    page_of += [{"$sort": {"_id": -1}}, {"$limit": limit}, {"$project": {"payload": 0}}]
    joined = {
        "from": _queue().name,
        "localField": "_id",
        "foreignField": "subscription_id",
        "pipeline": page_of,
        "as": "deliveries",
    }
    found = list(
        _subscriptions().aggregate(
            [{"$match": {"_id": subscription_id, "owner": owner}}, {"$lookup": joined}]
        )
    )
    return found[0]["deliveries"] if found else None


@guarded
def requeue(subscription_id: str, delivery_id: str, now: datetime, session: Session) -> dict | None:
    """Makes a delivery pending again, with a fresh three days of retries; None if unknown."""
    result = _queue().update_one(
        {"_id": delivery_id, "subscription_id": subscription_id},
        {
            "$set": {
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "lease_until": None,
                "created_at": now,
                "delivered_at": None,
            },
        },
        session=session,
    )
    if result.matched_count != 1:
        return None
    return _queue().find_one({"_id": delivery_id}, {"payload": 0}, session=session)


# --- the outbox: events still to fan out ---------------------------------------------------


@guarded
def marked_events(limit: int) -> list[dict]:
    """(_id, complaint_id, seq) of events still to fan out, oldest mark first."""
    return list(
        EventDocument._get_collection()
        .find({FANOUT: {"$gte": EPOCH}}, {"_id": 1, "complaint_id": 1, "seq": 1})
        .sort(FANOUT, 1)
        .limit(limit)
    )


@guarded
def add_delivery(delivery: dict[str, Any]) -> None:
    """Queues a delivery; one already queued for that subscription and event stays as is
    (a fan-out that stopped halfway is run again)."""
    try:
        _queue().insert_one(delivery)
    except DuplicateKeyError:
        pass


@guarded
def unmark(event_id: Any) -> None:
    """The event's deliveries are made: it leaves the outbox."""
    EventDocument._get_collection().update_one({"_id": event_id}, {"$unset": {FANOUT: ""}})


# --- the delivery queue ----------------------------------------------------------------------


@guarded
def queue_heads(now: datetime) -> list[dict]:
    """The earliest pending delivery of each (subscription, complaint) that may go at `now`:
    {head: delivery id, lease_until}, the longest waiting first."""
    return list(
        _queue().aggregate(
            [
                {"$match": {"status": PENDING}},
                {"$sort": {"subscription_id": 1, "complaint_id": 1, "seq": 1}},
                {
                    "$group": {
                        "_id": {"s": "$subscription_id", "c": "$complaint_id"},
                        "head": {"$first": "$_id"},
                        "next_attempt_at": {"$first": "$next_attempt_at"},
                        "lease_until": {"$first": "$lease_until"},
                    }
                },
                {"$match": {"next_attempt_at": {"$lte": now}}},
                {"$sort": {"next_attempt_at": 1}},
            ],
        )
    )


@guarded
def lease(delivery_id: str, held_until: datetime | None, until: datetime) -> dict | None:
    """Takes the lease of a pending delivery if nobody took it since it was seen with
    `held_until`; the delivery, or None when another deliverer won."""
    taken = _queue().update_one(
        {"_id": delivery_id, "status": PENDING, "lease_until": held_until},
        {"$set": {"lease_until": until}},
    )
    return _queue().find_one({"_id": delivery_id}) if taken.modified_count == 1 else None


@guarded
def update_delivery(delivery_id: str, held_until: datetime | None, fields: dict) -> None:
    """Records an attempt, if the lease it was sent under is still the delivery's."""
    _queue().update_one({"_id": delivery_id, "lease_until": held_until}, {"$set": fields})


@guarded
def queue_figures() -> dict[str, Any]:
    """How many deliveries per status, the oldest pending one's creation, how many are
    failing, and how many events are still to fan out: what the metrics show."""
    queue = _queue()
    # One count per status, on the `queue` index's leading field: MongoDB counts the index keys.
    # A `$group` over the collection read every delivery kept (30 days of them) at each scrape.
    by_status = {status: queue.count_documents({"status": status}) for status in STATUSES}
    oldest = queue.find_one({"status": PENDING}, {"created_at": 1}, sort=[("created_at", 1)])
    failing = queue.count_documents({"status": PENDING, "attempts": {"$gt": 0}})
    outbox = EventDocument._get_collection().count_documents({FANOUT: {"$gte": EPOCH}})
    return {
        "by_status": by_status,
        "oldest_pending_created_at": oldest["created_at"] if oldest else None,
        "failing": failing,
        "outbox": outbox,
    }
