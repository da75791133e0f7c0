"""The complaint as the API reads it: a pure fold over its events.

`apply` runs no guards and asks no clock: whatever the machine allowed when the event was
recorded is a fact here. The target state and outcome travel in the event's data, so the
fold never re-derives a rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from . import requests, retention, settlements
from .events import GENESIS, Event, iso, utc_ms
from .evidence import is_restricted
from .policy import Rules, due_of, iso_duration, parse_iso_duration
from .solutions import Solution


class Deadlines(Protocol):
    """The deadline rules of each channel: a `policy.Policy` (the policy file), or the
    environment's plain-hour `deadlines.Deadlines`."""

    def rules(self, channel: str | None) -> Rules: ...


# The rule of a party's turn in mediation: the due time care gave its evidence request.
EVIDENCE_RULE = "evidence request"
# Care pausing and resuming a party's clock: not a new turn, the same deadline moved.
CLOCK_EVENTS = ("pause_clock", "resume_clock")

PARTY_TURNS = {
    "awaiting_seller": "seller",
    "awaiting_buyer": "buyer",
    "appealed": "buyer",
    "awaiting_return": "buyer",
    "return_shipped": "seller",
    "awaiting_shipment": "seller",
    "shipment_sent": "buyer",
}
CARE_STATES = ("awaiting_care", "in_mediation")


@dataclass(frozen=True, slots=True)
class Complaint:
    """Everything the API shows about a complaint, derived from its events alone."""

    id: str
    state: str = "new"
    version: int = 0
    last_hash: str = GENESIS
    channel: str = ""
    order: dict = field(default_factory=dict)
    buyer_id: str = ""
    shop_id: str = ""
    reason: str = ""
    description: str = ""
    outcome: str | None = None
    turn: str | None = None
    turn_started_at: datetime | None = None
    due_at: datetime | None = None
    # The party's deadline explained: {due_at, rule, started_at, skipped: [{date, name}],
    # paused_for, calendar, working_hours}, fixed when the turn started (`policy.Rules`).
    deadline: dict | None = None
    # Care paused the party's clock: {at, until, reason, by}; `paused_until` for the sweeper.
    paused: dict | None = None
    paused_until: datetime | None = None
    # When the sweeper reminds the turn-holder of `due_at` (`deadline_approaching`); None
    # once reminded, and while nobody's deadline runs. The sweeper's `remind` index reads it.
    remind_at: datetime | None = None
    proposal: dict | None = None
    resolution: dict | None = None
    appeal: dict | None = None
    seller_answered: bool = False
    escalated_at: datetime | None = None
    assigned_to: str | None = None
    assigned_at: datetime | None = None
    # Care's evidence requests since the case last came to care (`requests`); and the latest
    # one (the API's `evidence_request`, as before several could be open).
    evidence_requests: list = field(default_factory=list)
    evidence_request: dict | None = None
    evidence: list = field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    review_until: datetime | None = None
    # Care's clocks: a first reply a party can read within the SLA of the escalation
    # (`care_reply_due_at`, until `care_replied_at`), a decision within the SLA of the
    # assignment; `care_due_at` is the nearer of those running (the listings' and sweeps').
    care_replied_at: datetime | None = None
    care_reply_due_at: datetime | None = None
    care_decide_due_at: datetime | None = None
    care_due_at: datetime | None = None
    review_requested: bool = False
    under_review: bool = False
    return_shipment: dict | None = None
    shipment: dict | None = None
    # The settlement of the order's held money, once closed (`settlements`); and what earlier
    # complaints on the order settled, as recorded when this one opened (`settlements.Ledger`).
    settlement: dict | None = None
    earlier_settled: dict | None = None
    # For the shop's figures: whether it ever went to care (by anyone, by the clock), and when
    # the seller first answered (any event of theirs).
    escalated: bool = False
    auto_escalated: bool = False
    seller_first_answer_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Retention (`retention`): when it last closed (None while not closed), care's legal hold
    # (`{by, at, reason}`), and for the sweeper's index: from when its files' periods run
    # (the closing, unless held or no file is kept) and the kinds of the files still kept.
    closed_at: datetime | None = None
    legal_hold: dict | None = None
    retain_from: datetime | None = None
    retained_kinds: list = field(default_factory=list)

    def care_overdue(self, now: datetime) -> bool:
        """Past the care team's service level at `now` (`care_due_at` has gone by)."""
        return self.care_due_at is not None and self.care_due_at < now

    @property
    def pending_solution(self) -> Solution | None:
        """The solution on the table, waiting for the other side to accept it."""
        return Solution.from_data(self.proposal["solution"]) if self.proposal else None

    @property
    def resolved_solution(self) -> Solution | None:
        """The solution agreed or decided, being carried out or done."""
        return Solution.from_data(self.resolution["solution"]) if self.resolution else None

    @property
    def is_open(self) -> bool:
        return self.state not in ("new", "closed")


