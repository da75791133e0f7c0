"""The settlements of closed complaints: the payment system lists them and answers each
(confirm, fail), care retries a failed one, the sweeper requests the held ones when due.

Every step is an event on the settlement's complaint, through the same unit of work as any
action: chained, exported, delivered by webhooks. Answers are idempotent by content (the same
answer twice changes nothing and answers the same) and final (another answer is a conflict).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from ..domain import commands
from ..domain.access import can_see, visibility_filter
from ..domain.actors import SYSTEM, Actor, Role
from ..domain.errors import BadCursor, Conflict, Forbidden, NotFound
from ..domain.events import Event
from ..domain.projection import Complaint
from ..store import eventstore
from ..store import settlements as store
from .unit_of_work import Context, Idempotency, Recorded, change

MAX_PAGE = 100


def check_reads(actor: Actor) -> None:
    """403 for anyone but the payment system, care and auditors (before anything is read)."""
    if not (actor.is_staff or actor.role is Role.INTEGRATION):
        raise Forbidden(
            "Settlements are read by the payment system (an integration token), care and "
            "auditors; a party reads its own on the complaint."
        )


# A settlement's id: an ObjectId's hex, what the listing's cursor is (`store.page` reads
# windows of its time).
_SETTLEMENT_ID = re.compile(r"[0-9a-f]{24}")


def list_settlements(
    ctx: Context,
    actor: Actor,
    *,
    status: str | None = None,
    channel: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> tuple[list[Complaint], str | None]:
    """The complaints with a settlement the actor may see (an integration: of its channels),
    the newest settlement first, a page at a time; the cursor is the last settlement's id."""
    check_reads(actor)
    if cursor is not None and not _SETTLEMENT_ID.fullmatch(cursor):
        raise BadCursor(
            "This cursor is not one this listing gave (a settlement's id, 24 hexadecimal "
            "digits): start again from the first page, without `cursor`."
        )
    limit = max(1, min(limit, MAX_PAGE))
    found = store.page(
        visibility_filter(actor),
        status=status,
        channel=channel,
        before=cursor,
        limit=limit + 1,
        now=ctx.clock(),
    )
    page = found[:limit]
    return page, (page[-1].settlement["id"] if len(found) > limit else None)


def _complaint_id(actor: Actor, settlement_id: str) -> str:
    complaint_id = store.complaint_with(settlement_id)
    if complaint_id is None:
        raise NotFound(f"There is no settlement {settlement_id}.")
    return complaint_id


def get_settlement(ctx: Context, actor: Actor, settlement_id: str) -> Complaint:
    """The complaint whose settlement this is, for those who may read settlements and see it
    (another channel's is unknown to an integration: 404, as for its complaint)."""
    check_reads(actor)
    complaint = eventstore.load(_complaint_id(actor, settlement_id))
    if complaint is None or not can_see(actor, complaint):
        raise NotFound(f"There is no settlement {settlement_id}.")
    return complaint


def _step(
    ctx: Context,
    actor: Actor,
    step: str,
    settlement_id: str,
    decide: Callable[[Complaint, datetime], Event],
    idem: Idempotency | None,
) -> Recorded | Complaint:
    commands.check_settles(actor, step)
    complaint_id = _complaint_id(actor, settlement_id)
    try:
        return change(ctx, actor, complaint_id, decide, idem=idem)
    except commands.Unchanged as same:
        # The same answer again: nothing recorded; the settlement as it stands (read in the
        # transaction, by a caller who may see it).
        return same.complaint
    except NotFound as unknown:
        # Another channel's complaint is unknown to this integration: so is its settlement.
        raise NotFound(f"There is no settlement {settlement_id}.") from unknown


def confirm(
    ctx: Context,
    actor: Actor,
    settlement_id: str,
    reference: str,
    idem: Idempotency | None = None,
) -> Recorded | Complaint:
    """The payment system moved the money: `settlement_confirmed` with its reference."""
    return _step(
        ctx,
        actor,
        "confirm",
        settlement_id,
        lambda c, now: commands.answer_settlement(
            c, actor, settlement_id, {"reference": reference}, now
        ),
        idem,
    )


def fail(
    ctx: Context,
    actor: Actor,
    settlement_id: str,
    reason: str,
    idem: Idempotency | None = None,
) -> Recorded | Complaint:
    """The payment system could not move the money: `settlement_failed` with its reason."""
    return _step(
        ctx,
        actor,
        "fail",
        settlement_id,
        lambda c, now: commands.answer_settlement(c, actor, settlement_id, {"reason": reason}, now),
        idem,
    )


def retry(
    ctx: Context,
    actor: Actor,
    settlement_id: str,
    note: str | None = None,
    idem: Idempotency | None = None,
) -> Recorded | Complaint:
    """Care asks again for a failed settlement: `settlement_retried`, a new attempt."""
    return _step(
        ctx,
        actor,
        "retry",
        settlement_id,
        lambda c, now: commands.retry_settlement(c, actor, settlement_id, note, now),
        idem,
    )


def release_due(ctx: Context, now: datetime, limit: int | None = None) -> int:
    """Requests every held settlement whose review window closed unused by `now`; returns how
    many. Each in its own transaction; the loser of two sweepers is refused and skipped."""
    released = 0
    for complaint_id in store.due(now, limit):
        try:
            change(ctx, SYSTEM, complaint_id, lambda c, _: commands.request_settlement(c, now))
        except (Conflict, NotFound):
            continue  # another sweeper requested it, or a review replaced it
        released += 1
    return released
