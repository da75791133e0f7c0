"""Counters kept in the same transaction as the change they count: how many complaints are in
each state, read at every metrics scrape without counting the complaints (issue #25).

SecantusDB counts by reading the range it counts: `count_documents` per state read every
complaint ever kept (108,994 documents at 100,000 complaints, 7 s, at each scrape). Instead,
the write that moves a complaint from one state to another (`eventstore.append`, inside the
unit of work's transaction) also moves its count: `$inc` -1 on the old state's counter and +1
on the new one's, one `bulk_write`, one round trip more per write that changes the state
(none for one that does not: a message, evidence).

Each state's counter is spread over `STRIPES` documents (`complaints:<state>:<stripe>`), the
stripe picked at random by each write: two transactions writing the same document conflict
(one retries, `with_transaction`), so concurrent writers on different complaints rarely meet
on one. The reader sums the stripes: it reads the whole counters collection, states × stripes
documents however many complaints there are.

A database made before the counters has none: `ensure_counted` (at every connect) recounts
once, guarded by a marker document (`recount:complaints`, unique `_id`: one process counts,
the others go on; a claim older than `CLAIM_TIMEOUT` is taken over, for a process that died
counting). `recount` (`resolution recount`, and after `resolution rebuild`, which rewrites
projections outside the unit of work) sets each state's counter from a count of that state
in one transaction with the count: a writer changing that state at the same time writes a
stripe the recount writes too, so one of the two transactions conflicts and runs again; the
counter is never off by a write made during the recount.

Care overdue (`care_due_at` before now) depends on the clock, not on a write: no counter can
hold it. It is read from its index (`care_due`, which holds only complaints care is working
on with a clock running, not the closed ones), at most `OVERDUE_CAP` + 1 of them: a figure of
`OVERDUE_CAP` + 1 means "more than `OVERDUE_CAP`", as the console's queue shows "1000+".
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateMany, UpdateOne
from pymongo.errors import DuplicateKeyError

from ..domain.events import EPOCH
from ..domain.lifecycle import Lifecycle
from .documents import ComplaintDocument, CounterDocument
from .errors import guarded
from .transactions import Session

STRIPES = 8
OVERDUE_CAP = 1000
# A recount claimed this long ago and not finished is taken over (its process died counting).
CLAIM_TIMEOUT = timedelta(minutes=10)
KIND = "complaints"
MARKER = f"recount:{KIND}"
# Every state a complaint can be in: what a recount counts.
STATES = tuple(state.id for state in Lifecycle.states)


def _counters():
    return CounterDocument._get_collection()


def _stripe(state: str, stripe: int) -> str:
    return f"{KIND}:{state}:{stripe}"


@guarded
def moved(session: Session, before: str | None, after: str) -> None:
    """Counts a complaint leaving state `before` (None: a new complaint) for `after`, inside
    the transaction that writes it: one round trip, none when the state stays."""
    if before == after:
        return
    ops = [
        UpdateOne(
            {"_id": _stripe(after, random.randrange(STRIPES))}, {"$inc": {"n": 1}}, upsert=True
        )
    ]
    if before is not None:
        stripe = _stripe(before, random.randrange(STRIPES))
        ops.append(UpdateOne({"_id": stripe}, {"$inc": {"n": -1}}, upsert=True))
    _counters().bulk_write(ops, ordered=False, session=session)


@guarded
def added(by_state: Mapping[str, int], session: Session | None = None) -> None:
    """Counts complaints written in bulk, not by the unit of work (a benchmark's data set):
    `by_state[state]` more in each state, one round trip."""
    ops = [
        UpdateOne({"_id": _stripe(state, 0)}, {"$inc": {"n": n}}, upsert=True)
        for state, n in by_state.items()
        if n
    ]
    if ops:
        _counters().bulk_write(ops, ordered=False, session=session)


@guarded
def complaints_by_state(states: Iterable[str]) -> dict[str, int]:
    """How many complaints in each of `states` (0 for one never counted): the sum of its
    stripes. The whole counters collection, read at once: states × stripes documents and
    the marker, however many complaints. (A range of `_id` is a collection scan on
    SecantusDB all the same.)"""
    totals = dict.fromkeys(states, 0)
    for doc in _counters().find():
        kind, _, rest = doc["_id"].partition(":")
        state = rest.rpartition(":")[0]
        if kind == KIND and state in totals:
            totals[state] += doc.get("n") or 0
    return totals


@guarded
def care_overdue(now: datetime) -> int:
    """How many complaints are past care's service level at `now`, up to `OVERDUE_CAP` + 1
    (that figure: more than `OVERDUE_CAP`): ids only, on `care_due`."""
    query = {"care_due_at": {"$gte": EPOCH, "$lt": now}}
    found = ComplaintDocument._get_collection().find(query, {"_id": 1}).limit(OVERDUE_CAP + 1)
    return len(list(found))


@guarded
def complaint_figures(states: Iterable[str], now: datetime) -> dict[str, Any]:
    """How many complaints in each state (`complaints_by_state`), how many past care's
    service level (`care_overdue`): what the metrics show."""
    return {"by_state": complaints_by_state(states), "care_overdue": care_overdue(now)}


@guarded
def recount(states: Iterable[str] = STATES) -> dict[str, int]:
    """Sets each state's counter from a count of its complaints, a state per transaction
    (the count and the stripes' new values commit together; a concurrent writer of that
    state conflicts with it and one of them runs again). Reads every complaint once: for a
    database made before the counters, and after `resolution rebuild`."""
    client = ComplaintDocument._get_collection().database.client
    complaints, counters = ComplaintDocument._get_collection(), _counters()
    counted: dict[str, int] = {}
    for state in states:

        def count(session: Session, state: str = state) -> int:
            n = complaints.count_documents({"state": state}, session=session)
            others = [_stripe(state, stripe) for stripe in range(1, STRIPES)]
            counters.bulk_write(
                [
                    UpdateOne({"_id": _stripe(state, 0)}, {"$set": {"n": n}}, upsert=True),
                    UpdateMany({"_id": {"$in": others}}, {"$set": {"n": 0}}),
                ],
                ordered=True,
                session=session,
            )
            return n

        with client.start_session() as session:
            counted[state] = session.with_transaction(count)
    return counted


@guarded
def ensure_counted(now: datetime | None = None) -> bool:
    """Recounts once, in a database made before the counters (the marker says whether it
    was); True when this call counted. Safe to call from every process at every start: the
    marker's unique `_id` lets one of them count."""
    now = now or datetime.now(UTC)
    counters = _counters()
    marker = counters.find_one({"_id": MARKER})
    if marker is not None:
        if marker.get("counted_at") is not None:
            return False
        claimed = marker.get("claimed_at")
        if claimed is not None and claimed.tzinfo is None:
            claimed = claimed.replace(tzinfo=UTC)
        if claimed is not None and now - claimed < CLAIM_TIMEOUT:
            return False  # another process is counting
        taken = counters.update_one(
            {"_id": MARKER, "claimed_at": marker.get("claimed_at"), "counted_at": None},
            {"$set": {"claimed_at": now}},
        )
        if taken.modified_count != 1:
            return False
    else:
        try:
            counters.insert_one({"_id": MARKER, "claimed_at": now, "counted_at": None})
        except DuplicateKeyError:
            return False
    # No complaint yet (a new database): every counter is right from the first write on.
    if ComplaintDocument._get_collection().find_one({}, {"_id": 1}) is not None:
        recount()
    counters.update_one({"_id": MARKER}, {"$set": {"counted_at": datetime.now(UTC)}})
    return True
