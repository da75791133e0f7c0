"""Commands: ask the machine whether an action may happen, and produce the event that records it.

Each command takes the complaint as stored, the actor, the validated request and `now`, and
returns one sealed `Event` (or raises a `DomainError`). Nothing here is stored or read.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from statemachine.exceptions import TransitionNotAllowed

from . import decisions, orders, requests, retention, settlements
from .actors import SYSTEM, Actor, Role
from .errors import Conflict, Forbidden, Invalid, NotAllowed, NotFound
from .events import Event, iso, utc_ms
from .evidence import can_open
from .lifecycle import (
    CLOCK_ACTIONS,
    PERSON_ACTIONS,
    SYSTEM_ACTIONS,
    Lifecycle,
    allowed_actions,
    machine_for,
    roles_for,
)
from .orders import Window
from .policy import iso_duration
from .projection import Complaint, Deadlines, current_deadline, moved_by
from .solutions import Solution, check_solution

# Events that record something besides a transition of the machine.
OTHER_EVENTS: tuple[str, ...] = (
    "message",
    "evidence_added",
    "evidence_reviewed",
    "evidence_viewed",
    "deadline_approaching",
    "order_updated",
    "note",
    "evidence_request_withdrawn",
    *settlements.EVENTS,
    *retention.EVENTS,
    "erasure",
)
# Every type of event a complaint's log may hold.
EVENT_TYPES: tuple[str, ...] = (*(event.id for event in Lifecycle.events), *OTHER_EVENTS)

OUTCOMES = {
    "accept": "agreed",
    "decide": "decided",
    "withdraw": "withdrawn",
    "auto_close": "return_not_shipped",
    "confirm_return": "fulfilled",
    "confirm_received": "fulfilled",
    "auto_complete": "fulfilled",
}

# Why a condition of the machine refused, in words a buyer, seller or agent understands.
REFUSALS = {
    "seller_answered": "the seller has not answered yet (propose or appeal): its turn comes first",
    "is_assignee": "only the care agent the complaint is assigned to may do this",
    "fresh_eyes_for_review": "a review must go to another agent than the one who decided",
    "was_decided": "only a decision by the care team can be reviewed",
    "review_unused": "a review has already been requested once for this complaint",
    "within_review_window": "the time to request a review of the decision has passed",
    "money_unmoved": "the decided money has already been sent to the payment system",
    "goods_unmoved": "the goods have already been sent: the decision is being carried out",
    "care_deadline_passed": (
        "the case has an agent and its 24 hours to decide have not passed: until then only "
        "that agent works on it (it may release or reassign it)"
    ),
    "is_due": "the deadline has not passed yet",
    "evidence_settled": (
        "the evidence requested from a party is still awaited (until its due time) "
        "or has not been reviewed yet"
    ),
    "clock_running": "the clock is already paused: resume it first",
    "clock_paused": "the clock is running: there is no pause to end",
    "pause_over": "the pause has not reached its end yet",
}


def _why_not(machine: Lifecycle, action: str, kwargs: Mapping[str, Any]) -> str:
    """The first named condition that refused `action`, in words, or a plain refusal."""
    state = machine.model.state
    transitions = [t for t in getattr(Lifecycle, state).transitions if action in t.events]
    for transition in transitions:
        for condition in transition.cond:
            name = str(condition)
            if name not in REFUSALS:
                continue
            guard = getattr(machine, name)
            accepted = inspect.signature(guard).parameters
            if not guard(**{k: v for k, v in kwargs.items() if k in accepted}):
                if name == "evidence_settled":
                    return _evidence_refusal(machine.model.complaint, action, kwargs["now"])
                return f"Cannot {action} now: {REFUSALS[name]}."
    label = state.replace("_", " ")
    return f"Cannot {action} while the complaint is {label}."


def _evidence_refusal(complaint: Complaint, action: str, now: datetime) -> str:
    """Which requests a decision waits for, by id, party, due time and state."""
    waiting = requests.blocking(complaint.evidence_requests, complaint.evidence, now)
    named = "; ".join(requests.described(r, s) for r, s in waiting)
    return f"Cannot {action} now: {REFUSALS['evidence_settled']}: {named}."


def _sealed(complaint: Complaint, actor: Actor, type: str, data: dict, now: datetime) -> Event:
    # A complaint's events never go back in time, even when hosts' clocks disagree a little:
    # ordering by time then keeps each complaint's events in `seq` order (audit exports).
    at = max(now, complaint.updated_at) if complaint.updated_at else now
    return Event.sealed(
        complaint.id,
        complaint.version + 1,
        type,
        actor.as_data(),
        data,
        at,
        complaint.last_hash,
    )


def open_complaint(
    complaint_id: str,
    actor: Actor,
    request: Mapping,
    now: datetime,
    *,
    window: Window = orders.DEFAULT_WINDOW,
    earlier: settlements.Ledger = settlements.NOTHING_SETTLED,
) -> Event:
    """The first event of a complaint: the order's buyer opens it, within the order's window,
    with a requested solution the order can pay for.

    `request["order"]` is the order as the marketplace registered it (snapshotted into the
    event); `earlier` is what earlier complaints on it already settled (recorded too: it
    cannot change while this complaint is open, and its closing splits only what is left).
    """
    check_opener(actor)
    order = request["order"]
    if order["buyer_id"] != actor.id:
        raise unknown_order(order["channel"], order["id"])
    if orders.cancelled_before_shipping(order):
        raise Invalid(
            f"Order {order['id']} was cancelled before it shipped: there is nothing to complain "
            "about.",
            {"order": ["cancelled before it shipped"]},
        )
    closes = orders.window_closes_at(order, window)
    if closes is not None and now >= closes:
        raise Invalid(
            f"The time to complain about order {order['id']} ended at {iso(closes)}.",
            {"order": [f"the complaint window closed at {iso(closes)}"]},
            closed_at=iso(closes),
        )
    requested = Solution.from_data(request["requested_solution"])
    check_solution(requested, order, by_care=False)
    _check_refundable(requested, order, earlier, "requested_solution.amount")
    complaint = Complaint(id=complaint_id)
    with machine_for(complaint) as machine:
        machine.send("open", actor=actor, now=now)
        state = machine.model.state
    data = {
        "order": dict(request["order"]),
        "reason": request["reason"],
        "description": request["description"],
        "requested_solution": requested.as_data(),
        "earlier_settled": earlier.as_data(),
        "state": state,
    }
    return _sealed(complaint, actor, "open", data, now)


def _check_refundable(
    solution: Solution, order: Mapping, earlier: settlements.Ledger, name: str
) -> None:
    """Refuses a refund of more than the order still holds: what the marketplace holds for it
    less what earlier complaints' settlements moved (422, with the figures)."""
    left = earlier.still_held(order)
    if solution.amount is None or solution.amount <= left:
        return
    raise Invalid(
        f"A refund of {solution.amount} is more than order {order['id']} can still pay back: "
        f"{left} (held {order['held_amount']}, already settled {earlier.moved}, of which "
        f"{earlier.to_buyer} to the buyer).",
        {name: [f"at most {left}"]},
        refundable=left,
        held_amount=order["held_amount"],
        refunded=earlier.to_buyer,
        settled=earlier.moved,
    )


