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

from ..domain import commands
from ..domain.actors import SYSTEM
from ..domain.errors import Conflict, NotAllowed, NotFound
from ..domain.lifecycle import TIMED_STATES, timeout_action
from ..domain.settlements import REQUESTED_EVENT
from ..store import listings
from . import retention, settlements
from .complaints import act
from .unit_of_work import Context, Recorded, change

REMINDER = "deadline_approaching"
RESUME = "resume_clock"
PURGED = "evidence_purged"


def due_complaints(now: datetime, limit: int | None = None) -> list[tuple[str, str]]:
    """(id, state) of complaints past their deadline at `now`, oldest deadline first."""
    return listings.due_complaints(TIMED_STATES, now, limit)


def due_reminders(now: datetime, limit: int | None = None) -> list[str]:
    """Ids of complaints whose turn-holder is to be reminded at `now`, oldest first."""
    return listings.due_reminders(now, limit)


def remind(ctx: Context, complaint_id: str) -> Recorded:
    """Records `deadline_approaching` for the complaint's turn-holder, if a reminder is due.

    Raises `Conflict` when none is due (sent already, by another sweeper too).
    """
    return change(ctx, SYSTEM, complaint_id, commands.remind)


def sweep(ctx: Context, now: datetime | None = None, limit: int | None = None) -> Counter[str]:
    """One pass: every paused clock whose `until` came runs again (`resume_clock`), every
    complaint due as of `now` (default: the clock) is moved once, then
    every turn-holder whose deadline is near is reminded once (`deadline_approaching`), then
    every settlement held for a review window that closed unused is requested
    (`settlement_requested`), then every evidence file whose retention ran out is destroyed
    (`evidence_purged`), once complaints closed before retention existed have their closing
    time (`retention.fill_closing_times`).

    Returns how many were moved, by action, reminded and requested (by event type).
    """
    now = now or ctx.clock()
    at_now = replace(ctx, clock=lambda: now)
    moved: Counter[str] = Counter()
    # First the clocks care paused whose `until` came: their deadlines run again (and may be
    # past by now, when the sweeper was down: the moves below then take them).
    for complaint_id in listings.paused_until_passed(now, limit):
        try:
            act(at_now, SYSTEM, complaint_id, RESUME, {})
        except (NotAllowed, NotFound):
            continue  # another sweeper or care resumed it first, or a party moved it
        moved[RESUME] += 1
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
    released = settlements.release_due(at_now, now, limit)
    if released:
        moved[REQUESTED_EVENT] += released
    # Complaints closed before retention existed get their closing time first (a batch
    # a pass), so their files are purged like any others'.
    retention.fill_closing_times(at_now, min(limit or retention.FILL_BATCH, retention.FILL_BATCH))
    purged = retention.purge_expired(at_now, now, limit)
    if purged:
        moved[PURGED] += purged
    return moved
