"""Evidence use cases: add (a file or a tracking number), list, open, review.

A file goes to GridFS before its event is committed (a transaction cannot carry 100 MB); if
the event is then refused, the file is deleted, so a refused upload leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from bson import ObjectId
from gridfs import GridOut

from .. import media
from ..domain import commands
from ..domain.actors import Actor
from ..domain.errors import NotFound
from ..domain.evidence import as_seen_by
from ..store import eventstore, files
from .complaints import Context, Idempotency, Recorded, Replayed, _change, get_complaint

# An upload's event commits within seconds of its file; an hour apart, the file is an orphan.
ORPHAN_GRACE = timedelta(hours=1)


def add_evidence(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    request: Mapping[str, Any],
    upload: BinaryIO | None = None,
    filename: str | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Adds a file (photo, video, screenshot, document, identity document) or a tracking number."""
    complaint = get_complaint(ctx, actor, complaint_id)
    commands.check_can_add_evidence(complaint, actor, ctx.clock())
    item = {k: v for k, v in request.items() if v is not None}
    item.setdefault("care_only", False)
    file_id = None
    if upload is None:
        item["evidence_id"] = str(ObjectId())
    else:
        prepared = media.prepare(upload, item["kind"], ctx.evidence_limits)
        metadata = {
            "complaint_id": complaint_id,
            "kind": item["kind"],
            "content_type": prepared.content_type,
            "sha256": prepared.sha256,
            "uploaded_by": actor.as_data(),
        }
        file_id = files.put(prepared.stream, metadata)
        item["evidence_id"] = file_id
        item["file"] = {
            "content_type": prepared.content_type,
            "size": prepared.size,
            "sha256": prepared.sha256,
            "filename": (filename or "")[:200],
        }
    try:
        recorded = _change(
            ctx,
            actor,
            complaint_id,
            lambda c, now: commands.add_evidence(c, actor, item, now),
            None,
            idem,
        )
    except (Exception, Replayed):
        if file_id:
            files.delete(file_id)
        raise
    if file_id:
        files.mark_recorded(file_id)
    return recorded


def remove_orphan_files(ctx: Context, now: datetime, grace: timedelta = ORPHAN_GRACE) -> int:
    """Deletes files whose event never committed (the process died in between).

    A file still unmarked after `grace` is either an orphan, or recorded by a process that
    died right after its commit: the complaint's evidence list tells which.
    """
    removed = 0
    for file_id, complaint_id in files.unrecorded_before(now - grace):
        complaint = eventstore.load(complaint_id) if complaint_id else None
        if complaint is not None and any(i["id"] == file_id for i in complaint.evidence):
            files.mark_recorded(file_id)
        else:
            files.delete(file_id)
            removed += 1
    return removed


def list_evidence(ctx: Context, actor: Actor, complaint_id: str) -> list[dict]:
    """The complaint's evidence, restricted content reduced to a mention for other parties."""
    complaint = get_complaint(ctx, actor, complaint_id)
    return [as_seen_by(actor, item) for item in complaint.evidence]


def open_evidence(
    ctx: Context, actor: Actor, complaint_id: str, evidence_id: str, *, record_view: bool = True
) -> tuple[dict, GridOut]:
    """The evidence entry and its file; reading personal data leaves an `evidence_viewed` event.

    `record_view=False` is for the continuation of a read already recorded (a later byte range
    of the same video).
    """
    complaint = get_complaint(ctx, actor, complaint_id)
    item, viewed = commands.open_evidence(complaint, actor, evidence_id, ctx.clock())
    if "file" not in item:
        raise NotFound("Tracking evidence has no file: its courier and number are the evidence.")
    stored = files.open_file(item["id"])
    if stored is None:
        raise NotFound(f"The file of evidence {evidence_id} is missing.")
    if viewed is not None and record_view:
        _change(
            ctx,
            actor,
            complaint_id,
            lambda c, now: commands.open_evidence(c, actor, evidence_id, now)[1],
            None,
            None,
        )
    return item, stored


def review_evidence(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    evidence_id: str,
    note: str,
    idem: Idempotency | None = None,
) -> Recorded:
    """Care marks a piece of evidence reviewed, with a note."""
    return _change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.review_evidence(c, actor, evidence_id, note, now),
        None,
        idem,
    )
