"""The pure parts of `replay-policy`: which complaints a period holds, and how a move or a
reminder that happened is judged against one that would have (the replay itself runs over
histories built through the service: tests/integration/test_replay_policy.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from resolution.domain.events import GENESIS, Event
from resolution.domain.policy_replay import Change, ComplaintReplay, Report, was_active

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