def a(noun: str) -> str:
    """`A seller`, `An auditor`: the noun with its article, for a sentence's start."""
    return f"{'An' if str(noun)[:1].lower() in 'aeiou' else 'A'} {noun}"


def check_opener(actor: Actor) -> None:
    """Only a buyer opens a complaint (403 for anyone else, before its order is looked at)."""
    if actor.role is not Role.BUYER:
        raise Forbidden("Only a buyer can open a complaint.")


def unknown_order(channel: str, order_id: str) -> Invalid:
    """The one answer for an order that is not registered and for one that is someone else's:
    nothing tells them apart."""
    return Invalid(
        f"There is no order {order_id} of yours on {channel} to complain about.",
        {"order": ["unknown order"]},
    )


def order_updated(
    complaint: Complaint, actor: Actor, changed: Mapping[str, Any], order: Mapping, now: datetime
) -> Event:
    """The marketplace changed the order of a complaint not closed: what changed (before and
    after) and the order as it now stands. Nobody's activity; no state change."""
    data = {"changes": dict(changed), "order": dict(order)}
    return _sealed(complaint, actor, "order_updated", data, now)


def act(
    complaint: Complaint,
    actor: Actor,
    action: str,
    request: Mapping,
    now: datetime,
    deadlines: Deadlines,
    *,
    settlement_id: str = "",
) -> Event:
    """The event for `action` taken by `actor` now, if the lifecycle allows it.

    An action that closes the complaint records its settlement (`settlement_id` names it):
    the split of what the order still holds, by the outcome and the final solution.
    """
    if action not in PERSON_ACTIONS and actor.role is not Role.SYSTEM:
        raise NotFound(f"There is no action {action!r}.")
    system = actor.role is Role.SYSTEM and action in SYSTEM_ACTIONS
    if actor.role not in roles_for(action) and not system:
        raise Forbidden(f"{a(actor.role)} cannot {action.replace('_', ' ')} a complaint.")
    asked = {"actor": actor, "now": now, "agent_id": request.get("agent_id")}
    with machine_for(complaint) as machine:
        if action not in {e.id for e in machine.enabled_events(**asked)}:
            refusal = _why_not(machine, action, asked)
            raise NotAllowed(refusal, allowed_actions(complaint, actor, now, machine))
        data = _data_for(complaint, actor, action, request, now, deadlines)
        solution = Solution.from_data(data["solution"]) if "solution" in data else None
        try:
            machine.send(action, solution=solution, **asked)
        except TransitionNotAllowed as refused:  # the enabled check above makes this a bug
            raise NotAllowed(str(refused), allowed_actions(complaint, actor, now)) from refused
        data["state"] = machine.model.state
    if data["state"] == "closed":
        data["outcome"] = OUTCOMES[action]
        final = data.get("solution") or (complaint.resolution or {}).get("solution")
        held = settlements.ledger_of(complaint.earlier_settled).still_held(complaint.order)
        data["settlement"] = settlements.terms(
            settlement_id or f"{complaint.id}-{complaint.version + 1}", data["outcome"], final, held
        )
    return _sealed(complaint, actor, action, data, now)


