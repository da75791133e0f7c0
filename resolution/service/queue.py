"""The care queue: escalated complaints, the one waiting longest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.actors import Actor, Role
from ..domain.errors import Forbidden, Invalid, NotAllowed, NotFound, Stale
from ..domain.projection import CARE_STATES, Complaint
from ..store import listings
from .complaints import act
from .unit_of_work import Context, Recorded

PER_PAGE = 20


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, how many pages there are, and the channels it holds.

    `total` stops at `listings.COUNT_CAP` (`more`: the queue holds more than that), and so
    do the pages: a queue that long is worked through its filters.
    """

    items: list[Complaint]
    total: int
    page: int
    pages: int
    channels: list[str]
    more: bool = False


def care_queue(
    ctx: Context,
    actor: Actor,
    *,
    state: str | None = None,
    channel: str | None = None,
    reason: str | None = None,
    assigned_to: str | None = None,
    overdue: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> QueuePage:
    """Complaints awaiting care or in mediation, oldest escalation first.

    Pages are numbered (an agent jumps between them and sees how many there are), over the
    queue's oldest thousand at most: counting further would read the whole queue (issue #25).
    """
    if not actor.is_staff:
        raise Forbidden("Only the care team and auditors can read the care queue.")
    if state is not None and state not in CARE_STATES:
        raise Invalid("The queue holds complaints awaiting care or in mediation.", {"state": []})
    total, more, page, items, channels = listings.care_queue_page(
        [state] if state else list(CARE_STATES),
        care_overdue_at=ctx.clock() if overdue else None,
        channel=channel,
        reason=reason,
        assigned_to=assigned_to,
        page=page,
        per_page=per_page,
        now=ctx.clock(),
    )
    return QueuePage(items, total, page, max(1, -(-total // per_page)), channels, more)


@dataclass(frozen=True)
class MyCases:
    """An agent's own cases, the most urgent first, and whether it holds more than shown."""

    items: list[Complaint]
    more: bool


MY_CASES_SHOWN = 100


def my_cases(ctx: Context, actor: Actor, limit: int = MY_CASES_SHOWN) -> MyCases:
    """The cases in mediation assigned to `actor`, the nearest care deadline first (an overdue
    one before all others): what the agent must reply to or decide, and by when.

    Urgency is care's own clock (`care_due_at`, the nearer of the first reply and the
    decision); a party's `due_at` for requested evidence is shown, but passing it breaches
    nothing: it lets the agent decide.
    """
    if actor.role is not Role.CARE:
        raise Forbidden("Only a care agent has cases of its own.")
    items = listings.assigned_cases(actor.id, limit + 1)
    return MyCases(items[:limit], len(items) > limit)


def take_next(ctx: Context, actor: Actor, candidates: int = 20) -> Recorded | None:
    """The most urgent case nobody has taken (the nearest care deadline), assigned to `actor`
    at the version it was read: two agents pressing "take the next case" at once get two
    different cases (the loser of a race moves on to the next one). None when the queue has
    nothing the agent may take (a review of its own decision goes to someone else)."""
    if actor.role is not Role.CARE:
        raise Forbidden("Only the care team takes cases.")
    for complaint_id, version in listings.most_urgent_unassigned(candidates):
        try:
            return act(ctx, actor, complaint_id, "assign", {}, if_match=version)
        except (Stale, NotAllowed, NotFound):
            continue  # taken by someone else meanwhile, or not this agent's to take
    return None
