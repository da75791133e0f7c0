"""The care queue: escalated complaints, the one waiting longest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.actors import Actor
from ..domain.errors import Forbidden, Invalid
from ..domain.projection import CARE_STATES, Complaint
from ..store import listings
from .unit_of_work import Context

PER_PAGE = 20


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, how many pages there are, and the channels it holds."""

    items: list[Complaint]
    total: int
    page: int
    pages: int
    channels: list[str]


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

    Pages are numbered (an agent jumps between them and sees how many there are); the queue
    is short-lived work, so counting it costs little.
    """
    if not actor.is_staff:
        raise Forbidden("Only the care team and auditors can read the care queue.")
    if state is not None and state not in CARE_STATES:
        raise Invalid("The queue holds complaints awaiting care or in mediation.", {"state": []})
    total, page, items, channels = listings.care_queue_page(
        [state] if state else list(CARE_STATES),
        care_overdue_at=ctx.clock() if overdue else None,
        channel=channel,
        reason=reason,
        assigned_to=assigned_to,
        page=page,
        per_page=per_page,
    )
    return QueuePage(items, total, page, max(1, -(-total // per_page)), channels)