def _data_for(
    complaint: Complaint,
    actor: Actor,
    action: str,
    request: Mapping,
    now: datetime,
    deadlines: Deadlines,
) -> dict:
    """The event data for an allowed action: the request, checked against the complaint."""
    data = {k: v for k, v in request.items() if v is not None}
    earlier = settlements.ledger_of(complaint.earlier_settled)
    if action in ("propose", "decide"):
        solution = Solution.from_data(request["solution"])
        check_solution(solution, complaint.order, by_care=actor.role is Role.CARE)
        _check_refundable(solution, complaint.order, earlier, "solution.amount")
        data["solution"] = solution.as_data()
        if action == "decide":
            data["evidence_considered"] = decisions.check_considered(
                request.get("evidence_considered") or [], complaint.evidence
            )
            lapsed = requests.expired(complaint.evidence_requests, complaint.evidence, now)
            if lapsed:  # decided without what the party did not send in time: on record
                data["expired_requests"] = lapsed
    elif action == "accept":
        pending = complaint.pending_solution
        if pending is not None:
            _check_refundable(pending, complaint.order, earlier, "solution.amount")
        data["solution"] = complaint.proposal["solution"]
        data["proposed_by"] = complaint.proposal["by"]
    elif action == "assign":
        data["agent_id"] = request.get("agent_id") or actor.id
        if complaint.state == "in_mediation":  # a take-over: say from whom
            data["from_agent"] = complaint.assigned_to
    elif action == "release":
        data["agent_id"] = complaint.assigned_to
    elif action == "reassign":
        if request["agent_id"] == actor.id:
            raise Invalid(
                "The case is already yours: reassign it to another agent.",
                {"agent_id": ["another agent than you"]},
            )
        data["from_agent"] = actor.id
    elif action == "request_review" and complaint.state != "closed":
        data["called_off"] = complaint.state  # the return or shipment no longer awaited
    elif action == "request_evidence":
        rules = deadlines.rules(complaint.channel)
        due_at = request.get("due_at") or rules.due_at(now, rules.inactivity)
        soonest = now + rules.evidence_min_due
        if utc_ms(due_at) < utc_ms(soonest):
            raise Invalid(
                f"A party gets at least {_hours(rules.evidence_min_due)} to send evidence: "
                f"due no sooner than {iso(soonest)}.",
                {"due_at": [f"at least {_hours(rules.evidence_min_due)} from now"]},
                earliest=iso(soonest),
            )
        data["due_at"] = iso(due_at)
    elif action in CLOCK_ACTIONS:
        data.update(_clock_data(complaint, action, request, now, deadlines))
    elif action.startswith("auto_"):
        data["party"] = complaint.turn
        data["deadline"] = iso(complaint.due_at)
        if action in decisions.AUTOMATIC:
            data["reason_code"], data["rationale"] = decisions.AUTOMATIC[action]
    return data


