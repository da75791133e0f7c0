"""Idempotency-Key records: the first response to a request, replayed to its retries."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError, OperationFailure

from .documents import IdempotencyRecord
from .errors import guarded
from .transactions import Session

WRITE_CONFLICT = 112


class KeyUsed(Exception):
    """The Idempotency-Key's record is committed already: the request was made before."""


class KeyBusy(Exception):
    """Another transaction is writing the Idempotency-Key's record (or wrote it after this
    one's snapshot): the same request, in flight."""


@guarded
def remember(record: dict[str, Any], session: Session) -> None:
    """Inserts an Idempotency-Key's record in `session`'s transaction: no read before it.

    The unique `_id` decides: a committed record refuses the insert (`KeyUsed`), one another
    transaction holds refuses it with a write conflict (`KeyBusy`), MongoDB's and
    SecantusDB's alike (tests/api/test_idempotency_in_flight.py).
    """
    try:
        IdempotencyRecord._get_collection().insert_one(record, session=session)
    except DuplicateKeyError as error:
        raise KeyUsed(record["_id"]) from error
    except OperationFailure as error:
        if error.code == WRITE_CONFLICT:
            raise KeyBusy(record["_id"]) from error
        raise


@guarded
def remembered(key_id: str, session: Session | None = None) -> dict | None:
    """The record kept for a key, or None."""
    return IdempotencyRecord._get_collection().find_one({"_id": key_id}, session=session)
