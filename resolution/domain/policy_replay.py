"""What-if: a complaint's history replayed under another deadline policy, and what the
service itself would then have done (`resolution replay-policy`).

The people's events are the facts; what the clock did is re-decided. Each complaint's
events made by people (care, buyers, sellers, the marketplace's order changes) are replayed
in order through the same commands and the same fold as when they were recorded, with every
deadline computed again by the new policy; between two of them, whatever the clock would
have done first is done: a reminder at `remind_at`, the end of a paused clock at `until`, an
`auto_escalate`, `auto_close` or `auto_complete` at `due_at`. What happened and what would
have happened are then paired up (the same turn's move, the same deadline's reminder) and
compared by when each was due.

The simplifications, on purpose (`docs/policy.md` says them for operators):
- The sweeper is taken to act at the very instant a deadline passes (the comparison is of
  deadlines, never of when a sweep ran); a person acting at that same millisecond acted in time.
- People act at the instants they did, unless the complaint would already have been moved by
  the system: the machine then refuses their event (a seller's proposal on a complaint already
  with care), and it is left out, named with the refusal (`Skipped`); what follows is
  replayed as far as the machine allows.
- A move the new policy makes later delays what followed it by as much: care takes the case
  from the queue as long after the escalation as it did (it could not before). A move made
  earlier delays nothing: care takes the case when it did, it waited longer in the queue.
  A move due only after `now` has not happened yet, and neither has anything that followed it.
- Care's own choices stay as recorded: an evidence request's due time, a pause's length.
  The complaint window is not judged again (each complaint is taken as opened).
- Care's clocks (first reply, decision) and the review window's end are recomputed but not
  compared: they move no complaint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import commands, requests, settlements
from .actors import SYSTEM, Actor, Role
from .errors import DomainError
from .events import Event, iso, utc_ms
from .lifecycle import PERSON_ACTIONS, timeout_action
from .projection import CLOCK_EVENTS, Complaint, Deadlines, apply

REMINDER = "deadline_approaching"
RESUME = "resume_clock"
# What the service itself does when a deadline passes, and its reminder: what is compared.
MOVES = ("auto_escalate", "auto_close", "auto_complete")
KINDS = (*MOVES, REMINDER)
VERDICTS = ("earlier", "later", "same", "not_at_all", "new")

# Events that touch no turn and no deadline: not replayed (a settlement's steps, what care
# keeps for itself, who opened which file).
_UNREPLAYED = frozenset({"note", "evidence_viewed", *settlements.EVENTS})
# What a command derives from the complaint and the policy: everything else in an action's
# data is what the person asked for (its request).
_DERIVED = frozenset(
    {
        "state",
        "outcome",
        "settlement",
        "turn_deadline",
        "review_until",
        "deadline",
        "proposed_by",
        "from_agent",
        "called_off",
        "expired_requests",
        "paused_at",
        "resumed_at",
        "paused_for",
    }
)


@dataclass(frozen=True)
class Change:
    """One thing the service itself did or would have done: `was` when it was due, `would_be`
    when it would have been due under the new policy (None: it did not, or would not, happen
    by `now`)."""

    complaint_id: str
    kind: str
    party: str | None
    was: datetime | None
    would_be: datetime | None

    @property
    def verdict(self) -> str:
        if self.was is None:
            return "new"
        if self.would_be is None:
            return "not_at_all"
        if self.would_be == self.was:
            return "same"
        return "earlier" if self.would_be < self.was else "later"

    @property
    def difference(self) -> timedelta | None:
        """How much later (negative: sooner) it would have been due; None unless both."""
        if self.was is None or self.would_be is None:
            return None
        return self.would_be - self.was

    def as_data(self) -> dict[str, Any]:
        difference = self.difference
        seconds = int(difference.total_seconds()) if difference is not None else None
        return {
            "complaint_id": self.complaint_id,
            "kind": self.kind,
            "party": self.party,
            "verdict": self.verdict,
            "was": iso(self.was) if self.was else None,
            "would_be": iso(self.would_be) if self.would_be else None,
            "difference_seconds": seconds,
        }


@dataclass(frozen=True)
class Skipped:
    """A recorded event the replay could not make: the machine refused it in the history as
    replayed, or it would have come only after `now`. (`seq` None: the clock's own doing,
    which the commands refused on the history as replayed; nothing after it is replayed.)"""

    complaint_id: str
    seq: int | None
    type: str
    role: str
    at: datetime
    why: str

    def as_data(self) -> dict[str, Any]:
        return {
            "complaint_id": self.complaint_id,
            "seq": self.seq,
            "type": self.type,
            "by": self.role,
            "at": iso(self.at),
            "why": self.why,
        }


@dataclass(frozen=True)
class ComplaintReplay:
    """One complaint: every move and reminder paired with its counterpart, and the events the
    replay left out."""

    complaint_id: str
    changes: tuple[Change, ...]
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class Report:
    """Every complaint active between `since` and `until`, replayed as of `now`."""

    since: datetime
    until: datetime
    now: datetime
    complaints: tuple[ComplaintReplay, ...] = ()

    def counts(self) -> dict[str, dict[str, int]]:
        """For each kind (the three moves and the reminder), how many came earlier, later, at
        the same time, not at all, or newly."""
        counted = {kind: dict.fromkeys(VERDICTS, 0) for kind in KINDS}
        for replayed in self.complaints:
            for change in replayed.changes:
                counted[change.kind][change.verdict] += 1
        return counted

    @property
    def changes(self) -> list[Change]:
        """Everything that would have come at another time, or not, or newly."""
        return [c for replayed in self.complaints for c in replayed.changes if c.verdict != "same"]

    @property
    def skipped(self) -> list[Skipped]:
        return [s for replayed in self.complaints for s in replayed.skipped]

    def as_data(self) -> dict[str, Any]:
        return {
            "since": iso(self.since),
            "until": iso(self.until),
            "now": iso(self.now),
            "complaints": len(self.complaints),
            "counts": self.counts(),
            "changes": [c.as_data() for c in self.changes],
            "not_replayed": [s.as_data() for s in self.skipped],
        }


def was_active(events: Sequence[Event], since: datetime, until: datetime) -> bool:
    """Whether the complaint was open at some instant of [since, until): opened before
    `until`, and not closed (or reopened by a review) before `since`."""
    opened: datetime | None = None
    for event in events:
        state = event.data.get("state")
        if state is None:
            continue
        if state == "closed":
            if opened is not None and opened < until and event.at > since:
                return True
            opened = None
        elif opened is None:
            opened = event.at
    return opened is not None and opened < until


def replay(
    events: Sequence[Event], recorded: Deadlines, policy: Deadlines, now: datetime
) -> ComplaintReplay:
    """The complaint's moves and reminders as they were (its events folded as `rebuild`
    does, under `recorded`) and as they would have been under `policy`, as of `now`."""
    events = [e for e in events if e.at <= now]
    if not events:
        raise ValueError("no events to replay")
    kept = [e for e in events if _replayed(e)]
    happened, anchors = _history(events, recorded)
    simulation = _Simulation(events[0].complaint_id, policy, now, happened, anchors)
    simulation.run(kept)
    changes = []
    for key in sorted(happened.keys() | simulation.fired.keys(), key=_order(happened, simulation)):
        was, would = happened.get(key), simulation.fired.get(key)
        party = (was or would).party  # type: ignore[union-attr]
        changes.append(
            Change(
                events[0].complaint_id,
                key[0],
                party,
                was.at if was else None,
                would.at if would else None,
            )
        )
    return ComplaintReplay(events[0].complaint_id, tuple(changes), tuple(simulation.skipped))


def _order(happened: Mapping, simulation: _Simulation):
    def when(key):
        found = happened.get(key) or simulation.fired[key]
        return (found.at, KINDS.index(key[0]))

    return when


def _replayed(event: Event) -> bool:
    """Made by a person (or the marketplace), and touching a turn or a deadline."""
    return event.actor.get("role") != Role.SYSTEM and event.type not in _UNREPLAYED


@dataclass(frozen=True)
class _Occurrence:
    at: datetime  # when it was due (a move's deadline, a reminder's `remind_at`)
    party: str | None


Key = tuple[str, Any]


@dataclass
class _Turns:
    """Which event started the running turn (`origin`), which event set the deadline now to
    be reminded of (`armed`), and which paused the clock: the names that pair a move or a
    reminder that happened with one that would have. Keys are the recorded events' `seq`."""

    origin: Any = None
    armed: Any = None
    paused: Any = None

    def follow(self, before: Complaint | None, after: Complaint, event: Event, key: Any) -> None:
        if event.type == "pause_clock":
            self.paused = key
        if _moved(before, after, event):
            self.origin = key
        if after.remind_at is not None and (before is None or after.remind_at != before.remind_at):
            # A resumed clock reminds anew: that reminder is named after the pause it ends.
            self.armed = ("resumed", self.paused) if event.type == RESUME else key

    def key(self, kind: str) -> Key:
        return (kind, self.armed if kind == REMINDER else self.origin)


