"""The reads that find settlements: one by its id, a page of them, the held ones now due.

A settlement lives in its complaint's projection (`Complaint.settlement`); these read the
complaints collection by the settlement's own fields (indexes in `documents.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..domain.events import iso
from ..domain.projection import Complaint
from ..domain.settlements import HELD
from .documents import ComplaintDocument
from .errors import guarded
from .eventstore import complaint_from_mongo
from .listings import newest_by_id


@guarded
def complaint_with(settlement_id: str) -> str | None:
    """The id of the complaint whose settlement this is, if any (`by_settlement`)."""
    doc = ComplaintDocument._get_collection().find_one({"settlement.id": settlement_id}, {"_id": 1})
    return doc["_id"] if doc else None


@guarded
def page(
    match: Mapping[str, str | tuple[str, ...]],
    *,
    status: str | None = None,
    channel: str | None = None,
    before: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> list[Complaint]:
    """Complaints with a settlement (of `status`, on `channel`), the newest settlement first,
    those older than `before` (the previous page's last settlement id). `match` is the
    caller's visibility (`access.visibility_filter`). Windows of the ids' seconds
    (`listings.newest_by_id`) back from `now` (the service's clock): a page reads about what
    it returns, however many settlements of its status were ever made."""
    query: dict[str, Any] = {} if status is None else {"settlement.status": status}
    allowed = match.get("channel")
    if channel is not None:
        channels = [channel if allowed is None or channel in allowed else "\0none"]
    elif isinstance(allowed, tuple):
        channels = list(allowed)
    else:
        channels = [None]
    queries = [query if c is None else {"channel": c, **query} for c in channels]
    found = newest_by_id(queries, "settlement.id", before=before, limit=limit, now=now)
    return [complaint_from_mongo(doc) for doc in found]


@guarded
def due(now: datetime, limit: int | None = None) -> list[str]:
    """Ids of complaints whose held settlement is due at `now` (`settlement_due`), the
    longest due first."""
    query = {"settlement.status": HELD, "settlement.release_at": {"$gte": "0", "$lte": iso(now)}}
    cursor = (
        ComplaintDocument._get_collection().find(query, {"_id": 1}).sort("settlement.release_at", 1)
    )
    if limit:
        cursor = cursor.limit(limit)
    return [doc["_id"] for doc in cursor]
