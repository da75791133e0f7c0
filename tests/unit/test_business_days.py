"""Deadlines counted in business days of a calendar, and within working hours: to the second,
explained, and never sooner than the rule's plain-hours minimum."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from resolution.domain.calendars import WIB, Calendar, WorkingHours
from resolution.domain.policy import Period, Rules, due_of, parse_iso_duration
from tests.support.stories import make_order, open_request, open_story

ID = Calendar("ID")
CUTI_BERSAMA = Calendar("ID", frozenset({date(2025, 4, 2), date(2025, 4, 3)}))
THREE_DAYS = Period(business_days=3)
SAME_DAY = WorkingHours(time(6), time(21))


def wib(*args) -> datetime:
    return datetime(*args, tzinfo=WIB)


def test_three_business_days_across_idul_fitri_2025_to_the_second():
    # Friday 28 March 2025, 10:00:07.250 WIB: Nyepi (Saturday), Sunday, then Idul Fitri on
    # Monday 31 March and Tuesday 1 April. Wednesday, Thursday and Friday are the three days.
    start = wib(2025, 3, 28, 10, 0, 7, 250000)
    deadline = Rules(inactivity=THREE_DAYS, calendar=ID).deadline(start, THREE_DAYS)
    assert due_of(deadline) == wib(2025, 4, 4, 10, 0, 7, 250000)
    assert deadline["due_at"] == "2025-04-04T03:00:07.250+00:00"
    assert deadline["started_at"] == "2025-03-28T03:00:07.250+00:00"
    assert deadline["rule"] == "3 business days"
    assert deadline["skipped"] == [
        {"date": "2025-03-29", "name": "Day of Silence"},
        {"date": "2025-03-30", "name": "weekend"},
        {"date": "2025-03-31", "name": "Eid al-Fitr"},
        {"date": "2025-04-01", "name": "Eid al-Fitr Second Day"},
    ]
    assert deadline["paused_for"] == "PT0S"


def test_the_policys_extra_holidays_cuti_bersama_are_skipped_too():
    rules = Rules(inactivity=THREE_DAYS, calendar=CUTI_BERSAMA)
    deadline = rules.deadline(wib(2025, 3, 28, 10, 0), THREE_DAYS)
    # Friday 4 April, then the weekend, Monday 7 and Tuesday 8 April.
    assert due_of(deadline) == wib(2025, 4, 8, 10, 0)
    skipped = [(s["date"], s["name"]) for s in deadline["skipped"]]
    assert ("2025-04-02", "extra holiday") in skipped
    assert ("2025-04-05", "weekend") in skipped and ("2025-04-06", "weekend") in skipped
    assert len(skipped) == 8


def test_business_days_without_a_calendar_skip_the_weekend_only():
    # Thursday 5 June 2025 (the README's example) 10:00: Friday, Monday, Tuesday.
    rules = Rules(inactivity=THREE_DAYS)
    deadline = rules.deadline(wib(2025, 6, 5, 10, 0, 0, 1000), THREE_DAYS)
    assert due_of(deadline) == wib(2025, 6, 10, 10, 0, 0, 1000)
    assert [s["date"] for s in deadline["skipped"]] == ["2025-06-07", "2025-06-08"]
    # With Indonesia's calendar, Idul Adha (Friday 6 June 2025) is no business day either.
    with_holidays = Rules(inactivity=THREE_DAYS, calendar=ID).deadline(
        wib(2025, 6, 5, 10), THREE_DAYS
    )
    assert due_of(with_holidays) == wib(2025, 6, 11, 10, 0)
    assert with_holidays["skipped"][0] == {"date": "2025-06-06", "name": "Eid al-Adha"}


def test_a_turn_that_starts_on_a_weekend_counts_from_the_next_business_day():
    deadline = Rules().deadline(wib(2025, 6, 7, 15, 30), THREE_DAYS)  # a Saturday afternoon
    assert due_of(deadline) == wib(2025, 6, 12, 0, 0)  # Monday, Tuesday, Wednesday, whole
    assert [s["date"] for s in deadline["skipped"]] == ["2025-06-07", "2025-06-08"]


def test_a_working_hours_deadline_that_would_fall_at_22_lands_at_06_the_next_working_day():
    rules = Rules(working_hours=SAME_DAY)
    deadline = rules.deadline(wib(2025, 6, 2, 22, 0), rules.inactivity)  # Monday 22:00 + 72h
    assert due_of(deadline) == wib(2025, 6, 6, 6, 0)  # Thursday 22:00 -> Friday 06:00
    assert deadline["working_hours"] == "06:00-21:00"
    assert deadline["skipped"] == []
    # At 21:00 itself it stands; on a Friday night it waits for Monday's opening.
    assert rules.due_at(wib(2025, 6, 2, 21, 0), rules.inactivity) == wib(2025, 6, 5, 21, 0)
    friday_night = rules.deadline(wib(2025, 6, 3, 22, 0), rules.inactivity)
    assert due_of(friday_night) == wib(2025, 6, 9, 6, 0)
    assert [s["name"] for s in friday_night["skipped"]] == ["weekend", "weekend"]


def test_business_days_within_working_hours_start_at_the_opening():
    rules = Rules(inactivity=THREE_DAYS, working_hours=SAME_DAY)
    # A turn that starts Tuesday at 23:10 starts Wednesday 06:00: due Monday 06:00.
    assert rules.due_at(wib(2025, 6, 3, 23, 10), THREE_DAYS) == wib(2025, 6, 9, 6, 0)
    # At 05:00 it starts at that day's opening.
    assert rules.due_at(wib(2025, 6, 3, 5, 0), THREE_DAYS) == wib(2025, 6, 6, 6, 0)


def opened(rules: Rules, at: datetime):
    """A complaint opened at `at` (its order delivered the day before) under `rules`."""
    order = make_order(
        payment={"method": "transfer", "status": "paid", "paid_at": at - timedelta(days=3)},
        shipment={"delivered_at": at - timedelta(days=1)},
    )
    return open_story(deadlines=_Only(rules), at=at, request=open_request(order=order))


def test_a_complaint_opened_under_business_days_shows_its_deadline_explained():
    rules = Rules(inactivity=THREE_DAYS, calendar=ID)
    story = opened(rules, wib(2025, 3, 28, 10, 0).astimezone(UTC))
    complaint = story.complaint
    assert complaint.due_at == wib(2025, 4, 4, 10, 0)
    assert complaint.deadline["rule"] == "3 business days"
    assert complaint.deadline["calendar"] == "ID"
    # Recorded with the opening, so a later policy (or a rebuild under one) keeps it.
    assert story.events[0].data["turn_deadline"] == complaint.deadline


class _Only:
    """A policy of one rule set for every channel."""

    def __init__(self, rules: Rules) -> None:
        self._rules = rules

    def rules(self, channel: str | None = None) -> Rules:
        return self._rules


PERIODS = st.one_of(
    st.integers(1, 15).map(lambda n: Period(business_days=n)),
    st.integers(1, 24 * 30).map(lambda h: Period(span=timedelta(hours=h))),
    st.integers(1, 24 * 60 * 3).map(lambda m: Period(span=timedelta(minutes=m))),
)
HOURS = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 22), st.integers(1, 23))
    .filter(lambda t: t[0] < t[1])
    .map(lambda t: WorkingHours(time(t[0]), time(t[1], 30 if t[1] < 23 else 0))),
)
CALENDARS = st.builds(
    Calendar,
    st.sampled_from(["none", "ID"]),
    st.frozensets(st.dates(date(2024, 12, 1), date(2026, 3, 1)), max_size=20),
)
STARTS = st.datetimes(datetime(2025, 1, 1), datetime(2026, 1, 1), timezones=st.just(UTC))
RULES = st.builds(
    Rules,
    inactivity=PERIODS,
    calendar=CALENDARS,
    working_hours=HOURS,
    reminder=st.just(timedelta(hours=24)),
)


@given(rules=RULES, period=PERIODS, start=STARTS)
def test_a_deadline_never_comes_before_the_rules_plain_hours_minimum(rules, period, start):
    deadline = rules.deadline(start, period)
    due = due_of(deadline)
    assert due - datetime.fromisoformat(deadline["started_at"]) >= period.minimum
    if rules.working_hours is not None:
        local = due.astimezone(WIB)
        assert rules.calendar.closed(local.date()) is None
        assert rules.working_hours.opens <= local.time() <= rules.working_hours.closes


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["seller", "buyer"]),
        st.sampled_from(["message", "propose", "message"]),
        st.integers(1, 60 * 24 * 4),
    ),
    max_size=12,
)


@given(rules=RULES, steps=STEPS, start=STARTS)
def test_for_any_policy_and_events_a_party_never_gets_less_than_the_rule(rules, steps, start):
    from resolution.domain.errors import DomainError

    story = opened(rules, start)
    for who, what, minutes in steps:
        try:
            if what == "message":
                story = story.message(who, "Ada kabar?", minutes_later=minutes)
            else:
                story = story.act(who, "propose", minutes_later=minutes)
        except DomainError:
            continue
        complaint = story.complaint
        if complaint.turn in ("buyer", "seller"):
            deadline = complaint.deadline
            given_at = datetime.fromisoformat(deadline["started_at"])
            paused = parse_iso_duration(deadline["paused_for"])
            assert complaint.due_at - given_at - paused >= rules.inactivity.minimum
            assert complaint.due_at >= story.last_at + rules.inactivity.minimum or (
                complaint.turn != who
            )
