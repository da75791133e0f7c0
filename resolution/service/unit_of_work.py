"""The unit of work every write goes through: one transaction, the Idempotency-Key's rules,
the `If-Match` version check, and the response remembered with the change.

A use case hands it the work to do inside the transaction (`write`), or, for a complaint,
what the domain decides given the stored complaint (`change`); the event, the projection it
produces and the idempotent response then commit together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..config import Config
from ..domain.access import can_see
from ..domain.actors import Actor
from ..domain.deadlines import Deadlines
from ..domain.errors import Conflict, DomainError, InProgress, Invalid, NotFound, Stale
from ..domain.events import Event
from ..domain.evidence import Limits
from ..domain.orders import Windows
from ..domain.policy import Policy
from ..domain.projection import Complaint, apply, stamped
from ..domain.retention import Retention
from ..store import eventstore, idempotency, transactions
from ..store.transactions import Session
from .egress import Resolver, system_resolver
from .encryption import Keyring, process_keyring

T = TypeVar("T")
Response = tuple[int, dict, dict]  # status, body, headers: what an edge answered


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """What every use case needs besides its request: the clock, the deadline policy (the
    environment's plain hours, or the policy file's rules per channel), the
    upload limits, the key that signs exports, whether webhooks may go to private addresses
    (tests and the demo send them to loopback) and how their hosts are looked up (a test gives
    a hostile resolver), and the channels' complaint windows."""

    clock: Callable[[], datetime] = _utcnow
    deadlines: Deadlines | Policy = field(default_factory=Deadlines)
    evidence_limits: Limits = field(default_factory=Limits)
    signing_key: Any = None  # Ed25519PrivateKey: signs audit export manifests
    webhooks_allow_private: bool = False
    webhooks_resolver: Resolver = system_resolver
    windows: Windows = field(default_factory=Windows)  # how long after an order one may complain
    # The master keys that wrap each evidence file's own key (service/encryption.py).
    file_keys: Keyring = field(default_factory=process_keyring)
    retention: Retention = field(default_factory=Retention)  # how long files are kept


def context_for(config: Config) -> Context:
    """The context the app and the commands run the use cases in, from the configuration."""
    from . import encryption, signing

    return Context(
        deadlines=config.deadlines,
        evidence_limits=config.evidence_limits,
        signing_key=signing.load(config.signing_key, config.data_dir),
        webhooks_allow_private=config.webhooks_allow_private,
        windows=config.windows,
        retention=config.retention,
        file_keys=encryption.load(config.master_key, config.previous_master_keys, config.data_dir),
    )


@dataclass(frozen=True)
class Recorded:
    """The result of a write: the event appended and the complaint after it; `events` when
    the write appended more than one (a closing and its settlement's request), `event` first."""

    complaint: Complaint
    event: Event
    events: tuple[Event, ...] = ()

    def __post_init__(self) -> None:
        if not self.events:
            object.__setattr__(self, "events", (self.event,))


def fingerprint(method: str, path: str, *parts: Iterable[bytes] | bytes) -> str:
    """What makes two requests the same request: the method, the path and what they carry
    (the canonical JSON body; for an upload, its fields and then the file's bytes)."""
    digest = hashlib.sha256(f"{method}\0{path}\0".encode())
    for part in parts:
        for chunk in [part] if isinstance(part, bytes) else part:
            digest.update(chunk)
    return digest.hexdigest()


class Idempotency:
    """An `Idempotency-Key`, the request's fingerprint, and how to render the response to
    remember for it.

    `respond` turns the result into (status, body, headers) inside the transaction, so the
    remembered response commits with the change or not at all; the edge answers with that
    same rendering (`rendered`), not a second one.
    """

    def __init__(self, key: str, fingerprint: str, respond: Callable[[Any], Response]) -> None:
        self.key, self.fingerprint, self.respond = key, fingerprint, respond
        self.rendered: Response | None = None

    def record_id(self, actor: Actor) -> str:
        # Keys belong to the caller: another caller's identical key is another request.
        scope = f"{actor.role}\0{actor.id}\0{actor.shop_id or ''}\0{self.key}"
        return hashlib.sha256(scope.encode()).hexdigest()

    def record(self, actor: Actor, result: Any) -> dict:
        """The response to remember, rendered from the result of the write.

        Stamped with the real time, not the context's clock: the TTL index that keeps it a
        day is measured by the database against its own clock, and the context's clock may
        be a test's or a demo's (a record stamped in the past would vanish before the retry).
        """
        status, body, headers = self.rendered = self.respond(result)
        return {
            "_id": self.record_id(actor),
            "fingerprint": self.fingerprint,
            "status": status,
            "body": body,
            "headers": headers,
            "created_at": datetime.now(UTC),
        }


class Replayed(Exception):
    """The request was made before with the same key: here is the first response."""

    def __init__(self, status: int, body: dict, headers: dict) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers


_listeners: list[Callable[[Event], None]] = []


def on_commit(listener: Callable[[Event], None]) -> None:
    """Calls `listener` with every event committed from now on in this process (once, however
    often it is registered): how the metrics count events without a use case knowing."""
    if listener not in _listeners:
        _listeners.append(listener)