def _clock_data(
    complaint: Complaint, action: str, request: Mapping, now: datetime, deadlines: Deadlines
) -> dict[str, Any]:
    """Pausing: until when (in the future, at most the policy's longest pause away), and the
    running deadline moved by the pause. Resuming: when it ran again (at `until` when the
    sweeper resumes it), and the deadline moved back by what was left of the pause."""
    at = max(now, complaint.updated_at) if complaint.updated_at else now
    deadline = current_deadline(complaint)
    if action == "pause_clock":
        pause_max = deadlines.rules(complaint.channel).pause_max
        until = utc_ms(request.get("until") or at + pause_max)
        if until <= utc_ms(at) or until > utc_ms(at) + pause_max:
            latest = utc_ms(at) + pause_max
            raise Invalid(
                f"A clock is paused for at most {_hours(pause_max)}: `until` between now and "
                f"{iso(latest)}.",
                {"until": [f"after now and no later than {iso(latest)}"]},
                latest=iso(latest),
            )
        moved = moved_by(deadline, until - utc_ms(at))
        return {"party": complaint.turn, "until": iso(until), "turn_deadline": moved}
    paused_at = datetime.fromisoformat(complaint.paused["at"])
    resumed = min(utc_ms(at), complaint.paused_until)
    return {
        "party": complaint.turn,
        "paused_at": complaint.paused["at"],
        "resumed_at": iso(resumed),
        "paused_for": iso_duration(resumed - paused_at),
        "turn_deadline": moved_by(deadline, resumed - complaint.paused_until),
    }


def message(
    complaint: Complaint,
    actor: Actor,
    body: str,
    now: datetime,
    *,
    evidence_ids: Sequence[str] = (),
    answers: int | None = None,
    to: str | None = None,
) -> Event:
    """A message in the complaint's thread: no state change, but the sender's activity.

    Care may write to one party only (`to`: buyer or seller): only care, that party and
    auditors read it."""
    _check_can_speak(complaint, actor, now, answers)
    if to is not None and actor.role is not Role.CARE:
        raise Invalid(
            "Only the care team writes to one party privately: leave out `to`.",
            {"to": ["only the care team writes to one party"]},
        )
    known = {item["id"] for item in complaint.evidence}
    unknown = [eid for eid in evidence_ids if eid not in known]
    if unknown:
        raise Invalid(
            "A message can only refer to this complaint's evidence.",
            {"evidence_ids": [f"no evidence {eid} on this complaint" for eid in unknown]},
        )
    data: dict[str, Any] = {"body": body}
    if evidence_ids:
        data["evidence_ids"] = list(evidence_ids)
    if answers is not None:
        data["answers"] = answers
    if to is not None:
        data["to"] = to
    return _sealed(complaint, actor, "message", data, now)