def _care_clocks(c: Complaint) -> dict[str, datetime | None]:
    """When care breaches its SLA: from escalation to its first reply a party can read
    (a message, an evidence request, a decision: taking the case is not a reply), and from
    assignment to decision (each fixed by the policy when it started, 24 h by default);
    `care_due_at` is whichever of the running ones comes first.

    Breaching it changes nothing in the lifecycle; it is shown and listed (`?overdue=true`).
    """
    reply = None
    if c.state in CARE_STATES and c.escalated_at and c.care_replied_at is None:
        reply = c.care_reply_due_at
    decide = None
    if c.state == "in_mediation" and c.assigned_at:
        decide = c.care_decide_due_at
    running = [t for t in (reply, decide) if t is not None]
    return {
        "care_reply_due_at": reply,
        "care_decide_due_at": decide,
        "care_due_at": min(running) if running else None,
    }


# Care speaking to the parties: what stops the first care clock.
_CARE_REPLIES = ("message", "request_evidence", "decide")


def _turn(state: str, evidence_requests: list) -> str | None:
    awaited = requests.awaited(evidence_requests)
    if state == "in_mediation" and awaited is not None:
        return awaited["party"]
    if state in CARE_STATES:
        return "care"
    return PARTY_TURNS.get(state)


def _opened(event: Event) -> dict[str, Any]:
    data = event.data
    return {
        "channel": data["order"]["channel"],
        "order": data["order"],
        "buyer_id": event.actor["id"],
        "shop_id": data["order"]["shop_id"],
        "reason": data["reason"],
        "description": data["description"],
        "proposal": {"solution": data["requested_solution"], "by": "buyer", "at": iso(event.at)},
        "earlier_settled": data.get("earlier_settled"),
        "created_at": event.at,
    }


def _effects(c: Complaint, event: Event, rules: Rules, recorded: dict) -> dict[str, Any]:
    """What one event changes besides state, outcome, turn and due time."""
    changes = _changes(c, event, rules, recorded)
    if event.type in ("escalate", "auto_escalate"):
        changes["escalated"] = True
        changes["auto_escalated"] = c.auto_escalated or event.type == "auto_escalate"
    if event.actor["role"] == "seller" and c.seller_first_answer_at is None:
        changes["seller_first_answer_at"] = event.at
    if event.actor["role"] == "care" and event.type in _CARE_REPLIES and c.care_replied_at is None:
        changes["care_replied_at"] = event.at
    if "settlement" in event.data:  # a closing: its settlement, paid at once or held
        at = event.at
        release_at = changes.get("review_until") or at
        changes["settlement"] = settlements.created(event.data["settlement"], at, release_at)
    return changes