def _committed(recorded: Recorded) -> Recorded:
    # After the commit: a transaction's retries are not counted.
    for listener in _listeners:
        for event in recorded.events:
            listener(event)
    return recorded


def check_replay(idem: Idempotency | None, actor: Actor, session: Session | None = None) -> None:
    """Replays the first response when the key was used before (`Replayed`); 422 if that was
    another request."""
    if idem is None:
        return
    stored = idempotency.remembered(idem.record_id(actor), session)
    if stored is None:
        return
    if stored["fingerprint"] != idem.fingerprint:
        raise Invalid(
            "This Idempotency-Key was already used with a different request.",
            {"Idempotency-Key": ["reused with another method, path or body"]},
        )
    raise Replayed(stored["status"], stored["body"], stored["headers"])


def once(idem: Idempotency | None, actor: Actor, run: Callable[[], T]) -> T:
    """Runs a write under its Idempotency-Key (Stripe's rules, the IETF draft's).

    The key costs no read before the write: its record is the first insert of the write's
    own transaction. A retry finds it committed and gets the first response (`Replayed`),
    or 422 if its body differs; a retry while the first is still running gets 409 with
    Retry-After; a retry the complaint has since moved past (refused now) still gets the
    first response, read only then.
    """
    try:
        return run()
    except (idempotency.KeyUsed, idempotency.KeyBusy) as taken:
        check_replay(idem, actor)
        raise InProgress(
            "A request with this Idempotency-Key is still being processed: retry shortly."
        ) from taken
    except DomainError:
        check_replay(idem, actor)
        raise


def write(ctx: Context, actor: Actor, idem: Idempotency | None, work: Callable[[Session], T]) -> T:
    """Runs `work(session)` in a transaction with the response remembered for `idem`."""

    def attempt(session: Session) -> T:
        result = work(session)
        if idem is not None:
            idempotency.remember(idem.record(actor, result), session)
        return result

    return once(idem, actor, lambda: transactions.transaction(attempt))


def check_version(complaint: Complaint, if_match: int | None) -> None:
    """Refuses (`Stale`) when the caller acted on another version than the stored one."""
    if if_match is not None and if_match != complaint.version:
        raise Stale(
            f"The complaint is at version {complaint.version}, not {if_match}: reload it.",
            version=complaint.version,
        )


def append(
    session: Session,
    ctx: Context,
    actor: Actor,
    before: Complaint | None,
    event: Event | Sequence[Event],
    idem: Idempotency | None,
) -> Recorded:
    """Appends `event` (or several, in order) to the complaint `before` (None: a new one) in
    `session`, with the projection they produce and the response remembered for `idem`."""
    events = (event,) if isinstance(event, Event) else tuple(event)
    # The deadlines these events start are fixed now, by the policy in force: written into
    # the events, so that no later policy (nor a rebuild under one) moves them.
    events = stamped(before, events, ctx.deadlines)
    after = before
    for each in events:
        after = apply(after, each, ctx.deadlines)
    result = Recorded(after, events[0], events)
    record = idem.record(actor, result) if idem is not None else None
    eventstore.append(session, events, after, record, was=before.state if before else None)
    return result


def open_with(
    ctx: Context,
    actor: Actor,
    event: Callable[[Session], Event],
    idem: Idempotency | None,
    on_order_taken: Callable[[], DomainError],
) -> Recorded:
    """Commits the first event of a new complaint (`event` decides it inside the transaction,
    reading what it needs in that session); `on_order_taken` says why not when the order
    already has a complaint not closed."""

    def run() -> Recorded:
        # No read before: the unique index `one_open_complaint_per_order` refuses a second
        # complaint on the order inside the transaction, which then commits nothing.
        try:
            return transactions.transaction(
                lambda session: append(session, ctx, actor, None, event(session), idem)
            )
        except eventstore.OrderTaken as taken:
            raise on_order_taken() from taken

    # The complaint in the way may be this very request's, retried: `once` replays it.
    return _committed(once(idem, actor, run))


def change(
    ctx: Context,
    actor: Actor,
    complaint_id: str,
    decide: Callable[[Complaint, datetime], Event | Sequence[Event]],
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Recorded:
    """Loads the complaint, lets `decide` produce the event (or events, in order), and
    commits it with its effects.

    `decide` runs again, on the complaint as it then stands, when another writer won a race.
    """

    def work(session: Session) -> Recorded:
        complaint = eventstore.load(complaint_id, session)
        if complaint is None or not can_see(actor, complaint):
            raise NotFound(f"There is no complaint {complaint_id}.")
        check_version(complaint, if_match)
        return append(session, ctx, actor, complaint, decide(complaint, ctx.clock()), idem)

    def run() -> Recorded:
        try:
            return transactions.transaction(work)
        except eventstore.OrderTaken as taken:
            raise Conflict(
                "Another complaint on this order is open: this one cannot be reopened."
            ) from taken

    return _committed(once(idem, actor, run))
