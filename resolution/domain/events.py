"""Events: immutable facts, chained by hash so that a later edit is detectable.

The chain is specified in `docs/hash-chain.md`; keep the two in step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

# The beginning of time: an export from here holds every event, and a range query with no
# lower end gets this one (the embedded database scans a range open at one end).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENESIS = "0" * 64


def utc_ms(moment: datetime) -> datetime:
    """`moment` in UTC, truncated to the milliseconds BSON keeps, so a re-read event matches."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not allowed: times are timezone-aware UTC")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso(moment: datetime) -> str:
    """The one textual form of an instant: UTC ISO 8601 with milliseconds and offset."""
    return utc_ms(moment).isoformat(timespec="milliseconds")


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        raise TypeError("floats are not allowed in events (money is int rupiah)")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical(value: object) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8, times as `iso`."""
    return json.dumps(
        _plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def sha256(value: object) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def chain_hash(
    complaint_id: str,
    seq: int,
    type: str,
    actor: Mapping,
    data: Mapping,
    at: datetime | str,
    prev_hash: str,
    field_hashes: Mapping[str, str] | None = None,
) -> str:
    """SHA-256 of the event's canonical form, where each `data` field stands as its own hash.

    Hashing each field separately lets an export mask a field (a NIK in a description) and
    still be verified with the masked field's hash alone: `field_hashes` gives the hash of a
    field whose value in `data` is not the original.
    """
    given = field_hashes or {}
    return sha256(
        {
            "complaint_id": complaint_id,
            "seq": seq,
            "type": type,
            "actor": actor,
            "data": {key: given.get(key) or sha256(value) for key, value in data.items()},
            "at": at,
            "prev_hash": prev_hash,
        }
    )


@dataclass(frozen=True, slots=True)
class Event:
    """One fact about one complaint, as stored and never changed afterwards."""

    complaint_id: str
    seq: int
    type: str
    actor: Mapping
    data: Mapping
    at: datetime
    prev_hash: str
    hash: str = field(default="")

    @classmethod
    def sealed(
        cls,
        complaint_id: str,
        seq: int,
        type: str,
        actor: Mapping,
        data: Mapping,
        at: datetime,
        prev_hash: str,
    ) -> Event:
        """A new event with its time truncated to milliseconds and its hash computed."""
        at = utc_ms(at)
        data = _plain(data)
        digest = chain_hash(complaint_id, seq, type, actor, data, at, prev_hash)
        return cls(complaint_id, seq, type, dict(actor), data, at, prev_hash, digest)

    def verify(self) -> bool:
        """True when the stored hash matches the event's content and its predecessor's hash."""
        expected = chain_hash(
            self.complaint_id, self.seq, self.type, self.actor, self.data, self.at, self.prev_hash
        )
        return expected == self.hash

    def as_data(self) -> dict:
        return {
            "complaint_id": self.complaint_id,
            "seq": self.seq,
            "type": self.type,
            "actor": dict(self.actor),
            "data": dict(self.data),
            "at": self.at,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def first_broken_link(events: list[Event]) -> int | None:
    """The `seq` of the first event whose hash or link is wrong, or None if the chain holds."""
    prev_hash, expected_seq = GENESIS, 1
    for event in events:
        if event.seq != expected_seq or event.prev_hash != prev_hash or not event.verify():
            return event.seq
        prev_hash, expected_seq = event.hash, expected_seq + 1
    return None
