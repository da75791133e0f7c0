"""Evidence use cases: add (a file or a tracking number), list, open, review.

A file goes to GridFS before its event is committed (a transaction cannot carry 100 MB); if
the event is then refused, the file is deleted, so a refused upload leaves nothing behind.
Files are stored encrypted, each under its own key (`encryption`): destroying the key
destroys the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from ..domain import commands
from ..domain.actors import Actor
from ..domain.errors import Gone, NotFound
from ..store import eventstore, files
from . import encryption, media, views
from .complaints import get_complaint
from .unit_of_work import (
    Context,
    Idempotency,
    Recorded,
    Replayed,
    change,
    check_replay,
    check_version,
)

# An upload's event commits within seconds of its file; an hour apart, the file is an orphan.
ORPHAN_GRACE = timedelta(hours=1)
# A claim to seal a file stored before encryption that is older than this was left by a
# process that died: another takes it over (sealing even 100 MB takes seconds).
SEALING_LEASE = timedelta(minutes=15)
# A byte range within this long of the same reader's recorded read continues that read.
READ_CONTINUES = timedelta(minutes=10)


def add_evidence(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    request: Mapping[str, Any],
    upload: BinaryIO | None = None,
    filename: str | None = None,
    idem: Idempotency | None = None,
    *,
    if_match: int | None = None,
) -> Recorded:
    """Adds a file (photo, video, screenshot, document, identity document) or a tracking number."""
    # A retried upload replays its first response, even once the complaint has moved on, and
    # before the file is read or stored a second time. (The transaction below checks again.)
    check_replay(idem, actor)
    complaint = get_complaint(ctx, actor, complaint_id)
    check_version(complaint, if_match)
    commands.check_can_add_evidence(complaint, actor, ctx.clock())
    item = {k: v for k, v in request.items() if v is not None}
    item.setdefault("care_only", False)
    file_id = None
    if upload is None:
        item["evidence_id"] = eventstore.new_id()
    else:
        prepared = media.prepare(upload, item["kind"], ctx.evidence_limits)
        metadata = {
            "complaint_id": complaint_id,
            "kind": item["kind"],
            "content_type": prepared.content_type,
            "sha256": prepared.sha256,
            "uploaded_by": actor.as_data(),
            "recorded": False,  # set once its event commits (files.mark_recorded)
            "encryption": encryption.SCHEME,
            "size": prepared.size,
        }
        file_id = files.new_file_id()
        data_key = encryption.new_data_key()
        files.save_key(file_id, ctx.file_keys.wrap(data_key, file_id))
        try:
            sealed = encryption.EncryptingReader(prepared.stream, prepared.size, data_key, file_id)
            files.put(sealed, metadata, file_id)
        except BaseException:
            files.delete(file_id)
            raise
        finally:
            if prepared.stream is not upload:
                prepared.stream.close()  # a cleaned copy (a re-muxed video: a temporary file)
        item["evidence_id"] = file_id
        item["file"] = {
            "content_type": prepared.content_type,
            "size": prepared.size,
            "sha256": prepared.sha256,
            # As the uploader named it, but for what no one can read (NUL, control characters).
            "filename": "".join(c for c in (filename or "") if c.isprintable())[:200],
        }
    try:
        recorded = change(
            ctx,
            actor,
            complaint_id,
            lambda c, now: commands.add_evidence(c, actor, item, now),
            if_match,
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


def rewrap_file_keys(ctx: Context) -> int:
    """Re-wraps every file key held under an earlier master key with the current one (key
    records only: no file is read or written). Safe to run on several processes at once: a
    record is replaced only while it still names its old key. How many were re-wrapped."""
    done = 0
    while batch := files.keys_not_under(ctx.file_keys.current_id):
        for record in batch:
            fresh = ctx.file_keys.rewrapped(record, record["_id"])
            done += files.replace_key(record["_id"], record["kek"], fresh)
    return done


@dataclass(frozen=True)
class Sealed:
    """What `encrypt_stored_files` did: files sealed, and files another process was sealing."""

    sealed: int = 0
    busy: int = 0


def encrypt_stored_files(ctx: Context, batch: int = 100) -> Sealed:
    """Encrypts in place every evidence file stored before files were encrypted
    (`resolution encrypt-files`).

    Each file gets its own key (saved first, marked as a claim), is read and sealed into a new
    GridFS file, checked by decrypting it back, then swapped in under the file's own id and
    the claim ended, in one transaction (`files.swap_in_sealed`): the evidence id, its stored
    SHA-256 (the ETag) and the log do not change. Idempotent and safe to run on several
    processes at once: a file is claimed by one, a run that dies leaves the plaintext as it
    was and its claim is taken over after `SEALING_LEASE`, and a file purged or erased
    meanwhile is left gone.
    """
    done, busy, after = 0, 0, None
    while page := files.plaintext_after(after, batch):
        for stored in page:
            after = stored["_id"]
            if _seal(ctx, stored):
                done += 1
            elif files.key_of(stored["_id"]) is not None:
                busy += 1  # claimed by another process (or sealed by it just now)
    return Sealed(done, busy)


def _seal(ctx: Context, stored: dict) -> bool:
    file_id, now = stored["_id"], ctx.clock()
    copy_id = files.new_file_id()
    data_key = encryption.new_data_key()
    claimed, abandoned = files.claim_for_sealing(
        file_id, ctx.file_keys.wrap(data_key, file_id), copy_id, now, now - SEALING_LEASE
    )
    if not claimed:
        return False
    if abandoned:
        files.abandon_sealing(file_id, abandoned)  # the copy of a process that died
    plain = files.open_file(file_id)
    if plain is None:  # purged or erased since it was listed
        files.abandon_sealing(file_id, copy_id)
        return False
    size = plain.length
    metadata = {**(plain.metadata or {}), "encryption": encryption.SCHEME, "size": size}
    try:
        with plain:
            digest = hashlib.sha256()
            sealed = encryption.EncryptingReader(_Hashing(plain, digest), size, data_key, file_id)
            files.put_sealed_copy(sealed, metadata, copy_id, file_id)
        check = files.open_file(copy_id)
        if check is None:
            raise RuntimeError(f"the sealed copy of file {file_id} was not stored")
        with check:
            opened, back = encryption.DecryptingReader(check, data_key, file_id), hashlib.sha256()
            while piece := opened.read(encryption.SEGMENT):
                back.update(piece)
            if back.digest() != digest.digest():
                raise encryption.Damaged(f"the sealed copy of file {file_id} does not open")
        swapped = files.swap_in_sealed(file_id, copy_id, metadata)
    except BaseException:
        files.abandon_sealing(file_id, copy_id)
        raise
    if not swapped:
        files.abandon_sealing(file_id, copy_id)
    return swapped


class _Hashing:
    """A stream read through, its bytes hashed as they pass."""

    def __init__(self, stream: BinaryIO, digest) -> None:
        self._stream, self._digest = stream, digest

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._digest.update(data)
        return data


def list_evidence(ctx: Context, actor: Actor, complaint_id: str) -> list[dict]:
    """The complaint's evidence, restricted content reduced to a mention for other parties."""
    complaint = get_complaint(ctx, actor, complaint_id)
    return [views.evidence_as_seen(item, actor) for item in complaint.evidence]


