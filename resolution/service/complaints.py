"""The complaint use cases: load, ask the domain, commit event + projection + idempotency."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bson import ObjectId

from ..domain import commands
from ..domain.access import can_see, visibility_filter
from ..domain.actors import Actor, Role
from ..domain.deadlines import Deadlines
from ..domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InProgress,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from ..domain.events import Event, first_broken_link, sha256
from ..domain.evidence import Limits, event_as_seen_by
from ..domain.lifecycle import Lifecycle
from ..domain.projection import Complaint, apply, replay
from ..observability import EVENTS
from ..store import eventstore
from ..store.documents import EPOCH, ComplaintDocument, EventDocument

T = TypeVar("T")
MAX_PAGE = 100
STATES = tuple(state.id for state in Lifecycle.states if state.id != "new")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """What every use case needs besides its request: the clock and the deadline policy."""

    clock: Callable[[], datetime] = _utcnow
    deadlines: Deadlines = field(default_factory=Deadlines)
    evidence_limits: Limits = field(default_factory=Limits)
    signing_key: Any = None  # Ed25519PrivateKey: signs audit export manifests
    webhooks_allow_private: bool = False  # tests and the demo send webhooks to loopback


@dataclass(frozen=True)
class Recorded:
    """The result of a write: the event appended and the complaint after it."""

    complaint: Complaint
    event: Event


@dataclass(frozen=True)
class Idempotency:
    """An `Idempotency-Key` and how to render the response to remember for it.

    `respond` turns the result into (status, body, headers) inside the transaction, so the
    remembered response commits with the event or not at all.
    """

    key: str
    fingerprint: str
    respond: Callable[[Recorded], tuple[int, dict, dict]]

    def record_id(self, actor: Actor) -> str:
        # Keys belong to the caller: another caller's identical key is another request.
        scope = f"{actor.role}\0{actor.id}\0{actor.shop_id or ''}\0{self.key}"
        return hashlib.sha256(scope.encode()).hexdigest()


class Replayed(Exception):
    """The request was made before with the same key: here is the first response."""

    def __init__(self, status: int, body: dict, headers: dict) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers


def once(idem: Idempotency | None, actor: Actor, write: Callable[[], T]) -> T:
    """Runs a write under its Idempotency-Key (Stripe's rules, the IETF draft's).

    The key costs no read before the write: its record is the first insert of the write's
    own transaction. A retry finds it committed and gets the first response (`Replayed`),
    or 422 if its body differs; a retry while the first is still running gets 409 with
    Retry-After; a retry the complaint has since moved past (refused now) still gets the
    first response, read only then.
    """
    try:
        return write()
    except (eventstore.KeyUsed, eventstore.KeyBusy) as taken:
        _check_replay(idem, actor, None)
        raise InProgress(
            "A request with this Idempotency-Key is still being processed: retry shortly."
        ) from taken
    except DomainError:
        _check_replay(idem, actor, None)
        raise


def _check_replay(idem: Idempotency | None, actor: Actor, session) -> None:
    if idem is None:
        return
    stored = eventstore.idempotent_response(idem.record_id(actor), session)
    if stored is None:
        return
    if stored["fingerprint"] != idem.fingerprint:
        raise Invalid(
            "This Idempotency-Key was already used with a different request.",
            {"Idempotency-Key": ["reused with another method, path or body"]},
        )
    raise Replayed(stored["status"], stored["body"], stored["headers"])


def _commit(
    session, ctx: Context, actor: Actor, before: Complaint | None, event: Event, idem
) -> Recorded:
    after = apply(before, event, ctx.deadlines)
    result = Recorded(after, event)
    eventstore.append(session, event, after, _response_record(idem, actor, result))
    return result


def _response_record(idem: Idempotency | None, actor: Actor, result: Any) -> dict | None:
    """The response to remember for `idem`, rendered from the result of the write.

    Stamped with the real time, not the context's clock: the TTL index that keeps it a day is
    measured by the database against its own clock, and the context's clock may be a test's or
    a demo's (a record stamped in the past would vanish before the client's retry).
    """
    if idem is None:
        return None
    status, body, headers = idem.respond(result)
    return {
        "_id": idem.record_id(actor),
        "fingerprint": idem.fingerprint,
        "status": status,
        "body": body,
        "headers": headers,
        "created_at": datetime.now(UTC),
    }


def open_complaint(
    ctx: Context, actor: Actor, request: Mapping[str, Any], idem: Idempotency | None = None
) -> Recorded:
    """A buyer opens a complaint on an order; one complaint not closed per order."""
    complaint_id = str(ObjectId())
    order = request["order"]

    def work(session) -> Recorded:
        event = commands.open_complaint(complaint_id, actor, request, ctx.clock())
        return _commit(session, ctx, actor, None, event, idem)

    def write() -> Recorded:
        # No read before: the unique index `one_open_complaint_per_order` refuses a second
        # complaint on the order inside the transaction, which then commits nothing; only
        # then is the complaint in the way read, to name it (a round trip saved per open).
        try:
            return eventstore.transaction(work)
        except eventstore.OrderTaken as taken:
            _refuse_second_complaint(actor, order)  # names the complaint in the way
            raise Conflict(f"Order {order['id']} already has an open complaint.") from taken

    # The complaint in the way may be this very request's, retried: `once` replays it.
    return _counted(once(idem, actor, write))


def _counted(recorded: Recorded) -> Recorded:
    """Counts a committed event for the metrics (after the commit: retries do not count)."""
    EVENTS.labels(recorded.event.type).inc()
    return recorded


def data_figures(now: datetime) -> dict[str, Any]:
    """What the metrics show about the complaints: how many in each state, how many past
    care's service level. Index counts (`by_state`, `care_due`), no documents read."""
    complaints = ComplaintDocument._get_collection()
    by_state = {state: complaints.count_documents({"state": state}) for state in STATES}
    overdue = complaints.count_documents({"care_due_at": {"$gte": EPOCH, "$lt": now}})
    return {"by_state": by_state, "care_overdue": overdue}


