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


def _prefixes(
    match: Mapping[str, str | tuple[str, ...]],
    *,
    order_id: str | None,
    channel: str | None,
    shop_id: str | None,
    state: str | None,
) -> list[dict[str, Any]]:
    """The listing's filter as equality clauses, one dict per value of a field the caller may
    see several values of (a marketplace's channels): each is read on its own and the pages
    merged, as SecantusDB reads every document of the values of a `$in` (documents.py). The
    most selective clause first (SecantusDB reads by the first clause an index serves): an
    order, then the caller's own field, then the rest, as the indexes name them."""
    query: dict[str, Any] = {}
    wanted = dict(match)
    if channel is not None:
        allowed = wanted.get("channel")
        if isinstance(allowed, tuple) and channel not in allowed:
            return []  # a channel the caller may not see: nothing
        wanted["channel"] = channel
    if order_id is not None:
        query["order.id"] = order_id
    for name in ("buyer_id", "shop_id", "channel"):
        if name in wanted:
            query[name] = wanted[name]
    if shop_id is not None:
        if query.get("shop_id", shop_id) != shop_id:
            return []  # a seller asking for another shop's: nothing
        query["shop_id"] = shop_id
    if state:
        query["state"] = state
    several = [name for name, value in query.items() if isinstance(value, tuple)]
    if not several:
        return [query]
    values = itertools.product(*(query[name] for name in several))
    return [query | dict(zip(several, chosen, strict=True)) for chosen in values]


# Fields whose complaints are few whatever the size of the service (a buyer's, an order's):
# a listing by one of them reads its whole index range in one read, not in windows.
FEW = ("buyer_id", "order.id")
# The equality fields that an index holds before each instant a listing is ordered by, then
# `_id` (documents.py): a window's filter is one of these and its range, nothing else, or
# SecantusDB may scan the collection for it (a clause outside the index, timed: 369 ms a
# window at 10,000 complaints, 32 without). Those of a listing's fields that are not in it
# are checked on each document the window reads.
WINDOWED: dict[str, tuple[tuple[str, ...], ...]] = {
    "created_at": (
        (),  # newest
        ("buyer_id",),  # by_buyer
        ("buyer_id", "state"),  # by_buyer_state
        ("shop_id",),  # by_shop
        ("shop_id", "state"),  # by_shop_state
        ("channel",),  # by_channel
        ("state",),  # by_state
    ),
    "updated_at": (("channel",),),  # channel_feed
    "care_due_at": ((),),  # care_due
}


