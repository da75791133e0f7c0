"""The complaint use cases: open, act, message, read, list, rebuild, check the chains."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..domain import commands, settlements
from ..domain.access import can_see, visibility_filter
from ..domain.actors import Actor
from ..domain.errors import BadCursor, Conflict, Forbidden, NotFound
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
    complaint_id = eventstore.new_complaint_id()
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
    """The complaints the actor may see, newest first (by opening time, then id), a page at a
    time.

    `overdue` keeps those whose care SLA is breached now (care and auditors only), the most
    recently breached first; the other filters narrow the list. With `updated_since` it is a
    change feed instead: those changed since then, the least recently changed first (a
    complaint that changes while the pages are read comes again, later). Every listing reads
    windows of its order's instant (`listings.window_page`), never its whole range. A cursor
    is good for the listing that gave it only (`_Cursors`): any other is `BadCursor`.
    """
    if overdue and not actor.is_staff:
        raise Forbidden("Only the care team and auditors can list care SLA breaches.")
    limit = max(1, min(limit, MAX_PAGE))
    narrowed = {"state": state, "order_id": order_id, "channel": channel, "shop_id": shop_id}
    seen = visibility_filter(actor)
    now = ctx.clock()
    if updated_since is not None:
        kind, key = FEED_CURSOR, "updated_at"
    elif overdue:
        kind, key = OVERDUE_CURSOR, "care_due_at"
    else:
        kind, key = NEWEST_CURSOR, "created_at"
    cursors = _Cursors(kind, seen, narrowed)
    position = cursors.position(cursor)
    if updated_since is not None:
        found = listings.changed_since(
            seen, updated_since, now, after=position, limit=limit + 1, **narrowed
        )
    else:
        found = listings.complaints_page(
            seen, now, overdue=overdue, before=position, limit=limit + 1, **narrowed
        )
    page = found[:limit]
    more = len(found) > limit
    return page, (cursors.of(getattr(page[-1], key), page[-1].id) if more else None)


# Each listing's cursor starts with its kind: the listing newest first (`n`: by opening
# time), care's breaches (`o`: by care deadline), the change feed (`u`: by last change).
NEWEST_CURSOR = "n"
OVERDUE_CURSOR = "o"
FEED_CURSOR = "u"
_CURSOR_CHECK = 6  # bytes of the check that ends a cursor (12 hex digits)
_CURSOR_LENGTH = 200  # no cursor a page gives is longer (an id is at most 64 characters)


class _Cursors:
    """The cursors of one listing: `<kind><instant in ms since the epoch>.<id>.<check>`,
    where the check is a BLAKE2b digest of the rest and of the listing it was made for (the
    caller's visibility and every filter but `updated_since`, which a feed's cursor passes).

    A cursor of another listing (another kind, filter or caller), one edited by hand, or one
    of an older form (a bare id, a check missing) does not check out: `BadCursor`, never a
    read from the start. The check keeps honest clients from a mistake; it is not a secret
    (the position it guards is only a place in the caller's own listing)."""

    def __init__(self, kind: str, seen: Mapping[str, Any], narrowed: Mapping[str, Any]) -> None:
        self.kind = kind
        listing = {"seen": dict(seen), **{k: v for k, v in narrowed.items() if v is not None}}
        self._listing = json.dumps(listing, sort_keys=True, default=list)

    def _check(self, millis: int, complaint_id: str) -> str:
        text = f"{self.kind}{millis}.{complaint_id}\n{self._listing}"
        return hashlib.blake2b(text.encode(), digest_size=_CURSOR_CHECK).hexdigest()

    def of(self, at: datetime, complaint_id: str) -> str:
        millis = int(at.timestamp() * 1000)
        return f"{self.kind}{millis}.{complaint_id}.{self._check(millis, complaint_id)}"

    def position(self, cursor: str | None) -> tuple[datetime, str] | None:
        """The (instant, id) the cursor stands for; None for the first page."""
        if cursor is None:
            return None
        refused = BadCursor(
            "This cursor is not one this listing gave (another listing's, edited, or of an "
            "older form): start again from the first page, without `cursor`."
        )
        if len(cursor) > _CURSOR_LENGTH or not cursor.startswith(self.kind):
            raise refused
        millis_text, _, rest = cursor[len(self.kind) :].partition(".")
        complaint_id, _, check = rest.rpartition(".")
        if not (millis_text.isdigit() and millis_text.isascii() and complaint_id):
            raise refused
        millis = int(millis_text)
        if not hmac.compare_digest(check, self._check(millis, complaint_id)):
            raise refused
        try:
            at = datetime.fromtimestamp(millis / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            raise refused from None
        if at >= listings.FOREVER:
            raise refused
        return at, complaint_id


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