def check_note_taker(actor: Actor) -> None:
    """Notes are care's own (403 for anyone else, before a body or a complaint is read)."""
    if actor.role is not Role.CARE:
        raise Forbidden("Notes are the care team's own.")


def note(complaint: Complaint, actor: Actor, body: str, now: datetime) -> Event:
    """Care's own note on a case: in the event log for care and auditors, never a party's to
    read (they see that a note exists). Nobody's activity; no state change; also on a
    closed complaint (its settlement may still need care)."""
    check_note_taker(actor)
    return _sealed(complaint, actor, "note", {"body": body}, now)


def set_legal_hold(complaint: Complaint, actor: Actor, reason: str, now: datetime) -> Event:
    """Care puts the complaint under a legal hold: none of its files is destroyed while it
    lasts, whatever their retention (any state; 409 when already held)."""
    _check_care(actor, "Legal holds are set and lifted by the care team.")
    if complaint.legal_hold:
        raise Conflict("The complaint is already under a legal hold.")
    return _sealed(complaint, actor, "legal_hold_set", {"reason": reason}, now)


def lift_legal_hold(complaint: Complaint, actor: Actor, reason: str, now: datetime) -> Event:
    """Care lifts the legal hold: retention runs again (a period that ran out while held
    ends at the next sweep)."""
    _check_care(actor, "Legal holds are set and lifted by the care team.")
    if not complaint.legal_hold:
        raise Conflict("The complaint is not under a legal hold.")
    return _sealed(complaint, actor, "legal_hold_lifted", {"reason": reason}, now)


def _check_care(actor: Actor, why: str) -> None:
    if actor.role is not Role.CARE:
        raise Forbidden(why)


def purge_evidence(
    complaint: Complaint, evidence_id: str, policy: retention.Retention, now: datetime
) -> Event:
    """The system records that a file's retention ran out and it was destroyed: the entry
    and the file's SHA-256 stay. 409 unless that file is due (purged already, the complaint
    reopened or held)."""
    due = {item["id"]: item for item in retention.purge_due(complaint, policy, now)}
    if evidence_id not in due:
        raise Conflict(f"The file of evidence {evidence_id} is not due for destruction.")
    item = due[evidence_id]
    data = {
        "evidence_id": evidence_id,
        "kind": item["kind"],
        "sha256": item["file"]["sha256"],
        "retained_until": policy.until(complaint.closed_at, item["kind"]),
    }
    return _sealed(complaint, SYSTEM, "evidence_purged", data, now)


def erasure(complaint: Complaint, actor: Actor, data: Mapping[str, Any], now: datetime) -> Event:
    """Care erased a data subject's personal data on this closed complaint: what, and why
    (`data`: `subject_id`, `reason`, `receipt_id`, `fields` [seq, field], `files`)."""
    _check_care(actor, "Erasure is the care team's.")
    return _sealed(complaint, actor, "erasure", dict(data), now)


def _check_can_speak(
    complaint: Complaint, actor: Actor, now: datetime, answers: int | None = None
) -> None:
    """Messages and evidence: from the parties and care, while the complaint is open."""
    if actor.role not in (Role.BUYER, Role.SELLER, Role.CARE):
        raise Forbidden(f"{a(actor.role)} cannot add messages or evidence.")
    if not complaint.is_open:
        raise NotAllowed(
            "The complaint is closed: no more messages or evidence.",
            allowed_actions(complaint, actor, now),
        )
    if answers is None:
        return
    request = requests.answering(complaint.evidence_requests, actor.role.value, answers)
    if request is None:
        raise Invalid(
            "`answers` must name the evidence request made to you (its `id`).",
            {"answers": ["not an evidence request made to you on this complaint"]},
        )


def check_can_add_evidence(complaint: Complaint, actor: Actor, now: datetime) -> None:
    """Raises unless `actor` may add evidence now: checked before a file is stored."""
    _check_can_speak(complaint, actor, now)


