"""Deadlines: whose turn it is and until when, and the care team's service level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from resolution.domain import commands
from resolution.domain.deadlines import Deadlines, parse_duration
from resolution.domain.errors import NotAllowed
from tests.support.stories import PATHS, actor, run_steps

HOURS_72 = timedelta(hours=72)
HOURS_24 = timedelta(hours=24)
PARTY_STATES = [
    "awaiting_seller",
    "awaiting_seller_answered",
    "awaiting_buyer",
    "appealed",
    "awaiting_return",
    "return_shipped",
    "awaiting_shipment",
    "shipment_sent",
]


@pytest.mark.parametrize("path", PARTY_STATES)
def test_a_party_turn_is_due_72_hours_after_it_started(reach, path):
    story = reach(path)
    complaint, started = story.complaint, story.events[-1].at
    assert complaint.turn in ("buyer", "seller")
    assert complaint.turn_started_at == started
    assert complaint.due_at == started + HOURS_72


def test_the_inactivity_period_is_configurable(steps):
    short = Deadlines(inactivity=timedelta(hours=24))
    complaint, events = steps([("seller", "propose", None, 90)], deadlines=short)
    assert complaint.due_at == events[-1].at + timedelta(hours=24)


def test_a_message_from_the_party_whose_turn_it_is_pushes_its_deadline(reach):
    opened = reach("awaiting_seller")
    replied = opened.message("seller", "Kami cek dulu ya.", minutes_later=10 * 60)
    assert replied.complaint.due_at == replied.last_at + HOURS_72
    assert replied.complaint.due_at > opened.complaint.due_at
    assert replied.complaint.turn_started_at == opened.complaint.turn_started_at


def test_the_pushed_deadline_holds_off_the_system(reach):
    replied = reach("awaiting_seller").message("seller", "Sebentar.", minutes_later=10 * 60)
    with pytest.raises(NotAllowed):
        replied.act("system", "auto_escalate", at=replied.complaint.due_at - timedelta(minutes=1))
    escalated = replied.act("system", "auto_escalate", at=replied.complaint.due_at)
    assert escalated.complaint.state == "awaiting_care"


@pytest.mark.parametrize("who", ["buyer", "agent1"])
def test_a_message_from_anyone_else_leaves_the_deadline_alone(reach, who):
    opened = reach("awaiting_seller")
    messaged = opened.message(who, "Halo?", minutes_later=10 * 60)
    assert messaged.complaint.due_at == opened.complaint.due_at
    assert messaged.complaint.turn == "seller"


@pytest.mark.parametrize("party", ["buyer", "seller"])
def test_asking_for_evidence_makes_it_the_named_partys_turn_until_its_due_time(reach, party):
    mediating = reach("in_mediation")
    due = mediating.last_at + timedelta(hours=48, microseconds=123456)
    request = {"party": party, "what": "Courier receipt", "due_at": due}
    asked = mediating.act("agent1", "request_evidence", request)
    complaint = asked.complaint
    assert (complaint.state, complaint.turn) == ("in_mediation", party)
    assert complaint.turn_started_at == asked.last_at
    assert complaint.due_at == due.replace(microsecond=123000)  # stored to the millisecond
    assert complaint.evidence_request["party"] == party


def test_evidence_is_due_after_the_inactivity_period_unless_care_says_when(reach):
    asked = reach("in_mediation_evidence")
    assert asked.complaint.due_at == asked.last_at + HOURS_72


def test_the_named_partys_message_hands_the_turn_back_to_care(reach):
    asked = reach("in_mediation_evidence")
    answered = asked.message("buyer", "Video terlampir.")
    complaint = answered.complaint
    assert (complaint.turn, complaint.due_at) == ("care", None)
    assert complaint.turn_started_at == answered.last_at
    assert complaint.evidence_request["answered_at"] == answered.last_at.isoformat(
        timespec="milliseconds"
    )


@pytest.mark.parametrize("who", ["seller", "agent1"])
def test_a_message_from_someone_not_asked_does_not_answer_the_evidence_request(reach, who):
    asked = reach("in_mediation_evidence")
    messaged = asked.message(who, "Info tambahan.")
    assert messaged.complaint.turn == "buyer"
    assert messaged.complaint.due_at == asked.complaint.due_at
    assert "answered_at" not in messaged.complaint.evidence_request


@pytest.mark.parametrize(
    "path", ["awaiting_care", "in_mediation", "awaiting_care_review", "closed_decided"]
)
def test_nobody_has_a_party_deadline_while_care_holds_the_complaint_or_it_is_closed(reach, path):
    complaint = reach(path).complaint
    assert complaint.due_at is None
    assert complaint.turn == (None if complaint.state == "closed" else "care")


@pytest.mark.parametrize("path", ["awaiting_care", "awaiting_care_review"])
def test_care_must_assign_within_24_hours_of_the_escalation(reach, path):
    story = reach(path)
    assert story.complaint.escalated_at == story.last_at
    assert story.complaint.care_due_at == story.last_at + HOURS_24


def test_care_must_decide_within_24_hours_of_the_assignment(reach):
    story = reach("in_mediation")
    assert story.complaint.assigned_at == story.last_at
    # Taking the case is not a reply: the first clock (from the escalation) still runs, and
    # comes first.
    escalated_at = story.complaint.escalated_at
    assert story.complaint.care_reply_due_at == escalated_at + HOURS_24
    assert story.complaint.care_due_at == escalated_at + HOURS_24
    asked = story.act("agent1", "request_evidence", minutes_later=60)
    # Asking a party for evidence is a reply: only the clock to decide runs now.
    assert asked.complaint.care_reply_due_at is None
    assert asked.complaint.care_due_at == story.last_at + HOURS_24


def test_the_first_care_clock_stops_at_a_reply_a_party_can_read(reach):
    case = reach("in_mediation")
    due = case.complaint.escalated_at + HOURS_24
    noted = case.record(commands.note(case.complaint, actor("agent1"), "Cek resi.", case.last_at))
    assert noted.complaint.care_reply_due_at == due  # a note is care's own: not a reply
    private = case.record(
        commands.message(case.complaint, actor("agent1"), "Mohon resi.", case.last_at, to="seller")
    )
    assert private.complaint.care_reply_due_at is None  # care wrote to a party
    # A new escalation (a review) waits for a reply again.
    decided = reach("closed_decided")
    reviewed = decided.act("buyer", "request_review", minutes_later=5)
    assert reviewed.complaint.care_reply_due_at == reviewed.last_at + HOURS_24


def test_the_care_service_level_is_configurable(reach):
    complaint, events = run_steps(
        PATHS["awaiting_care"][1],
        PATHS["awaiting_care"][0],
        deadlines=Deadlines(care_sla=timedelta(hours=8)),
    )
    assert complaint.care_due_at == events[-1].at + timedelta(hours=8)


@pytest.mark.parametrize("path", ["awaiting_seller", "awaiting_return", "closed_decided"])
def test_care_has_no_deadline_where_it_holds_no_turn(reach, path):
    assert reach(path).complaint.care_due_at is None


def test_a_breached_care_deadline_changes_nothing(reach):
    story = reach("awaiting_care")
    late = story.complaint.care_due_at + timedelta(hours=5)
    assigned = story.act("agent1", "assign", at=late)
    assert assigned.complaint.state == "in_mediation"


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("72h", timedelta(hours=72)),
        ("3d", timedelta(days=3)),
        ("90m", timedelta(minutes=90)),
        ("1d12h", timedelta(hours=36)),
        ("45s", timedelta(seconds=45)),
        ("1w", timedelta(weeks=1)),
        (" 24h ", timedelta(hours=24)),
    ],
)
def test_parse_duration_reads_a_number_and_a_unit(text, duration):
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["", "0h", "0d0h", "3", "abc", "h", "-1h", "3 d", "1.5h", "72H"])
def test_parse_duration_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_deadlines_default_to_three_days_and_one_day():
    assert Deadlines() == Deadlines(inactivity=timedelta(days=3), care_sla=timedelta(days=1))


def test_deadlines_are_timezone_aware_utc(reach):
    complaint = reach("awaiting_buyer").complaint
    assert complaint.due_at.tzinfo is not None
    assert complaint.due_at.utcoffset() == timedelta(0)
    assert complaint.due_at.astimezone(UTC) == complaint.due_at
    assert isinstance(complaint.due_at, datetime)
