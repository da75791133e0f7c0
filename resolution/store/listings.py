"""The reads that list complaints: a party's or care's listing, the care queue, the sweeper's
due complaints and reminders, and the counts the metrics show.

Each query is written for the embedded database's planner as well as MongoDB's
(store/documents.py says how; benchmarks/query_plans.py measures each one).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain.events import EPOCH
from ..domain.projection import Complaint
from .documents import ComplaintDocument
from .errors import guarded
from .eventstore import complaint_from_mongo

# The upper end of a range that has none (the embedded database scans a range open at one end).
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


def _matching(
    match: Mapping[str, str | tuple[str, ...]],
    *,
    order_id: str | None,
    channel: str | None,
    shop_id: str | None,
    state: str | None,
) -> dict[str, Any]:
    """The raw filter, the most selective clause first (SecantusDB reads by the first clause
    an index serves): an order, then the caller's own field, then the rest."""
    query: dict[str, Any] = {}
    wanted = dict(match)
    if channel is not None:
        allowed = wanted.get("channel")
        if isinstance(allowed, tuple) and channel not in allowed:
            wanted["channel"] = ()  # a channel the caller may not see: nothing
        else:
            wanted["channel"] = channel
    if order_id is not None:
        query["order.id"] = order_id
    for name in ("buyer_id", "shop_id", "channel"):
        if name in wanted:
            value = wanted[name]
            query[name] = {"$in": list(value)} if isinstance(value, tuple) else value
    if shop_id is not None:
        query["shop_id"] = shop_id if query.get("shop_id", shop_id) == shop_id else "\0none"
    if state:
        query["state"] = state
    return query


@guarded
def complaints_page(
    match: Mapping[str, str | tuple[str, ...]],
    *,
    state: str | None = None,
    care_overdue_at: datetime | None = None,
    order_id: str | None = None,
    channel: str | None = None,
    shop_id: str | None = None,
    before: str | None = None,
    limit: int = 20,
) -> list[Complaint]:
    """Complaints whose fields match `match` (a tuple: one of its values), newest first.

    `state`, `order_id`, `channel`, `shop_id` narrow it; `care_overdue_at` keeps those past
    care's service level at that instant; `before` those older than that id (the cursor of
    the previous page). At most `limit`.
    """
    query = _matching(match, order_id=order_id, channel=channel, shop_id=shop_id, state=state)
    if care_overdue_at is not None:
        query["care_due_at"] = {"$gte": EPOCH, "$lt": care_overdue_at}
    if before:
        query["_id"] = {"$lt": before}
    cursor = ComplaintDocument._get_collection().find(query).sort("_id", -1).limit(limit)
    return [complaint_from_mongo(doc) for doc in cursor]


def unnarrowed(
    match: Mapping[str, str | tuple[str, ...]],
    *,
    state: str | None = None,
    overdue: bool = False,
    order_id: str | None = None,
    channel: str | None = None,
    shop_id: str | None = None,
) -> bool:
    """Whether such a listing would be of every complaint (care's or an auditor's with no
    filter): no index narrows it, and `newest_page` serves it instead of `complaints_page`."""
    query = _matching(match, order_id=order_id, channel=channel, shop_id=shop_id, state=state)
    return not query and not overdue


# The first window of `newest_page`: at a thousand complaints a day, about seven.
FIRST_WINDOW = timedelta(minutes=10)
GROWTH = 4  # an empty window is followed by one this many times as wide
# A window after one that held some complaints is sized from their density, by this margin.
MARGIN = 1.25


