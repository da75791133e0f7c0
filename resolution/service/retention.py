"""Retention: the sweeper destroys evidence files whose period ran out, and care holds a
complaint's files for as long as a legal matter needs them (`domain.retention`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..domain import commands
from ..domain.actors import SYSTEM, Actor
from ..domain.errors import Conflict, NotFound
from ..domain.projection import replay
from ..domain.retention import FILE_KINDS, purge_due
from ..store import eventstore, files, listings
from .unit_of_work import Context, Idempotency, Recorded, change

# Complaints closed before retention existed, filled in per sweeper pass.
FILL_BATCH = 500


def purge_expired(ctx: Context, now: datetime, limit: int | None = None) -> int:
    """Destroys every file due at `now` and records each (`evidence_purged`): how many.

    The file first (its key, then its chunks), then its event: a pass that dies in between
    leaves a destroyed file the next pass records (destroying it again is nothing). Any number
    of sweepers may run: the second to record a file finds it recorded and is refused.
    """
    at_now = replace(ctx, clock=lambda: now)
    candidates: dict[str, None] = {}
    for kind in FILE_KINDS:
        started_by = now - ctx.retention.of(kind)
        candidates.update(dict.fromkeys(listings.retained_since(kind, started_by, limit)))
    purged = 0
    for complaint_id in candidates:
        complaint = eventstore.load(complaint_id)
        if complaint is None:
            continue
        for item in purge_due(complaint, ctx.retention, now):
            files.delete(item["id"])
            try:
                change(
                    at_now,
                    SYSTEM,
                    complaint_id,
                    lambda c, at, eid=item["id"]: commands.purge_evidence(
                        c, eid, ctx.retention, at
                    ),
                )
            except (Conflict, NotFound):
                continue  # another sweeper recorded it first
            purged += 1
    return purged


def fill_closing_times(ctx: Context, limit: int = FILL_BATCH) -> int:
    """Gives up to `limit` complaints closed before retention existed the retention fields
    their projection lacks (`closed_at`, `retain_from`, `retained_kinds`), from their events,
    so their files enter the sweeper's index without `resolution rebuild`: how many.

    Only those three fields are written, and only while the projection is the version its
    events were read at: a write that came in between wins, and the next pass tries again.
    """
    filled = 0
    for complaint_id, version in listings.closed_without_closing_time(limit):
        events = eventstore.events_of(complaint_id, upto=version)
        if not events:
            continue
        rebuilt = replay(events, ctx.deadlines)
        if rebuilt.closed_at is not None:
            filled += eventstore.fill_retention(rebuilt)
    return filled


def set_legal_hold(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    reason: str,
    *,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Care holds every file of the complaint, whatever its retention (`legal_hold_set`)."""
    return change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.set_legal_hold(c, actor, reason, now),
        if_match,
        idem,
    )


def lift_legal_hold(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    reason: str,
    *,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Care lifts the hold (`legal_hold_lifted`): retention runs again."""
    return change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.lift_legal_hold(c, actor, reason, now),
        if_match,
        idem,
    )
