"""Erasure of a data subject's personal data (UU PDP), keeping the audit trail verifiable.

A data subject is a buyer (`buyer:<buyer id>`) or a seller's person (`seller:<their user
id>`). What is theirs in a complaint's events: every personal field they wrote (descriptions,
messages, notes, reasons, evidence captions and file names, tracking numbers of their
shipments), care's notes on those complaints and care's review notes on their evidence (notes
about them). Each such field's value becomes `[erased]` (inside a file's details, only its
name): its value and its salt are gone, its commitment is kept beside the event
(`Event.commitments`), so the event's hash, the chain, checkpoints and every export made
before still verify. Their files are destroyed (crypto-shredding).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .errors import Invalid
from .events import Event

ERASED = "[erased]"
SUBJECT = re.compile(r"(buyer|seller):([A-Za-z0-9._@-]{1,128})")
# The fields whose whole value is personal text.
TEXT = frozenset(
    {"description", "body", "note", "reason", "rationale", "caption", "what", "tracking_number"}
)
# Inside a field's value (a file's details, a shipment): the keys that are personal.
NESTED = frozenset({"filename", "tracking_number"})
# Events whose text is care's about the parties of the complaint.
ABOUT_THEM = frozenset({"note"})


@dataclass(frozen=True)
class Subject:
    role: str
    id: str

    @classmethod
    def parse(cls, text: str) -> Subject:
        match = SUBJECT.fullmatch(text or "")
        if not match:
            raise Invalid(
                "A data subject is `buyer:<buyer id>` or `seller:<user id>`.",
                {"subject_id": ["not buyer:<id> or seller:<id>"]},
            )
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{self.role}:{self.id}"

    def wrote(self, actor: Mapping) -> bool:
        return actor.get("role") == self.role and actor.get("id") == self.id


def _erased(value: Any, key: str | None) -> Any:
    if key in TEXT and isinstance(value, str):
        return ERASED
    if key in NESTED and isinstance(value, str):
        return ERASED
    if isinstance(value, Mapping):
        return {k: _erased(v, k) for k, v in value.items()}
    return value


def erased_value(key: str, value: Any) -> Any:
    """A field's value with its personal parts replaced by `[erased]`."""
    return _erased(value, key)


def theirs(subject: Subject, evidence: Iterable[Mapping]) -> set[str]:
    """The ids of the evidence the subject added."""
    return {item["id"] for item in evidence if subject.wrote(item.get("by") or {})}


def erase_event(event: Event, subject: Subject, their_evidence: set[str]) -> Event:
    """The event with the subject's personal fields erased (the same event when none)."""
    if subject.wrote(event.actor) or event.type in ABOUT_THEM:
        # (An opening's `reason` is a reason code, not their words.)
        keys = [k for k in event.data if not (event.type == "open" and k == "reason")]
    elif event.type == "evidence_reviewed" and event.data.get("evidence_id") in their_evidence:
        keys = ["note"]
    else:
        return event
    data, salts, commitments = dict(event.data), dict(event.salts), dict(event.commitments)
    for key in keys:
        if key not in data:
            continue
        value = erased_value(key, data[key])
        if value == data[key]:
            continue
        commitments.setdefault(key, event.commitment(key))
        data[key] = value
        salts.pop(key, None)
    if data == event.data:
        return event
    return replace(event, data=data, salts=salts, commitments=commitments)


def erased_fields(before: Event, after: Event) -> list[str]:
    return [key for key in before.data if before.data[key] != after.data.get(key)]