def _changes(c: Complaint, event: Event, rules: Rules, recorded: dict) -> dict[str, Any]:
    data, at, role = event.data, event.at, event.actor["role"]
    kind = event.type
    if kind == "open":
        return _opened(event)
    if kind == "propose":
        proposal = {"solution": data["solution"], "by": role, "at": iso(at)}
        if data.get("note"):
            proposal["note"] = data["note"]
        return {"proposal": proposal, "seller_answered": c.seller_answered or role == "seller"}
    if kind == "accept":
        resolution = {"solution": data["solution"], "how": "agreed", "at": iso(at)}
        return {"resolution": resolution, "proposal": None}
    if kind == "appeal":
        return {"appeal": {"reason": data["reason"], "at": iso(at)}, "seller_answered": True}
    if kind in ("escalate", "auto_escalate", "request_review"):
        changes: dict[str, Any] = {"escalated_at": at, "assigned_to": None, "assigned_at": None}
        changes["care_replied_at"] = None  # a new escalation awaits care's reply again
        changes["care_reply_due_at"] = rules.due_at(at, rules.care_first_reply)
        if kind == "request_review":
            # The decision's held settlement goes with it: the next decision makes its own.
            changes.update(review_requested=True, under_review=True, review_until=None)
            changes["settlement"] = None
        return changes
    if kind in ("assign", "reassign"):
        decide_by = rules.due_at(at, rules.care_decide)
        return {"assigned_to": data["agent_id"], "assigned_at": at, "care_decide_due_at": decide_by}
    if kind == "release":
        return {"assigned_to": None, "assigned_at": None}
    if kind == "request_evidence":
        request = {
            "id": event.seq,
            "party": data["party"],
            "what": data["what"],
            "due_at": data["due_at"],
            "requested_by": event.actor["id"],
            "at": iso(at),
            "answer_ids": [],
        }
        return {"evidence_request": request, "evidence_requests": [*c.evidence_requests, request]}
    if kind == "evidence_request_withdrawn":
        withdrawn = {"withdrawn_at": iso(at), "withdrawn_reason": data["reason"]}
        listed = [
            {**r, **withdrawn} if r["id"] == data["request_id"] else r for r in c.evidence_requests
        ]
        return _requests(listed)
    if kind == "evidence_added":
        return {
            "evidence": [*c.evidence, _evidence_item(event)],
            **_answered(c, event, data["evidence_id"]),
        }
    if kind == "evidence_purged":
        purged = {"purged_at": iso(at)}
        evidence = [
            {**item, **purged} if item["id"] == data["evidence_id"] else item for item in c.evidence
        ]
        return {"evidence": evidence}
    if kind == "erasure":
        erased = {"erased_at": iso(at)}
        gone = set(data.get("files") or ())
        return {"evidence": [{**i, **erased} if i["id"] in gone else i for i in c.evidence]}
    if kind == "legal_hold_set":
        return {"legal_hold": {"by": event.actor["id"], "at": iso(at), "reason": data["reason"]}}
    if kind == "legal_hold_lifted":
        return {"legal_hold": None}
    if kind == "evidence_reviewed":
        review = {"by": event.actor["id"], "at": iso(at), "note": data["note"]}
        evidence = [
            {**item, "reviewed": review} if item["id"] == data["evidence_id"] else item
            for item in c.evidence
        ]
        return {"evidence": evidence}
    if kind == "decide":
        resolution = {
            "solution": data["solution"],
            "how": "decided",
            "reason_code": data.get("reason_code"),
            "rationale": data["rationale"],
            "evidence_considered": list(data.get("evidence_considered", ())),
            "at": iso(at),
        }
        changes = {"resolution": resolution, "proposal": None, "evidence_request": None}
        changes["evidence_requests"] = []  # settled by the decision (expired ones it names)
        changes["under_review"] = False
        changes.update(decided_by=event.actor["id"], decided_at=at)
        # Any decision may be reviewed within the window (one that needs a return or a
        # shipment, until the goods move).
        if "review_until" in data:
            changes["review_until"] = utc_ms(datetime.fromisoformat(data["review_until"]))
        else:  # fixed now, by the policy in force: recorded with the decision
            changes["review_until"] = rules.due_at(at, rules.review_window)
            recorded["review_until"] = iso(changes["review_until"])
        return changes
    if kind in ("auto_close", "auto_complete") and c.resolution is not None:
        # The service's own closing says why, in the resolution both parties read.
        closing = {"reason_code": data.get("reason_code"), "rationale": data.get("rationale")}
        return {"resolution": {**c.resolution, **closing, "evidence_considered": []}}
    if kind in settlements.EVENTS and c.settlement is not None:
        return {"settlement": settlements.stepped(c.settlement, kind, data, at)}
    if kind == "ship_return":
        shipped = {"courier": data["courier"], "tracking_number": data["tracking_number"]}
        return {"return_shipment": {**shipped, "at": iso(at)}}
    if kind == "ship_items":
        shipped = {"courier": data["courier"], "tracking_number": data["tracking_number"]}
        return {"shipment": {**shipped, "at": iso(at)}}
    if kind == "message":
        return _answered(c, event, None)
    if kind == "deadline_approaching":
        return {"remind_at": None}
    if kind == "order_updated":
        return {"order": data["order"]}
    return {}


def _answered(c: Complaint, event: Event, evidence_id: str | None) -> dict[str, Any]:
    """The evidence requests after a party spoke: the one it answered (named by `answers`,
    else its oldest unanswered) marked answered, with what it sent."""
    role = event.actor["role"]
    if role not in ("buyer", "seller") or not c.evidence_requests:
        return {}
    listed = requests.answered(
        c.evidence_requests, role, event.at, event.data.get("answers"), evidence_id
    )
    return _requests(listed)


def _requests(listed: list) -> dict[str, Any]:
    """The requests, and the latest of them as the singular `evidence_request`."""
    return {"evidence_requests": listed, "evidence_request": listed[-1] if listed else None}


