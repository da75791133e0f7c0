"""The complaint as the API reads it: a pure fold over its events.

`apply` runs no guards and asks no clock: whatever the machine allowed when the event was
recorded is a fact here. The target state and outcome travel in the event's data, so the
fold never re-derives a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from . import requests, retention, settlements
from .deadlines import Deadlines
from .events import GENESIS, Event, iso, utc_ms
from .evidence import is_restricted
from .solutions import Solution

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


def _care_clocks(c: Complaint, deadlines: Deadlines) -> dict[str, datetime | None]:
    """When care breaches its SLA: 24 h from escalation to its first reply a party can read
    (a message, an evidence request, a decision: taking the case is not a reply), and 24 h from
    assignment to decision; `care_due_at` is whichever of the running ones comes first.

    Breaching it changes nothing in the lifecycle; it is shown and listed (`?overdue=true`).
    """
    reply = None
    if c.state in CARE_STATES and c.escalated_at and c.care_replied_at is None:
        reply = c.escalated_at + deadlines.care_sla
    decide = None
    if c.state == "in_mediation" and c.assigned_at:
        decide = c.assigned_at + deadlines.care_sla
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


def _effects(c: Complaint, event: Event, deadlines: Deadlines) -> dict[str, Any]:
    """What one event changes besides state, outcome, turn and due time."""
    changes = _changes(c, event, deadlines)
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


def _changes(c: Complaint, event: Event, deadlines: Deadlines) -> dict[str, Any]:
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
        if kind == "request_review":
            # The decision's held settlement goes with it: the next decision makes its own.
            changes.update(review_requested=True, under_review=True, review_until=None)
            changes["settlement"] = None
        return changes
    if kind in ("assign", "reassign"):
        return {"assigned_to": data["agent_id"], "assigned_at": at}
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
        changes["review_until"] = at + deadlines.inactivity
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


def _due_at(c: Complaint, at: datetime, deadlines: Deadlines) -> datetime | None:
    if c.turn in ("buyer", "seller") and c.state == "in_mediation":
        return datetime.fromisoformat(requests.awaited(c.evidence_requests)["due_at"])
    if c.turn in ("buyer", "seller"):
        return at + deadlines.inactivity
    return None


def _remind_at(due_at: datetime | None, since: datetime, deadlines: Deadlines) -> datetime | None:
    """When to remind the turn-holder of `due_at`, a deadline set at `since`.

    `deadlines.reminder` (24 h) before it, but never in the first half of the time the party
    was given: with a shorter period (a short inactivity period, evidence due sooner), halfway.
    A reminder right after the turn began would say nothing the turn's own event did not.
    """
    if due_at is None:
        return None
    return utc_ms(max(due_at - deadlines.reminder, since + (due_at - since) / 2))


def apply(complaint: Complaint | None, event: Event, deadlines: Deadlines) -> Complaint:
    """The complaint after `event`: a pure function of the complaint before and the event."""
    c = _apply(complaint, event, deadlines)
    return replace(c, **_care_clocks(c, deadlines), **_retained(complaint, c, event))


def _retained(before: Complaint | None, c: Complaint, event: Event) -> dict[str, Any]:
    closed_at = None
    if c.state == "closed":
        was_closed = before is not None and before.state == "closed"
        closed_at = before.closed_at if was_closed and before.closed_at else event.at
    kept = retention.kept_files(c.evidence)
    retain_from = closed_at if closed_at and kept and not c.legal_hold else None
    kinds = sorted({i["kind"] for i in kept}) if retain_from else []
    return {"closed_at": closed_at, "retain_from": retain_from, "retained_kinds": kinds}


def _apply(complaint: Complaint | None, event: Event, deadlines: Deadlines) -> Complaint:
    c = complaint or Complaint(id=event.complaint_id)
    before_turn = c.turn
    before_awaited = requests.awaited(c.evidence_requests)
    state = event.data.get("state", c.state)
    c = replace(
        c,
        **_effects(c, event, deadlines),
        state=state,
        outcome=event.data.get("outcome", None if state != "closed" else c.outcome),
        version=event.seq,
        last_hash=event.hash,
        updated_at=event.at,
    )
    turn = _turn(c.state, c.evidence_requests)
    # A new turn: a transition, another turn-holder, or another request awaited (one was
    # answered or withdrawn, or a new one is due first).
    awaited = requests.awaited(c.evidence_requests)
    moved = "state" in event.data or turn != before_turn or awaited != before_awaited
    if moved:
        # A new turn starts now: its clock starts now.
        c = replace(c, turn=turn, turn_started_at=event.at if turn else None)
        return _due(c, _due_at(c, event.at, deadlines), event.at, deadlines)
    spoke = event.type in ("message", "evidence_added")
    if spoke and event.actor["role"] == c.turn and c.state != "in_mediation":
        # The turn-holder continuing the conversation pushes its own deadline.
        return _due(c, _due_at(c, event.at, deadlines), event.at, deadlines)
    return c


def _due(c: Complaint, due_at: datetime | None, at: datetime, deadlines: Deadlines) -> Complaint:
    # A new deadline gets its own reminder: one per deadline, so a party reminded before its
    # own message moved the deadline is reminded again of the deadline that now holds.
    return replace(c, due_at=due_at, remind_at=_remind_at(due_at, at, deadlines))


def replay(events: list[Event], deadlines: Deadlines) -> Complaint:
    """The complaint rebuilt from its events alone."""
    complaint: Complaint | None = None
    for event in events:
        complaint = apply(complaint, event, deadlines)
    if complaint is None:
        raise ValueError("no events to replay")
    return complaint
