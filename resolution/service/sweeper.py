"""The sweeper: moves complaints whose turn-holder stayed silent past `due_at`, and reminds
turn-holders whose deadline is near (`deadline_approaching`).

Each complaint is moved by the same `act` as any other action, in its own transaction, by
the `system` actor: a complaint is moved at most once however many sweepers run (the loser of
a race finds the machine refusing in the new state), and a pass that dies halfway loses
nothing the next pass will not pick up. Reminders go through the same transaction: the loser
re-reads the complaint, finds the reminder sent, and is refused.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from dataclasses import replace
from datetime import datetime

from pymongo.cursor import Cursor

from ..domain import commands
from ..domain.actors import SYSTEM
from ..domain.errors import Conflict, NotAllowed, NotFound
from ..domain.lifecycle import TIMED_STATES, timeout_action
from ..observability import SWEEP_MOVES, SWEEPS
from ..store.documents import EPOCH, ComplaintDocument
from .complaints import Context, Recorded, _change, act

REMINDER = "deadline_approaching"


def due_complaints(now: datetime, limit: int | None = None) -> list[tuple[str, str]]:
    """(id, state) of complaints past their deadline, oldest deadline first, via the `due` index.

    One read per timed state (`state`, then `due_at` in range: the index's keys): with
    `state $in [...]` SecantusDB reads every complaint in those states (store/documents.py).
    """
    per_state = []
    for state in TIMED_STATES:
        query = (
            ComplaintDocument.objects(state=state, due_at__gte=EPOCH, due_at__lte=now)
            .only("id", "due_at")
            .order_by("due_at")
        )
        if limit:
            query = query.limit(limit)
        per_state.append([(doc["due_at"], doc["_id"], state) for doc in query.as_pymongo()])
    due = heapq.merge(*per_state)
    return [(id_, state) for _, id_, state in itertools.islice(due, limit)]


def reminders_query(now: datetime) -> Cursor:
    """Complaints whose turn-holder is to be reminded now, oldest first, via `remind`.

    A deadline already passed is not approaching: those are the timeouts' (`due_complaints`).
    """
    # Raw, to keep `remind_at` first: SecantusDB reads by the first clause an index serves.
    query = {"remind_at": {"$gte": EPOCH, "$lte": now}, "due_at": {"$gt": now}}
    return ComplaintDocument._get_collection().find(query, {"_id": 1}).sort("remind_at", 1)


def due_reminders(now: datetime, limit: int | None = None) -> list[str]:
    """Ids of complaints whose turn-holder is to be reminded now (`reminders_query`)."""
    query = reminders_query(now)
    if limit:
        query = query.limit(limit)
    return [doc["_id"] for doc in query]


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
