"""The pure parts of `replay-policy`: which complaints a period holds, and how a move or a
reminder that happened is judged against one that would have (the replay itself runs over
histories built through the service: tests/integration/test_replay_policy.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from resolution.domain.deadlines import Deadlines
from resolution.domain.events import GENESIS, Event
from resolution.domain.policy_replay import (
    MOVES,
    Change,
    ComplaintReplay,
    Report,
    replay,
    was_active,
)
from tests.support import stories

T0 = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _log(*steps: tuple[int, str, str]) -> list[Event]:
    """Events `(day, type, state after)` of one complaint."""
    events, prev = [], GENESIS
    for seq, (day, kind, state) in enumerate(steps, start=1):
        actor = {"role": "buyer", "id": "b"}
        event = Event.sealed("c1", seq, kind, actor, {"state": state}, T0 + day * DAY, prev)
        events.append(event)
        prev = event.hash
    return events


# Opened day 0, closed day 2, reopened by a review on day 5, closed again on day 7.
REVIEWED = _log(
    (0, "open", "awaiting_seller"),
    (2, "accept", "closed"),
    (5, "request_review", "awaiting_care"),
    (7, "decide", "closed"),
)


@pytest.mark.parametrize(
    ("since", "until", "active"),
    [
        (-3, 0, False),  # the period ends as it opens
        (-3, 1, True),
        (1, 2, True),
        (2, 5, False),  # closed from day 2 to the review on day 5
        (3, 6, True),  # reopened within
        (7, 9, False),  # closed for good on day 7
        (6, 30, True),
    ],
)
def test_a_complaint_belongs_to_a_period_it_was_open_in(since, until, active):
    assert was_active(REVIEWED, T0 + since * DAY, T0 + until * DAY) is active


def test_a_complaint_still_open_belongs_to_every_period_after_its_opening():
    still_open = REVIEWED[:1]
    assert was_active(still_open, T0 + 100 * DAY, T0 + 101 * DAY)
    assert not was_active(still_open, T0 - 2 * DAY, T0)


def test_each_change_is_judged_by_when_it_was_due():
    was, sooner, later = T0, T0 - timedelta(hours=5), T0 + 2 * DAY
    judged = [
        Change("c1", "auto_escalate", "seller", was, sooner),
        Change("c1", "deadline_approaching", "seller", was, later),
        Change("c2", "auto_close", "buyer", was, was),
        Change("c2", "auto_complete", "buyer", was, None),
        Change("c3", "auto_escalate", "buyer", None, later),
    ]
    assert [(c.verdict, c.difference) for c in judged] == [
        ("earlier", -timedelta(hours=5)),
        ("later", 2 * DAY),
        ("same", timedelta(0)),
        ("not_at_all", None),
        ("new", None),
    ]
    report = Report(T0, T0 + DAY, T0 + DAY, (ComplaintReplay("c1", tuple(judged)),))
    counts = report.counts()
    assert counts["auto_escalate"] == {
        "earlier": 1,
        "later": 0,
        "same": 0,
        "not_at_all": 0,
        "new": 1,
    }
    assert sum(sum(v.values()) for v in counts.values()) == 5
    assert len(report.changes) == 4  # the one at the same time is counted, not listed
    assert report.as_data()["changes"][0]["difference_seconds"] == -5 * 3600


# --- Every path of the lifecycle, replayed under the rules it was recorded with -------------

EXTRA_PATHS = {
    "released_and_reassigned": [
        *stories._ASSIGNED,
        ("agent1", "release", None, 30),
        ("agent2", "assign", None, 30),
        ("agent2", "reassign", {"agent_id": "agent1"}, 30),
    ],
    "paused_and_resumed": [
        ("agent1", "pause_clock", None, 60),
        ("agent1", "resume_clock", None, 600),
        ("seller", "message", "Sedang dicek.", 60),
        ("seller", "propose", None, 60),
    ],
}


@pytest.mark.parametrize("path", [*stories.PATHS, *EXTRA_PATHS])
def test_every_path_replays_as_recorded_under_its_own_rules(path):
    """Each person's action is made again from its event's data, the machine allowing it
    again: nothing is left out, every move comes when it did. (The stories run no sweeper:
    a reminder the replay sends that the story never did is the only thing new.)"""
    if path in EXTRA_PATHS:
        solution, steps = stories.REFUND, EXTRA_PATHS[path]
    else:
        solution, steps = stories.PATHS[path]
    complaint, events = stories.run_steps(steps, solution)
    now = events[-1].at + timedelta(minutes=1)
    replayed = replay(events, Deadlines(), Deadlines(), now)
    assert replayed.skipped == ()
    for change in replayed.changes:
        if change.kind in MOVES:
            assert change.verdict == "same", change
        else:
            assert change.verdict in ("same", "new"), change
    moved = [e.type for e in events if e.type in MOVES]
    assert [c.kind for c in replayed.changes if c.kind in MOVES] == moved
