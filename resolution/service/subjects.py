"""What a data subject may be told (UU PDP's right to access), and who opened identity
documents: for care and auditors.

- `report`: every complaint and field held about the subject (what they wrote, as held now),
  every file of theirs with its retention date, every recorded view of their identity
  documents (who, when, how many bytes);
- `identity_views`: every identity document one agent opened in a time range, one index range
  (a breach must be reported within 3 × 24 hours: "whose KTP did this account open?").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timedelta

from ..domain.actors import Actor
from ..domain.erasure import Subject, theirs
from ..domain.errors import BadCursor, Forbidden, Invalid, NotFound
from ..domain.events import EPOCH, iso
from ..domain.retention import kept_files
from ..store import erasure as store
from ..store import eventstore
from .unit_of_work import Context

MAX_VIEWS = 1000


def check_can_read(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("Reports on personal data are for the care team and auditors.")


def report(ctx: Context, actor: Actor, subject_id: str) -> dict:
    """Everything held about the subject, as held now (erased values read `[erased]`)."""
    check_can_read(actor)
    subject = Subject.parse(subject_id)
    ids = store.complaints_of(subject.role, subject.id)
    if not ids:
        raise NotFound(f"Nothing is held about {subject}.")
    complaints, files, views = [], [], []
    for cid in ids:
        complaint = eventstore.load(cid)
        if complaint is None:
            continue
        events = eventstore.events_of(cid)
        their_evidence = theirs(subject, complaint.evidence)
        fields = [
            {"seq": e.seq, "type": e.type, "at": iso(e.at), "field": key, "value": value}
            for e in events
            if subject.wrote(e.actor)
            for key, value in e.data.items()
            if key not in ("state", "outcome")
        ]
        complaints.append(
            {
                "id": cid,
                "state": complaint.state,
                "role": subject.role,
                "closed_at": iso(complaint.closed_at) if complaint.closed_at else None,
                "legal_hold": bool(complaint.legal_hold),
                "fields": fields,
            }
        )
        kept = {item["id"] for item in kept_files(complaint.evidence)}
        for item in complaint.evidence:
            if item["id"] not in their_evidence or "file" not in item:
                continue
            files.append(_file(ctx, complaint, item, kept))
        for e in events:
            if e.type == "evidence_viewed" and e.data.get("evidence_id") in their_evidence:
                views.append(_view(e))
    return {
        "subject_id": str(subject),
        "generated_at": iso(ctx.clock()),
        "complaints": complaints,
        "files": files,
        "views": views,
    }


def _file(ctx: Context, complaint, item: dict, kept: set[str]) -> dict:
    if item["id"] in kept:
        state = "kept"
    else:
        state = "erased" if item.get("erased_at") else "purged"
    until = None
    if state == "kept" and complaint.closed_at and not complaint.legal_hold:
        until = iso(ctx.retention.until(complaint.closed_at, item["kind"]))
    return {
        "complaint_id": complaint.id,
        "evidence_id": item["id"],
        "kind": item["kind"],
        "at": item["at"],
        "sha256": item["file"]["sha256"],
        "size": item["file"]["size"],
        "state": state,
        # When its retention ends; null while the complaint is open or held, or once gone.
        "retained_until": until,
    }


def _view(event) -> dict:
    return {
        "complaint_id": event.complaint_id,
        "evidence_id": event.data.get("evidence_id"),
        "kind": event.data.get("kind"),
        "viewer": dict(event.actor),
        "at": iso(event.at),
        "bytes": event.data.get("bytes"),
    }


def identity_views(
    ctx: Context,
    actor: Actor,
    viewer: str,
    since: datetime,
    until: datetime | None,
    cursor: str | None = None,
    limit: int = MAX_VIEWS,
) -> tuple[list[dict], str | None]:
    """Every identity document `viewer` opened in [since, until) (no `until`: up to now,
    now included), oldest first: one page and the cursor of the next."""
    check_can_read(actor)
    until = until or ctx.clock() + timedelta(milliseconds=1)  # by default, now included
    if until <= since:
        raise Invalid("`until` must be later than `since`.", {"until": ["not after since"]})
    # A page's cursor names its viewer (not the period: `until` defaults to each call's now).
    listing = viewer
    after = _cursor(cursor, listing) if cursor else None
    found = store.identity_views(viewer, max(since, EPOCH), until, after, limit)
    page, more = found[:limit], len(found) > limit
    next_cursor = None
    if more:
        last = page[-1]
        position = f"{iso(last.at)}|{last.complaint_id}|{last.seq}"
        raw = f"{position}|{_check(listing, position)}".encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode()
    return [_view(e) for e in page], next_cursor


def _check(listing: str, position: str) -> str:
    """Which viewer's pages a cursor's position belongs to: not a secret, a guard against a
    cursor of another viewer's pages, or an edited one."""
    return hashlib.blake2b(f"{listing}|{position}".encode(), digest_size=6).hexdigest()


def _cursor(text: str, listing: str) -> tuple:
    """The (at, complaint id, seq) after which the page starts: `BadCursor` unless this
    listing gave it."""
    try:
        at, cid, seq, check = base64.urlsafe_b64decode(text.encode()).decode().split("|")
        position = (datetime.fromisoformat(at), cid, int(seq))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise _refused() from error
    if check != _check(listing, f"{at}|{cid}|{seq}"):
        raise _refused()
    return position


def _refused() -> BadCursor:
    return BadCursor(
        "This cursor is not one these views gave (another viewer's, edited, or of an older "
        "form): start again from the first page, without `cursor`."
    )