def _evidence_item(event: Event) -> dict:
    """An entry of the complaint's evidence list; the file itself stays in GridFS."""
    data = event.data
    item = {
        "id": data["evidence_id"],
        "kind": data["kind"],
        "by": dict(event.actor),
        "at": iso(event.at),
        "care_only": bool(data.get("care_only", False)),
        "reviewed": None,
    }
    item["restricted"] = is_restricted(item)
    for name in ("caption", "file", "courier", "tracking_number"):
        if name in data:
            item[name] = data[name]
    return item


def _turn_deadline(c: Complaint, event: Event, rules: Rules, recorded: dict) -> dict | None:
    """The deadline of the turn that starts with `event`: the one the event recorded, else
    computed now from the policy in force (and recorded with it)."""
    if c.turn in ("buyer", "seller") and c.state == "in_mediation":
        request = requests.awaited(c.evidence_requests)
        return {
            "due_at": iso(datetime.fromisoformat(request["due_at"])),
            "rule": EVIDENCE_RULE,
            "started_at": iso(event.at),
            "skipped": [],
            "paused_for": "PT0S",
            "calendar": rules.calendar.name,
            "working_hours": None,
        }
    if c.turn not in ("buyer", "seller"):
        return None
    if "turn_deadline" in event.data:
        return dict(event.data["turn_deadline"])
    deadline = rules.deadline(event.at, rules.inactivity)
    recorded["turn_deadline"] = deadline
    return deadline


def _pushed(c: Complaint, event: Event, rules: Rules, recorded: dict) -> dict | None:
    """The turn-holder spoke: its deadline starts again from now (recorded), never sooner
    than the one it replaces (a policy changed since would otherwise shorten it), and still
    paused to `until` while care holds the clock."""
    if "turn_deadline" in event.data:
        return dict(event.data["turn_deadline"])
    deadline = rules.deadline(event.at, rules.inactivity)
    if c.paused_until is not None and c.paused_until > event.at:
        deadline = moved_by(deadline, c.paused_until - event.at)
    if c.deadline is not None and due_of(deadline) < due_of(c.deadline):
        return c.deadline
    recorded["turn_deadline"] = deadline
    return deadline


def current_deadline(c: Complaint) -> dict:
    """The party's running deadline, explained (a complaint stored before deadlines were
    explained has only its `due_at`)."""
    if c.deadline is not None:
        return dict(c.deadline)
    started = c.turn_started_at or c.due_at
    return {
        "due_at": iso(c.due_at),
        "rule": "",
        "started_at": iso(started),
        "skipped": [],
        "paused_for": "PT0S",
        "calendar": "none",
        "working_hours": None,
    }


def moved_by(deadline: dict, span) -> dict:
    """The deadline later by `span` (negative: sooner), its paused time counting it."""
    paused = parse_iso_duration(deadline["paused_for"]) + span
    return {
        **deadline,
        "due_at": iso(datetime.fromisoformat(deadline["due_at"]) + span),
        "paused_for": iso_duration(paused),
    }


def _remind_at(due_at: datetime | None, since: datetime, rules: Rules) -> datetime | None:
    """When to remind the turn-holder of `due_at`, a deadline set at `since`.

    `rules.reminder` (24 h) before it, but never in the first half of the time the party
    was given: with a shorter period (a short inactivity period, evidence due sooner), halfway.
    A reminder right after the turn began would say nothing the turn's own event did not.
    """
    if due_at is None:
        return None
    return utc_ms(max(due_at - rules.reminder, since + (due_at - since) / 2))


def apply(complaint: Complaint | None, event: Event, deadlines: Deadlines) -> Complaint:
    """The complaint after `event`: a pure function of the complaint before and the event."""
    return _fold(complaint, event, deadlines)[0]


def _retained(before: Complaint | None, c: Complaint, event: Event) -> dict[str, Any]:
    closed_at = None
    if c.state == "closed":
        was_closed = before is not None and before.state == "closed"
        closed_at = before.closed_at if was_closed and before.closed_at else event.at
    kept = retention.kept_files(c.evidence)
    retain_from = closed_at if closed_at and kept and not c.legal_hold else None
    kinds = sorted({i["kind"] for i in kept}) if retain_from else []
    return {"closed_at": closed_at, "retain_from": retain_from, "retained_kinds": kinds}


