"""The audit export's reads: events of a time range in (time, complaint, seq) order, one
batch at a time, so memory stays flat however many match."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ..domain.events import Event
from .documents import ComplaintDocument, EventDocument
from .errors import guarded
from .eventstore import event_from_mongo


def _filter(
    since: datetime,
    until: datetime,
    until_included: bool,
    types: Sequence[str],
    complaint_id: str | None,
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if complaint_id:
        # First: SecantusDB's planner takes the first clause an index serves (here
        # `complaint_seq`; after `at` it would read every event of the time range).
        found["complaint_id"] = complaint_id
    found["at"] = {"$gte": since, "$lte" if until_included else "$lt": until}
    if types:
        found["type"] = {"$in": list(types)}
    return found


@guarded
def events_between(
    since: datetime,
    until: datetime,
    *,
    until_included: bool = False,
    types: Sequence[str] = (),
    complaint_id: str | None = None,
) -> Iterator[Event]:
    """The events from `since` to `until`, in (at, complaint, seq) order, via `by_time`."""
    cursor = (
        EventDocument._get_collection()
        .find(_filter(since, until, until_included, types, complaint_id), {"_id": 0})
        .sort([("at", 1), ("complaint_id", 1), ("seq", 1)])
        .batch_size(1000)
    )
    for doc in cursor:
        yield event_from_mongo(doc)


@guarded
def count_between(
    since: datetime,
    until: datetime,
    *,
    until_included: bool = False,
    types: Sequence[str] = (),
    complaint_id: str | None = None,
) -> int:
    """How many events `events_between` yields (for a progress bar)."""
    query = _filter(since, until, until_included, types, complaint_id)
    return EventDocument._get_collection().count_documents(query)


@guarded
def channel_of(complaint_id: str) -> str | None:
    """The complaint's channel, or None."""
    doc = ComplaintDocument.objects(id=complaint_id).only("channel").as_pymongo().first()
    return doc.get("channel") if doc else None
