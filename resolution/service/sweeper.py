"""The sweeper: moves complaints whose turn-holder stayed silent past `due_at`.

Each complaint is moved by the same `act` as any other action, in its own transaction, by
the `system` actor: a complaint is moved at most once however many sweepers run (the loser of
a race finds the machine refusing in the new state), and a pass that dies halfway loses
nothing the next pass will not pick up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from ..domain.actors import SYSTEM
from ..domain.errors import NotAllowed, NotFound
from ..domain.lifecycle import TIMED_STATES, timeout_action
from ..store.documents import ComplaintDocument
from .complaints import Context, act


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


def sweep(ctx: Context, now: datetime | None = None, limit: int | None = None) -> Counter[str]:
    """One pass: every complaint due as of `now` (default: the clock) is moved once.

    Returns how many were moved, by action.
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
    return moved