def _moved(before: Complaint | None, after: Complaint, event: Event) -> bool:
    """A new turn started with `event` (as the fold decides it: `projection._apply`)."""
    if before is None:
        return True
    if event.type in CLOCK_EVENTS:
        return False
    return (
        "state" in event.data
        or after.turn != before.turn
        or requests.awaited(after.evidence_requests) != requests.awaited(before.evidence_requests)
    )


def _history(
    events: Sequence[Event], recorded: Deadlines
) -> tuple[dict[Key, _Occurrence], dict[int, list[Key]]]:
    """What the service did, keyed by turn (moves) or by deadline (reminders), and the moves
    by their position among the replayed events (how many of them came before each)."""
    happened: dict[Key, _Occurrence] = {}
    anchors: dict[int, list[Key]] = {}
    turns, complaint, position = _Turns(), None, 0
    for event in events:
        if _replayed(event):
            position += 1
        before = complaint
        complaint = apply(before, event, recorded)
        if event.type in KINDS:
            key = turns.key(event.type)
            if event.type == REMINDER:
                due = before.remind_at if before is not None and before.remind_at else event.at
            else:
                due = _instant(event.data.get("deadline")) or event.at
                anchors.setdefault(position, []).append(key)
            happened.setdefault(key, _Occurrence(due, event.data.get("party")))
        turns.follow(before, complaint, event, event.seq)
    return happened, anchors


