"""The sweeper: moves complaints whose turn-holder stayed silent past `due_at`, and reminds
turn-holders whose deadline is near (`deadline_approaching`).

Each complaint is moved by the same `act` as any other action, in its own transaction, by
the `system` actor: a complaint is moved at most once however many sweepers run (the loser of
a race finds the machine refusing in the new state), and a pass that dies halfway loses
nothing the next pass will not pick up. Reminders go through the same transaction: the loser
re-reads the complaint, finds the reminder sent, and is refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from mongoengine.queryset import QuerySet

from ..domain import commands
from ..domain.actors import SYSTEM
from ..domain.errors import Conflict, NotAllowed, NotFound
from ..domain.lifecycle import TIMED_STATES, timeout_action
from ..observability import SWEEP_MOVES, SWEEPS
from ..store.documents import ComplaintDocument
from .complaints import Context, Recorded, _change, act

REMINDER = "deadline_approaching"


def due_complaints(now: datetime, limit: int | None = None) -> list[tuple[str, str]]:
    """(id, state) of complaints past their deadline, oldest deadline first, via the `due` index."""
    query = (
        ComplaintDocument.objects(state__in=TIMED_STATES, due_at__lte=now)
        .only("id", "state")
        .order_by("due_at")
        # SecantusDB's planner scans the collection for `$in` on an index prefix; MongoDB
        # picks this index by itself. Naming it keeps a pass at ~1 document read per due one.
        .hint("due")
    )
    if limit:
        query = query.limit(limit)
    return [(doc["_id"], doc["state"]) for doc in query.as_pymongo()]


def reminders_query(now: datetime) -> QuerySet:
    """Complaints whose turn-holder is to be reminded now, oldest first, via `remind`.

    A deadline already passed is not approaching: those are the timeouts' (`due_complaints`).
    """
    return (
        ComplaintDocument.objects(remind_at__lte=now, due_at__gt=now)
        .only("id")
        .order_by("remind_at")
        # Without the hint SecantusDB scans the collection; with it, it reads the keys.
        .hint("remind")
    )


def due_reminders(now: datetime, limit: int | None = None) -> list[str]:
    """Ids of complaints whose turn-holder is to be reminded now (`reminders_query`)."""
    query = reminders_query(now)
    if limit:
        query = query.limit(limit)
    return [doc["_id"] for doc in query.as_pymongo()]


def remind(ctx: Context, complaint_id: str) -> Recorded:
    """Records `deadline_approaching` for the complaint's turn-holder, if a reminder is due.

    Raises `Conflict` when none is due (sent already, by another sweeper too).
    """
    return _change(ctx, SYSTEM, complaint_id, commands.remind, None, None)


def sweep(ctx: Context, now: datetime | None = None, limit: int | None = None) -> Counter[str]:
    """One pass: every complaint due as of `now` (default: the clock) is moved once, then
    every turn-holder whose deadline is near is reminded once (`deadline_approaching`).

    Returns how many were moved, by action, and reminded (`deadline_approaching`).
    """
    now = now or ctx.clock()
    at_now = replace(ctx, clock=lambda: now)
    moved: Counter[str] = Counter()
    for complaint_id, state in due_complaints(now, limit):
        action = timeout_action(state)
        try:
            act(at_now, SYSTEM, complaint_id, action, {})
        except (NotAllowed, NotFound):
            continue  # another sweeper or a party moved it first
        moved[action] += 1
    # After the moves: a complaint just moved has a new turn, and no stale reminder.
    for complaint_id in due_reminders(now, limit):
        try:
            remind(at_now, complaint_id)
        except (Conflict, NotFound):
            continue  # another sweeper reminded it first, or a party moved it
        moved[REMINDER] += 1
    SWEEPS.inc()
    for action, count in moved.items():
        SWEEP_MOVES.labels(action).inc(count)
    return moved
