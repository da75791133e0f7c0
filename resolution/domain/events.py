"""Events: immutable facts, chained by hash so that a later edit is detectable.

The chain is specified in `docs/hash-chain.md`; keep the two in step.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

# The beginning of time: an export from here holds every event, and a range query with no
# lower end gets this one (the embedded database scans a range open at one end).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENESIS = "0" * 64
# The hash schemes (`hash_version`, docs/hash-chain.md). 1: each field commits as H(value),
# which anyone can confirm by hashing a guess. 2 (every event written since): each field
# commits as H([salt, value]) with a random salt of its own, kept beside the value and given
# only to those who may read it, and destroyed with it.
UNSALTED, SALTED = 1, 2
SCHEMES = (UNSALTED, SALTED)


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


def new_salt() -> str:
    """128 random bits, base64url without padding (22 characters), as SD-JWT's disclosures."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")


def commitment(value: object, salt: str | None, scheme: int = SALTED) -> str:
    """What a field of `data` enters the event's hash as: H(value) under scheme 1,
    H([salt, value]) under scheme 2 (a missing salt commits to `[null, value]`, which no
    sealed event has: such an event does not verify)."""
    if scheme == UNSALTED:
        return sha256(value)
    if scheme == SALTED:
        return sha256([salt, value])
    raise ValueError(f"unknown hash scheme {scheme!r}")


def chain_hash(
    complaint_id: str,
    seq: int,
    type: str,
    actor: Mapping,
    data: Mapping,
    at: datetime | str,
    prev_hash: str,
    field_hashes: Mapping[str, str] | None = None,
    salts: Mapping[str, str] | None = None,
    scheme: int = UNSALTED,
) -> str:
    """SHA-256 of the event's canonical form, where each `data` field stands as its own
    commitment (`commitment`: salted under scheme 2, which the hashed object names).

    Committing to each field separately lets a reader be shown the event without a field
    (another party's identity document, a NIK in an export) and still verify it with that
    field's commitment alone: `field_hashes` gives the commitment of a field whose value in
    `data` is not the original (and whose salt, under scheme 2, is withheld with it).
    """
    if scheme not in SCHEMES or isinstance(scheme, bool):
        raise ValueError(f"unknown hash scheme {scheme!r}")
    given, salts = field_hashes or {}, salts or {}
    hashed = {
        "complaint_id": complaint_id,
        "seq": seq,
        "type": type,
        "actor": actor,
        "data": {
            key: given.get(key) or commitment(value, salts.get(key), scheme)
            for key, value in data.items()
        },
        "at": at,
        "prev_hash": prev_hash,
    }
    if scheme != UNSALTED:
        hashed["hash_version"] = scheme
    return sha256(hashed)


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
    # Scheme 2: each field's salt. A field whose value is gone (erased) has none; its
    # commitment stays in `commitments`.
    salts: Mapping = field(default_factory=dict)
    hash_version: int = UNSALTED
    commitments: Mapping = field(default_factory=dict)

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
        *,
        scheme: int = SALTED,
        salts: Mapping[str, str] | None = None,
    ) -> Event:
        """A new event with its time truncated to milliseconds and its hash computed: under
        the salted scheme, each field with a new random salt (`salts` gives them instead, for
        test vectors). `scheme=UNSALTED` writes an event as this service did before salts."""
        at = utc_ms(at)
        data = _plain(data)
        if scheme == UNSALTED:
            salts = {}
        elif salts is None:
            salts = {key: new_salt() for key in data}
        digest = chain_hash(
            complaint_id, seq, type, actor, data, at, prev_hash, None, salts, scheme
        )
        return cls(
            complaint_id, seq, type, dict(actor), data, at, prev_hash, digest, dict(salts), scheme
        )

    def commitment(self, key: str) -> str:
        """What field `key` of `data` enters the hash as: given to a reader in place of a
        field withheld from it (with neither the value nor its salt)."""
        if key in self.commitments:
            return self.commitments[key]
        return commitment(self.data[key], self.salts.get(key), self.hash_version)

    def verify(self) -> bool:
        """True when the stored hash matches the event's content and its predecessor's hash."""
        try:
            expected = chain_hash(
                self.complaint_id,
                self.seq,
                self.type,
                self.actor,
                self.data,
                self.at,
                self.prev_hash,
                self.commitments,
                self.salts,
                self.hash_version,
            )
        except (ValueError, TypeError):
            return False  # a scheme no event has, or a value no event holds
        return expected == self.hash

    def as_data(self) -> dict:
        """The event as stored: with its salts (and, once a field is erased, that field's
        commitment); `hash_version` only under the salted scheme."""
        data = {
            "complaint_id": self.complaint_id,
            "seq": self.seq,
            "type": self.type,
            "actor": dict(self.actor),
            "data": dict(self.data),
            "at": self.at,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
        if self.hash_version != UNSALTED:
            data["hash_version"] = self.hash_version
            data["salts"] = dict(self.salts)
        if self.commitments:
            data["commitments"] = dict(self.commitments)
        return data

    def as_shown(self, data: Mapping, withheld: Mapping[str, str]) -> dict:
        """The event as one reader gets it: `data` as shown to it; in `data_hashes` the
        commitment of each field it is not shown as written (withheld, masked, or erased),
        and the salts of the other fields only. With those, the reader recomputes `hash`
        (docs/hash-chain.md) without learning what it was not shown."""
        hashes = {key: digest for key, digest in self.commitments.items() if key in data}
        hashes.update(withheld)
        return {
            "complaint_id": self.complaint_id,
            "seq": self.seq,
            "type": self.type,
            "actor": dict(self.actor),
            "data": dict(data),
            "data_hashes": hashes,
            "salts": {k: v for k, v in self.salts.items() if k not in hashes and k in data},
            "hash_version": self.hash_version,
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
