"""The care queue: escalated complaints, the one waiting longest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.actors import Actor, Role
from ..domain.errors import Forbidden, Invalid
from ..domain.projection import CARE_STATES, Complaint
from ..store import eventstore
from ..store.documents import EPOCH, ComplaintDocument
from .complaints import Context

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
    if actor.role not in (Role.CARE, Role.AUDITOR):
        raise Forbidden("Only the care team and auditors can read the care queue.")
    if state is not None and state not in CARE_STATES:
        raise Invalid("The queue holds complaints awaiting care or in mediation.", {"state": []})
    # The most selective clause first: SecantusDB reads by the first one an index serves
    # (`care_due`, else `by_state`) and checks the others on each document (store/documents.py).
    query: dict[str, Any] = {}
    if overdue:
        query["care_due_at"] = {"$gte": EPOCH, "$lt": ctx.clock()}
    query["state"] = state or {"$in": list(CARE_STATES)}
    if channel:
        query["channel"] = channel
    if reason:
        query["reason"] = reason
    if assigned_to:
        query["assigned_to"] = assigned_to
    complaints = ComplaintDocument._get_collection()
    total = complaints.count_documents(query)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    docs = list(
        complaints.find(query)
        .sort([("escalated_at", 1), ("_id", 1)])
        .skip((page - 1) * per_page)
        .limit(per_page)
    )
    channels = sorted(ComplaintDocument.objects(state__in=list(CARE_STATES)).distinct("channel"))
    items = [eventstore.complaint_from_mongo(doc) for doc in docs]
    return QueuePage(items, total, page, pages, channels)
