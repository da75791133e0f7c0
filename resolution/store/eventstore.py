"""Events and projections in MongoDB: the append that commits them together, and the reads.

Appending an event, writing the projection it produces and recording the idempotent response
must happen together or not at all, so they share one multi-document transaction on a
pymongo session of the same client mongoengine uses (mongoengine has no sessions).

An action costs three round trips: read the projection; one `bulkWrite` command that inserts
the event, replaces the projection and moves the states' counters; commit (one more, the key's
record, with an Idempotency-Key). Opening a complaint costs four (the registered order and its
earlier complaints read, the `bulkWrite` inserting event and projection and counting it,
commit: the unique index is the one-open-per-order check). On a MongoDB older than 8.0, which
has no client-wide `bulkWrite`, the three writes are three commands (`_ONE_COMMAND`). The
event is its own webhook outbox entry (`FANOUT`), so the outbox costs no write of its own. A
read is one round trip (the event log: one aggregate, `load_with_events`).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import InsertOne, ReplaceOne
from pymongo.errors import (
    BulkWriteError,
    ClientBulkWriteException,
    DuplicateKeyError,
    InvalidOperation,
    OperationFailure,
)

from ..domain.events import Event
from ..domain.projection import Complaint
from . import counters, idempotency
from .documents import ComplaintDocument, EventDocument
from .errors import guarded
from .transactions import Session, VersionConflict

_FIELDS = {f.name for f in dataclasses.fields(Complaint)}
# Set on an event while its webhook deliveries are still to be made (the time it was
# appended); the deliverer's fan-out removes it. Not part of the event: never hashed,
# never exported, never shown. Its sparse index holds only the events still to fan out.
FANOUT = "fanout_at"


def new_id() -> str:
    """A new id for a settlement, a subscription, a delivery or a receipt: 24 hex characters
    that sort by creation time (an ObjectId)."""
    return str(ObjectId())


def new_complaint_id() -> str:
    """A new complaint's id: 24 random hex characters, the shape of an ObjectId (so ids made
    before, which are ObjectIds, keep working) but not growing with time.

    Events are sharded by `(complaint_id, seq)` (docs/operations.md, "sharding"). Ids that
    grow with time would send every new complaint's events to the last chunk, one shard
    taking all the writes; random ones spread them evenly over pre-split ranges, and the
    complaints, sharded by the same ranges of `_id`, stay on their events' shard. Nothing may
    read age from this id: listings order by `created_at`, the id only breaks ties.
    """
    return secrets.token_hex(12)


class OrderTaken(Exception):
    """The unique index found another complaint not closed on the same order."""


def complaint_to_mongo(complaint: Complaint) -> dict[str, Any]:
    doc = dataclasses.asdict(complaint)
    doc["_id"] = doc.pop("id")
    doc["active"] = complaint.is_open
    return doc


def complaint_from_mongo(doc: dict[str, Any]) -> Complaint:
    values = {k: v for k, v in doc.items() if k in _FIELDS}
    values["id"] = doc["_id"]
    for name, value in values.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            values[name] = value.replace(tzinfo=UTC)
    return Complaint(**values)


def event_to_mongo(event: Event) -> dict[str, Any]:
    return event.as_data()


def event_from_mongo(doc: dict[str, Any]) -> Event:
    at = doc["at"] if doc["at"].tzinfo else doc["at"].replace(tzinfo=UTC)
    return Event(
        doc["complaint_id"],
        doc["seq"],
        doc["type"],
        doc["actor"],
        doc["data"],
        at,
        doc["prev_hash"],
        doc["hash"],
        doc.get("salts") or {},
        doc.get("hash_version", 1),
        doc.get("commitments") or {},
    )


def _collections():
    return ComplaintDocument._get_collection(), EventDocument._get_collection()


@guarded
def load(complaint_id: str, session: Session | None = None) -> Complaint | None:
    """The stored projection, or None."""
    complaints, _ = _collections()
    doc = complaints.find_one({"_id": complaint_id}, session=session)
    return complaint_from_mongo(doc) if doc else None


# The event(s), the projection and the states' counters go in one client-wide `bulkWrite`
# command (MongoDB 8.0 and SecantusDB): one round trip instead of three. False once a server
# refused it (pymongo checks the server's version before sending anything); then three
# commands, as before it (tests run both).
_ONE_COMMAND = True
# MongoDB's WriteConflict: another transaction holds a document this one writes.
WRITE_CONFLICT = 112


def _write_together(
    session: Session, docs: list[dict], complaint: Complaint, doc: dict, was: str | None
) -> None:
    """Inserts the events, inserts or replaces (at the version it was read) the projection and
    moves the counters, in one `bulkWrite` command inside `session`'s transaction (ordered: the
    first refused write stops the rest, and the transaction is then aborted whole). A refusal
    is raised as the three commands would have raised it: a duplicate key as
    `DuplicateKeyError`, a write conflict with its TransientTransactionError label (so
    `with_transaction` runs the work again), a replace that matched nothing as
    `VersionConflict`."""
    complaints, events = _collections()
    ops: list[Any] = [InsertOne(d, namespace=events.full_name) for d in docs]
    seq = docs[0]["seq"]
    if seq == 1:
        ops.append(InsertOne(doc, namespace=complaints.full_name))
    else:
        ops.append(
            ReplaceOne(
                {"_id": complaint.id, "version": seq - 1}, doc, namespace=complaints.full_name
            )
        )
    ops += counters.moves(was, complaint.state)
    try:
        result = events.database.client.bulk_write(ops, session=session, verbose_results=True)
    except ClientBulkWriteException as error:
        for failed in error.write_errors or ():
            if failed.get("code") == 11000:
                raise DuplicateKeyError(failed.get("errmsg", ""), 11000, failed) from error
            if failed.get("code") == WRITE_CONFLICT:
                labelled = {**failed, "errorLabels": ["TransientTransactionError"]}
                raise OperationFailure(
                    failed.get("errmsg", ""), WRITE_CONFLICT, labelled
                ) from error
        if error.error is not None:  # the command refused whole (a write conflict): raised
            raise error.error from error  # itself, with its labels, which the wrapper hides
        raise
    if seq > 1 and result.update_results[len(docs)].matched_count != 1:
        raise VersionConflict(complaint.id)


@guarded
def append(
    session: Session,
    appended: Sequence[Event],
    complaint: Complaint,
    record: dict[str, Any] | None = None,
    *,
    was: str | None,
) -> None:
    """Appends the events (one, or a closing and its settlement's request) and writes the
    `complaint` they produced, inside `session`'s transaction; `was`: the complaint's state
    before them (None: a new one), whose count moves to its new state's (`counters.moved`).

    The Idempotency-Key's `record` goes first: a retry of the request stops at that write.
    Each event carries its webhook outbox mark (`FANOUT`): delivered if and only if committed.
    """
    global _ONE_COMMAND
    complaints, events = _collections()
    if record is not None:
        idempotency.remember(record, session)
    first = appended[0]
    try:
        docs = [{**event_to_mongo(event), FANOUT: event.at} for event in appended]
        doc = complaint_to_mongo(complaint)
        if _ONE_COMMAND:
            try:
                return _write_together(session, docs, complaint, doc, was)
            except InvalidOperation as error:  # refused before it was sent: MongoDB before 8.0
                if "8.0" not in str(error):
                    raise
                _ONE_COMMAND = False
        if len(docs) == 1:
            events.insert_one(docs[0], session=session)
        else:
            events.insert_many(docs, session=session)
        if first.seq == 1:
            complaints.insert_one(doc, session=session)
        else:
            # (Not findAndModify: on SecantusDB it reads the whole collection; an update by
            # `_id` does not, whatever `explain` says. benchmarks/query_plans.py)
            result = complaints.replace_one(
                {"_id": complaint.id, "version": first.seq - 1}, doc, session=session
            )
            if result.matched_count != 1:
                raise VersionConflict(complaint.id)
        # The states' counters move with the projection, in its transaction (one round trip,
        # only when the state changes): the metrics then count no complaint (store.counters).
        counters.moved(session, was, complaint.state)
    except BulkWriteError as error:  # insert_many's duplicate `seq`: another writer won
        if any(e.get("code") == 11000 for e in error.details.get("writeErrors", ())):
            raise VersionConflict(complaint.id) from error
        raise
    except DuplicateKeyError as error:
        index = str(error.details or error)
        if "one_open_complaint_per_order" in index or "order.id" in index:
            raise OrderTaken(complaint.order.get("id")) from error
        raise VersionConflict(complaint.id) from error


@guarded
def events_of(
    complaint_id: str, after: int = 0, limit: int | None = None, *, upto: int | None = None
) -> list[Event]:
    """A complaint's events in `seq` order (after `after`, up to `upto` included)."""
    # From the start, every event of the complaint, whatever its `seq`: one whose `seq` was
    # changed to 0 or below must still be read, so the chain check names it.
    bound: dict[str, int] = {"seq__gt": after} if after else {}
    if upto is not None:
        bound["seq__lte"] = upto
    query = EventDocument.objects(complaint_id=complaint_id, **bound).order_by("seq")
    if limit:
        query = query.limit(limit)
    return [event_from_mongo(doc) for doc in query.as_pymongo()]


@guarded
def load_with_events(
    complaint_id: str, after: int = 0, limit: int = 100
) -> tuple[Complaint | None, list[Event]]:
    """The stored projection and a page of its events (as `events_of`), in one round trip.

    One aggregate: the complaint by `_id`, its events joined by `complaint_seq` (`$lookup`
    with `localField`/`foreignField`, so both MongoDB and SecantusDB read that index for the
    one complaint). A page is at most `limit` events, far under a document's 16 MB.
    """
    complaints, events = _collections()
    page: list[dict[str, Any]] = [{"$match": {"seq": {"$gt": after}}}] if after else []
    page += [{"$sort": {"seq": 1}}, {"$limit": limit}]
    joined = {
        "from": events.name,
        "localField": "_id",
        "foreignField": "complaint_id",
        "pipeline": page,
        "as": "events",
    }
    found = list(complaints.aggregate([{"$match": {"_id": complaint_id}}, {"$lookup": joined}]))
    if not found:
        return None, []
    doc = found[0]
    return complaint_from_mongo(doc), [event_from_mongo(e) for e in doc["events"]]


@guarded
def last_event(complaint_id: str, type_: str, match: dict[str, Any]) -> Event | None:
    """The complaint's latest event of `type_` whose fields equal `match` (dotted paths)."""
    _, events = _collections()
    query = {"complaint_id": complaint_id, "type": type_, **match}
    doc = events.find_one(query, sort=[("seq", -1)])
    return event_from_mongo(doc) if doc else None


@guarded
def all_complaint_ids() -> Iterator[str]:
    """Every complaint that has events, from the events alone."""
    collection = EventDocument._get_collection()
    for doc in collection.find({"seq": 1}, {"complaint_id": 1, "_id": 0}):
        yield doc["complaint_id"]


@guarded
def replace_projections(rebuilt: list[Complaint]) -> None:
    """Overwrites projections with ones rebuilt from events (`resolution rebuild`): one
    round trip for the lot, not one per complaint."""
    if not rebuilt:
        return
    complaints, _ = _collections()
    complaints.bulk_write(
        [ReplaceOne({"_id": c.id}, complaint_to_mongo(c), upsert=True) for c in rebuilt],
        ordered=False,
    )


@guarded
def fill_retention(complaint: Complaint) -> bool:
    """Writes the retention fields of a projection that had none (`closed_at`, `retain_from`,
    `retained_kinds`), rebuilt from its events at `complaint.version`: only while the stored
    one is still that version with no `closed_at` (a writer that came first wins)."""
    complaints, _ = _collections()
    fields = {
        "closed_at": complaint.closed_at,
        "retain_from": complaint.retain_from,
        "retained_kinds": complaint.retained_kinds,
    }
    result = complaints.update_one(
        {"_id": complaint.id, "version": complaint.version, "closed_at": None}, {"$set": fields}
    )
    return result.modified_count == 1


@guarded
def open_complaint_on(channel: str, order_id: str) -> str | None:
    """The id of the complaint not closed on this order, if there is one."""
    doc = (
        ComplaintDocument.objects(channel=channel, order__id=order_id, active=True)
        .only("id")
        .as_pymongo()
        .first()
    )
    return doc["_id"] if doc else None


@guarded
def complaint_logs() -> Iterator[list[Event]]:
    """Every complaint's events in `seq` order, one complaint at a time: one pass over the
    events in (complaint, seq) order, memory holding one complaint's log."""
    # The raw cursor, a batch at a time: a mongoengine QuerySet caches every document read.
    cursor = (
        EventDocument._get_collection()
        .find()
        .sort([("complaint_id", 1), ("seq", 1)])
        .batch_size(1000)
    )
    events: list[Event] = []
    for doc in cursor:
        event = event_from_mongo(doc)
        if events and event.complaint_id != events[0].complaint_id:
            yield events
            events = []
        events.append(event)
    if events:
        yield events