def _instant(text: Any) -> datetime | None:
    return utc_ms(datetime.fromisoformat(text)) if isinstance(text, str) else None


def _actor(data: Mapping[str, Any]) -> Actor:
    return Actor(Role(data["role"]), data["id"], data.get("shop_id"))


class _Halted(Exception):
    """The clock's doing (what, when) was refused (why): the replay of the complaint stops."""


@dataclass
class _Simulation:
    """The complaint as it would have gone under `policy`: the replayed events applied one by
    one, the clock's own doings between them."""

    complaint_id: str
    policy: Deadlines
    now: datetime
    happened: Mapping[Key, _Occurrence]
    anchors: Mapping[int, list[Key]]
    complaint: Complaint | None = None
    # How much later than recorded the replayed events come (a move made later delays
    # what followed it).
    shift: timedelta = timedelta(0)
    turns: _Turns = field(default_factory=_Turns)
    fired: dict[Key, _Occurrence] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    # Evidence requests are named by their event's `seq`, which differs in the replay.
    requests: dict[int, int] = field(default_factory=dict)

    def run(self, kept: Sequence[Event]) -> None:
        index = 0
        try:
            for index, event in enumerate(kept):
                why = self._reach(index, event)
                if why is not None:
                    self._skip_all(kept[index:], why)
                    return
                self._replay(event)
            index = len(kept)
            self._catch_up(self.now, inclusive=True)
        except _Halted as halted:
            # The clock's own doing refused on the history as replayed (data the commands no
            # longer accept): nothing after it can be told, and the replay says so.
            what, when, why = halted.args
            self.skipped.append(Skipped(self.complaint_id, None, what, "system", when, why))
            self._skip_all(kept[index:], f"it followed {what}, which could not be replayed")

    def _reach(self, index: int, event: Event) -> str | None:
        """Does the clock's doings up to `event`; says why `event` cannot come (None: it can)."""
        self._catch_up(event.at + self.shift)
        for key in self.anchors.get(index, ()):
            if key in self.fired or not self._in_turn(key):
                continue
            # The system moved the complaint here; the new policy gives the turn longer. The
            # silent party is taken to stay silent until then; what followed comes after.
            due = self.complaint.due_at
            if due > self.now:
                self._catch_up(self.now, inclusive=True)
                return f"it followed {key[0]}, which would not have come by {iso(self.now)}"
            self._catch_up(due, inclusive=True)
            self._catch_up(event.at + self.shift)
        if event.at + self.shift > self.now:
            return f"it would have come after {iso(self.now)}"
        return None

    def _in_turn(self, key: Key) -> bool:
        c = self.complaint
        return (
            c is not None
            and c.is_open
            and self.turns.origin == key[1]
            and timeout_action(c.state) == key[0]
            and c.paused is None
            and c.due_at is not None
        )

    def _next(self) -> tuple[datetime, str] | None:
        """The clock's next doing on the complaint as it stands: (when, what)."""
        c = self.complaint
        if c is None or not c.is_open:
            return None
        if c.paused is not None:
            return (c.paused_until, RESUME) if c.paused_until is not None else None
        due: list[tuple[datetime, str]] = []
        if c.remind_at is not None and c.due_at is not None and c.remind_at < c.due_at:
            due.append((c.remind_at, REMINDER))
        action = timeout_action(c.state)
        if action is not None and c.due_at is not None:
            due.append((c.due_at, action))
        return min(due) if due else None

    def _catch_up(self, until: datetime, *, inclusive: bool = False) -> None:
        """The clock's doings due before `until` (and by `now`), in time order."""
        while (found := self._next()) is not None:
            when, what = found
            if when > self.now or when > until or (when == until and not inclusive):
                return
            self._fire(when, what)

    def _fire(self, when: datetime, what: str) -> None:
        before = self.complaint
        assert before is not None
        try:
            if what == REMINDER:
                event = commands.remind(before, when)
            else:
                event = commands.act(before, SYSTEM, what, {}, when, self.policy)
        except DomainError as refused:
            raise _Halted(what, when, refused.detail) from None
        if what in KINDS:
            key = self.turns.key(what)
            self.fired.setdefault(key, _Occurrence(when, before.turn))
            done = self.happened.get(key)
            if what in MOVES and done is not None and when - done.at > self.shift:
                self.shift = when - done.at
        self.complaint = apply(before, event, self.policy)
        self.turns.follow(before, self.complaint, event, ("system", event.seq))

    def _replay(self, recorded: Event) -> None:
        before = self.complaint
        at = recorded.at + self.shift
        if before is not None and before.updated_at is not None:
            at = max(at, before.updated_at)
        try:
            event = self._remade(before, recorded, at)
        except DomainError as refused:
            self._skip_all([recorded], refused.detail)
            return
        if event.type == "request_evidence":
            self.requests[recorded.seq] = event.seq
        self.complaint = apply(before, event, self.policy)
        self.turns.follow(before, self.complaint, event, recorded.seq)

    def _remade(self, complaint: Complaint | None, recorded: Event, at: datetime) -> Event:
        """The recorded event made again on the complaint as replayed: an action through its
        command (the machine may refuse it), anything else as it was, its deadlines left to
        the new policy."""
        data = {k: v for k, v in recorded.data.items() if k != "turn_deadline"}
        if complaint is None:
            opening = (recorded.complaint_id, 1, recorded.type, recorded.actor, data, at)
            return Event.sealed(*opening, recorded.prev_hash)
        if recorded.type in PERSON_ACTIONS:
            actor, request = _actor(recorded.actor), self._request(recorded)
            return commands.act(complaint, actor, recorded.type, request, at, self.policy)
        if not complaint.is_open:
            raise DomainError("The complaint would already have been closed.")
        for name in ("answers", "request_id"):
            if name in data:
                data[name] = self.requests.get(data[name], data[name])
        return Event.sealed(
            complaint.id,
            complaint.version + 1,
            recorded.type,
            recorded.actor,
            data,
            at,
            complaint.last_hash,
        )

    def _request(self, recorded: Event) -> dict[str, Any]:
        """What the person asked for, read back from the event's data (its times as late as
        the replayed event)."""
        data = recorded.data
        if recorded.type == "pause_clock":
            request: dict[str, Any] = {"reason": data.get("reason")}
            request["until"] = _instant(data["until"]) + self.shift
            return request
        if recorded.type == RESUME:
            return {"reason": data.get("reason")}
        request = {k: v for k, v in data.items() if k not in _DERIVED}
        if "due_at" in request:
            request["due_at"] = _instant(request["due_at"]) + self.shift
        return request

    def _skip_all(self, events: Iterable[Event], why: str) -> None:
        for event in events:
            role = str(event.actor.get("role"))
            self.skipped.append(
                Skipped(self.complaint_id, event.seq, event.type, role, event.at + self.shift, why)
            )
