"""Care pauses a party's clock while the complaint waits on a third party (a courier's
investigation), and resumes it; the system resumes it at `until`. The paused time is added to
the running deadline; meanwhile nobody is moved or reminded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from resolution.domain import commands
from resolution.domain.errors import Invalid, NotAllowed
from resolution.domain.lifecycle import allowed_actions
from tests.support.stories import ACTORS

DAY = timedelta(days=1)


def paused(reach, days: float = 2, path: str = "awaiting_seller"):
    story = reach(path)
    until = story.last_at + timedelta(minutes=10) + timedelta(days=days)
    request = {"reason": "Menunggu investigasi kurir J&T.", "until": until}
    return story, story.act("agent1", "pause_clock", request, minutes_later=10)


def test_a_pause_moves_the_deadline_by_its_length_and_says_so(reach):
    before, after = paused(reach)
    c = after.complaint
    assert (c.state, c.turn) == ("awaiting_seller", "seller")
    assert c.due_at == before.complaint.due_at + 2 * DAY
    assert c.deadline["paused_for"] == "P2D"
    assert c.deadline["started_at"] == before.complaint.deadline["started_at"]
    assert c.paused["reason"] == "Menunggu investigasi kurir J&T."
    assert c.paused["by"] == "agent1"
    assert c.remind_at is None  # nobody is reminded while the clock stands still
    event = after.events[-1]
    assert event.data["party"] == "seller" and event.data["until"] == c.paused["until"]


def test_while_paused_nobody_is_moved_even_past_the_old_deadline(reach):
    before, after = paused(reach, days=5)
    with pytest.raises(NotAllowed, match="deadline has not passed"):
        after.act("system", "auto_escalate", at=before.complaint.due_at + DAY)
    with pytest.raises(NotAllowed):
        after.act("system", "resume_clock", at=after.complaint.paused_until - timedelta(seconds=1))


def test_care_resuming_early_adds_only_the_time_it_stood_still(reach):
    before, after = paused(reach, days=2)
    resumed = after.act("agent2", "resume_clock", {}, minutes_later=6 * 60)
    c = resumed.complaint
    assert c.paused is None and c.paused_until is None
    assert c.due_at == before.complaint.due_at + timedelta(hours=6)
    assert c.deadline["paused_for"] == "PT6H"
    assert resumed.events[-1].data["paused_for"] == "PT6H"
    assert c.remind_at == c.due_at - DAY


def test_the_system_resumes_at_until_and_the_deadline_keeps_the_whole_pause(reach):
    before, after = paused(reach, days=3)
    late = after.complaint.paused_until + timedelta(hours=5)  # the sweeper ran late
    resumed = after.act("system", "resume_clock", at=late)
    assert resumed.events[-1].data["resumed_at"] == after.complaint.paused["until"]
    assert resumed.complaint.due_at == before.complaint.due_at + 3 * DAY
    escalated = resumed.act("system", "auto_escalate", at=resumed.complaint.due_at)
    assert escalated.complaint.state == "awaiting_care"


def test_a_new_turn_ends_the_pause(reach):
    _, after = paused(reach)
    proposed = after.act("seller", "propose")
    c = proposed.complaint
    assert c.paused is None and c.turn == "buyer"
    assert c.due_at == proposed.last_at + timedelta(hours=72)
    assert c.deadline["paused_for"] == "PT0S"


def test_the_turn_holders_message_while_paused_keeps_the_rest_of_the_pause(reach):
    _, after = paused(reach, days=2)
    spoke = after.message("seller", "Kami tunggu kabar kurir.", minutes_later=60)
    c = spoke.complaint
    assert c.paused is not None
    assert c.due_at == spoke.last_at + timedelta(hours=72) + (c.paused_until - spoke.last_at)
    assert c.remind_at is None


@pytest.mark.parametrize(
    "path",
    ["awaiting_buyer", "appealed", "awaiting_return", "return_shipped", "shipment_sent"],
)
def test_every_party_turn_can_be_paused(reach, path):
    _, after = paused(reach, path=path)
    assert after.complaint.paused is not None
    assert "resume_clock" in allowed_actions(after.complaint, ACTORS["agent1"], after.last_at)
    assert "pause_clock" not in allowed_actions(after.complaint, ACTORS["agent1"], after.last_at)


@pytest.mark.parametrize("path", ["awaiting_care", "in_mediation", "closed_agreed"])
def test_no_clock_of_a_party_runs_there_to_pause(reach, path):
    with pytest.raises(NotAllowed):
        paused(reach, path=path)


@pytest.mark.parametrize("who", ["buyer", "seller", "auditor"])
def test_only_care_pauses(reach, who):
    from resolution.domain.errors import Forbidden

    story = reach("awaiting_seller")
    with pytest.raises(Forbidden):
        story.act(who, "pause_clock", {"reason": "x", "until": story.last_at + DAY})


def test_a_pause_longer_than_allowed_or_already_over_is_refused(reach):
    story = reach("awaiting_seller")
    at = story.last_at + timedelta(minutes=1)
    for until in (at + timedelta(days=14, seconds=1), at, at - DAY):
        with pytest.raises(Invalid) as refused:
            story.act("agent1", "pause_clock", {"reason": "x", "until": until}, at=at)
        assert "until" in refused.value.errors
    fourteen = story.act("agent1", "pause_clock", {"reason": "x", "until": at + 14 * DAY}, at=at)
    assert fourteen.complaint.paused is not None


def test_resuming_a_running_clock_is_refused_and_says_why(reach):
    story = reach("awaiting_seller")
    with pytest.raises(NotAllowed, match="the clock is running"):
        story.act("agent1", "resume_clock", {})
    _, after = paused(reach)
    with pytest.raises(NotAllowed, match="already paused"):
        after.act("agent1", "pause_clock", {"reason": "again", "until": after.last_at + DAY})


def test_the_pause_is_recorded_so_a_rebuild_gives_the_same_deadline(reach, deadlines):
    from resolution.domain.projection import replay

    _, after = paused(reach)
    resumed = after.act("agent2", "resume_clock", {}, minutes_later=90)
    assert replay(list(resumed.events), deadlines) == resumed.complaint
    assert commands.EVENT_TYPES.index("pause_clock") < commands.EVENT_TYPES.index("message")
