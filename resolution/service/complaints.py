"""The complaint use cases: open, act, message, read, list, rebuild, check the chains."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..domain import commands, settlements
from ..domain.access import can_see, visibility_filter
from ..domain.actors import Actor
from ..domain.errors import Conflict, Forbidden, Invalid, NotFound
from ..domain.events import Event, first_broken_link
from ..domain.projection import Complaint, apply, replay
from ..store import counters, eventstore, listings
from . import orders, views
from .unit_of_work import Context, Idempotency, Recorded, change, open_with

MAX_PAGE = 100


def open_complaint(
    ctx: Context, actor: Actor, request: Mapping[str, Any], idem: Idempotency | None = None
) -> Recorded:
    """A buyer opens a complaint on an order the marketplace registered, naming it
    (`order`: channel and id); one complaint not closed per order.

    The order is read in the transaction and snapshotted into the `open` event: the
    complaint's history never changes when the order does (its changes come as events).
    """
    complaint_id = eventstore.new_id()
    order = request["order"]

    def decide(session) -> Event:
        registered = orders.order_to_complain_about(actor, order["channel"], order["id"], session)
        return commands.open_complaint(
            complaint_id,
            actor,
            {**request, "order": registered},
            ctx.clock(),
            window=ctx.windows.of(order["channel"]),
            earlier=orders.settled_earlier(order["channel"], order["id"], session),
        )

    return open_with(ctx, actor, decide, idem, lambda: _order_taken(actor, order))


def _order_taken(actor: Actor, order: Mapping[str, Any]) -> Conflict:
    """Why a second complaint on the order is refused, naming the first one to those who may
    see it (read only now: the unique index, not a read, refused the second)."""
    existing_id = eventstore.open_complaint_on(order["channel"], order["id"])
    existing = eventstore.load(existing_id) if existing_id else None
    if existing is not None and can_see(actor, existing):
        return Conflict(
            f"Order {order['id']} already has an open complaint ({existing_id}).",
            complaint_id=existing_id,
        )
    # None any more, or not the caller's to see: say that it exists, never which one it is.
    return Conflict(f"Order {order['id']} already has an open complaint.")


def act(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    action: str,
    request: Mapping[str, Any],
    *,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Takes a lifecycle action (propose, accept, decide …) on a complaint the actor can see.

    An action that closes the complaint records its settlement, and in the same transaction
    asks the payment system to move the money (`settlement_requested`) unless it is held for
    the review window of a care decision, or there is nothing to move.
    """

    def decide(complaint: Complaint, now: datetime) -> list[Event]:
        event = commands.act(
            complaint,
            actor,
            action,
            request,
            now,
            ctx.deadlines,
            settlement_id=eventstore.new_id(),
        )
        closed = apply(complaint, event, ctx.deadlines)
        if settlements.due(closed.settlement, event.at):
            return [event, commands.request_settlement(closed, event.at)]
        return [event]

    return change(ctx, actor, complaint_id, decide, if_match, idem)


def post_message(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    body: str,
    *,
    evidence_ids: Sequence[str] = (),
    answers: int | None = None,
    to: str | None = None,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Adds a message to the complaint's thread (it may point at evidence, answer a request;
    care may write `to` one party only)."""
    return change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.message(
            c, actor, body, now, evidence_ids=evidence_ids, answers=answers, to=to
        ),
        if_match,
        idem,
    )


def withdraw_evidence_request(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    request_id: int,
    reason: str,
    *,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Care withdraws an evidence request it no longer needs, with a reason."""
    return change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.withdraw_evidence_request(c, actor, request_id, reason, now),
        if_match,
        idem,
    )


