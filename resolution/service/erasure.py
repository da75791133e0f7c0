"""Erasure on request: a data subject's personal data replaced by `[erased]` everywhere the
service keeps it, their files destroyed, the audit trail still verifiable (`domain.erasure`).

Per complaint, in one transaction: the erased events written back (values and salts gone,
commitments kept, hashes unchanged), the projection rebuilt from them, and an `erasure` event
appended. The subject's files are destroyed first (their keys, then their chunks): a failure
after that leaves files destroyed and the erasure to run again, never the reverse. Then the
copies of their words elsewhere: webhook payloads rebuilt from the erased log, remembered
Idempotency-Key responses about those complaints forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain import commands
from ..domain.actors import Actor, Role
from ..domain.erasure import Subject, erase_event, erased_fields, theirs
from ..domain.errors import Conflict, Forbidden, NotFound
from ..domain.events import iso
from ..domain.projection import apply, replay
from ..store import erasure as store
from ..store import eventstore, files, transactions
from ..store.transactions import Session
from . import views
from .unit_of_work import Context, Idempotency, check_replay, write


@dataclass(frozen=True)
class Erased:
    receipt: dict
    replayed: bool


def check_eraser(actor: Actor) -> None:
    if actor.role is not Role.CARE:
        raise Forbidden("Erasure of personal data is the care team's, on a data subject's request.")


def erase(
    ctx: Context, actor: Actor, subject_id: str, reason: str, idem: Idempotency | None = None
) -> Erased:
    """Erases everything the subject wrote, on every complaint of theirs; the receipt.

    404 for a subject who wrote nothing here; 409, touching nothing, while any of their
    complaints is open or under a legal hold (listed). Asked again with nothing left to erase,
    the first receipt is the answer (`replayed`).
    """
    check_eraser(actor)
    check_replay(idem, actor)  # the same Idempotency-Key again: its first answer
    subject = Subject.parse(subject_id)
    ids = store.complaints_of(subject.role, subject.id)
    if not ids:
        raise NotFound(f"No data subject {subject} wrote anything here.")
    complaints = [c for c in (eventstore.load(cid) for cid in ids) if c is not None]
    blocked = [c for c in complaints if c.state != "closed" or c.legal_hold]
    if blocked:
        listed = [{"id": c.id, "state": c.state, "legal_hold": bool(c.legal_hold)} for c in blocked]
        raise Conflict(
            f"{len(blocked)} of {subject}'s complaints are open or under a legal hold: nothing "
            "was erased. Erase again once they are closed and not held.",
            complaints=listed,
        )
    planned = [_plan(subject, c.id) for c in complaints]
    previous = store.latest_receipt(str(subject))
    if previous is not None and not any(p.edited or p.files for p in planned):
        replayed = Erased(_shown(previous), replayed=True)
        return write(ctx, actor, idem, lambda session: replayed)
    now = ctx.clock()
    receipt_id = eventstore.new_id()
    done = []
    for plan in planned:
        for file_id in plan.files:
            files.delete(file_id)
        data = {
            "subject_id": str(subject),
            "reason": reason,
            "receipt_id": receipt_id,
            "fields": [[seq, key] for seq, key in plan.fields],
            "files": plan.files,
        }
        seq = transactions.transaction(
            lambda session, cid=plan.complaint_id, data=data: _commit(
                session, ctx, actor, cid, subject, data, now
            )
        )
        _rewrite_payloads(ctx, plan.complaint_id)
        done.append(
            {
                "complaint_id": plan.complaint_id,
                "erasure_seq": seq,
                "fields": [{"seq": s, "field": k} for s, k in plan.fields],
                "files": plan.files,
            }
        )
    store.forget_responses(ids)
    receipt = {
        "_id": receipt_id,
        "subject_id": str(subject),
        "reason": reason,
        "by": actor.id,
        "at": now,
        "complaints": done,
    }
    erased = Erased(_shown(receipt), replayed=False)

    def saved(session: Session) -> Erased:
        store.save_receipt(receipt, session)
        return erased

    return write(ctx, actor, idem, saved)


@dataclass(frozen=True)
class _Plan:
    complaint_id: str
    edited: list
    fields: list[tuple[int, str]]
    files: list[str]


def _plan(subject: Subject, complaint_id: str) -> _Plan:
    complaint = eventstore.load(complaint_id)
    events = eventstore.events_of(complaint_id)
    their_evidence = theirs(subject, complaint.evidence if complaint else [])
    edited, fields = [], []
    for event in events:
        erased = erase_event(event, subject, their_evidence)
        if erased is not event:
            edited.append(erased)
            fields += [(event.seq, key) for key in erased_fields(event, erased)]
    kept = [
        item["id"]
        for item in (complaint.evidence if complaint else [])
        if item["id"] in their_evidence and "file" in item and not item.get("erased_at")
    ]
    return _Plan(complaint_id, edited, fields, kept)


def _commit(
    session: Session,
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    subject: Subject,
    data: dict[str, Any],
    now,
) -> int:
    """One complaint's erasure, inside `session`'s transaction: its `erasure` event's seq."""
    complaint = eventstore.load(complaint_id, session)
    if complaint is None or complaint.state != "closed" or complaint.legal_hold:
        raise Conflict(f"Complaint {complaint_id} was reopened or held meanwhile: not erased.")
    events = eventstore.events_of(complaint_id)
    their_evidence = theirs(subject, complaint.evidence)
    erased = [erase_event(e, subject, their_evidence) for e in events]
    edited = [after for before, after in zip(events, erased, strict=True) if after is not before]
    if any(not e.verify() for e in erased):
        raise RuntimeError(f"erasing complaint {complaint_id} would break its chain")
    store.rewrite_events(session, edited)
    rebuilt = replay(erased, ctx.deadlines)
    event = commands.erasure(rebuilt, actor, data, now)
    eventstore.append(session, [event], apply(rebuilt, event, ctx.deadlines), was=complaint.state)
    return event.seq


def _rewrite_payloads(ctx: Context, complaint_id: str) -> None:
    """Every webhook delivery of the complaint, rebuilt from the erased log."""
    deliveries = store.deliveries_of(complaint_id)
    if not deliveries:
        return
    events = eventstore.events_of(complaint_id)
    states, complaint = {}, None
    for event in events:
        complaint = apply(complaint, event, ctx.deadlines)
        states[event.seq] = (event, complaint)
    for delivery in deliveries:
        if delivery["seq"] in states:
            event, state = states[delivery["seq"]]
            store.set_payload(
                delivery["id"], views.webhook_payload(delivery["owner"], event, state)
            )


def _shown(receipt: dict) -> dict:
    shown = {k: v for k, v in receipt.items() if k != "_id"}
    shown["id"] = receipt["_id"]
    shown["at"] = iso(receipt["at"])
    return shown
