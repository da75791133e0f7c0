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

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain import webhooks as rules
from ..domain.actors import Actor, Role
from ..domain.errors import BadCursor, Forbidden, NotFound
from ..domain.events import Event
from ..domain.projection import apply
from ..store import eventstore
from ..store import webhooks as store
from . import egress, views
from .unit_of_work import Context, Idempotency, check_replay, write

LEASE = timedelta(seconds=60)


def _owner(actor: Actor) -> str:
    if actor.role is not Role.INTEGRATION:
        raise Forbidden("Webhooks are managed with an integration token.")
    return actor.id


def subscribe(
    ctx: Context, actor: Actor, request: Mapping[str, Any], idem: Idempotency | None = None
) -> tuple[dict, str]:
    """A new subscription and its secret (shown this once)."""
    owner = _owner(actor)
    check_replay(idem, actor)  # before resolving the host again
    # Refused here what can be told now; the deliverer checks again before every attempt,
    # since what a name resolves to can change.
    egress.checked_addresses(
        request["url"], allow_private=ctx.webhooks_allow_private, resolve=ctx.webhooks_resolver
    )
    secret = rules.new_secret()
    doc = {
        "_id": eventstore.new_id(),
        "owner": owner,
        "url": request["url"],
        "types": sorted(set(request.get("types") or ())),
        "channel": request.get("channel"),
        "secrets": [{"value": secret, "expires_at": None}],
        "created_at": ctx.clock(),
    }

    def work(session):
        store.add_subscription(doc, session)
        return doc, secret

    return write(ctx, actor, idem, work)


def subscriptions(ctx: Context, actor: Actor) -> list[dict]:
    return store.subscriptions_of(_owner(actor))


def subscription(ctx: Context, actor: Actor, subscription_id: str) -> dict:
    """The caller's subscription; another integrator's does not exist for it."""
    doc = store.subscription(subscription_id, _owner(actor))
    if doc is None:
        raise _unknown(subscription_id)
    return doc


def _unknown(subscription_id: str) -> NotFound:
    # The same for an unknown subscription and another integrator's.
    return NotFound(f"There is no webhook {subscription_id}.")


def unsubscribe(ctx: Context, actor: Actor, subscription_id: str) -> None:
    """Stops deliveries: the subscription and its pending deliveries go."""
    subscription(ctx, actor, subscription_id)
    store.remove_subscription(subscription_id)


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
        updated = store.set_secrets(subscription_id, secrets, session)
        if updated is None:
            raise _unknown(subscription_id)
        return updated, secret

    return write(ctx, actor, idem, work)


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

    A few round trips, about the page read (store.webhooks). A cursor that names none of
    the subscription's deliveries (another listing's, tampered, or one since deleted) is
    refused, never read as the start.
    """
    try:
        docs = store.deliveries_page(
            subscription_id,
            _owner(actor),
            status=status,
            before=cursor,
            limit=limit + 1,
            now=ctx.clock(),
        )
    except store.UnknownCursor:
        raise BadCursor(
            "This cursor is not one this webhook's deliveries gave (another webhook's, edited, "
            "or of a delivery since removed): start again from the first page, without `cursor`."
        ) from None
    if docs is None:
        raise _unknown(subscription_id)
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

    def work(session):
        requeued = store.requeue(subscription_id, delivery_id, ctx.clock(), session)
        if requeued is None:
            raise NotFound(f"There is no delivery {delivery_id} of webhook {subscription_id}.")
        return requeued

    return write(ctx, actor, idem, work)


# --- the deliverer's side -----------------------------------------------------------------


def fan_out(ctx: Context, limit: int = 500) -> int:
    """Turns events still marked for fan-out into deliveries; returns how many it handled.

    Each subscription receives the event and the complaint as that event left it (replayed
    from its events), as its integrator may see them (`views.webhook_payload`).
    """
    marked = store.marked_events(limit)
    if not marked:
        return 0
    subscribers = store.all_subscriptions()
    now = ctx.clock()
    for complaint_id, pending in _by_complaint(marked).items():
        for event, complaint in _as_left_by(ctx, complaint_id, pending):
            for sub in subscribers:
                if _aware(sub["created_at"]) > event.at:
                    continue  # subscribed after the event happened
                if not rules.wants(sub, event.type, complaint.channel or ""):
                    continue
                payload = views.webhook_payload(sub["owner"], event, complaint)
                store.add_delivery(_delivery(sub, event, payload, now))
            store.unmark(pending[event.seq])
    return len(marked)


def _by_complaint(marked: list[dict]) -> dict[str, dict[int, Any]]:
    """The marked events by complaint: {complaint id: {seq: event's _id}}."""
    pending: dict[str, dict[int, Any]] = {}
    for doc in marked:
        pending.setdefault(doc["complaint_id"], {})[doc["seq"]] = doc["_id"]
    return pending


def _as_left_by(ctx: Context, complaint_id: str, seqs: Mapping[int, Any]):
    """Each marked event of one complaint with the complaint as it left it, replayed from the
    complaint's first event: one read per complaint."""
    complaint = None
    for event in eventstore.events_of(complaint_id, upto=max(seqs)):
        complaint = apply(complaint, event, ctx.deadlines)
        if event.seq in seqs:
            yield event, complaint


def _delivery(sub: Mapping, event: Event, payload: dict, now: datetime) -> dict:
    return {
        "_id": eventstore.new_id(),
        "subscription_id": sub["_id"],
        "complaint_id": event.complaint_id,
        "seq": event.seq,
        "type": event.type,
        "payload": payload,
        "status": rules.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "last_status_code": None,
        "last_error": None,
        "last_response": None,
        "created_at": now,
        "delivered_at": None,
    }


def claim_due(ctx: Context, limit: int = 50, lease: timedelta = LEASE) -> list[dict]:
    """Leases the deliveries that may go out now: the head of each (subscription, complaint)."""
    now = ctx.clock()
    claimed = []
    # Twice as many as wanted: another deliverer may take some of them first.
    for head in store.due_heads(now, 2 * limit):
        taken = store.lease(head["head"], head["lease_until"], now + lease)
        if taken is not None:
            claimed.append(taken)
        if len(claimed) >= limit:
            break
    return claimed


def record_attempt(
    ctx: Context,
    delivery: Mapping,
    status_code: int | None,
    error: str | None,
    response: str | None = None,
) -> str:
    """Notes how a send went (with the start of the receiver's answer, for the listing);
    returns the delivery's new status."""
    now = ctx.clock()
    attempts = delivery["attempts"] + 1
    update: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
        "last_response": response,
        "lease_until": None,
    }
    if error is None and status_code is not None and 200 <= status_code < 300:
        update |= {"status": rules.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif now - _aware(delivery["created_at"]) >= rules.RETRY_FOR:
        update |= {"status": rules.DEAD, "next_attempt_at": None}
    else:
        update |= {"status": rules.PENDING, "next_attempt_at": now + rules.next_wait(attempts)}
    store.update_delivery(delivery["_id"], delivery["lease_until"], update)
    return update["status"]


def subscription_by_id(subscription_id: str) -> dict | None:
    """Any subscription, for the deliverer (not a caller's: no owner to check)."""
    return store.subscription(subscription_id)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
