"""The complaint lifecycle: one explicit state machine, the only place its rules live.

Commands build a `Lifecycle` on the stored state for one request and `send` the action;
guards decide. Rebuilding a projection never runs it (see `projection.apply`).
Guards read the pending complaint through `self.model.complaint` and the per-request
facts (`actor`, `now`, the `solution` being decided) from `send(**kwargs)`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from statemachine import State, StateMachine

from . import requests, settlements
from .actors import Actor, Role
from .solutions import Solution

if TYPE_CHECKING:
    from .projection import Complaint


# Who may decide, and when: the owner of the case, once no evidence it asked for is pending.
_DECIDES = ["by_care", "is_assignee", "evidence_settled"]
# When a decision may be reviewed: once, soon after it was made, before its money or its goods
# move (a decision that needs a return or a shipment, until the parcel is sent).
_REVIEWABLE = [
    "was_decided",
    "review_unused",
    "within_review_window",
    "money_unmoved",
    "goods_unmoved",
]


class Lifecycle(StateMachine):
    """States and transitions of `docs/lifecycle.md`; conditions name who may act and when."""

    new = State("New", initial=True)
    awaiting_seller = State("Awaiting seller")
    awaiting_buyer = State("Awaiting buyer")
    appealed = State("Appealed")
    awaiting_care = State("Awaiting care")
    in_mediation = State("In mediation")
    awaiting_return = State("Awaiting return")
    return_shipped = State("Return shipped")
    awaiting_shipment = State("Awaiting shipment")
    shipment_sent = State("Shipment sent")
    closed = State("Closed")

    open = new.to(awaiting_seller, cond="by_buyer")
    propose = (
        awaiting_seller.to(awaiting_buyer, cond="by_seller")
        | awaiting_buyer.to(awaiting_seller, cond="by_buyer")
        | appealed.to(awaiting_seller, cond="by_buyer")
    )
    accept = (
        awaiting_seller.to(closed, cond=["by_seller", "settles_at_once"])
        | awaiting_seller.to(awaiting_return, cond=["by_seller", "needs_return"])
        | awaiting_seller.to(awaiting_shipment, cond=["by_seller", "needs_shipment"])
        | awaiting_buyer.to(closed, cond=["by_buyer", "settles_at_once"])
        | awaiting_buyer.to(awaiting_return, cond=["by_buyer", "needs_return"])
        | awaiting_buyer.to(awaiting_shipment, cond=["by_buyer", "needs_shipment"])
    )
    appeal = awaiting_seller.to(appealed, cond="by_seller")
    # Guards are plain names, never expressions ("a or b", "!a"): python-statemachine parses
    # expressions with `ast` on every new machine, and CPython 3.11's AST builder is not
    # thread-safe (a threaded server would 500 now and then). Either party: two transitions.
    escalate = (
        awaiting_care.from_(
            awaiting_seller, awaiting_buyer, appealed, cond=["by_buyer", "seller_answered"]
        )
        | awaiting_care.from_(
            awaiting_seller, awaiting_buyer, appealed, cond=["by_seller", "seller_answered"]
        )
        | shipment_sent.to(awaiting_care, cond="by_buyer")
    )
    auto_escalate = awaiting_care.from_(
        awaiting_seller,
        awaiting_buyer,
        appealed,
        return_shipped,
        awaiting_shipment,
        cond=["by_system", "is_due"],
    )
    auto_close = awaiting_return.to(closed, cond=["by_system", "is_due"])
    auto_complete = shipment_sent.to(closed, cond=["by_system", "is_due"])
    # Taking a case from the queue; or taking it over from its agent once care's deadline on
    # it has passed (so no case waits on an absent agent).
    assign = awaiting_care.to(
        in_mediation, cond=["by_care", "fresh_eyes_for_review"]
    ) | in_mediation.to.itself(
        cond=["by_care", "care_deadline_passed", "fresh_eyes_for_review"], unless="is_assignee"
    )
    # The case's agent hands it back to the queue, or to a named colleague.
    release = in_mediation.to(awaiting_care, cond=["by_care", "is_assignee"])
    reassign = in_mediation.to.itself(cond=["by_care", "is_assignee", "fresh_eyes_for_review"])
    request_evidence = in_mediation.to.itself(cond=["by_care", "is_assignee"])
    decide = (
        in_mediation.to(closed, cond=[*_DECIDES, "settles_at_once"])
        | in_mediation.to(awaiting_return, cond=[*_DECIDES, "needs_return"])
        | in_mediation.to(awaiting_shipment, cond=[*_DECIDES, "needs_shipment"])
    )
    ship_return = awaiting_return.to(return_shipped, cond="by_buyer")
    confirm_return = return_shipped.to(
        awaiting_shipment, cond=["by_seller", "replacement_due"]
    ) | return_shipped.to(closed, cond="by_seller", unless="replacement_due")
    ship_items = awaiting_shipment.to(shipment_sent, cond="by_seller")
    confirm_received = shipment_sent.to(closed, cond="by_buyer")
    withdraw = closed.from_(
        awaiting_seller,
        awaiting_buyer,
        appealed,
        awaiting_care,
        in_mediation,
        awaiting_return,
        cond="by_buyer",
    )
    request_review = awaiting_care.from_(
        closed, awaiting_return, awaiting_shipment, cond=["by_buyer", *_REVIEWABLE]
    ) | awaiting_care.from_(
        closed, awaiting_return, awaiting_shipment, cond=["by_seller", *_REVIEWABLE]
    )
    # Care stops a party's clock while the complaint waits on a third party (a courier's
    # investigation), and starts it again; the sweeper starts it again at `until`. Not a new
    # turn: the same deadline, moved by the time it stood still.
    pause_clock = (
        awaiting_seller.to.itself(cond=["by_care", "clock_running"])
        | awaiting_buyer.to.itself(cond=["by_care", "clock_running"])
        | appealed.to.itself(cond=["by_care", "clock_running"])
        | awaiting_return.to.itself(cond=["by_care", "clock_running"])
        | return_shipped.to.itself(cond=["by_care", "clock_running"])
        | awaiting_shipment.to.itself(cond=["by_care", "clock_running"])
        | shipment_sent.to.itself(cond=["by_care", "clock_running"])
    )
    resume_clock = (
        awaiting_seller.to.itself(cond=["by_care", "clock_paused"])
        | awaiting_seller.to.itself(cond=["by_system", "clock_paused", "pause_over"])
        | awaiting_buyer.to.itself(cond=["by_care", "clock_paused"])
        | awaiting_buyer.to.itself(cond=["by_system", "clock_paused", "pause_over"])
        | appealed.to.itself(cond=["by_care", "clock_paused"])
        | appealed.to.itself(cond=["by_system", "clock_paused", "pause_over"])
        | awaiting_return.to.itself(cond=["by_care", "clock_paused"])
        | awaiting_return.to.itself(cond=["by_system", "clock_paused", "pause_over"])
        | return_shipped.to.itself(cond=["by_care", "clock_paused"])
        | return_shipped.to.itself(cond=["by_system", "clock_paused", "pause_over"])
        | awaiting_shipment.to.itself(cond=["by_care", "clock_paused"])
        | awaiting_shipment.to.itself(cond=["by_system", "clock_paused", "pause_over"])
        | shipment_sent.to.itself(cond=["by_care", "clock_paused"])
        | shipment_sent.to.itself(cond=["by_system", "clock_paused", "pause_over"])
    )

    # Who acts. The role table of the lifecycle is read back from these names (`roles_for`).
    def by_buyer(self, actor: Actor) -> bool:
        return actor.role is Role.BUYER

    def by_seller(self, actor: Actor) -> bool:
        return actor.role is Role.SELLER

    def by_care(self, actor: Actor) -> bool:
        return actor.role is Role.CARE

    def by_system(self, actor: Actor) -> bool:
        return actor.role is Role.SYSTEM

    # The solution being agreed or decided picks the target. Without one (asking which actions
    # are enabled), any target will do: the action is available, its payload picks the way.
    def _solution(self, event: object, solution: Solution | None) -> Solution | None:
        if solution is None and str(getattr(event, "id", event)) == "accept":
            return self.model.complaint.pending_solution
        return solution

    def settles_at_once(self, event: object, solution: Solution | None = None) -> bool:
        chosen = self._solution(event, solution)
        return chosen is None or chosen.settles_at_once

    def needs_return(self, event: object, solution: Solution | None = None) -> bool:
        chosen = self._solution(event, solution)
        return chosen is None or chosen.needs_return

    def needs_shipment(self, event: object, solution: Solution | None = None) -> bool:
        chosen = self._solution(event, solution)
        return chosen is None or chosen.needs_shipment

    def replacement_due(self) -> bool:
        resolution = self.model.complaint.resolved_solution
        return resolution is not None and resolution.kind == "exchange"

    # Facts about the complaint so far.
    def seller_answered(self) -> bool:
        return self.model.complaint.seller_answered

    def is_due(self, now: datetime) -> bool:
        # While care holds the clock nobody is moved: the sweeper resumes it first.
        complaint = self.model.complaint
        due_at = complaint.due_at
        return due_at is not None and due_at <= now and complaint.paused is None

    def clock_running(self) -> bool:
        return self.model.complaint.paused is None

    def clock_paused(self) -> bool:
        return self.model.complaint.paused is not None

    def pause_over(self, now: datetime) -> bool:
        until = self.model.complaint.paused_until
        return until is not None and until <= now

    def is_assignee(self, actor: Actor) -> bool:
        return self.model.complaint.assigned_to == actor.id

    def evidence_settled(self, now: datetime) -> bool:
        # A case is not decided while any evidence care asked for is awaited, or sent and not
        # yet reviewed (seed 000: a KTP video was requested, then the report closed unread).
        # Unanswered past its due time, care may decide without it (`requests`).
        complaint = self.model.complaint
        return not requests.blocking(complaint.evidence_requests, complaint.evidence, now)

    def fresh_eyes_for_review(self, actor: Actor, agent_id: str | None = None) -> bool:
        complaint = self.model.complaint
        return not (complaint.under_review and (agent_id or actor.id) == complaint.decided_by)

    def was_decided(self) -> bool:
        # Where the complaint stands is care's decision: closed by it, or carrying it out.
        complaint = self.model.complaint
        decided = (complaint.resolution or {}).get("how") == "decided"
        return decided and complaint.outcome in (None, "decided")

    def goods_unmoved(self) -> bool:
        complaint = self.model.complaint
        return complaint.return_shipment is None and complaint.shipment is None

    def care_deadline_passed(self, now: datetime) -> bool:
        # The current agent's own time to decide has run out (its assignment plus care's
        # SLA). Not the first-reply clock: that one started at the escalation, and a case
        # taken over before any reply would stay overdue, to be taken over again and again.
        complaint = self.model.complaint
        due = complaint.care_decide_due_at
        return due is not None and due < now

    def review_unused(self) -> bool:
        return not self.model.complaint.review_requested

    def within_review_window(self, now: datetime) -> bool:
        # Open until `review_until`, excluded: at that instant the held settlement is due.
        until = self.model.complaint.review_until
        return until is not None and now < until

    def money_unmoved(self) -> bool:
        return settlements.unmoved(self.model.complaint.settlement)


@dataclass
class _Position:
    """What the machine reads and writes: the state, and the complaint its guards look at."""

    state: str
    complaint: Complaint | None


# Machines no one is using, per thread. Building a `Lifecycle` resolves every callback of
# every transition (about 1 ms, the largest CPU cost of an action, and paid once per complaint
# of a listing for its `allowed_actions`); resuming a built one at another state is
# assigning its model's two fields, which the machine reads afresh on every use.
_idle = threading.local()


@contextmanager
def machine_for(complaint: Complaint) -> Iterator[Lifecycle]:
    """A machine resumed at the complaint's state, this thread's alone until the block ends.

    Never shared: a machine is lent to one block of one thread, and a block inside it (an
    `allowed_actions` while refusing) is lent another.
    """
    idle: list[Lifecycle] = _idle.__dict__.setdefault("machines", [])
    machine = idle.pop() if idle else Lifecycle(model=_Position("new", None), state_field="state")
    machine.model.state, machine.model.complaint = complaint.state, complaint
    try:
        yield machine
    finally:
        machine.model.complaint = None  # holds no complaint while idle
        idle.append(machine)


ACTIONS: tuple[str, ...] = tuple(event.id for event in Lifecycle.events)
# Actions a person triggers through the API; the others belong to the service itself.
PERSON_ACTIONS: tuple[str, ...] = tuple(
    a for a in ACTIONS if a not in ("open", "auto_escalate", "auto_close", "auto_complete")
)
# What the sweeper does at a paused clock's `until` (also care's to do before then).
CLOCK_ACTIONS = ("pause_clock", "resume_clock")


@cache
def timeout_action(state: str) -> str | None:
    """The action the service itself takes when the turn-holder of `state` stays silent."""
    for transition in getattr(Lifecycle, state).transitions:
        if "resume_clock" in transition.events:
            continue  # the system ends a pause too, but that is no timeout
        if any("by_system" in str(condition) for condition in transition.cond):
            return next(iter(transition.events)).id
    return None


TIMED_STATES: tuple[str, ...] = tuple(s.id for s in Lifecycle.states if timeout_action(s.id))


@cache
def roles_for(action: str) -> frozenset[Role]:
    """The roles that may take `action` in some state, read from the machine's conditions:
    the people's roles (the service itself, `system`, acts as the machine's guards let it:
    its timeouts, and the end of a paused clock)."""
    roles: set[Role] = set()
    for state in Lifecycle.states:
        for transition in state.transitions:
            if action in transition.events:
                for condition in transition.cond:
                    roles.update(Role(r) for r in re.findall(r"\bby_(\w+)", str(condition)))
    return frozenset(roles - {Role.SYSTEM})


SYSTEM_ACTIONS: frozenset[str] = frozenset(
    event.id
    for state in Lifecycle.states
    for transition in state.transitions
    if any("by_system" in str(condition) for condition in transition.cond)
    for event in transition.events
)


def allowed_actions(
    complaint: Complaint, actor: Actor, now: datetime, machine: Lifecycle | None = None
) -> list[str]:
    """The actions this caller may take now, in the lifecycle's order: the buttons to show."""
    if machine is None:
        with machine_for(complaint) as machine:
            return allowed_actions(complaint, actor, now, machine)
    enabled = {e.id for e in machine.enabled_events(actor=actor, now=now)}
    return [a for a in PERSON_ACTIONS if a in enabled]


def decision_waits_for_evidence(complaint: Complaint, actor: Actor, now: datetime) -> bool:
    """The agent owns the case in mediation, and only the evidence it asked for (awaited, or
    sent and not reviewed) keeps it from deciding: what the console tells the agent."""
    if complaint.state != "in_mediation":
        return False
    with machine_for(complaint) as machine:
        return (
            machine.by_care(actor)
            and machine.is_assignee(actor)
            and not machine.evidence_settled(now)
        )
