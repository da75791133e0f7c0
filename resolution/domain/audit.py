"""Audit exports: events masked for personal data, chained line by line, checkable offline.

An export is a sequence of records (NDJSON lines or CSV rows), each one event, ending with a
manifest. Three things make it checkable by someone who trusts only the service's public key:

- each event keeps `prev_hash` and `hash` (the chain of `docs/hash-chain.md`); a field masked
  for personal data carries the commitment of its original value in `data_hashes` (and, under
  the salted scheme, not its salt), so the chain still verifies without revealing it;
- each record carries `line_hash` = SHA-256 of the previous record's `line_hash` and this
  record's canonical JSON: the first edited record is found without holding the file in memory;
- the manifest (count, range, filters, the last `line_hash`) is signed with Ed25519.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .events import GENESIS, Event, canonical, chain_hash, iso

NIK = re.compile(r"(?<!\d)\d{12}(\d{4})(?!\d)")
MASK = "*" * 12
CSV_COLUMNS = (
    "complaint_id",
    "seq",
    "type",
    "actor",
    "at",
    "data",
    "data_hashes",
    "salts",
    "hash_version",
    "prev_hash",
    "hash",
    "line_hash",
)
# The columns of exports written before salted commitments: such files still verify.
UNSALTED_CSV_COLUMNS = tuple(c for c in CSV_COLUMNS if c not in ("salts", "hash_version"))
IDENTITY_WITHHELD = "[withheld: identity document]"
# Ids and digests the service itself writes (ObjectIds, SHA-256) are hex: 16 of their
# characters may be digits in a row without being a NIK, and masking them would break the
# references between events. Only these fields, and only when they are such hex strings.
SERVICE_IDS = frozenset({"evidence_id", "evidence_ids", "sha256"})
HEX_ID = re.compile(r"[0-9a-f]{24}|[0-9a-f]{64}")


def mask_text(text: str) -> str:
    """Any 16-digit number (a NIK, the Indonesian identity number) keeps its last 4 digits."""
    return NIK.sub(lambda m: MASK + m.group(1), text)


def _masked(value: Any, key: str | None = None) -> Any:
    if isinstance(value, str):
        if key in SERVICE_IDS and HEX_ID.fullmatch(value):
            return value
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key) for v in value]
    return value


def masked_record(event: Event) -> dict:
    """The event as exported: personal data masked, with the commitments that keep it
    verifiable (a masked field's salt is left out with its value)."""
    data: dict[str, Any] = {}
    hashes: dict[str, str] = {}
    identity = event.type == "evidence_added" and event.data.get("kind") == "identity_document"
    for key, value in event.data.items():
        shown = _masked(value, key)
        if identity and key == "caption":
            shown = IDENTITY_WITHHELD
        elif identity and key == "file":
            shown = {k: v for k, v in value.items() if k != "filename"}
        if shown != value:
            hashes[key] = event.commitment(key)
        data[key] = shown
    record = event.as_shown(data, hashes)
    return {**record, "at": iso(event.at)}


def next_line_hash(previous: str, record: Mapping) -> str:
    """The running hash of an export after `record` (which must not hold `line_hash` itself)."""
    body = {k: v for k, v in record.items() if k != "line_hash"}
    return hashlib.sha256(previous.encode() + canonical(body)).hexdigest()


def chained(records: Iterable[dict]) -> Iterator[dict]:
    """The records with their `line_hash`; the last one's is what the manifest signs."""
    line_hash = GENESIS
    for record in records:
        line_hash = next_line_hash(line_hash, record)
        yield {**record, "line_hash": line_hash}


@dataclass
class Finding:
    """What `verify` found: ok, or the first thing that does not hold and where."""

    ok: bool
    message: str
    line: int | None = None
    complaint_id: str | None = None
    seq: int | None = None


def verify_records(
    records: Iterable[tuple[int, dict]], *, gaps: bool = False, whole: bool = False
) -> tuple[Finding, str, int]:
    """Checks the line chain and every event chain of an export's event records.

    `records` are (line number, record). Returns the first finding, the last `line_hash`
    and the number of records. An export may start in the middle of a complaint's chain
    (a time range): its first event there is checked on its own, the rest by their links.
    `gaps`: the export was filtered by type, so a complaint's events may skip `seq`s (those
    that follow each other are still checked as links). `whole`: the export starts at the
    beginning of time, so every complaint's chain must start at `seq` 1.
    """
    line_hash, count = GENESIS, 0
    heads: dict[str, tuple[int, str]] = {}
    # A broken link is reported only once the whole file has been read: an event edited in
    # the database before the export (its `at` moved later, say) stands out of its place, so
    # its successor seems to miss it; the edited event itself, further on, fails its own hash,
    # and that is the finding to name.
    broken: Finding | None = None
    for line, record in records:
        count += 1
        link = None
        try:
            expected = next_line_hash(line_hash, record)
            if record.get("line_hash") != expected:
                problem = "the record was changed, added or removed"
            else:
                line_hash = expected
                problem = _event_fault(record)
                if not problem:
                    link = _link_fault(record, heads.get(record["complaint_id"]), gaps, whole)
        except (KeyError, TypeError, ValueError, AttributeError):
            problem = "the record is not an event this service exported"
        if problem:
            where = record if isinstance(record, Mapping) else {}
            finding = Finding(False, problem, line, where.get("complaint_id"), where.get("seq"))
            return finding, line_hash, count
        if link and broken is None:
            broken = Finding(False, link, line, record["complaint_id"], record["seq"])
        heads[record["complaint_id"]] = (record["seq"], record["hash"])
    return broken or Finding(True, "ok"), line_hash, count


def _event_fault(record: Mapping) -> str | None:
    """What is wrong with this event on its own: a `seq` no event has, or its hash."""
    seq = record["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return "the record is not an event this service exported"
    digest = chain_hash(
        record["complaint_id"],
        seq,
        record["type"],
        record["actor"],
        record["data"],
        record["at"],
        record["prev_hash"],
        record.get("data_hashes"),
        record.get("salts"),
        record.get("hash_version", 1),  # absent from exports written before salts
    )
    if digest != record["hash"]:
        return "the event does not match its hash"
    return None


def _link_fault(
    record: Mapping, head: tuple[int, str] | None, gaps: bool, whole: bool
) -> str | None:
    """What is wrong with this event given the complaint's previous one in the export."""
    seq = record["seq"]
    if head is not None:
        last_seq, last_hash = head
        if seq == last_seq + 1:
            if record["prev_hash"] != last_hash:
                return "the event does not follow its predecessor"
        elif seq <= last_seq or not gaps:
            return "the event does not follow its predecessor (one is missing or out of order)"
    elif seq == 1 and record["prev_hash"] != GENESIS:
        return "the first event has a predecessor"
    elif seq != 1 and whole and not gaps:
        return "the complaint's earlier events are missing"
    return None