def _served(prefix: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    """The most fields of `prefix` an index holds before `key`, in the index's order (of two
    as long, the one whose first field comes first in `prefix`: the most selective); None if
    no index holds `key` after any of them."""
    fields = list(prefix)
    usable = [index for index in WINDOWED.get(key, ()) if set(index) <= set(fields)]
    if not usable:
        return None
    return max(usable, key=lambda i: (len(i), -min((fields.index(f) for f in i), default=0)))


@guarded
def complaints_page(
    match: Mapping[str, str | tuple[str, ...]],
    now: datetime,
    *,
    state: str | None = None,
    order_id: str | None = None,
    channel: str | None = None,
    shop_id: str | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int = 20,
) -> list[Complaint]:
    """Complaints whose fields match `match` (a tuple: one of its values), newest first by
    (`created_at`, id), at most `limit`: `state`, `order_id`, `channel`, `shop_id` narrow it;
    `before` is the (created_at, id) of the last one of the previous page. Read in windows
    of `created_at` (`window_page`) on the index of the filter's fields then `created_at`
    (`newest`, `by_shop`, `by_shop_state`, `by_channel`, `by_state` …)."""
    prefixes = _prefixes(match, order_id=order_id, channel=channel, shop_id=shop_id, state=state)
    return _merged(prefixes, "created_at", now, descending=True, after=before, limit=limit)


@guarded
def overdue_page(
    match: Mapping[str, str | tuple[str, ...]],
    now: datetime,
    *,
    state: str | None = None,
    order_id: str | None = None,
    channel: str | None = None,
    shop_id: str | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int = 20,
) -> list[Complaint]:
    """Complaints past care's service level at `now` (`care_due_at` gone by), the most recently
    breached first by (`care_due_at`, id), matching and narrowed as `complaints_page`; `before`
    the (care_due_at, id) of the last one of the previous page. Windows of `care_due_at` back
    from `now` (`care_due`)."""
    prefixes = _prefixes(match, order_id=order_id, channel=channel, shop_id=shop_id, state=state)
    return _merged(
        prefixes, "care_due_at", now, descending=True, after=before, limit=limit, until=now
    )


@guarded
def changed_since(
    match: Mapping[str, str | tuple[str, ...]],
    since: datetime,
    now: datetime,
    *,
    after: tuple[datetime, str] | None = None,
    state: str | None = None,
    order_id: str | None = None,
    channel: str | None = None,
    shop_id: str | None = None,
    limit: int = 20,
) -> list[Complaint]:
    """Complaints (matching as `complaints_page`) changed at or after `since`, the least
    recently changed first by (`updated_at`, id), at most `limit`: a change feed. Windows of
    `updated_at` forward from `since` (`channel_feed` for a marketplace's channel).

    `after` is the (updated_at, id) of the last one of the previous page: a page starts after
    it, so a complaint changed meanwhile comes again later (with its change), and none is
    skipped.
    """
    prefixes = _prefixes(match, order_id=order_id, channel=channel, shop_id=shop_id, state=state)
    return _merged(
        prefixes, "updated_at", now, descending=False, after=after, limit=limit, since=since
    )


def _merged(prefixes: list[dict[str, Any]], key: str, now: datetime, **how: Any) -> list[Complaint]:
    """The page of each prefix (`window_page`) merged in the listing's order: a page of each
    (a marketplace has a handful of channels)."""
    pages = [window_page(prefix, key, now, **how) for prefix in prefixes]
    if len(pages) == 1:
        return pages[0]
    descending = how.get("descending", True)
    merged = heapq.merge(*pages, key=lambda c: (getattr(c, key), c.id), reverse=descending)
    return list(itertools.islice(merged, how.get("limit", 20)))


# The first window of `window_page`: at a thousand complaints a day, about seven.
FIRST_WINDOW = timedelta(minutes=10)
GROWTH = 4  # an empty window is followed by one this many times as wide
# A window after one that held some complaints is sized from their density, by this margin.
MARGIN = 1.25
_MS = timedelta(milliseconds=1)


@guarded
def window_page(
    prefix: Mapping[str, Any],
    key: str,
    now: datetime,
    *,
    descending: bool = True,
    after: tuple[datetime, str] | None = None,
    since: datetime = EPOCH,
    until: datetime = FOREVER,
    limit: int = 20,
) -> list[Complaint]:
    """Complaints whose fields equal `prefix` and whose `key` (an instant) is in
    [`since`, `until`), ordered by (`key`, id), the latest first if `descending`, at most
    `limit`; `after` is the (key, id) of the last one of the previous page: the page holds
    those past it. The one way every listing of complaints pages (care's of every complaint,
    a seller's, a marketplace's channel, its change feed, care's breaches).

    Each read is one window of `key`, both ends of the range given, on the index of the
    prefix's fields then `key` then `_id`: from `now` (or `after`) back (`descending`) or from
    `since` (or `after`) forward, each window next to the previous one, until the page is full
    or the windows pass the range's end. SecantusDB reads a whole index range before it sorts
    and stops, so a window is sized to hold about what the page still needs: the first one is
    `FIRST_WINDOW` wide, one after an empty window `GROWTH` times wider, one after a window
    that held some as wide as their density says the rest needs (by `MARGIN`, at most
    `GROWTH` times wider). Forward, the window that starts at `now` or later reaches
    `until` (a clock ahead of ours). What it reads: the page, plus what the last window holds
    beyond it, plus (after a stretch of time with none) up to what a span as long as that
    stretch holds; and one round trip per window (about a dozen empty ones for a last page
    going back to the epoch). A prefix of `FEW` (a buyer's complaints, an order's) is read
    in one window.

    A complaint whose `key` is set meanwhile to the clock's instant (opened, for `created_at`;
    changed, for `updated_at`) is newer than `after`: backwards, it never shifts a later
    page; forwards, it comes again on a later page.
    """
    complaints = ComplaintDocument._get_collection()
    sort = [(key, -1 if descending else 1), ("_id", -1 if descending else 1)]
    served = _served(prefix, key)
    # One read of all the prefix's complaints, `key` checked on each: a buyer's or an order's
    # few, or a listing no index orders (a seller's change feed reads the shop's). The filter
    # is the prefix alone: a range of `key` beside an index's fields that lacks it makes
    # SecantusDB scan the collection (an order's complaints: 228 ms at 10,000, 2 without).
    few = served is None or any(name in prefix for name in FEW)
    indexed = dict(prefix) if few else {name: prefix[name] for name in served or ()}
    checked = {name: value for name, value in prefix.items() if name not in indexed}
    width = (until - since) if few else FIRST_WINDOW
    # The end of the range not read yet: exclusive backwards, inclusive forwards. Stored
    # instants are whole milliseconds.
    if descending:
        edge = min(until, after[0] + _MS) if after else until
    else:
        edge = max(since, after[0]) if after else since
    page: list[Complaint] = []
    while len(page) < limit and (edge > since if descending else edge < until):
        if descending:
            inner = min(now, edge)
            low, high = (since if inner - since <= width else inner - width), edge
            spanned = inner - low
        else:
            low = edge
            # Past now (a clock ahead of ours, or the end of the feed): one last window.
            high = until if low >= now or until - low <= width else low + width
            spanned = min(high, now) - low
        spanned = max(spanned, _MS)
        needed = limit - len(page)
        # The window at the cursor also holds, first, the complaints at the cursor's instant
        # that the previous page showed (at most a page): read, then dropped.
        at_cursor = after is not None and low <= after[0] < high
        window = indexed if few else {**indexed, key: {"$gte": low, "$lt": high}}
        read = complaints.find(window).sort(sort)
        if not (checked or few):  # else read whole: the window is sized for what matches
            read = read.limit(needed + (_SHOWN if at_cursor else 0))
        found = [
            complaint_from_mongo(doc)
            for doc in read
            if all(doc.get(name) == value for name, value in checked.items())
            and (not few or doc.get(key) is not None and low <= _aware(doc[key]) < high)
        ]
        if at_cursor:
            found = [c for c in found if _past(c, key, after, descending)]
        page.extend(found[:needed])
        if found:
            per_second = len(found) / spanned.total_seconds()
            wanted = timedelta(seconds=MARGIN * (limit - len(page)) / per_second)
            width = min(max(wanted, _MS), spanned * GROWTH)
        else:
            width = spanned * GROWTH
        edge = low if descending else high
    return page[:limit]


# More than a page: the complaints at a cursor's instant that its page showed.
_SHOWN = 256


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _past(complaint: Complaint, key: str, after: tuple[datetime, str], descending: bool) -> bool:
    position = (getattr(complaint, key), complaint.id)
    return position < after if descending else position > after


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
def complaint_figures(states: Iterable[str], now: datetime) -> dict[str, Any]:
    """How many complaints in each state, how many past care's service level: index counts
    (`by_state`, `care_due`), no documents read."""
    complaints = ComplaintDocument._get_collection()
    by_state = {state: complaints.count_documents({"state": state}) for state in states}
    overdue = complaints.count_documents({"care_due_at": {"$gte": EPOCH, "$lt": now}})
    return {"by_state": by_state, "care_overdue": overdue}


# What a shop's figures read of each complaint (`by_shop`), and nothing else.
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
    only the fields its figures need: one index range (`by_shop`), not every complaint."""
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
