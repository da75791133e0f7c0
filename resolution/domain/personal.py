"""A NIK typed into free text: shown as written to care, auditors and its writer; to everyone
else (the other party, the marketplace's API calls and webhooks) masked to its last 4 digits.

Indonesia's personal-data-protection law (UU PDP) makes a NIK personal data: a party who types
its own NIK into a message to care has not published it to the other party. Which text is free
text: what people type (descriptions, messages, notes, reasons, rationales, captions, file
names, what care asks for). Not free text, and never masked here: tracking numbers (a JNE
airway bill has 16 digits, and the other party needs it to follow the parcel), the order as
the marketplace registered it, and the service's own ids.

The writer is known by role: a complaint has one buyer and one shop, so a buyer or a seller
reading text written by its role wrote it (or its shop did); the marketplace's integration
wrote a settlement's answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .actors import Actor
from .audit import mask_text

FREE_TEXT = frozenset(
    {"description", "body", "note", "reason", "rationale", "caption", "filename", "what"}
    | {"withdrawn_reason"}
)
# Who wrote each top-level part of a complaint (its other parts say so themselves: `by`).
_WRITERS = {
    "description": "buyer",
    "appeal": "seller",
    "evidence_requests": "care",
    "evidence_request": "care",
    "settlement": "integration",
}


def reads_as_written(reader: Actor, writer_role: str | None) -> bool:
    """Does `reader` see a NIK in this writer's free text as written?"""
    return reader.is_staff or (writer_role is not None and reader.role.value == writer_role)


def _masked(value: Any, key: str | None) -> Any:
    if isinstance(value, str):
        return mask_text(value) if key in FREE_TEXT else value
    if isinstance(value, Mapping):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key) for v in value]
    return value


def masked(value: Any, key: str | None = None) -> Any:
    """`value` with every NIK in its free-text fields masked (`key`: the field it is)."""
    return _masked(value, key)


def event_data_as_seen(
    reader: Actor,
    writer_role: str,
    data: Mapping,
    withheld: Mapping[str, str],
    commit: Callable[[str], str],
) -> tuple[dict, dict]:
    """An event's data (already as `reader` may see it, `withheld` the commitments of what it
    may not) with NIKs in free text masked unless the reader sees them as written: each
    changed field's commitment joins `withheld` (its salt is then not given)."""
    if reads_as_written(reader, writer_role):
        return dict(data), dict(withheld)
    shown, hashes = {}, dict(withheld)
    for key, value in data.items():
        shown[key] = value if key in hashes else _masked(value, key)
        if shown[key] != value:
            hashes[key] = commit(key)
    return shown, hashes


def evidence_as_seen(reader: Actor, item: Mapping) -> dict:
    """An evidence entry (already as `reader` may see it): its caption and file name are its
    uploader's text, care's review note care's."""
    item = dict(item)
    by = item.get("by") or {}
    if not reads_as_written(reader, by.get("role")):
        for key in ("caption", "file"):
            if key in item:
                item[key] = _masked(item[key], key)
    if item.get("reviewed") and not reads_as_written(reader, "care"):
        item["reviewed"] = _masked(item["reviewed"], None)
    return item


def complaint_as_seen(reader: Actor, view: dict) -> dict:
    """A complaint as the API shows it, with NIKs in free text masked for this reader."""
    if reader.is_staff:
        return view
    out = dict(view)
    for key, writer in _WRITERS.items():
        if out.get(key) is not None and not reads_as_written(reader, writer):
            out[key] = _masked(out[key], key)
    proposal = out.get("proposal")
    if proposal and not reads_as_written(reader, proposal.get("by")):
        out["proposal"] = _masked(proposal, None)
    if out.get("evidence"):
        out["evidence"] = [evidence_as_seen(reader, item) for item in out["evidence"]]
    resolution = out.get("resolution")
    if resolution:  # care's (or the service's) words; the evidence it names, its uploaders'
        considered = resolution.get("evidence_considered")
        out["resolution"] = _masked({**resolution, "evidence_considered": None}, None)
        if considered is not None:
            listed = [evidence_as_seen(reader, item) for item in considered]
            out["resolution"]["evidence_considered"] = listed
        else:
            del out["resolution"]["evidence_considered"]
    return out
