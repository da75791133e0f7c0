"""Webhook subscriptions, their deliveries, and the outbox marks on events.

No findAndModify anywhere: on SecantusDB it reads the whole collection. A conditional
`update_one` by `_id` (its matched or modified count says who won), then a `find_one`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from ..domain.webhooks import PENDING, STATUSES
from . import counters
from .documents import EventDocument, WebhookDelivery, WebhookSubscription
from .errors import guarded
from .eventstore import FANOUT
from .listings import _aware, _oldest_first, newest_first
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


class UnknownCursor(LookupError):
    """A deliveries page's cursor names no delivery of that subscription."""


@guarded
def deliveries_page(
    subscription_id: str,
    owner: str,
    *,
    status: str | None = None,
    before: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> list[dict] | None:
    """The owner's subscription's deliveries, newest first (by `created_at`, then id), at most
    `limit` (without their payloads), after the delivery `before` (the previous page's
    last; `UnknownCursor` when it is not one of the subscription's); None when the
    subscription is not the owner's.

    The subscription, the cursor's delivery (its `created_at`), then windows of `created_at`
    on `by_subscription`, one range per status (`listings.newest_first`): about the page,
    however many deliveries are kept. (One `$lookup` on the subscription's whole `_id`
    range read every delivery it kept: 99,996 for 51 at 100,000 complaints.)
    """
    if _subscriptions().find_one({"_id": subscription_id, "owner": owner}, {"_id": 1}) is None:
        return None
    position = None
    if before:
        at = _queue().find_one(
            {"_id": before, "subscription_id": subscription_id}, {"created_at": 1}
        )
        if at is None:
            raise UnknownCursor(before)
        position = (at["created_at"], before)
    statuses = [status] if status else list(STATUSES)
    return newest_first(
        _queue(),
        [{"subscription_id": subscription_id, "status": each} for each in statuses],
        "created_at",
        limit,
        now=now or datetime.now(UTC),
        before=position,
        projection={"payload": 0},
    )


@guarded
def requeue(subscription_id: str, delivery_id: str, now: datetime, session: Session) -> dict | None:
    """Makes a delivery pending again, with a fresh three days of retries; None if unknown.
    A dead one leaves the dead count in the same transaction (`counters.delivery_moved`)."""
    was = _queue().find_one(
        {"_id": delivery_id, "subscription_id": subscription_id}, {"status": 1}, session=session
    )
    if was is None:
        return None
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
    counters.delivery_moved(session, was["status"], PENDING)
    return _queue().find_one({"_id": delivery_id}, {"payload": 0}, session=session)


# --- the outbox: events still to fan out ---------------------------------------------------


@guarded
def marked_events(limit: int) -> list[dict]:
    """(_id, complaint_id, seq) of events still to fan out, oldest mark first: windows of the
    mark on `fanout` from its kept floor (`listings._oldest_first`), about `limit` read
    however long the outbox."""
    marked, _ = _oldest_first(
        [{}],
        FANOUT,
        limit,
        now=datetime.now(UTC),
        projection={"_id": 1, "complaint_id": 1, "seq": 1, FANOUT: 1},
        floor="fanout",
        collection=EventDocument._get_collection(),
    )
    return marked


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
def due_heads(now: datetime, limit: int) -> list[dict]:
    """Pending deliveries that may go at `now`, each the earliest pending one of its
    (subscription, complaint), not leased: {head: delivery id, lease_until}, the longest due
    first, at most `limit`.

    Windows of `next_attempt_at` on `due` from a kept floor (`listings._oldest_first`), each
    delivery found checked on `queue` for a pending one before it in its complaint (one small
    read: a later event of a complaint waits for its earlier ones). A claim then reads about
    what it claims, however long the backlog of pending deliveries; only deliveries due but
    stuck behind an earlier one of their complaint not yet due are read again each time.
    """
    queue = _queue()

    def first_free(doc: dict) -> bool:
        leased = doc.get("lease_until")
        if leased is not None and _aware(leased) > now:
            return False  # another deliverer is sending it
        earlier = {
            "status": PENDING,
            "subscription_id": doc["subscription_id"],
            "complaint_id": doc["complaint_id"],
            "seq": {"$lt": doc["seq"]},
        }
        return queue.find_one(earlier, {"_id": 1}) is None

    heads, _ = _oldest_first(
        [{"status": PENDING}],
        "next_attempt_at",
        limit,
        now=now,
        stop=now + timedelta(milliseconds=1),
        accept=first_free,
        projection={
            "_id": 1,
            "subscription_id": 1,
            "complaint_id": 1,
            "seq": 1,
            "next_attempt_at": 1,
            "lease_until": 1,
        },
        floor="deliveries_due",
        collection=queue,
    )
    return [{"head": doc["_id"], "lease_until": doc.get("lease_until")} for doc in heads]


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
    """Records an attempt, if the lease it was sent under is still the delivery's (a leased
    delivery is pending). One that ends delivered or dead then moves its count
    (`counters.delivery_moved`): one round trip more, and no transaction. (A deliverer killed
    inside a transaction leaves it holding a counter's stripe until the server's transaction
    lifetime ends, and every other deliverer on that stripe waits: tests/integration/
    test_webhooks_crash.py. A deliverer killed between the two writes leaves the count one
    short, until `resolution recount`.)"""
    query = {"_id": delivery_id, "lease_until": held_until}
    updated = _queue().update_one(query, {"$set": fields})
    status = fields.get("status", PENDING)
    if status != PENDING and updated.modified_count == 1:
        counters.delivery_moved(None, PENDING, status)


@guarded
def queue_figures(now: datetime | None = None) -> dict[str, Any]:
    """How many deliveries per status, the oldest pending one's creation, how many are
    failing, and how many events are still to fan out: what the metrics show, each read
    bounded however many deliveries are kept (issue #25).

    Delivered and dead: counters moved with each delivery's status (`counters`; delivered
    is a running total). Pending, failing and the oldest pending: the pending ones, at most
    `counters.CAP` + 1, oldest first: windows of `created_at` on `by_subscription`, one range
    per subscription, from a kept floor (`listings._oldest_first`; the figure `CAP` + 1: more
    than `CAP`, and failing then counts among those read). The outbox: at most `CAP` + 1 marks,
    in windows of the mark on `fanout` from the fan-out's floor. Each read is about what it
    counts, however long the backlog (SecantusDB reads a whole index range before a `limit`).
    """
    now = now or datetime.now(UTC)
    counted = counters.deliveries_counted()
    ranges = [{"subscription_id": s["_id"], "status": PENDING} for s in _subscription_ids()]
    pending, _ = _oldest_first(
        ranges,
        "created_at",
        counters.CAP + 1,
        now=now,
        projection={"_id": 1, "created_at": 1, "attempts": 1},
        floor="oldest_pending",
        collection=_queue(),
    )
    outbox, _ = _oldest_first(
        [{}],
        FANOUT,
        counters.CAP + 1,
        now=now,
        projection={"_id": 1, FANOUT: 1},
        floor="fanout",
        collection=EventDocument._get_collection(),
    )
    by_status = {status: counted.get(status, 0) for status in STATUSES}
    by_status[PENDING] = len(pending)
    return {
        "by_status": by_status,
        "oldest_pending_created_at": pending[0]["created_at"] if pending else None,
        "failing": sum(1 for doc in pending if doc.get("attempts")),
        "outbox": len(outbox),
    }


def _subscription_ids() -> list[dict]:
    # Subscriptions are a handful; their deliveries are not (the ranges of `queue_figures`).
    return list(_subscriptions().find({}, {"_id": 1}))