@guarded
def newest_page(
    now: datetime, *, before: tuple[datetime, str] | None = None, limit: int = 20
) -> list[Complaint]:
    """Every complaint, the newest first by (`created_at`, id), at most `limit`; `before` is the
    (created_at, id) of the last one of the previous page: the page holds those after it.

    Read one window of `created_at` at a time (`newest`, both ends of the range given), from
    `now` (or `before`) back, each window below the previous one, until the page is full or
    the windows pass the epoch. SecantusDB reads a whole range before it sorts and stops, so a
    window is sized to hold about what the page still needs: the first one is
    `FIRST_WINDOW` wide, one after an empty window `GROWTH` times wider, one after a window
    that held some as wide as their density says the rest needs (by `MARGIN`, at most
    `GROWTH` times wider). What it reads: the page, plus what the last window holds beyond
    it, plus (after a stretch of time with no complaint) up to what a span as long as that
    stretch holds; and one round trip per window (about a dozen empty ones for the last page,
    back to the epoch). A complaint created meanwhile is newer than `before` (its
    `created_at` is the clock's): it never shifts a later page.
    """
    complaints = ComplaintDocument._get_collection()
    # Every window `[low, high)`: one shape of query. Stored instants are whole milliseconds.
    high = before[0] + timedelta(milliseconds=1) if before else FOREVER
    anchor = min(now, high)
    width = FIRST_WINDOW
    page: list[Complaint] = []
    while len(page) < limit and high > EPOCH:
        low = max(EPOCH, min(anchor, high) - width)
        window = {"created_at": {"$gte": low, "$lt": high}}
        needed = limit - len(page)
        # The first window after a cursor also holds, first, the complaints at the cursor's
        # instant that the previous page showed (at most a page): read, then dropped.
        at_cursor = bool(before) and high > before[0]
        cursor = complaints.find(window).sort([("created_at", -1), ("_id", -1)])
        read = cursor.limit(needed + (_SHOWN if at_cursor else 0))
        found = [complaint_from_mongo(doc) for doc in read]
        if at_cursor:
            found = [c for c in found if _position(c) < before]
        page.extend(found[:needed])
        spanned = max(min(anchor, high) - low, timedelta(milliseconds=1))
        if found:
            per_second = len(found) / spanned.total_seconds()
            wanted = timedelta(seconds=MARGIN * (limit - len(page)) / per_second)
            width = min(max(wanted, timedelta(milliseconds=1)), spanned * GROWTH)
        else:
            width = spanned * GROWTH
        high = anchor = low
    return page[:limit]


# More than a page: the complaints at a cursor's instant that its page showed.
_SHOWN = 256


def _position(complaint: Complaint) -> tuple[datetime, str]:
    return complaint.created_at, complaint.id


@guarded
def changed_since(
    match: Mapping[str, str | tuple[str, ...]],
    since: datetime,
    *,
    after: tuple[datetime, str] | None = None,
    state: str | None = None,
    order_id: str | None = None,
    channel: str | None = None,
    shop_id: str | None = None,
    limit: int = 20,
) -> list[Complaint]:
    """Complaints (matching as `complaints_page`) changed at or after `since`, the least
    recently changed first, at most `limit`: a change feed.

    `after` is the (updated_at, id) of the last one of the previous page: a page starts after
    it, so a complaint changed meanwhile comes again later (with its change), and none is
    skipped.
    """
    query = _matching(match, order_id=order_id, channel=channel, shop_id=shop_id, state=state)
    start = max(since, after[0]) if after else since
    query["updated_at"] = {"$gte": start, "$lte": FOREVER}
    cursor = ComplaintDocument._get_collection().find(query).sort([("updated_at", 1), ("_id", 1)])
    page: list[Complaint] = []
    for doc in cursor:
        complaint = complaint_from_mongo(doc)
        if after and (complaint.updated_at, complaint.id) <= after:
            continue  # on the previous page (the same instant, an earlier id)
        page.append(complaint)
        if len(page) >= limit:
            break
    cursor.close()
    return page


