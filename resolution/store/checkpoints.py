"""Checkpoints, their chunks of leaves and the key history, stored apart from the events.

Heads are read from the projections (one document per complaint, `_id` order): the event
store is read by `verify-log`, which is what an edit of the events behind the projections'
back meets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pymongo.errors import DuplicateKeyError

from .documents import CheckpointChunk, CheckpointDocument, ComplaintDocument, SigningKeyDocument
from .errors import guarded


class CheckpointTaken(Exception):
    """Another process stored a checkpoint of that number, or after that predecessor."""


@guarded
def heads() -> Iterator[tuple[str, int, str]]:
    """(complaint id, version, last event hash) of every complaint, in complaint id order."""
    cursor = (
        ComplaintDocument._get_collection()
        .find({}, {"_id": 1, "version": 1, "last_hash": 1})
        .sort([("_id", 1)])
        .batch_size(5000)
    )
    for doc in cursor:
        yield doc["_id"], doc["version"], doc["last_hash"]


@guarded
def save_chunks(chunks: list[tuple[str, list[list[Any]]]]) -> int:
    """Stores the chunks not stored yet (by root); returns how many were written."""
    if not chunks:
        return 0
    collection = CheckpointChunk._get_collection()
    roots = [r for r, _ in chunks]
    have = {d["_id"] for d in collection.find({"_id": {"$in": roots}}, {"_id": 1})}
    fresh = [{"_id": r, "leaves": leaves} for r, leaves in chunks if r not in have]
    fresh = list({d["_id"]: d for d in fresh}.values())
    for doc in fresh:
        try:
            collection.insert_one(doc)
        except DuplicateKeyError:
            pass  # another sweeper stored the same chunk: it is the same content
    return len(fresh)


@guarded
def insert(doc: dict[str, Any]) -> None:
    """Stores a checkpoint; `CheckpointTaken` when its number or predecessor is taken."""
    try:
        CheckpointDocument._get_collection().insert_one(doc)
    except DuplicateKeyError as error:
        raise CheckpointTaken(doc["_id"]) from error


@guarded
def latest() -> dict[str, Any] | None:
    return CheckpointDocument._get_collection().find_one({}, sort=[("_id", -1)])


@guarded
def get(n: int) -> dict[str, Any] | None:
    return CheckpointDocument._get_collection().find_one({"_id": n})


@guarded
def latest_by(time: str) -> dict[str, Any] | None:
    """The latest checkpoint whose `time` is at or before `time` (ISO text, as stored)."""
    found = (
        CheckpointDocument._get_collection()
        .find({"time": {"$gte": "0", "$lte": time}}, {"chunks": 0, "firsts": 0})
        .sort([("time", -1)])
        .limit(1)
    )
    return next(iter(found), None)


@guarded
def between(first: int, last: int) -> list[dict[str, Any]]:
    """The checkpoints numbered `first` to `last`, in order (a missing number is missing)."""
    found = CheckpointDocument._get_collection().find({"_id": {"$gte": first, "$lte": last}})
    return sorted(found, key=lambda d: d["_id"])


@guarded
def page(before: int | None, limit: int) -> list[dict[str, Any]]:
    """The newest checkpoints (below `before` when given), newest first, without chunk lists."""
    bound = {"_id": {"$lt": before, "$gte": 1}} if before else {"_id": {"$gte": 1}}
    cursor = (
        CheckpointDocument._get_collection()
        .find(bound, {"chunks": 0, "firsts": 0})
        .sort([("_id", -1)])
        .limit(limit)
    )
    return list(cursor)


@guarded
def chunk(root: str) -> list[list[Any]] | None:
    doc = CheckpointChunk._get_collection().find_one({"_id": root})
    return doc["leaves"] if doc else None


@guarded
def record_key(key: str, public_key: str, at: str) -> None:
    """Adds the key to the history when it first signs, and moves its `last_used`."""
    SigningKeyDocument._get_collection().update_one(
        {"_id": key},
        {"$setOnInsert": {"public_key": public_key, "first_used": at}, "$max": {"last_used": at}},
        upsert=True,
    )


@guarded
def keys() -> list[dict[str, Any]]:
    """The key history, oldest first."""
    return sorted(SigningKeyDocument._get_collection().find(), key=lambda d: d["first_used"])
