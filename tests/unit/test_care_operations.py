"""Care operations in the machine: a case changes hands (release, reassign, take-over once its
care deadline has passed), and any decision can be reviewed until its money or goods move."""

from __future__ import annotations

from datetime import timedelta

import pytest

from resolution.domain.actors import Actor, Role
from resolution.domain.errors import Invalid, NotAllowed
from tests.support.stories import RETURN_REFUND, SEND_REMAINING


def test_the_agent_releases_a_case_to_the_queue_naming_itself(reach):
    released = reach("in_mediation").act("agent1", "release", {"reason": "Cuti besok."})
    complaint = released.complaint
    assert (complaint.state, complaint.assigned_to, complaint.turn) == (
        "awaiting_care",
        None,
        "care",
    )
    assert released.events[-1].data == {
        "reason": "Cuti besok.",
        "agent_id": "agent1",
        "state": "awaiting_care",
    }
    assert released.act("agent2", "assign").complaint.assigned_to == "agent2"


def test_only_the_cases_agent_releases_or_reassigns_it(reach):
    case = reach("in_mediation")
    for action, request in (("release", {"reason": "x"}), ("reassign", {"agent_id": "agent3"})):
        with pytest.raises(NotAllowed, match="only the care agent the complaint is assigned to"):
            case.act("agent2", action, request)


def test_the_agent_hands_a_case_to_a_named_colleague(reach):
    handed = reach("in_mediation").act("agent1", "reassign", {"agent_id": "agent3"}, 60)
    complaint = handed.complaint
    assert (complaint.state, complaint.assigned_to) == ("in_mediation", "agent3")
    assert complaint.assigned_at == handed.last_at  # the new agent's own 24 hours
    assert handed.events[-1].data["from_agent"] == "agent1"
    with pytest.raises(Invalid):
        reach("in_mediation").act("agent1", "reassign", {"agent_id": "agent1"})


def test_any_agent_takes_over_once_the_agents_time_to_decide_has_passed(reach):
    case = reach("in_mediation")
    due = case.complaint.care_decide_due_at
    assert due == case.complaint.assigned_at + timedelta(hours=24)
    with pytest.raises(NotAllowed, match="24 hours to decide have not passed"):
        case.act("agent2", "assign", at=due)
    taken = case.act("agent2", "assign", at=due + timedelta(milliseconds=1))
    assert taken.complaint.assigned_to == "agent2"
    assert taken.events[-1].data["from_agent"] == "agent1"
    # The new agent's own 24 hours start: nobody takes it from them at once.
    with pytest.raises(NotAllowed):
        taken.act(Actor(Role.CARE, "agent3"), "assign", minutes_later=1)
    # The case's own agent does not take over its own case.
    with pytest.raises(NotAllowed):
        case.act("agent1", "assign", at=due + timedelta(hours=1))


def _decided(reach, solution):
    decision = {"solution": solution, "reason_code": "other", "rationale": "Per the evidence."}
    return reach("in_mediation").act("agent1", "decide", decision, 60)


@pytest.mark.parametrize(
    ("solution", "state"),
    [(RETURN_REFUND, "awaiting_return"), (SEND_REMAINING, "awaiting_shipment")],
)
def test_a_decision_carried_out_by_goods_is_reviewed_until_they_move(reach, solution, state):
    decided = _decided(reach, solution)
    assert decided.complaint.state == state
    reviewed = decided.act("seller", "request_review", {"reason": "Tidak adil."})
    assert reviewed.complaint.state == "awaiting_care"
    assert reviewed.events[-1].data["called_off"] == state
    # Once the parcel is sent, the decision is being carried out: no review.
    moving = "ship_return" if state == "awaiting_return" else "ship_items"
    who = "buyer" if moving == "ship_return" else "seller"
    sent = decided.act(who, moving)
    with pytest.raises(NotAllowed):
        sent.act("seller", "request_review", {"reason": "Tidak adil."})


def test_an_agreed_return_is_not_a_decision_to_review(reach):
    agreed = reach("awaiting_return")
    with pytest.raises(NotAllowed, match="only a decision by the care team"):
        agreed.act("buyer", "request_review", {"reason": "Berubah pikiran."})


def test_a_review_from_a_pending_return_goes_to_other_eyes_and_once_only(reach):
    reviewed = _decided(reach, RETURN_REFUND).act("buyer", "request_review", {"reason": "x"})
    with pytest.raises(NotAllowed, match="another agent"):
        reviewed.act("agent1", "assign")
    redecided = reviewed.act("agent2", "assign").act(
        "agent2",
        "decide",
        {"solution": RETURN_REFUND, "reason_code": "other", "rationale": "Tetap retur."},
    )
    with pytest.raises(NotAllowed, match="already been requested once"):
        redecided.act("seller", "request_review", {"reason": "Lagi."})
