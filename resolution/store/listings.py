"""The reads that list complaints: a party's or care's listing, the care queue, the sweeper's
due complaints and reminders, and the counts the metrics show.

Each query is written for the embedded database's planner as well as MongoDB's
(store/documents.py says how; benchmarks/query_plans.py measures each one).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain.events import EPOCH
from ..domain.projection import Complaint
from .documents import ComplaintDocument, FloorDocument
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


# --- oldest first, a window at a time --------------------------------------------------------

# A count shown to a person stops here: past it the console shows "1000+" (issue #25).
COUNT_CAP = 1000
# A filtered queue (a channel, a reason, overdue) reads at most this many to count its own:
# past it, what it found so far is shown with "+".
READ_BUDGET = 5 * COUNT_CAP
# "Take the next case" reads at most this many times what it asks for along the deadlines.
URGENT_BUDGET = 10
# Empty windows of an oldest-first read grow by this factor: each reads nothing, one round
# trip, so a slow climb over an empty stretch costs little and overshoots the data less.
CLIMB = 2


def _floor(key: str) -> datetime | None:
    doc = FloorDocument._get_collection().find_one({"_id": key})
    return doc["at"] if doc else None


def _oldest_first(
    ranges: list[dict[str, Any]],
    field: str,
    needed: int | None,
    *,
    now: datetime,
    stop: datetime = FOREVER,
    accept: Callable[[dict], bool] | None = None,
    budget: int | None = None,
    projection: Mapping[str, int] | None = None,
    floor: str | None = None,
    collection: Any = None,
) -> tuple[list[dict], bool]:
    """(the documents of `ranges` (each the equality prefix of an index whose next key is
    `field`) with `field` in [EPOCH, `stop`) that `accept` takes, the lowest `field` first
    (then `_id`), the first `needed` of them (None: all, one read); whether the read went
    to the end: False when it stopped at `budget` documents read).

    The filter sent holds the index's keys only: SecantusDB reads a filter with any other
    field by the first clause an index serves (the whole state), so `accept` is Python's.
    SecantusDB also reads a whole index range before it sorts and stops, so this reads one
    window of `field` at a time, each range per window, until `needed` are found: from the
    `floor` up (the `FloorDocument` under that key: the lowest value read last time), after
    one window below it (empty while the floor holds: a stale floor costs a read, never a
    complaint). Empty windows grow by `CLIMB`; one that held some is followed by one as
    wide as their density says the rest needs (by `MARGIN`, at most `GROWTH` times wider);
    past `now` one window reads to `stop`. With no floor yet (a new database, a new key) the
    climb starts at the epoch, and its first window with anything in it may hold much: once,
    since every read keeps the floor. What it reads: what it returns, what `accept` left
    out on the way, and what the last window holds beyond `needed`. `collection`: the
    complaints unless given.
    """
    complaints = ComplaintDocument._get_collection() if collection is None else collection
    sort = [(field, 1), ("_id", 1)]
    take = accept or (lambda doc: True)

    def read(low: datetime, high: datetime) -> list[dict]:
        each = []
        for prefix in ranges:
            query = {**prefix, field: {"$gte": low, "$lt": high}}
            each.append(list(complaints.find(query, projection).sort(sort)))
        return list(heapq.merge(*each, key=lambda doc: (doc[field], doc["_id"])))

    if needed is None:
        return [doc for doc in read(EPOCH, stop) if take(doc)], True
    start = _floor(floor) if floor else None
    found: list[dict] = []
    lowest: datetime | None = None
    count = 0
    low = EPOCH
    below_floor = start is not None and start > EPOCH
    high = start if below_floor and start else EPOCH + FIRST_WINDOW
    width = FIRST_WINDOW
    complete = True
    while len(found) < needed and low < stop:
        if budget is not None and count >= budget:
            complete = False
            break
        if high > now:
            high = stop  # the rest, in one window: complaints of a clock ahead of ours
        high = min(high, stop)
        held = read(low, high)
        count += len(held)
        if held and lowest is None:
            lowest = held[0][field]
        found.extend(doc for doc in held if take(doc))
        spanned = max(high - low, timedelta(milliseconds=1))
        if below_floor:
            width, below_floor = FIRST_WINDOW, False
        elif held:
            per_second = len(held) / spanned.total_seconds()
            wanted = MARGIN * max(needed - len(found), 1) / per_second  # seconds
            most = (spanned * GROWTH).total_seconds()  # (a sparse window: no overflow)
            width = timedelta(seconds=max(min(wanted, most), 0.001))
        else:
            width = spanned * CLIMB
        low, high = high, (high + width if FOREVER - high > width else FOREVER)
    if floor:
        # What was read first is the range's lowest (the windows start at the epoch).
        kept = lowest if lowest is not None else (min(now, stop) if complete else start)
        if kept is not None and kept != start:
            FloorDocument._get_collection().update_one(
                {"_id": floor}, {"$set": {"at": kept}}, upsert=True
            )
    return found[:needed], complete


def newest_first(
    collection: Any,
    ranges: list[dict[str, Any]],
    field: str,
    needed: int,
    *,
    now: datetime,
    before: tuple[datetime, str] | None = None,
    projection: Mapping[str, int] | None = None,
) -> list[dict]:
    """The documents of `collection` in `ranges` (each the equality prefix of an index whose
    next keys are `field`, `_id`), the highest (`field`, `_id`) first, below `before` when
    given (the last one of the previous page): at most `needed`.

    `newest_page`'s windows, for any such index: from `now` (or `before`) back, each window
    sized by the density of the one before (an empty one `GROWTH` times wider), until the
    page is full or the windows pass the epoch. What it reads: the page, plus what the
    last window holds beyond it, plus those at `before`'s instant already shown.
    """
    high = before[0] + timedelta(milliseconds=1) if before else FOREVER
    anchor = min(now, high)
    width = FIRST_WINDOW
    sort = [(field, -1), ("_id", -1)]
    page: list[dict] = []
    while len(page) < needed and high > EPOCH:
        low = max(EPOCH, min(anchor, high) - width)
        each = []
        for prefix in ranges:
            query = {**prefix, field: {"$gte": low, "$lt": high}}
            each.append(list(collection.find(query, projection).sort(sort)))
        held = list(heapq.merge(*each, key=lambda doc: (doc[field], doc["_id"]), reverse=True))
        if before:
            held = [doc for doc in held if (doc[field], doc["_id"]) < before]
        page.extend(held[: needed - len(page)])
        spanned = max(min(anchor, high) - low, timedelta(milliseconds=1))
        if held:
            wanted = MARGIN * max(needed - len(page), 1) * spanned.total_seconds() / len(held)
            most = (spanned * GROWTH).total_seconds()
            width = timedelta(seconds=max(min(wanted, most), 0.001))
        else:
            width = spanned * GROWTH
        high = anchor = low
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
    now: datetime | None = None,
) -> tuple[int, bool, int, list[Complaint], list[str]]:
    """(how many match, up to `COUNT_CAP`; whether more do; the page number shown; that page
    of them, oldest escalation first; the channels among them), as of `now`. A page past the
    end (or past the cap) shows the last one.

    The queue's oldest `COUNT_CAP` + 1 (their ids and the fields the filters check) are read
    a window of `escalated_at` at a time on `care_queue` (state, escalated_at, _id), each
    state per window (`_oldest_first`), then the page's complaints by id: about a thousand
    documents however long the queue, at most `READ_BUDGET` when filtered. An agent's own
    cases (`assigned_to`) are one range of `by_agent` instead, as long as the agent's
    caseload. The channels offered are those of the complaints counted (and the one asked
    for), no longer every channel of the whole queue.
    """
    states = list(states)
    now = now or datetime.now(UTC)

    def wanted(doc: dict) -> bool:  # the filters, checked here: the server reads the index
        if care_overdue_at is not None:
            due = doc.get("care_due_at")
            if due is None or not EPOCH <= due < care_overdue_at:
                return False
        if channel and doc.get("channel") != channel:
            return False
        return not reason or doc.get("reason") == reason

    fields = {"_id": 1, "escalated_at": 1, "channel": 1, "reason": 1, "care_due_at": 1}
    complaints = ComplaintDocument._get_collection()
    if assigned_to:
        # `by_agent`: the agent, then one state at a time (`$in` would read every complaint
        # the agent ever had, closed ones too): the agent's open caseload, once.
        mine = [
            doc
            for state in states
            for doc in complaints.find({"assigned_to": assigned_to, "state": state}, fields)
            if wanted(doc)
        ]
        listed = sorted(mine, key=lambda doc: (doc["escalated_at"] or EPOCH, doc["_id"]))
        complete = True
    else:
        listed, complete = _oldest_first(
            [{"state": state} for state in states],
            "escalated_at",
            COUNT_CAP + 1,
            now=now,
            accept=wanted,
            budget=READ_BUDGET,
            projection=fields,
            floor="care_queue:" + ",".join(states),
        )
    more = len(listed) > COUNT_CAP or not complete
    total = min(len(listed), COUNT_CAP)
    page = min(max(1, page), max(1, -(-total // per_page)))
    ids = [doc["_id"] for doc in listed[(page - 1) * per_page : page * per_page]]
    docs = {doc["_id"]: doc for doc in complaints.find({"_id": {"$in": ids}})} if ids else {}
    items = [complaint_from_mongo(docs[id_]) for id_ in ids if id_ in docs]
    channels = sorted({doc["channel"] for doc in listed if doc.get("channel")} | {channel} - {None})
    return total, more, page, items, channels


@guarded
def due_complaints(
    states: Iterable[str], now: datetime, limit: int | None = None
) -> list[tuple[str, str]]:
    """(id, state) of complaints past their deadline, oldest deadline first, via `due`.

    Each timed state is its own range (`state`, then `due_at` in range: the index's keys):
    with `state $in [...]` SecantusDB reads every complaint in those states (documents.py).
    With a `limit`, a window of `due_at` at a time (`_oldest_first`): about what it returns.
    """
    due, _ = _oldest_first(
        [{"state": state} for state in states],
        "due_at",
        limit,
        now=now,
        stop=now + timedelta(milliseconds=1),
        projection={"_id": 1, "due_at": 1, "state": 1},
        floor="due",
    )
    return [(doc["_id"], doc["state"]) for doc in due]


@guarded
def paused_until_passed(now: datetime, limit: int | None = None) -> list[str]:
    """Ids of complaints whose paused clock reached its `until` by `now`, oldest first
    (`paused`, a window at a time with a `limit`)."""
    passed, _ = _oldest_first(
        [{}],
        "paused_until",
        limit,
        now=now,
        stop=now + timedelta(milliseconds=1),
        projection={"_id": 1, "paused_until": 1},
        floor="paused",
    )
    return [doc["_id"] for doc in passed]


@guarded
def due_reminders(now: datetime, limit: int | None = None) -> list[str]:
    """Ids of complaints whose turn-holder is to be reminded now, oldest first (`remind`, a
    window of `remind_at` at a time with a `limit`).

    A deadline already passed is not approaching: those are the timeouts' (`due_complaints`),
    read and left out here (`due_at`, `remind`'s second key, is checked on each).
    """
    reminded, _ = _oldest_first(
        [{}],
        "remind_at",
        limit,
        now=now,
        stop=now + timedelta(milliseconds=1),
        accept=lambda doc: doc.get("due_at") is not None and doc["due_at"] > now,
        projection={"_id": 1, "remind_at": 1, "due_at": 1},
        floor="remind",
    )
    return [doc["_id"] for doc in reminded]


@guarded
def retained_since(kind: str, started_by: datetime, limit: int | None = None) -> list[str]:
    """Ids of closed complaints, not held, keeping a file of `kind` whose retention started
    by `started_by` (one `retention` index range per kind, a window at a time with a
    `limit`), earliest first."""
    retained, _ = _oldest_first(
        [{"retained_kinds": kind}],
        "retain_from",
        limit,
        now=started_by,
        stop=started_by + timedelta(milliseconds=1),
        projection={"_id": 1, "retain_from": 1},
        floor=f"retention:{kind}",
    )
    return [doc["_id"] for doc in retained]


@guarded
def closed_without_closing_time(limit: int) -> list[tuple[str, int]]:
    """(id, version) of up to `limit` closed complaints whose projection has no `closed_at`
    (written before retention existed): one `closed_since` index range, null at its end."""
    query = {"state": "closed", "closed_at": None}
    cursor = ComplaintDocument._get_collection().find(query, {"_id": 1, "version": 1})
    return [(doc["_id"], doc["version"]) for doc in cursor.limit(limit)]


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
    """(id, version) of complaints waiting for care, the nearest care deadline first, then
    the oldest escalations among the rest (those whose clock stopped: care replied, nobody
    took them).

    Windows of `care_due` (`_oldest_first`: the deadlines of the whole queue, those in
    mediation read and left out, `URGENT_BUDGET` times `limit` at most), then, while the
    answer is short, windows of `care_queue` over those awaiting care: about what it
    returns, plus at most that budget when care's own cases crowd the deadlines.
    """
    fields = {"_id": 1, "version": 1, "state": 1, "care_due_at": 1, "escalated_at": 1}
    chosen, complete = _oldest_first(
        [{}],
        "care_due_at",
        limit,
        now=FOREVER,  # deadlines run ahead of now: windows sized by density all the way
        accept=lambda doc: doc.get("state") == "awaiting_care",
        budget=URGENT_BUDGET * limit,
        projection=fields,
        floor="care_due",
    )
    if len(chosen) < limit:
        # All those with a deadline are chosen (`complete`): the others have none; else
        # the oldest escalations stand in for the deadlines not reached.
        taken = {doc["_id"] for doc in chosen}
        rest, _ = _oldest_first(
            [{"state": "awaiting_care"}],
            "escalated_at",
            limit - len(chosen),
            now=datetime.now(UTC),
            accept=lambda doc: (
                doc["_id"] not in taken and (not complete or doc.get("care_due_at") is None)
            ),
            projection=fields,
            floor="care_queue:awaiting_care",
        )
        chosen += rest
    return [(doc["_id"], doc["version"]) for doc in chosen]


@guarded
def assigned_cases(agent_id: str, limit: int) -> list[Complaint]:
    """An agent's cases in mediation, the nearest care deadline first, at most `limit`:
    windows of one range of `by_agent` (the agent, the state, then `care_due_at` in the
    keys' order; `_oldest_first`), about `limit` complaints read however long the caseload.
    (A case in mediation has its decision clock running: `care_due_at` is always set.)"""
    docs, _ = _oldest_first(
        [{"assigned_to": agent_id, "state": "in_mediation"}],
        "care_due_at",
        limit,
        now=FOREVER,  # deadlines run ahead of now: windows sized by density all the way
        floor=f"agent:{agent_id}",
    )
    return [complaint_from_mongo(doc) for doc in docs]