def _refuse_second_complaint(actor: Actor, order: Mapping[str, Any]) -> None:
    existing_id = eventstore.open_complaint_on(order["channel"], order["id"])
    if existing_id is None:
        return
    existing = eventstore.load(existing_id)
    if existing is not None and can_see(actor, existing):
        raise Conflict(
            f"Order {order['id']} already has an open complaint ({existing_id}).",
            complaint_id=existing_id,
        )
    # Not the caller's to see: say that it exists, never which one it is.
    raise Conflict(f"Order {order['id']} already has an open complaint.")


def _check_version(complaint: Complaint, if_match: int | None) -> None:
    """412 when the caller acted on another version of the complaint than the stored one."""
    if if_match is not None and if_match != complaint.version:
        raise PreconditionFailed(
            f"The complaint is at version {complaint.version}, not {if_match}: reload it.",
            version=complaint.version,
        )


def _change(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    decide: Callable[[Complaint, datetime], Event],
    if_match: int | None,
    idem: Idempotency | None,
) -> Recorded:
    """Loads the complaint, lets `decide` produce the event, and commits it with its effects."""

    def work(session) -> Recorded:
        complaint = eventstore.load(complaint_id, session)
        if complaint is None or not can_see(actor, complaint):
            raise NotFound(f"There is no complaint {complaint_id}.")
        _check_version(complaint, if_match)
        return _commit(session, ctx, actor, complaint, decide(complaint, ctx.clock()), idem)

    def write() -> Recorded:
        try:
            return eventstore.transaction(work)
        except eventstore.OrderTaken as taken:
            raise Conflict(
                "Another complaint on this order is open: this one cannot be reopened."
            ) from taken

    return _counted(once(idem, actor, write))