def add_evidence(
    complaint: Complaint, actor: Actor, item: Mapping[str, Any], now: datetime
) -> Event:
    """Evidence added to the complaint: a stored file's reference, or a tracking number."""
    _check_can_speak(complaint, actor, now, item.get("answers"))
    return _sealed(complaint, actor, "evidence_added", dict(item), now)


def _evidence(complaint: Complaint, evidence_id: str) -> dict:
    for item in complaint.evidence:
        if item["id"] == evidence_id:
            return item
    raise NotFound(f"There is no evidence {evidence_id[:64]} on this complaint.")


def review_evidence(
    complaint: Complaint, actor: Actor, evidence_id: str, note: str, now: datetime
) -> Event:
    """Care records that it looked at a piece of evidence, and what it made of it."""
    if actor.role is not Role.CARE:
        raise Forbidden("Only the care team reviews evidence.")
    item = _evidence(complaint, evidence_id)
    if not complaint.is_open:
        raise NotAllowed("The complaint is closed.", allowed_actions(complaint, actor, now))
    if item.get("reviewed"):
        raise Conflict(f"Evidence {evidence_id} was already reviewed.")
    return _sealed(
        complaint, actor, "evidence_reviewed", {"evidence_id": evidence_id, "note": note}, now
    )


def open_evidence(
    complaint: Complaint, actor: Actor, evidence_id: str, now: datetime, sent: int | None = None
) -> tuple[dict, Event | None]:
    """The evidence entry `actor` asks to open, and the `evidence_viewed` event its reading
    of personal data must leave behind (None for ordinary evidence); `sent`: how many bytes
    the read sends (recorded as `bytes`)."""
    item = _evidence(complaint, evidence_id)
    if not can_open(actor, item):
        raise Forbidden("This evidence is visible to the care team and its uploader only.")
    if not item.get("restricted"):
        return item, None
    data = {"evidence_id": evidence_id, "kind": item["kind"]}
    if sent is not None:
        data["bytes"] = sent
    return item, _sealed(complaint, actor, "evidence_viewed", data, now)


def remind(complaint: Complaint, now: datetime) -> Event:
    """`deadline_approaching`: the system reminds the party whose turn it is of its deadline.

    Not a transition (no state, not anyone's activity, the deadline stays). Refused while no
    reminder is due: already sent for this deadline, not yet time, the deadline passed, or
    nobody's deadline runs (care's turn, closed). The loser of two racing sweepers is refused.
    """
    remind_at, due_at = complaint.remind_at, complaint.due_at
    if remind_at is None or due_at is None:
        raise Conflict("No reminder is due: already sent for this deadline, or none runs.")
    if utc_ms(now) < remind_at:
        raise Conflict(f"The reminder is due at {iso(remind_at)}, not yet.")
    if utc_ms(now) >= due_at:
        raise Conflict("The deadline has passed: it is no longer approaching.")
    data = {"party": complaint.turn, "due_at": iso(due_at)}
    return _sealed(complaint, SYSTEM, "deadline_approaching", data, now)


# Who takes each step of a settlement: the payment system answers, care retries.
SETTLEMENT_STEPS = {"confirm": Role.INTEGRATION, "fail": Role.INTEGRATION, "retry": Role.CARE}


def check_settles(actor: Actor, step: str) -> None:
    """403 unless `actor` takes this step of a settlement (before any settlement is looked up)."""
    if actor.role is not SETTLEMENT_STEPS[step]:
        if step == "retry":
            raise Forbidden("Only the care team retries a failed settlement.")
        raise Forbidden(f"Only the payment system (an integration token) may {step} a settlement.")


class Unchanged(Exception):
    """The same answer again: the settlement already says so, and nothing is recorded. It
    carries the complaint as it stands (the answer to give)."""

    def __init__(self, complaint: Complaint) -> None:
        super().__init__(complaint.id)
        self.complaint = complaint


def _settlement(complaint: Complaint, settlement_id: str) -> dict:
    settlement = complaint.settlement
    if settlement is None or settlement["id"] != settlement_id:
        raise NotFound(f"There is no settlement {settlement_id}.")
    return settlement