def _fold(
    complaint: Complaint | None, event: Event, deadlines: Deadlines
) -> tuple[Complaint, dict]:
    """The complaint after `event`, and the deadlines the event started that it does not
    record yet (computed from the policy now: `stamped` writes them into it)."""
    recorded: dict[str, Any] = {}
    c = _apply(complaint, event, deadlines, recorded)
    return replace(c, **_care_clocks(c), **_retained(complaint, c, event)), recorded


def _apply(
    complaint: Complaint | None, event: Event, deadlines: Deadlines, recorded: dict
) -> Complaint:
    c = complaint or Complaint(id=event.complaint_id)
    rules = deadlines.rules(c.channel or (event.data.get("order") or {}).get("channel"))
    before_turn = c.turn
    before_awaited = requests.awaited(c.evidence_requests)
    state = event.data.get("state", c.state)
    c = replace(
        c,
        **_effects(c, event, rules, recorded),
        state=state,
        outcome=event.data.get("outcome", None if state != "closed" else c.outcome),
        version=event.seq,
        last_hash=event.hash,
        updated_at=event.at,
    )
    if event.type in CLOCK_EVENTS:
        return _clock(c, event, rules)
    turn = _turn(c.state, c.evidence_requests)
    # A new turn: a transition, another turn-holder, or another request awaited (one was
    # answered or withdrawn, or a new one is due first).
    awaited = requests.awaited(c.evidence_requests)
    moved = "state" in event.data or turn != before_turn or awaited != before_awaited
    if moved:
        # A new turn starts now: its clock starts now (and runs: a pause was the last turn's).
        c = replace(c, turn=turn, turn_started_at=event.at if turn else None)
        c = replace(c, paused=None, paused_until=None)
        return _due(c, _turn_deadline(c, event, rules, recorded), event.at, rules)
    spoke = event.type in ("message", "evidence_added")
    if spoke and event.actor["role"] == c.turn and c.state != "in_mediation":
        # The turn-holder continuing the conversation pushes its own deadline.
        return _due(c, _pushed(c, event, rules, recorded), event.at, rules)
    return c


def _clock(c: Complaint, event: Event, rules: Rules) -> Complaint:
    """Care paused the party's clock (its deadline moved to `until` plus what was left), or
    it runs again (the deadline moved by the time it actually stood still)."""
    data = event.data
    deadline = dict(data["turn_deadline"])
    due_at = due_of(deadline)
    if event.type == "pause_clock":
        until = utc_ms(datetime.fromisoformat(data["until"]))
        paused = {"at": iso(event.at), "until": iso(until), "reason": data["reason"]}
        paused["by"] = event.actor["id"]
        # Nobody is reminded while the clock stands still; the resumption reminds anew.
        return replace(
            c, deadline=deadline, due_at=due_at, paused=paused, paused_until=until, remind_at=None
        )
    resumed = utc_ms(datetime.fromisoformat(data["resumed_at"]))
    c = replace(c, deadline=deadline, due_at=due_at, paused=None, paused_until=None)
    return replace(c, remind_at=_remind_at(due_at, resumed, rules))


def _due(c: Complaint, deadline: dict | None, at: datetime, rules: Rules) -> Complaint:
    # A new deadline gets its own reminder: one per deadline, so a party reminded before its
    # own message moved the deadline is reminded again of the deadline that now holds.
    # None while the clock is paused: the resumption reminds.
    due_at = due_of(deadline)
    remind_at = None if c.paused is not None else _remind_at(due_at, at, rules)
    return replace(c, deadline=deadline, due_at=due_at, remind_at=remind_at)


def stamped(
    complaint: Complaint | None, events: Sequence[Event], deadlines: Deadlines
) -> tuple[Event, ...]:
    """`events` with the deadlines they start written into their data, sealed again (and
    chained again after one that changed): a deadline is fixed by the policy in force when
    its turn starts, so a later policy, or a rebuild under one, never moves it."""
    out: list[Event] = []
    c = complaint
    for event in events:
        prev_hash = out[-1].hash if out else event.prev_hash
        after, recorded = _fold(c, event, deadlines)
        if recorded or prev_hash != event.prev_hash:
            data = {**event.data, **recorded}
            event = Event.sealed(
                event.complaint_id, event.seq, event.type, event.actor, data, event.at, prev_hash
            )
            after = apply(c, event, deadlines)
        out.append(event)
        c = after
    return tuple(out)


def replay(events: list[Event], deadlines: Deadlines) -> Complaint:
    """The complaint rebuilt from its events alone."""
    complaint: Complaint | None = None
    for event in events:
        complaint = apply(complaint, event, deadlines)
    if complaint is None:
        raise ValueError("no events to replay")
    return complaint
