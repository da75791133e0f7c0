"""Counters kept in the same transaction as the change they count: how many complaints are in
each state, read at every metrics scrape without counting the complaints (issue #25).

SecantusDB counts by reading the range it counts: `count_documents` per state read every
complaint ever kept (108,994 documents at 100,000 complaints, 7 s, at each scrape). Instead,
the write that moves a complaint from one state to another (`eventstore.append`, inside the
unit of work's transaction) also moves its count: `$inc` -1 on the old state's counter and +1
on the new one's, sent in the same client-wide `bulkWrite` command as the event and the
projection (MongoDB 8.0 and SecantusDB), so the counters cost no round trip; on an older
MongoDB, one `bulk_write` of their own, one round trip more per write that changes the state
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
hold it. It is read from its index (`listings.care_overdue`), as pending webhook deliveries and
the outbox are (`webhooks.queue_figures`): at most `CAP` + 1 of them, in windows of the key
from a kept floor, so the read stops there however long the backlog; a figure of `CAP` + 1
means "more than `CAP`", as the console's queue shows "1000+".
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateMany, UpdateOne
from pymongo.errors import DuplicateKeyError

from ..domain.lifecycle import Lifecycle
from ..domain.webhooks import DEAD, DELIVERED
from .documents import ComplaintDocument, CounterDocument, WebhookDelivery
from .errors import guarded
from .transactions import Session

STRIPES = 8
CAP = 1000
# A recount claimed this long ago and not finished is taken over (its process died counting).
CLAIM_TIMEOUT = timedelta(minutes=10)
KIND = "complaints"
MARKER = f"recount:{KIND}"
DELIVERIES = "deliveries"
# The deliveries' statuses kept as counters; pending ones are read (`capped`).
COUNTED_STATUSES = (DELIVERED, DEAD)
# Every state a complaint can be in: what a recount counts.
STATES = tuple(state.id for state in Lifecycle.states)


def _counters():
    return CounterDocument._get_collection()


def _stripe(key: str, stripe: int, kind: str = KIND) -> str:
    return f"{kind}:{key}:{stripe}"


def _incs(kind: str, changes: Mapping[str, int], namespace: str | None = None) -> list[UpdateOne]:
    """The updates adding `changes[key]` to a random stripe of each key's counter (with
    `namespace`: for a client-wide `bulk_write`, with other collections' writes)."""
    extra = {"namespace": namespace} if namespace else {}
    return [
        UpdateOne(
            {"_id": _stripe(key, random.randrange(STRIPES), kind)},
            {"$inc": {"n": n}},
            upsert=True,
            **extra,
        )
        for key, n in changes.items()
        if n
    ]


def _inc(session: Session | None, kind: str, changes: Mapping[str, int]) -> None:
    """Adds `changes[key]` to a random stripe of each key's counter: one round trip."""
    if ops := _incs(kind, changes):
        _counters().bulk_write(ops, ordered=False, session=session)


def _moves(before: str | None, after: str) -> dict[str, int]:
    if before == after:
        return {}
    return {after: 1} if before is None else {after: 1, before: -1}


def moves(before: str | None, after: str) -> list[UpdateOne]:
    """The updates counting a complaint leaving state `before` (None: a new complaint) for
    `after`, each naming the counters' collection: sent in the same client-wide `bulk_write`
    as the event and the projection (`eventstore.append`), so they cost no round trip."""
    return _incs(KIND, _moves(before, after), _counters().full_name)


@guarded
def moved(session: Session, before: str | None, after: str) -> None:
    """Counts a complaint leaving state `before` (None: a new complaint) for `after`, inside
    the transaction that writes it: one round trip, none when the state stays (a server
    older than MongoDB 8.0, which has no client-wide `bulkWrite`: `eventstore.append`)."""
    _inc(session, KIND, _moves(before, after))


@guarded
def delivery_moved(session: Session | None, before: str, after: str) -> None:
    """Counts a webhook delivery leaving status `before` for `after`, inside the transaction
    that writes it. Only `COUNTED_STATUSES` are counters; "delivered" is a running total
    (a redelivery does not take one back; the TTL's deletions do not either)."""
    changes = {}
    if after in COUNTED_STATUSES and after != before:
        changes[after] = 1
    if before == DEAD and after != DEAD:
        changes[DEAD] = -1
    _inc(session, DELIVERIES, changes)


@guarded
def added(by_state: Mapping[str, int], session: Session | None = None) -> None:
    """Counts complaints written in bulk, not by the unit of work (a benchmark's data set):
    `by_state[state]` more in each state, one round trip."""
    _inc(session, KIND, by_state)


def _sums(kind: str, keys: Iterable[str]) -> dict[str, int]:
    """Each key's counter of `kind` (0 for one never counted): the sum of its stripes. The
    whole counters collection, read at once: a few documents per state and status, however
    many complaints and deliveries. (A range of `_id` is a collection scan on SecantusDB all
    the same.)"""
    totals = dict.fromkeys(keys, 0)
    for doc in _counters().find():
        of, _, rest = doc["_id"].partition(":")
        key = rest.rpartition(":")[0]
        if of == kind and key in totals:
            totals[key] += doc.get("n") or 0
    return totals


@guarded
def complaints_by_state(states: Iterable[str]) -> dict[str, int]:
    """How many complaints in each of `states` (0 for one never counted)."""
    return _sums(KIND, states)


@guarded
def deliveries_counted() -> dict[str, int]:
    """The deliveries' counters: dead ones, and deliveries made since counting began."""
    return _sums(DELIVERIES, COUNTED_STATUSES)


def _recount_one(kind: str, key: str, collection: Any, query: Mapping[str, Any]) -> int:
    """Sets one counter to a count of `query`, the count and the stripes' new values in one
    transaction: a writer moving that counter meanwhile writes a stripe this writes too, so
    one of the two conflicts and runs again."""
    client = collection.database.client
    counters = _counters()

    def count(session: Session) -> int:
        n = collection.count_documents(query, session=session)
        others = [_stripe(key, stripe, kind) for stripe in range(1, STRIPES)]
        counters.bulk_write(
            [
                UpdateOne({"_id": _stripe(key, 0, kind)}, {"$set": {"n": n}}, upsert=True),
                UpdateMany({"_id": {"$in": others}}, {"$set": {"n": 0}}),
            ],
            ordered=True,
            session=session,
        )
        return n

    with client.start_session() as session:
        return session.with_transaction(count)


@guarded
def recount(states: Iterable[str] = STATES) -> dict[str, int]:
    """Sets each state's counter from a count of its complaints, and the deliveries'
    (delivered: those kept now, the running total's start; dead), a counter per
    transaction. Reads every complaint and every kept delivery once: for a database made
    before the counters, and after `resolution rebuild`. Returns the complaints' counts."""
    complaints, deliveries = ComplaintDocument._get_collection(), WebhookDelivery._get_collection()
    counted = {state: _recount_one(KIND, state, complaints, {"state": state}) for state in states}
    for status in COUNTED_STATUSES:
        _recount_one(DELIVERIES, status, deliveries, {"status": status})
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
    # Nothing yet (a new database): every counter is right from the first write on.
    held = ComplaintDocument._get_collection().find_one({}, {"_id": 1}) is not None
    if held or WebhookDelivery._get_collection().find_one({}, {"_id": 1}) is not None:
        recount()
    counters.update_one({"_id": MARKER}, {"$set": {"counted_at": datetime.now(UTC)}})
    return True