@guarded
def care_queue_page(
    states: Iterable[str],
    *,
    care_overdue_at: datetime | None = None,
    channel: str | None = None,
    reason: str | None = None,
    assigned_to: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[int, int, list[Complaint], list[str]]:
    """(how many match, the page number shown, that page of them oldest escalation first, the
    channels of `states`): three round trips. A page past the end shows the last one."""
    # The most selective clause first: SecantusDB reads by the first one an index serves
    # (`care_due`, else `by_state`) and checks the others on each document (documents.py).
    states = list(states)
    query: dict[str, Any] = {}
    if care_overdue_at is not None:
        query["care_due_at"] = {"$gte": EPOCH, "$lt": care_overdue_at}
    query["state"] = states[0] if len(states) == 1 else {"$in": states}
    if channel:
        query["channel"] = channel
    if reason:
        query["reason"] = reason
    if assigned_to:
        query["assigned_to"] = assigned_to
    complaints = ComplaintDocument._get_collection()
    total = complaints.count_documents(query)
    page = min(max(1, page), max(1, -(-total // per_page)))
    docs = list(
        complaints.find(query)
        .sort([("escalated_at", 1), ("_id", 1)])
        .skip((page - 1) * per_page)
        .limit(per_page)
    )
    channels = sorted(ComplaintDocument.objects(state__in=states).distinct("channel"))
    return total, page, [complaint_from_mongo(doc) for doc in docs], channels


@guarded
def due_complaints(
    states: Iterable[str], now: datetime, limit: int | None = None
) -> list[tuple[str, str]]:
    """(id, state) of complaints past their deadline, oldest deadline first, via `due`.

    One read per timed state (`state`, then `due_at` in range: the index's keys): with
    `state $in [...]` SecantusDB reads every complaint in those states (documents.py).
    """
    per_state = []
    for state in states:
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


@guarded
def paused_until_passed(now: datetime, limit: int | None = None) -> list[str]:
    """Ids of complaints whose paused clock reached its `until` by `now`, oldest first
    (`paused`: both ends of the range given)."""
    query = {"paused_until": {"$gte": EPOCH, "$lte": now}}
    cursor = ComplaintDocument._get_collection().find(query, {"_id": 1}).sort("paused_until", 1)
    if limit:
        cursor = cursor.limit(limit)
    return [doc["_id"] for doc in cursor]


def reminders_query(now: datetime) -> dict[str, Any]:
    """Complaints whose turn-holder is to be reminded now, as a filter on `remind`.

    A deadline already passed is not approaching: those are the timeouts' (`due_complaints`).
    Raw, to keep `remind_at` first: SecantusDB reads by the first clause an index serves.
    """
    return {"remind_at": {"$gte": EPOCH, "$lte": now}, "due_at": {"$gt": now}}


@guarded
def due_reminders(now: datetime, limit: int | None = None) -> list[str]:
    """Ids of complaints whose turn-holder is to be reminded now, oldest first."""
    cursor = (
        ComplaintDocument._get_collection()
        .find(reminders_query(now), {"_id": 1})
        .sort("remind_at", 1)
    )
    if limit:
        cursor = cursor.limit(limit)
    return [doc["_id"] for doc in cursor]


@guarded
def retained_since(kind: str, started_by: datetime, limit: int | None = None) -> list[str]:
    """Ids of closed complaints, not held, keeping a file of `kind` whose retention started
    by `started_by` (one `retention` index range per kind), earliest first."""
    query = {"retained_kinds": kind, "retain_from": {"$gte": EPOCH, "$lte": started_by}}
    cursor = ComplaintDocument._get_collection().find(query, {"_id": 1}).sort("retain_from", 1)
    if limit:
        cursor = cursor.limit(limit)
    return [doc["_id"] for doc in cursor]


@guarded
def closed_without_closing_time(limit: int) -> list[tuple[str, int]]:
    """(id, version) of up to `limit` closed complaints whose projection has no `closed_at`
    (written before retention existed): one `closed_since` index range, null at its end."""
    query = {"state": "closed", "closed_at": None}
    cursor = ComplaintDocument._get_collection().find(query, {"_id": 1, "version": 1})
    return [(doc["_id"], doc["version"]) for doc in cursor.limit(limit)]


@guarded
def complaint_figures(states: Iterable[str], now: datetime) -> dict[str, Any]:
    """How many complaints in each state, how many past care's service level: index counts
    (`by_state`, `care_due`), no documents read."""
    complaints = ComplaintDocument._get_collection()
    by_state = {state: complaints.count_documents({"state": state}) for state in states}
    overdue = complaints.count_documents({"care_due_at": {"$gte": EPOCH, "$lt": now}})
    return {"by_state": by_state, "care_overdue": overdue}


# What a shop's figures read of each complaint (`shop_opened`), and nothing else.
_FIGURES = (
    "channel",
    "reason",
    "state",
    "outcome",
    "resolution.reason_code",
    "escalated",
    "auto_escalated",
    "created_at",
    "seller_first_answer_at",
    "settlement.to_buyer",
    "settlement.status",
)


@guarded
def shop_window(
    shop_id: str, since: datetime, until: datetime, channels: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """The shop's complaints opened in [since, until), on `channels` (all: None), each with
    only the fields its figures need: one index range (`shop_opened`), not every complaint."""
    query: dict[str, Any] = {"shop_id": shop_id, "created_at": {"$gte": since, "$lt": until}}
    if channels is not None:
        query["channel"] = {"$in": list(channels)}
    fields = dict.fromkeys(_FIGURES, 1) | {"_id": 0}
    return list(ComplaintDocument._get_collection().find(query, fields))


@guarded
def most_urgent_unassigned(limit: int) -> list[tuple[str, int]]:
    """(id, version) of complaints waiting for care, the nearest care deadline first (`due`:
    the state, then `care_due` ordered in memory over that state's few)."""
    cursor = (
        ComplaintDocument._get_collection()
        .find({"state": "awaiting_care"}, {"_id": 1, "version": 1, "care_due_at": 1})
        .sort([("care_due_at", 1), ("_id", 1)])
        .limit(limit)
    )
    return [(doc["_id"], doc["version"]) for doc in cursor]


@guarded
def assigned_cases(agent_id: str, limit: int) -> list[Complaint]:
    """An agent's cases in mediation, the nearest care deadline first, at most `limit`: one
    range of `by_agent` (the agent, the state, then `care_due_at` in the keys' order), as
    long as the agent's own caseload, never the whole queue."""
    cursor = (
        ComplaintDocument._get_collection()
        .find({"assigned_to": agent_id, "state": "in_mediation"})
        .sort([("care_due_at", 1), ("_id", 1)])
        .limit(limit)
    )
    return [complaint_from_mongo(doc) for doc in cursor]
