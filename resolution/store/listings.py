"""The reads that list complaints: a party's or care's listing, the care queue, the sweeper's
due complaints and reminders, and the counts the metrics show.

Each query is written for the embedded database's planner as well as MongoDB's
(store/documents.py says how; benchmarks/query_plans.py measures each one).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from ..domain.events import EPOCH
from ..domain.projection import Complaint
from .documents import ComplaintDocument, FloorDocument
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
    overdue: bool = False,
    before: tuple[datetime, str] | None = None,
    limit: int = 20,
) -> list[Complaint]:
    """Complaints whose fields match `match` (a tuple: one of its values), newest first by
    (`created_at`, id), at most `limit`: `state`, `order_id`, `channel`, `shop_id` narrow it;
    `before` is the (created_at, id) of the last one of the previous page. Read in windows
    of `created_at` (`window_page`) on the index of the filter's fields then `created_at`
    (`newest`, `by_shop`, `by_shop_state`, `by_channel`, `by_state` …).

    With `overdue`, those past care's service level at `now` (`care_due_at` gone by), the
    most recently breached first by (`care_due_at`, id), `before` a (care_due_at, id): windows
    of `care_due_at` back from `now` (`care_due`)."""
    prefixes = _prefixes(match, order_id=order_id, channel=channel, shop_id=shop_id, state=state)
    key, ends = ("care_due_at", {"until": now}) if overdue else ("created_at", {})
    return _merged(prefixes, key, now, descending=True, after=before, limit=limit, **ends)


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
        width = _next_width(len(found), limit - len(page), spanned)
        edge = low if descending else high
    return page[:limit]


def _next_width(held: int, needed: int, spanned: timedelta) -> timedelta:
    """The width of the window after one `spanned` wide that held `held` documents, when
    `needed` more are wanted: `GROWTH` times wider after an empty one, else as wide as their
    density says the rest needs (by `MARGIN`), at most `GROWTH` times wider."""
    if not held:
        return spanned * GROWTH
    wanted = timedelta(seconds=MARGIN * needed * spanned.total_seconds() / held)
    return min(max(wanted, _MS), spanned * GROWTH)


# Above every ObjectId's hex (24 lower-case hex digits), and at or below every one.
_ABOVE_IDS, _BELOW_IDS = "g", "0"


@guarded
def newest_by_id(
    queries: Iterable[Mapping[str, Any]],
    field: str,
    *,
    before: str | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> list[dict]:
    """The complaints of any of `queries` whose `field` holds an ObjectId's hex, below
    `before` (an id of that kind), the highest first, at most `limit`: the settlements'
    listing (one query per channel: SecantusDB reads the whole collection for a `$in`).

    An ObjectId's first 8 hex digits are the second it was made, so its order is its time's:
    each read is one window of those seconds, from `before`'s second (or `now`: the first
    window is open above, for an id made by a clock ahead of ours) back to the epoch, sized
    as `window_page`'s, on an index that ends with `field`. SecantusDB reads a whole index
    range before it sorts and stops: a page reads about what it returns, not every
    settlement of its status."""
    complaints = ComplaintDocument._get_collection()
    queries = list(queries)
    if not queries:  # a marketplace with no channel
        return []
    high = before or _ABOVE_IDS
    top = ObjectId(before).generation_time if before else (now or datetime.now(UTC))
    width = FIRST_WINDOW
    found: list[dict] = []

    def value(doc: dict) -> str:
        for part in field.split("."):
            doc = doc[part]
        return doc  # type: ignore[return-value]

    while len(found) < limit and high > _BELOW_IDS:
        low_at = top - width
        low = _BELOW_IDS if low_at <= EPOCH else str(ObjectId.from_datetime(low_at))
        needed = limit - len(found)
        each = [
            complaints.find({**query, field: {"$gte": low, "$lt": high}})
            .sort(field, -1)
            .limit(needed)
            for query in queries
        ]
        held = list(itertools.islice(heapq.merge(*each, key=value, reverse=True), needed))
        found.extend(held)
        width = _next_width(len(held), limit - len(found), max(top - max(low_at, EPOCH), _MS))
        high, top = low, low_at
    return found


# More than a page: the complaints at a cursor's instant that its page showed.
_SHOWN = 256


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _past(complaint: Complaint, key: str, after: tuple[datetime, str], descending: bool) -> bool:
    position = (getattr(complaint, key), complaint.id)
    return position < after if descending else position > after


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


def _floor(key: str) -> tuple[datetime | None, timedelta | None]:
    """The floor kept under `key`, and the width of the first window above it."""
    doc = FloorDocument._get_collection().find_one({"_id": key})
    if doc is None:
        return None, None
    width = doc.get("width")
    return doc["at"], (timedelta(seconds=width) if width else None)


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
    start, remembered = _floor(floor) if floor else (None, None)
    found: list[dict] = []
    lowest: datetime | None = None
    count = 0
    # What the windows that held some held, and over how long: the density the next read's
    # first window is sized from (kept with the floor).
    dense, dense_span = 0, timedelta(0)
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
        for doc in held:  # `accept` may read (the deliverer's): no further than needed
            if len(found) >= needed:
                break
            if take(doc):
                found.append(doc)
        spanned = max(high - low, timedelta(milliseconds=1))
        if len(held) > 1:
            # The span they occupy, not the window's: a climb's wide window (or the last
            # one, to `stop`) may hold a dense cluster.
            occupied = _aware(held[-1][field]) - _aware(held[0][field])
            dense, dense_span = dense + len(held), dense_span + max(occupied, _MS)
        if below_floor:
            width, below_floor = remembered or FIRST_WINDOW, False
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
        learned = remembered
        if dense:
            # As wide as `needed` at the density found, within the windows' own bounds.
            seconds = MARGIN * needed * dense_span.total_seconds() / dense
            learned = min(max(timedelta(seconds=seconds), _MS), FIRST_WINDOW)
        # Written when it moved (the floor, or the width by more than twice): most reads
        # write nothing.
        moved = kept is not None and kept != start
        if moved or _apart(learned, remembered):
            at = kept if kept is not None else start
            width = learned.total_seconds() if learned else None
            FloorDocument._get_collection().update_one(
                {"_id": floor}, {"$set": {"at": at, "width": width}}, upsert=True
            )
    return found[:needed], complete


def _apart(one: timedelta | None, other: timedelta | None) -> bool:
    if one is None or other is None:
        return one is not other
    return max(one, other) > 2 * min(one, other)


@guarded
def care_overdue(now: datetime, cap: int = COUNT_CAP) -> int:
    """How many complaints are past care's service level at `now`, up to `cap` + 1 (that
    figure: more than `cap`): the metrics' figure. Windows of `care_due_at` on `care_due`
    (which holds only complaints care works on with a clock running) from a kept floor, so it
    reads about what it counts however long the backlog (SecantusDB reads a whole index range
    before a `limit`)."""
    overdue, _ = _oldest_first(
        [{}],
        "care_due_at",
        cap + 1,
        now=now,
        stop=now,
        projection={"_id": 1, "care_due_at": 1},
        floor="care_overdue",
    )
    return len(overdue)


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
    cases (`assigned_to`) are read the same way on `agent_queue` (agent, state,
    escalated_at, _id), from the agent's own floor. The channels offered are those of the
    complaints counted (and the one asked for), no longer every channel of the whole queue.
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
    # The queue's states (each its own range: `$in` reads every complaint of the states), or an
    # agent's own cases in them on `agent_queue` (`$in` there would read every complaint the
    # agent ever had, closed ones too).
    mine = {"assigned_to": assigned_to} if assigned_to else {}
    listed, complete = _oldest_first(
        [{**mine, "state": state} for state in states],
        "escalated_at",
        COUNT_CAP + 1,
        now=now,
        accept=wanted,
        budget=READ_BUDGET,
        projection=fields,
        floor=("agent_queue:" + assigned_to + ":" if assigned_to else "care_queue:")
        + ",".join(states),
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