def act(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    action: str,
    request: Mapping[str, Any],
    *,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Takes a lifecycle action (propose, accept, decide …) on a complaint the actor can see."""
    return _change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.act(c, actor, action, request, now, ctx.deadlines),
        if_match,
        idem,
    )


def post_message(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    body: str,
    *,
    evidence_ids: Sequence[str] = (),
    answers: int | None = None,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Adds a message to the complaint's thread (it may point at evidence, answer a request)."""
    return _change(
        ctx,
        actor,
        complaint_id,
        lambda c, now: commands.message(
            c, actor, body, now, evidence_ids=evidence_ids, answers=answers
        ),
        if_match,
        idem,
    )


def get_complaint(ctx: Context, actor: Actor, complaint_id: str) -> Complaint:
    """The complaint, if the actor may see it; otherwise it does not exist for them."""
    return _seen(actor, complaint_id, eventstore.load(complaint_id))


def _seen(actor: Actor, complaint_id: str, complaint: Complaint | None) -> Complaint:
    # One answer for "no such complaint" and "not yours to see": nothing tells them apart.
    if complaint is None or not can_see(actor, complaint):
        raise NotFound(f"There is no complaint {complaint_id}.")
    return complaint


def list_complaints(
    ctx: Context,
    actor: Actor,
    *,
    state: str | None = None,
    overdue: bool = False,
    limit: int = 20,
    cursor: str | None = None,
) -> tuple[list[Complaint], str | None]:
    """The complaints the actor may see, newest first, a page at a time.

    `overdue` keeps those whose care SLA is breached now (care and auditors only).
    """
    query: dict[str, Any] = dict(visibility_filter(actor))
    if state:
        query["state"] = state
    if overdue:
        if actor.role not in (Role.CARE, Role.AUDITOR):
            raise Forbidden("Only the care team and auditors can list care SLA breaches.")
        query["care_due_at__gte"], query["care_due_at__lt"] = EPOCH, ctx.clock()
    if cursor:
        query["id__lt"] = cursor
    limit = max(1, min(limit, MAX_PAGE))
    docs = list(ComplaintDocument.objects(**query).order_by("-id").limit(limit + 1).as_pymongo())
    page = [eventstore.complaint_from_mongo(doc) for doc in docs[:limit]]
    next_cursor = page[-1].id if len(docs) > limit else None
    return page, next_cursor


def list_events(
    ctx: Context, actor: Actor, complaint_id: str, *, after: int = 0, limit: int = MAX_PAGE
) -> tuple[list[dict], str | None]:
    """A complaint's event log in `seq` order, a page at a time, as the actor may see it.

    Uploads the actor may not open (another party's identity document) keep only their
    mention; the hidden fields' hashes come in `data_hashes`, so the chain still verifies.
    """
    limit = max(1, min(limit, MAX_PAGE))
    # The projection (who may see it, what its evidence is) and the page, in one read.
    stored, events = eventstore.load_with_events(complaint_id, after=after, limit=limit + 1)
    complaint = _seen(actor, complaint_id, stored)
    evidence = {item["id"]: item for item in complaint.evidence}
    page = [_as_seen_by(actor, event, evidence) for event in events[:limit]]
    return page, (str(page[-1]["seq"]) if len(events) > limit else None)


def case_record(ctx: Context, actor: Actor, complaint_id: str) -> tuple[Complaint, list[dict]]:
    """The complaint and its whole event log as `actor` may see them: a party's own record."""
    complaint = get_complaint(ctx, actor, complaint_id)
    evidence = {item["id"]: item for item in complaint.evidence}
    events = eventstore.events_of(complaint_id, limit=complaint.version)
    return complaint, [_as_seen_by(actor, event, evidence) for event in events]


def _as_seen_by(actor: Actor, event: Event, evidence: Mapping[str, Mapping]) -> dict:
    record = event.as_data()
    record["data"], record["data_hashes"] = event_as_seen_by(
        actor, event.type, event.data, event.actor, evidence, sha256
    )
    return record


def complaint_logs() -> Iterator[list[Event]]:
    """Every complaint's events in `seq` order, one complaint at a time: one pass over the
    events in (complaint, seq) order, memory holding one complaint's log."""
    # The raw cursor, a batch at a time: a mongoengine QuerySet caches every document read.
    cursor = (
        EventDocument._get_collection()
        .find()
        .sort([("complaint_id", 1), ("seq", 1)])
        .batch_size(1000)
    )
    events: list[Event] = []
    for doc in cursor:
        event = eventstore.event_from_mongo(doc)
        if events and event.complaint_id != events[0].complaint_id:
            yield events
            events = []
        events.append(event)
    if events:
        yield events


def rebuild_all(ctx: Context, batch_size: int = 500) -> int:
    """Recomputes every projection from its events alone; returns how many were rebuilt.

    Up to `batch_size` rebuilt projections are held, and written in one bulk write.
    """
    count = 0
    rebuilt: list[Complaint] = []
    for events in complaint_logs():
        rebuilt.append(replay(events, ctx.deadlines))
        count += 1
        if len(rebuilt) >= batch_size:
            eventstore.replace_projections(rebuilt)
            rebuilt.clear()
    eventstore.replace_projections(rebuilt)
    return count


def check_chains() -> Iterator[tuple[str, int | None]]:
    """(complaint id, the `seq` of its first event whose hash or link is wrong, or None) for
    every complaint in the database: `resolution check-chains`."""
    for events in complaint_logs():
        yield events[0].complaint_id, first_broken_link(events)
