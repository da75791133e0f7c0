"""The oldest-first reads in windows (listings._oldest_first): the care queue, the sweeper's
due complaints, reminders, paused clocks and retention, an agent's own cases. Whatever the
floor kept from the last read says (none, stale, too high), each returns what a whole sort of
its range returns; the queue counts to 1,000 and says "more" past it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import _data
from resolution.domain.actors import Actor, Role
from resolution.domain.projection import CARE_STATES
from resolution.service import Context, queue, sweeper
from resolution.store import listings
from resolution.store.documents import ComplaintDocument, FloorDocument

NOW = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)
CARE = Actor(Role.CARE, "agent-1")
# Care-state complaint numbers of the generated data (awaiting_care, in_mediation).
QUEUED = [n for n in range(22) if _data.state_of(n) in CARE_STATES]
TIMED = [n for n in range(22) if _data.state_of(n) in _data.PARTY_STATES]


def _ctx(now: datetime = NOW) -> Context:
    return Context(clock=lambda: now, signing_key=Ed25519PrivateKey.generate())


def _queued(ages_in_minutes: list[int], first: int = 0) -> list[dict]:
    """Complaints in the care states escalated that many minutes before NOW."""
    docs = []
    for k, age in enumerate(ages_in_minutes):
        n = QUEUED[k % len(QUEUED)] + 22 * (first + k)
        doc = _data.complaint(n)
        doc["escalated_at"] = NOW - timedelta(minutes=age)
        doc["care_due_at"] = doc["escalated_at"] + timedelta(hours=24)
        docs.append(doc)
    if docs:
        ComplaintDocument._get_collection().insert_many(docs)
    return docs


def _whole_queue() -> list[str]:
    docs = ComplaintDocument._get_collection().find({"state": {"$in": list(CARE_STATES)}})
    return [d["_id"] for d in sorted(docs, key=lambda d: (d["escalated_at"], d["_id"]))]


def _floor(key: str, at: datetime | None) -> None:
    floors = FloorDocument._get_collection()
    if at is None:
        floors.delete_one({"_id": key})
    else:
        floors.update_one({"_id": key}, {"$set": {"at": at}}, upsert=True)


QUEUE_FLOOR = "care_queue:" + ",".join(CARE_STATES)
# Minutes before NOW: bursts at one instant, a day's spread, years old, a clock ahead.
AGES = st.one_of(
    st.sampled_from([0, 1, 60]),
    st.integers(0, 48 * 60),
    st.integers(0, 3 * 365 * 1440),
    st.integers(-30, 0),
)
FLOORS = st.one_of(st.none(), st.integers(-60, 4 * 365 * 1440))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ages=st.lists(AGES, max_size=70),
    floors=st.lists(FLOORS, min_size=1, max_size=4),
    later=st.lists(AGES, max_size=10),
)
def test_the_queue_pages_are_the_whole_sort_whatever_the_floor(db_name, ages, floors, later):
    ComplaintDocument._get_collection().delete_many({})
    _queued(ages)
    for round_, floor in enumerate(floors):
        # A floor from any earlier read: missing, below the queue, inside it, above it.
        _floor(QUEUE_FLOOR, None if floor is None else NOW - timedelta(minutes=floor))
        expected = _whole_queue()
        shown = []
        first = queue.care_queue(_ctx(), CARE, per_page=7)
        assert first.total == len(expected) and not first.more
        for number in range(1, first.pages + 1):
            shown += [c.id for c in queue.care_queue(_ctx(), CARE, page=number, per_page=7).items]
        assert shown == expected
        _queued(later, first=100 * (round_ + 1))  # escalated since: the next read has them


def test_the_queue_counts_to_a_thousand_then_says_more(db_name):
    _queued([k % 3000 for k in range(1005)])
    page = queue.care_queue(_ctx(), CARE)
    assert (page.total, page.more, page.pages) == (1000, True, 50)
    assert [c.id for c in page.items] == _whole_queue()[:20]
    last = queue.care_queue(_ctx(), CARE, page=10**6)
    assert last.page == 50 and [c.id for c in last.items] == _whole_queue()[980:1000]


def test_a_filtered_queue_checks_its_filters_on_what_the_windows_read(db_name):
    docs = _queued([k * 7 for k in range(80)])
    shopee = queue.care_queue(_ctx(), CARE, channel="shopee", per_page=100)
    assert [c.id for c in shopee.items] == [i for i in _whole_queue() if _channel(docs, i)]
    assert shopee.channels == ["shopee"]  # the channels of what it counted
    assert queue.care_queue(_ctx(), CARE).channels == sorted(_data.CHANNELS)
    overdue = queue.care_queue(_ctx(), CARE, overdue=True, per_page=100)
    assert {c.id for c in overdue.items} == {d["_id"] for d in docs if d["care_due_at"] < NOW}


def _channel(docs: list[dict], id_: str) -> bool:
    return next(d for d in docs if d["_id"] == id_)["channel"] == "shopee"


@pytest.mark.parametrize("floor", [None, -600, 0, 30 * 1440])
def test_the_sweeper_reads_the_oldest_due_first_whatever_the_floor(db_name, floor):
    docs = []
    for k in range(60):
        doc = _data.complaint(TIMED[k % len(TIMED)] + 22 * k)
        doc["due_at"] = NOW - timedelta(minutes=(k * 53) % 3000 - 100)  # some not yet due
        docs.append(doc)
    ComplaintDocument._get_collection().insert_many(docs)
    _floor("due", None if floor is None else NOW - timedelta(minutes=floor))
    due = sorted((d["due_at"], d["_id"]) for d in docs if d["due_at"] <= NOW)
    assert [id_ for id_, _ in sweeper.due_complaints(NOW, 10)] == [i for _, i in due[:10]]
    assert [id_ for id_, _ in sweeper.due_complaints(NOW)] == [i for _, i in due]
    # Another pass once the first ten moved on (their deadlines gone): the next ten.
    ComplaintDocument._get_collection().update_many(
        {"_id": {"$in": [i for _, i in due[:10]]}}, {"$set": {"due_at": None}}
    )
    assert [id_ for id_, _ in sweeper.due_complaints(NOW, 10)] == [i for _, i in due[10:20]]


def test_reminders_leave_out_the_past_due_and_paused_clocks_come_oldest_first(db_name):
    docs = []
    for k in range(40):
        doc = _data.complaint(TIMED[k % len(TIMED)] + 22 * k)
        doc["remind_at"] = NOW - timedelta(minutes=10 * k)
        doc["due_at"] = NOW + timedelta(minutes=30 - k)  # the older half past due
        doc["paused_until"] = NOW - timedelta(minutes=k) if k % 2 else None
        docs.append(doc)
    ComplaintDocument._get_collection().insert_many(docs)
    reminded = sorted((d["remind_at"], d["_id"]) for d in docs if d["due_at"] > NOW)
    assert sweeper.due_reminders(NOW, 5) == [i for _, i in reminded[:5]]
    _floor("remind", NOW)  # too high: what lies below it is read all the same
    assert sweeper.due_reminders(NOW, 100) == [i for _, i in reminded]
    paused = sorted((d["paused_until"], d["_id"]) for d in docs if d["paused_until"])
    assert listings.paused_until_passed(NOW, 3) == [i for _, i in paused[:3]]


def test_an_agents_cases_come_nearest_deadline_first_in_windows(db_name):
    docs = []
    for k in range(30):
        doc = _data.complaint(QUEUED[0] + 22 * k)
        doc |= {"state": "in_mediation", "assigned_to": "agent-1"}
        doc["care_due_at"] = NOW + timedelta(minutes=(k * 37) % 2000 - 500)
        docs.append(doc)
    ComplaintDocument._get_collection().insert_many(docs)
    expected = [d["_id"] for d in sorted(docs, key=lambda d: (d["care_due_at"], d["_id"]))]
    mine = queue.my_cases(_ctx(), CARE, limit=10)
    assert [c.id for c in mine.items] == expected[:10] and mine.more
    assert [c.id for c in queue.my_cases(_ctx(), CARE, limit=100).items] == expected


def test_the_next_case_is_the_nearest_deadline_then_the_oldest_stopped_clock(db_name):
    docs = []
    for k in range(36):
        doc = _data.complaint(QUEUED[0] + 22 * k)  # awaiting care
        doc["escalated_at"] = NOW - timedelta(minutes=(k * 41) % 1500)
        doc["care_due_at"] = doc["escalated_at"] + timedelta(hours=24 + k % 3)
        if k % 3 == 0:
            doc |= {"state": "in_mediation", "assigned_to": "agent-2"}
        elif k % 4 == 0:
            doc["care_due_at"] = None  # replied, released: no clock runs
        docs.append(doc)
    ComplaintDocument._get_collection().insert_many(docs)
    waiting = [d for d in docs if d["state"] == "awaiting_care"]
    timed = sorted((d["care_due_at"], d["_id"]) for d in waiting if d["care_due_at"])
    stopped = sorted((d["escalated_at"], d["_id"]) for d in waiting if not d["care_due_at"])
    expected = [i for _, i in timed] + [i for _, i in stopped]
    assert [i for i, _ in listings.most_urgent_unassigned(5)] == expected[:5]
    assert [i for i, _ in listings.most_urgent_unassigned(100)] == expected


def test_the_next_case_when_care_s_own_cases_crowd_the_deadlines(db_name):
    docs = []
    for k in range(210):
        doc = _data.complaint(QUEUED[0] + 22 * k)
        doc["escalated_at"] = NOW - timedelta(minutes=k)
        # 200 in mediation with the nearest deadlines, ten waiting two days after them.
        doc["care_due_at"] = NOW + timedelta(minutes=k)
        if k < 200:
            doc |= {"state": "in_mediation", "assigned_to": "agent-2"}
        else:
            doc["care_due_at"] += timedelta(days=2)
        docs.append(doc)
    ComplaintDocument._get_collection().insert_many(docs)
    waiting = [i for _, i in sorted((d["escalated_at"], d["_id"]) for d in docs[200:])]
    _floor("care_due", NOW - timedelta(hours=1))  # as a read before this one kept it
    # Past its budget along the deadlines (10 × 2 read), the oldest escalations stand in.
    assert [i for i, _ in listings.most_urgent_unassigned(2)] == waiting[:2]
    nearest = [d["_id"] for d in docs[200:]]  # with a budget that reaches them: deadlines
    assert [i for i, _ in listings.most_urgent_unassigned(30)] == nearest


def test_the_queue_s_pages_while_a_writer_escalates_more(db_name):
    """Escalations made while an agent pages through land after every complaint already
    queued: the pages show each of those once, in order, whatever the windows meet."""
    before = _queued([(k * 97) % 2000 + 1 for k in range(150)])
    stop = threading.Event()

    def escalate() -> None:
        k = 0
        while not stop.is_set() and k < 200:
            _queued([-(k % 5)], first=1000 + k)  # now, or a clock slightly ahead
            k += 1

    writer = threading.Thread(target=escalate)
    writer.start()
    try:
        shown, number = [], 1
        while True:
            page = queue.care_queue(_ctx(), CARE, page=number, per_page=9)
            shown += [c.id for c in page.items]
            if number >= page.pages:
                break
            number += 1
    finally:
        stop.set()
        writer.join()
    queued_first = [d["_id"] for d in sorted(before, key=lambda d: (d["escalated_at"], d["_id"]))]
    assert shown[: len(queued_first)] == queued_first
    # Those queued before are each shown once. The pages are numbered (offsets): among the
    # new ones, an escalation at an earlier instant than one already shown moves the rest
    # along by one, and the next page shows one again, as any numbered page does.
    assert all(shown.count(i) == 1 for i in queued_first)
    assert set(shown) <= set(_whole_queue())


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ages=st.lists(st.tuples(AGES, st.sampled_from(["agent-1", "agent-2", None])), max_size=50),
    floor=FLOORS,
)
def test_an_agents_own_queue_pages_are_the_whole_sort_of_its_cases(db_name, ages, floor):
    # "mine": windows of `escalated_at` on `agent_queue`, from the agent's own floor.
    ComplaintDocument._get_collection().delete_many({})
    docs = _queued([age for age, _ in ages])
    for doc, (_, agent) in zip(docs, ages, strict=True):
        ComplaintDocument._get_collection().update_one(
            {"_id": doc["_id"]}, {"$set": {"assigned_to": agent}}
        )
    key = "agent_queue:agent-1:" + ",".join(CARE_STATES)
    _floor(key, None if floor is None else NOW - timedelta(minutes=floor))
    found = ComplaintDocument._get_collection().find(
        {"assigned_to": "agent-1", "state": {"$in": list(CARE_STATES)}}
    )
    expected = [d["_id"] for d in sorted(found, key=lambda d: (d["escalated_at"], d["_id"]))]
    first = queue.care_queue(_ctx(), CARE, assigned_to="agent-1", per_page=6)
    assert first.total == len(expected) and not first.more
    shown = []
    for number in range(1, first.pages + 1):
        page = queue.care_queue(_ctx(), CARE, assigned_to="agent-1", page=number, per_page=6)
        shown += [c.id for c in page.items]
    assert shown == expected