def add_note(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    body: str,
    *,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Care's own note on the case: for care and auditors only."""
    return change(
        ctx, actor, complaint_id, lambda c, now: commands.note(c, actor, body, now), if_match, idem
    )


def get_complaint(ctx: Context, actor: Actor, complaint_id: str) -> Complaint:
    """The complaint, if the actor may see it; otherwise it does not exist for them."""
    return _seen(actor, complaint_id, eventstore.load(complaint_id))


def _seen(actor: Actor, complaint_id: str, complaint: Complaint | None) -> Complaint:
    # One answer for "no such complaint" and "not yours to see": nothing tells them apart.
    if complaint is None or not can_see(actor, complaint):
        raise NotFound(f"There is no complaint {complaint_id}.")
    return complaint


def list_complaints(
    ctx: Context,
    actor: Actor,
    *,
    state: str | None = None,
    overdue: bool = False,
    order_id: str | None = None,
    channel: str | None = None,
    shop_id: str | None = None,
    updated_since: datetime | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> tuple[list[Complaint], str | None]:
    """The complaints the actor may see, newest first, a page at a time.

    `overdue` keeps those whose care SLA is breached now (care and auditors only); the other
    filters narrow the list. With `updated_since` it is a change feed instead: those changed
    since then, the least recently changed first (a complaint that changes while the pages
    are read comes again, later).
    """
    if overdue and not actor.is_staff:
        raise Forbidden("Only the care team and auditors can list care SLA breaches.")
    limit = max(1, min(limit, MAX_PAGE))
    narrowed = {"state": state, "order_id": order_id, "channel": channel, "shop_id": shop_id}
    if updated_since is not None:
        found = listings.changed_since(
            visibility_filter(actor),
            updated_since,
            after=_feed_position(cursor),
            limit=limit + 1,
            **narrowed,
        )
        page = found[:limit]
        more = len(found) > limit
        return page, (_feed_cursor(page[-1]) if more else None)
    if cursor is not None and cursor.startswith(FEED_CURSOR):
        raise Invalid("This cursor is of a change feed: send `updated_since` with it.", {})
    if listings.unnarrowed(visibility_filter(actor), overdue=overdue, **narrowed):
        # Every complaint: windows of `created_at`, never a read of them all (newest_page).
        found = listings.newest_page(
            ctx.clock(), before=_position(cursor, NEWEST_CURSOR), limit=limit + 1
        )
        page = found[:limit]
        more = len(found) > limit
        return page, (_cursor(NEWEST_CURSOR, page[-1].created_at, page[-1].id) if more else None)
    if cursor is not None and cursor.startswith(NEWEST_CURSOR):
        raise Invalid(
            "This cursor is of the listing of every complaint, not of a filtered one.",
            {"cursor": ["not a cursor of this listing"]},
        )
    found = listings.complaints_page(
        visibility_filter(actor),
        care_overdue_at=ctx.clock() if overdue else None,
        before=cursor,
        limit=limit + 1,
        **narrowed,
    )
    page = found[:limit]
    return page, (page[-1].id if len(found) > limit else None)


FEED_CURSOR = "u"  # a change feed's cursor: u<updated_at in ms since the epoch>.<id>
# The listing of every complaint's cursor: n<created_at in ms since the epoch>.<id>
NEWEST_CURSOR = "n"


def _cursor(kind: str, at: datetime, complaint_id: str) -> str:
    return f"{kind}{int(at.timestamp() * 1000)}.{complaint_id}"


def _feed_cursor(complaint: Complaint) -> str:
    return _cursor(FEED_CURSOR, complaint.updated_at, complaint.id)


def _position(cursor: str | None, kind: str) -> tuple[datetime, str] | None:
    """The (instant, id) a cursor of `kind` stands for; a cursor of another listing, or one
    naming an instant no complaint can have, is refused (never read as "from the start")."""
    if cursor is None:
        return None
    if not cursor.startswith(kind):
        raise Invalid(
            "This cursor is of another listing, not of this one.",
            {"cursor": ["not a cursor of this listing"]},
        )
    millis, _, complaint_id = cursor[1:].partition(".")
    try:
        at = datetime.fromtimestamp(int(millis) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        at = None
    if at is None or not complaint_id or at >= listings.FOREVER:
        raise Invalid("This cursor is not one a page gave.", {"cursor": ["not a cursor"]})
    return at, complaint_id


def _feed_position(cursor: str | None) -> tuple[datetime, str] | None:
    return _position(cursor, FEED_CURSOR)


def list_events(
    ctx: Context, actor: Actor, complaint_id: str, *, after: int = 0, limit: int = MAX_PAGE
) -> tuple[list[dict], str | None]:
    """A complaint's event log in `seq` order, a page at a time, as the actor may see it."""
    limit = max(1, min(limit, MAX_PAGE))
    # The projection (who may see it, what its evidence is) and the page, in one read.
    stored, events = eventstore.load_with_events(complaint_id, after=after, limit=limit + 1)
    complaint = _seen(actor, complaint_id, stored)
    evidence = views.evidence_by_id(complaint)
    page = [views.event_as_seen(event, actor, evidence) for event in events[:limit]]
    return page, (str(page[-1]["seq"]) if len(events) > limit else None)


def case_record(ctx: Context, actor: Actor, complaint_id: str) -> tuple[Complaint, list[dict]]:
    """The complaint and its whole event log as `actor` may see them: a party's own record."""
    complaint = get_complaint(ctx, actor, complaint_id)
    evidence = views.evidence_by_id(complaint)
    events = eventstore.events_of(complaint_id, limit=complaint.version)
    return complaint, [views.event_as_seen(event, actor, evidence) for event in events]


def rebuild_all(ctx: Context, batch_size: int = 500) -> int:
    """Recomputes every projection from its events alone; returns how many were rebuilt.

    Up to `batch_size` rebuilt projections are held, and written in one bulk write; then the
    states' counters are recounted (a rebuilt projection may stand in another state, and
    these writes are not the unit of work's, which moves the counters).
    """
    count = 0
    rebuilt: list[Complaint] = []
    for events in eventstore.complaint_logs():
        rebuilt.append(replay(events, ctx.deadlines))
        count += 1
        if len(rebuilt) >= batch_size:
            eventstore.replace_projections(rebuilt)
            rebuilt.clear()
    eventstore.replace_projections(rebuilt)
    recount()
    return count


def recount() -> dict[str, int]:
    """Sets the states' counters (what the metrics show) from a count of the complaints in
    each state: `resolution recount`, and after a rebuild. Safe beside writers (each state's
    count commits with its counter, in one transaction); it reads every complaint once."""
    return counters.recount()


def check_chains() -> Iterator[tuple[str, int | None]]:
    """(complaint id, the `seq` of its first event whose hash or link is wrong, or None) for
    every complaint in the database: `resolution check-chains`."""
    for events in eventstore.complaint_logs():
        yield events[0].complaint_id, first_broken_link(events)