def open_evidence(
    ctx: Context, actor: Actor, complaint_id: str, evidence_id: str
) -> tuple[dict, BinaryIO]:
    """The evidence entry and its file, if `actor` may open it.

    Opening reads nothing yet: once the bytes to send are known, `record_read` leaves the
    `evidence_viewed` event a read of personal data must leave, before any byte goes out.
    """
    complaint = get_complaint(ctx, actor, complaint_id)
    item, _ = commands.open_evidence(complaint, actor, evidence_id, ctx.clock())
    if "file" not in item:
        raise NotFound("Tracking evidence has no file: its courier and number are the evidence.")
    stored = files.open_file(item["id"])
    if stored is None and files.key_of(item["id"]) is None:
        raise _gone(item["id"])  # destroyed: its key, then its chunks
    if stored is None:
        raise NotFound(f"The file of evidence {evidence_id} is missing.")
    if (stored.metadata or {}).get("encryption") is None:
        return item, stored  # stored before files were encrypted
    return item, _decrypted(ctx, stored, item["id"])


def _gone(file_id: str) -> Gone:
    return Gone(
        f"The file of evidence {file_id} was destroyed: its key is gone, so it cannot be read "
        "again. Its entry and SHA-256 remain in the log."
    )


def _decrypted(ctx: Context, stored, file_id: str):
    record = files.key_of(file_id)
    if record is None:
        stored.close()
        raise _gone(file_id)
    try:
        return encryption.DecryptingReader(stored, ctx.file_keys.unwrap(record, file_id), file_id)
    except encryption.KeyUnavailable as error:
        stored.close()
        # A configuration fault (a master key dropped before `rotate-master-key`), not the
        # caller's: said in the log, and a 500.
        raise RuntimeError(
            f"file {file_id} is wrapped by master key {error.args[0]}, which this process does "
            "not hold: set it in RESOLUTION_MASTER_KEY_PREVIOUS"
        ) from error


def record_read(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    item: dict,
    first_byte: int,
    sent: int | None = None,
) -> None:
    """Records that `actor` is reading restricted evidence from `first_byte` on.

    A read from byte 0 is a new read. A read starting further on continues one the same
    reader began within `READ_CONTINUES` (a video player seeking); with no such read it is
    recorded too, so no byte of personal data leaves without a recorded reader. `sent`: the
    bytes this answer sends, recorded (`bytes`); a continuing range's are not added to the
    read it continues.
    """
    if not item.get("restricted"):
        return
    if first_byte > 0:
        match = {
            "actor.role": str(actor.role),
            "actor.id": actor.id,
            "data.evidence_id": item["id"],
        }
        began = eventstore.last_event(complaint_id, "evidence_viewed", match)
        if began is not None and began.at >= ctx.clock() - READ_CONTINUES:
            return
    change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.open_evidence(c, actor, item["id"], now, sent)[1],
        None,
        None,
    )


def review_evidence(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    evidence_id: str,
    note: str,
    idem: Idempotency | None = None,
    *,
    if_match: int | None = None,
) -> Recorded:
    """Care marks a piece of evidence reviewed, with a note."""
    return change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.review_evidence(c, actor, evidence_id, note, now),
        if_match,
        idem,
    )