def request_settlement(complaint: Complaint, now: datetime) -> Event:
    """`settlement_requested`: the payment system is asked to move the held money, once the
    settlement's time has come (at the closing, or when the review window ends unused)."""
    settlement = complaint.settlement
    if not settlements.due(settlement, now):
        raise Conflict("No settlement of this complaint is due to be requested now.")
    data = {"settlement_id": settlement["id"], "attempt": len(settlement["attempts"]) + 1}
    return _sealed(complaint, SYSTEM, settlements.REQUESTED_EVENT, data, now)


def answer_settlement(
    complaint: Complaint,
    actor: Actor,
    settlement_id: str,
    answer: Mapping[str, str],
    now: datetime,
) -> Event:
    """The payment system's answer to the settlement's request: `{"reference": …}` (the money
    moved) or `{"reason": …}` (it could not). The same answer twice is `Unchanged`; any other
    answer to one already given is a conflict."""
    confirming = "reference" in answer
    check_settles(actor, "confirm" if confirming else "fail")
    settlement = _settlement(complaint, settlement_id)
    status = settlement["status"]
    if status in (settlements.CONFIRMED, settlements.FAILED):
        last = settlement["attempts"][-1]
        same = (
            last.get("reference") == answer.get("reference")
            if confirming
            else last.get("reason") == answer.get("reason")
        )
        if same and status == (settlements.CONFIRMED if confirming else settlements.FAILED):
            raise Unchanged(complaint)
        said = (
            f"confirmed with reference {settlement['reference']}"
            if status == settlements.CONFIRMED
            else f"failed ({last['reason']}); care may retry it"
        )
        raise Conflict(f"Settlement {settlement_id} was already {said}.", settlement_status=status)
    if status != settlements.REQUESTED:
        label = status.replace("_", " ")
        raise Conflict(
            f"Settlement {settlement_id} is {label}: it has not been requested of the payment "
            "system.",
            settlement_status=status,
        )
    data = {"settlement_id": settlement_id, "attempt": len(settlement["attempts"]), **answer}
    kind = settlements.CONFIRMED_EVENT if confirming else settlements.FAILED_EVENT
    return _sealed(complaint, actor, kind, data, now)


def retry_settlement(
    complaint: Complaint, actor: Actor, settlement_id: str, note: str | None, now: datetime
) -> Event:
    """Care asks the payment system again for a failed settlement: a new attempt."""
    check_settles(actor, "retry")
    settlement = _settlement(complaint, settlement_id)
    if settlement["status"] != settlements.FAILED:
        label = settlement["status"].replace("_", " ")
        raise Conflict(
            f"Settlement {settlement_id} is {label}: only a failed one is retried.",
            settlement_status=settlement["status"],
        )
    data: dict[str, Any] = {
        "settlement_id": settlement_id,
        "attempt": len(settlement["attempts"]) + 1,
    }
    if note:
        data["note"] = note
    return _sealed(complaint, actor, settlements.RETRIED_EVENT, data, now)


def _hours(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def withdraw_evidence_request(
    complaint: Complaint, actor: Actor, request_id: int, reason: str, now: datetime
) -> Event:
    """Care withdraws a request it no longer needs (the case's agent, in mediation): it stops
    holding the decision and the party's turn."""
    if actor.role is not Role.CARE:
        raise Forbidden("Only the care team withdraws its evidence requests.")
    request = next((r for r in complaint.evidence_requests if r["id"] == request_id), None)
    if request is None:
        raise NotFound(f"There is no evidence request {request_id} on this complaint.")
    if complaint.state != "in_mediation" or complaint.assigned_to != actor.id:
        raise NotAllowed(
            "Only the agent the case is assigned to withdraws its requests, in mediation.",
            allowed_actions(complaint, actor, now),
        )
    if request.get("withdrawn_at"):
        raise Conflict(f"Evidence request {request_id} was already withdrawn.")
    data = {"request_id": request_id, "reason": reason}
    return _sealed(complaint, actor, "evidence_request_withdrawn", data, now)
