"""Reminders: `deadline_approaching`, 24 hours before a party's deadline, once per deadline."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from resolution.domain import commands
from resolution.domain.deadlines import Deadlines
from resolution.domain.errors import Conflict
from resolution.domain.events import first_broken_link, iso
from resolution.domain.projection import replay
from tests.support.stories import Story, open_story

HOURS_24 = timedelta(hours=24)
PARTY_STATES = [
    "awaiting_seller",
    "awaiting_buyer",
    "appealed",
    "awaiting_return",
    "return_shipped",
    "awaiting_shipment",
    "shipment_sent",
    "in_mediation_evidence",
]
NOBODY_DUE = ["awaiting_care", "in_mediation", "awaiting_care_review", "closed_agreed"]


def remind(story: Story, at: datetime | None = None) -> Story:
    """The system's reminder at `at` (default: the moment it is due)."""
    at = at or story.complaint.remind_at
    return story.record(commands.remind(story.complaint, at))


@pytest.mark.parametrize("path", PARTY_STATES)
def test_a_party_is_to_be_reminded_24_hours_before_its_deadline(reach, path):
    complaint = reach(path).complaint
    assert complaint.turn in ("buyer", "seller")
    assert complaint.remind_at == complaint.due_at - HOURS_24


@pytest.mark.parametrize("path", NOBODY_DUE)
def test_nobody_is_reminded_while_care_holds_the_turn_or_the_complaint_is_closed(reach, path):
    complaint = reach(path).complaint
    assert complaint.remind_at is None
    with pytest.raises(Conflict):
        commands.remind(complaint, reach(path).last_at + timedelta(hours=60))


@pytest.mark.parametrize("path", PARTY_STATES)
def test_the_reminder_names_the_party_and_its_deadline_and_changes_nothing_else(reach, path):
    before = reach(path)
    after = remind(before)
    event = after.events[-1]
    assert event.type == "deadline_approaching"
    assert event.actor == {"role": "system", "id": "resolution"}
    assert event.data == {"party": before.complaint.turn, "due_at": iso(before.complaint.due_at)}
    assert after.complaint.remind_at is None
    unchanged = replace(
        after.complaint,
        remind_at=before.complaint.remind_at,
        version=before.complaint.version,
        last_hash=before.complaint.last_hash,
        updated_at=before.complaint.updated_at,
    )
    assert unchanged == before.complaint
    assert after.complaint.version == before.complaint.version + 1
    assert first_broken_link(list(after.events)) is None
    assert replay(list(after.events), after.deadlines) == after.complaint


def test_the_party_for_evidence_is_the_one_care_asked(reach):
    asked = reach("in_mediation_evidence")
    event = remind(asked).events[-1]
    assert event.data == {"party": "buyer", "due_at": asked.complaint.evidence_request["due_at"]}


def test_no_reminder_before_its_time_nor_once_the_deadline_passed(reach):
    complaint = reach("awaiting_seller").complaint
    with pytest.raises(Conflict, match="not yet"):
        commands.remind(complaint, complaint.remind_at - timedelta(milliseconds=1))
    with pytest.raises(Conflict, match="passed"):
        commands.remind(complaint, complaint.due_at)
    last_moment = commands.remind(complaint, complaint.due_at - timedelta(milliseconds=1))
    assert last_moment.type == "deadline_approaching"


def test_a_deadline_is_reminded_once(reach):
    reminded = remind(reach("awaiting_seller"))
    with pytest.raises(Conflict, match="already"):
        commands.remind(reminded.complaint, reminded.complaint.due_at - timedelta(hours=1))


def test_the_reminder_is_nobodys_activity_and_the_deadline_still_passes(reach):
    reminded = remind(reach("awaiting_seller"))
    assert reminded.complaint.due_at == reach("awaiting_seller").complaint.due_at
    escalated = reminded.act("system", "auto_escalate", at=reminded.complaint.due_at)
    assert escalated.complaint.state == "awaiting_care"
    assert escalated.complaint.remind_at is None


def test_the_next_turn_gets_its_own_reminder(reach):
    reminded = remind(reach("awaiting_seller"))
    answered = reminded.act("seller", "propose", minutes_later=60)
    assert answered.complaint.turn == "buyer"
    assert answered.complaint.remind_at == answered.complaint.due_at - HOURS_24
    event = remind(answered).events[-1]
    assert event.data["party"] == "buyer"


def test_the_other_partys_message_does_not_bring_the_reminder_back(reach):
    reminded = remind(reach("awaiting_seller"))
    nudged = reminded.message("buyer", "Halo?", minutes_later=60)
    assert nudged.complaint.remind_at is None


def test_the_turn_holders_own_message_sets_a_new_deadline_and_its_reminder(reach):
    opened = reach("awaiting_seller")
    early = opened.message("seller", "Kami cek.", minutes_later=10 * 60)
    assert early.complaint.remind_at == early.complaint.due_at - HOURS_24  # moved, not added
    reminded = remind(opened)
    spoke = reminded.message("seller", "Sebentar lagi.", minutes_later=60)
    assert spoke.complaint.due_at == spoke.last_at + timedelta(hours=72)
    assert spoke.complaint.remind_at == spoke.complaint.due_at - HOURS_24
    assert remind(spoke).events[-1].data["due_at"] == iso(spoke.complaint.due_at)


@pytest.mark.parametrize(
    ("period", "reminded_after"),
    [
        (timedelta(hours=72), timedelta(hours=48)),
        (timedelta(hours=48), timedelta(hours=24)),
        (timedelta(hours=30), timedelta(hours=15)),  # halfway, not 6 hours in
        (timedelta(hours=12), timedelta(hours=6)),
        (timedelta(minutes=90), timedelta(minutes=45)),
    ],
)
def test_a_period_under_48_hours_is_reminded_halfway(period, reminded_after):
    story = open_story(deadlines=Deadlines(inactivity=period))
    assert story.complaint.remind_at == story.last_at + reminded_after


def test_evidence_due_within_two_days_is_reminded_halfway(reach):
    # (A request is due at least 24 hours away: 24 hours before a 30-hour deadline would be
    # too early to say anything the request did not.)
    assigned = reach("in_mediation")
    asked_at = assigned.last_at + timedelta(minutes=10)
    request = {"party": "seller", "what": "Resi.", "due_at": asked_at + timedelta(hours=30)}
    asked = assigned.act("agent1", "request_evidence", request, at=asked_at)
    assert asked.complaint.remind_at == asked_at + timedelta(hours=15)


def test_an_answered_evidence_request_needs_no_reminder(reach):
    asked = reach("in_mediation_evidence")
    answered = asked.message("buyer", "Ini videonya.", minutes_later=30)
    assert answered.complaint.turn == "care"
    assert answered.complaint.remind_at is None
