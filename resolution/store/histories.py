"""Whole histories of the complaints of a period, read for analysis (`replay-policy`).

Read only: nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from ..domain.events import EPOCH, Event
from .documents import ComplaintDocument, EventDocument
from .errors import guarded
from .eventstore import event_from_mongo

# Complaints whose events one query reads (`$in` over the `complaint_seq` index).
BATCH = 100


@guarded
def opened_before_and_changed_since(until: datetime, since: datetime) -> list[str]:
    """Ids of the complaints opened before `until` and still open or changed since `since`,
    oldest first: every complaint open at some instant of [since, until), and some that were
    not (closed before `since`, changed since by a settlement or a note): the caller reads
    their events to tell."""
    # No index serves `created_at`: one pass over the complaints (an operator's question,
    # not a request's). Both ends of the range, so the embedded database reads a range.
    query = {
        "created_at": {"$gte": EPOCH, "$lt": until},
        "$or": [{"active": True}, {"updated_at": {"$gte": since}}],
    }
    cursor = ComplaintDocument._get_collection().find(query, {"_id": 1})
    cursor = cursor.sort([("created_at", 1), ("_id", 1)])  # ids are random: age is created_at
    return [doc["_id"] for doc in cursor]


@guarded
def logs_of(complaint_ids: Iterable[str]) -> Iterator[list[Event]]:
    """Each complaint's events in `seq` order, one complaint at a time, in the order given."""
    ids = list(complaint_ids)
    events = EventDocument._get_collection()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        found: dict[str, list[Event]] = {complaint_id: [] for complaint_id in batch}
        cursor = events.find({"complaint_id": {"$in": batch}}).sort(
            [("complaint_id", 1), ("seq", 1)]
        )
        for doc in cursor:
            found[doc["complaint_id"]].append(event_from_mongo(doc))
        for complaint_id in batch:
            if found[complaint_id]:
                yield found[complaint_id]
