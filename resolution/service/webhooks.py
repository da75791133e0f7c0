"""Webhook use cases: subscriptions, the fan-out of committed events, the delivery queue.

Every event is its own outbox entry: it is appended with a mark (`eventstore.FANOUT`) in its
own transaction. `fan_out` turns each marked event into one delivery per subscription that
wants it, then removes the mark; a crash in between only repeats inserts that the unique
index turns away. The queue
hands out, for each (subscription, complaint), only its earliest pending delivery, under a
lease: deliveries of one complaint go out in `seq` order even with several deliverers, and
a deliverer that dies holding one lets it go when the lease runs out.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..domain import webhooks as rules
from ..domain.actors import Actor, Role
from ..domain.errors import Forbidden, Invalid, NotFound
from ..domain.projection import apply
from ..store import eventstore
from ..store.documents import EPOCH, EventDocument, WebhookDelivery, WebhookSubscription
from .complaints import Context, Idempotency, _check_replay, _response_record, once

LEASE = timedelta(seconds=60)
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
STATUSES = (PENDING, DELIVERED, DEAD)


def _remembered(ctx: Context, actor: Actor, idem: Idempotency | None, work):
    """Runs `work(session)` in a transaction with the remembered response for `idem`.

    The same Idempotency-Key rules as the complaints' writes (`once`): a retry replays the
    first response (`Replayed`), one while the first is running gets 409, another request
    under the same key is refused.
    """

    def transaction(session):
        result = work(session)
        record = _response_record(idem, actor, result)
        if record is not None:
            eventstore.remember(record, session)
        return result

    return once(idem, actor, lambda: eventstore.transaction(transaction))


def _owner(actor: Actor) -> str:
    if actor.role is not Role.INTEGRATION:
        raise Forbidden("Webhooks are managed with an integration token.")
    return actor.id


def check_reachable(url: str, allow_private: bool) -> None:
    """Refuses URLs whose host is, or resolves to, an address that is not on the internet."""
    host, port = rules.check_target(url)
    if allow_private:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port)}
    except (OSError, UnicodeError) as error:
        raise Invalid(f"The host {host} cannot be resolved.", {"url": [str(error)]}) from error
    if any(rules.private_address(a) for a in addresses):
        raise Invalid(
            "Webhooks are not sent to loopback, private or reserved addresses.",
            {"url": [f"{host} is not a public address"]},
        )


def subscribe(
    ctx: Context, actor: Actor, request: Mapping[str, Any], idem: Idempotency | None = None
) -> tuple[dict, str]:
    """A new subscription and its secret (shown this once)."""
    owner = _owner(actor)
    if idem is not None:
        _check_replay(idem, actor, None)  # before resolving the host again
    check_reachable(request["url"], ctx.webhooks_allow_private)
    secret = rules.new_secret()
    doc = {
        "_id": str(ObjectId()),
        "owner": owner,
        "url": request["url"],
        "types": sorted(set(request.get("types") or ())),
        "channel": request.get("channel"),
        "secrets": [{"value": secret, "expires_at": None}],
        "created_at": ctx.clock(),
    }

    def work(session):
        WebhookSubscription._get_collection().insert_one(doc, session=session)
        return doc, secret

    return _remembered(ctx, actor, idem, work)


def subscriptions(ctx: Context, actor: Actor) -> list[dict]:
    owner = _owner(actor)
    query = WebhookSubscription.objects(owner=owner).order_by("-id")
    return list(query.as_pymongo())


def subscription(ctx: Context, actor: Actor, subscription_id: str) -> dict:
    """The caller's subscription; another integrator's does not exist for it."""
    owner = _owner(actor)
    doc = WebhookSubscription._get_collection().find_one({"_id": subscription_id, "owner": owner})
    if doc is None:
        raise _unknown(subscription_id)
    return doc


def _unknown(subscription_id: str) -> NotFound:
    # The same for an unknown subscription and another integrator's.
    return NotFound(f"There is no webhook {subscription_id}.")


def unsubscribe(ctx: Context, actor: Actor, subscription_id: str) -> None:
    """Stops deliveries: the subscription and its pending deliveries go."""
    subscription(ctx, actor, subscription_id)
    WebhookSubscription._get_collection().delete_one({"_id": subscription_id})
    WebhookDelivery._get_collection().delete_many(
        {"subscription_id": subscription_id, "status": PENDING}
    )


def rotate_secret(
    ctx: Context, actor: Actor, subscription_id: str, idem: Idempotency | None = None
) -> tuple[dict, str]:
    """A new secret; the previous one keeps signing (beside it) for `ROTATION_GRACE`."""
    current = subscription(ctx, actor, subscription_id)
    now = ctx.clock()
    secret = rules.new_secret()
    kept = [
        {"value": s["value"], "expires_at": s["expires_at"] or now + rules.ROTATION_GRACE}
        for s in current["secrets"]
        if s["expires_at"] is None or _aware(s["expires_at"]) > now
    ]
    secrets = [{"value": secret, "expires_at": None}, *kept]

    def work(session):
        subscriptions = WebhookSubscription._get_collection()
        # (Not findAndModify: it reads the whole collection on SecantusDB.)
        result = subscriptions.update_one(
            {"_id": subscription_id}, {"$set": {"secrets": secrets}}, session=session
        )
        if result.matched_count != 1:
            raise NotFound(f"There is no webhook {subscription_id}.")
        return subscriptions.find_one({"_id": subscription_id}, session=session), secret

    return _remembered(ctx, actor, idem, work)


def signing_secrets(subscription: Mapping, now: datetime) -> list[str]:
    return [
        s["value"]
        for s in subscription["secrets"]
        if s["expires_at"] is None or _aware(s["expires_at"]) > now
    ]


def deliveries(
    ctx: Context,
    actor: Actor,
    subscription_id: str,
    *,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict], str | None]:
    """A subscription's deliveries, newest first, a page at a time.

    One round trip: the caller's subscription, its page of deliveries joined by `$lookup`
    on the `listing` index (nothing comes back for another integrator's subscription).
    """
    match: dict[str, Any] = {}
    if status:
        match["status"] = status
    if cursor:
        match["_id"] = {"$lt": cursor}
    page_of = [{"$match": match}] if match else []
    page_of += [{"$sort": {"_id": -1}}, {"$limit": limit + 1}, {"$project": {"payload": 0}}]
    joined = {
        "from": WebhookDelivery._get_collection().name,
        "localField": "_id",
        "foreignField": "subscription_id",
        "pipeline": page_of,
        "as": "deliveries",
    }
    found = list(
        WebhookSubscription._get_collection().aggregate(
            [{"$match": {"_id": subscription_id, "owner": _owner(actor)}}, {"$lookup": joined}]
        )
    )
    if not found:
        raise _unknown(subscription_id)
    docs = found[0]["deliveries"]
    page = docs[:limit]
    return page, (page[-1]["_id"] if len(docs) > limit else None)


def redeliver(
    ctx: Context,
    actor: Actor,
    subscription_id: str,
    delivery_id: str,
    idem: Idempotency | None = None,
) -> dict:
    """Queues a delivery again (a dead one, or one delivered that the receiver lost)."""
    subscription(ctx, actor, subscription_id)
    return _remembered(
        ctx, actor, idem, lambda session: _requeue(ctx, subscription_id, delivery_id, session)
    )


def _requeue(ctx: Context, subscription_id: str, delivery_id: str, session) -> dict:
    queue = WebhookDelivery._get_collection()
    # An update by `_id`, then a read: findAndModify reads the whole collection on SecantusDB.
    result = queue.update_one(
        {"_id": delivery_id, "subscription_id": subscription_id},
        {
            "$set": {
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": ctx.clock(),
                "lease_until": None,
                "created_at": ctx.clock(),  # a fresh three days of retries
                "delivered_at": None,
            },
        },
        session=session,
    )
    if result.matched_count != 1:
        raise NotFound(f"There is no delivery {delivery_id} of webhook {subscription_id}.")
    return queue.find_one({"_id": delivery_id}, {"payload": 0}, session=session)


# --- the deliverer's side -----------------------------------------------------------------


def fan_out(ctx: Context, render: Callable[[Mapping, Mapping, Mapping], dict], limit=500) -> int:
    """Turns events still marked for fan-out into deliveries; returns how many it handled.

    `render(subscription, event, complaint)` makes the payload the subscription receives;
    `complaint` is the complaint as that event left it, replayed from its events.
    """
    events = EventDocument._get_collection()
    marked = list(
        events.find({eventstore.FANOUT: {"$gte": EPOCH}}, {"_id": 1, "complaint_id": 1, "seq": 1})
        .sort(eventstore.FANOUT, 1)
        .limit(limit)
    )
    if not marked:
        return 0
    subscribers = list(WebhookSubscription._get_collection().find())
    queue = WebhookDelivery._get_collection()
    now = ctx.clock()
    for complaint_id, pending in _by_complaint(marked).items():
        for event, complaint in _as_left_by(ctx, complaint_id, pending):
            for sub in subscribers:
                if _aware(sub["created_at"]) > _aware(event["at"]):
                    continue  # subscribed after the event happened
                if not rules.wants(sub, event["type"], complaint.get("channel", "")):
                    continue
                try:
                    queue.insert_one(_delivery(sub, event, render(sub, event, complaint), now))
                except DuplicateKeyError:
                    pass  # a previous fan-out of this event got this far before it stopped
            events.update_one({"_id": event["_id"]}, {"$unset": {eventstore.FANOUT: ""}})
    return len(marked)


def _by_complaint(marked: list[dict]) -> dict[str, set[int]]:
    pending: dict[str, set[int]] = {}
    for doc in marked:
        pending.setdefault(doc["complaint_id"], set()).add(doc["seq"])
    return pending


def _as_left_by(ctx: Context, complaint_id: str, seqs: set[int]):
    """Each marked event of one complaint with the complaint as it left it (in mongo form),
    replayed from the complaint's first event: one read per complaint."""
    complaint = None
    cursor = (
        EventDocument._get_collection()
        .find({"complaint_id": complaint_id, "seq": {"$lte": max(seqs)}})
        .sort("seq", 1)
    )
    for doc in cursor:
        complaint = apply(complaint, eventstore.event_from_mongo(doc), ctx.deadlines)
        if doc["seq"] in seqs:
            yield doc, eventstore.complaint_to_mongo(complaint)


def _delivery(sub: Mapping, event: Mapping, payload: dict, now: datetime) -> dict:
    return {
        "_id": str(ObjectId()),
        "subscription_id": sub["_id"],
        "complaint_id": event["complaint_id"],
        "seq": event["seq"],
        "type": event["type"],
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "last_status_code": None,
        "last_error": None,
        "created_at": now,
        "delivered_at": None,
    }


def claim_due(ctx: Context, limit: int = 50, lease: timedelta = LEASE) -> list[dict]:
    """Leases the deliveries that may go out now: the head of each (subscription, complaint)."""
    now = ctx.clock()
    queue = WebhookDelivery._get_collection()
    heads = queue.aggregate(
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
    claimed = []
    for head in heads:
        if head["lease_until"] is not None and _aware(head["lease_until"]) > now:
            continue  # another deliverer is sending it
        # The lease is taken by a conditional update by `_id` (one deliverer's matches), then
        # read: findAndModify would read the whole collection on SecantusDB.
        taken = queue.update_one(
            {"_id": head["head"], "status": PENDING, "lease_until": head["lease_until"]},
            {"$set": {"lease_until": now + lease}},
        )
        if taken.modified_count == 1:
            claimed.append(queue.find_one({"_id": head["head"]}))
        if len(claimed) >= limit:
            break
    return claimed


def record_attempt(
    ctx: Context, delivery: Mapping, status_code: int | None, error: str | None
) -> str:
    """Notes how a send went; returns the delivery's new status."""
    now = ctx.clock()
    attempts = delivery["attempts"] + 1
    update: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
        "lease_until": None,
    }
    if error is None and status_code is not None and 200 <= status_code < 300:
        update |= {"status": DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif now - _aware(delivery["created_at"]) >= rules.RETRY_FOR:
        update |= {"status": DEAD, "next_attempt_at": None}
    else:
        update |= {"status": PENDING, "next_attempt_at": now + rules.next_wait(attempts)}
    WebhookDelivery._get_collection().update_one(
        {"_id": delivery["_id"], "lease_until": delivery["lease_until"]}, {"$set": update}
    )
    return update["status"]


def subscription_by_id(subscription_id: str) -> dict | None:
    return WebhookSubscription._get_collection().find_one({"_id": subscription_id})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def queue_figures(now: datetime) -> dict[str, Any]:
    """What the metrics show about the delivery queue."""
    queue = WebhookDelivery._get_collection()
    # One count per status, on the `queue` index's leading field: MongoDB counts the index keys.
    # A `$group` over the collection read every delivery kept (30 days of them) at each scrape.
    by_status = {status: queue.count_documents({"status": status}) for status in STATUSES}
    oldest = queue.find_one({"status": PENDING}, {"created_at": 1}, sort=[("created_at", 1)])
    age = (now - _aware(oldest["created_at"])).total_seconds() if oldest else 0.0
    failing = queue.count_documents({"status": PENDING, "attempts": {"$gt": 0}})
    outbox = EventDocument._get_collection().count_documents({eventstore.FANOUT: {"$gte": EPOCH}})
    return {
        "by_status": by_status,
        "oldest_pending_seconds": max(age, 0.0),
        "failing": failing,
        "outbox": outbox,
    }
