"""A deadline is fixed when its turn starts: a new policy (a new deploy, a rebuild under it)
moves no deadline already given; the next turn follows the new policy. The sweeper, the
reminders and care's `?overdue=` all read the stored deadlines."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from resolution import service
from resolution.domain.actors import Actor, Role
from resolution.domain.calendars import Calendar
from resolution.domain.policy import Period, Policy, Rules
from resolution.service.sweeper import sweep
from resolution.store import eventstore
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered

WIB = timezone(timedelta(hours=7))
BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")
CARE = Actor(Role.CARE, "agent-1")
# Tokopedia in business days of Indonesia's calendar, care's first reply within one.
LEBARAN = Policy(
    channels={
        "tokopedia": Rules(
            inactivity=Period(business_days=3),
            calendar=Calendar("ID"),
            care_first_reply=Period(business_days=1),
        )
    }
)


def test_a_policy_change_mid_turn_moves_no_deadline(context, clock):
    clock.now = datetime(2025, 3, 28, 10, 0, tzinfo=WIB)  # Friday before Lebaran, plain 72h
    opened = open_registered(context, BUYER, complaint_body()).complaint
    assert opened.due_at == datetime(2025, 3, 31, 10, 0, tzinfo=WIB)

    later = replace(context, deadlines=LEBARAN)  # the operators deploy the new policy
    clock.now = datetime(2025, 3, 29, 8, 0, tzinfo=WIB)
    nudged = service.post_message(later, BUYER, opened.id, "Halo?").complaint
    assert nudged.due_at == opened.due_at
    assert nudged.deadline == opened.deadline
    assert service.rebuild_all(later) == 1
    rebuilt = eventstore.load(opened.id)
    assert (rebuilt.due_at, rebuilt.deadline) == (opened.due_at, opened.deadline)

    # The old deadline holds: the sweeper escalates at Monday 10:00 under the new policy.
    reminded = {"deadline_approaching": 1}  # on Sunday, a day before the deadline given
    assert sweep(later, datetime(2025, 3, 31, 9, 59, tzinfo=WIB)) == reminded
    assert sweep(later, datetime(2025, 3, 31, 10, 1, tzinfo=WIB)) == {"auto_escalate": 1}
    escalated = eventstore.load(opened.id)
    # Care's first reply is due one business day later, by the policy now in force:
    # Monday 31 March and Tuesday 1 April are Idul Fitri, so Wednesday 2 April is the day.
    assert escalated.care_reply_due_at == datetime(2025, 4, 3, 0, 0, tzinfo=WIB)


def test_the_next_turn_follows_the_new_policy(context, clock):
    clock.now = datetime(2025, 3, 27, 10, 0, tzinfo=WIB)
    opened = open_registered(context, BUYER, complaint_body()).complaint
    later = replace(context, deadlines=LEBARAN)
    clock.now = datetime(2025, 3, 28, 10, 0, tzinfo=WIB)
    offer = {"solution": {"kind": "refund", "amount": 30000}}
    proposed = service.act(later, SELLER, opened.id, "propose", offer).complaint
    assert proposed.turn == "buyer"
    assert proposed.due_at == datetime(2025, 4, 4, 10, 0, tzinfo=WIB)
    assert proposed.deadline["rule"] == "3 business days"
    skipped = {s["date"]: s["name"] for s in proposed.deadline["skipped"]}
    assert skipped["2025-03-31"] == "Eid al-Fitr"
    # The buyer's own message under the old policy again never shortens its deadline.
    clock.now = datetime(2025, 3, 29, 10, 0, tzinfo=WIB)
    pushed = service.post_message(context, BUYER, opened.id, "Saya pikir dulu.").complaint
    assert pushed.due_at == proposed.due_at
    # Reminded a day before (Thursday 3 April 10:00), not during the holidays.
    assert sweep(later, datetime(2025, 4, 3, 9, 59, tzinfo=WIB)) == {}
    assert sweep(later, datetime(2025, 4, 3, 10, 1, tzinfo=WIB)) == {"deadline_approaching": 1}


def test_care_overdue_listing_follows_the_stored_care_deadline(context, clock):
    policy = replace(context, deadlines=LEBARAN)
    clock.now = datetime(2025, 3, 27, 9, 0, tzinfo=WIB)
    opened = open_registered(policy, BUYER, complaint_body()).complaint
    clock.now = datetime(2025, 3, 27, 10, 0, tzinfo=WIB)
    service.act(policy, SELLER, opened.id, "propose", {"solution": {"kind": "refund", "amount": 1}})
    clock.now = datetime(2025, 3, 28, 10, 0, tzinfo=WIB)  # Friday: escalated
    escalated = service.act(policy, BUYER, opened.id, "escalate", {"reason": "Tidak setuju."})
    # One business day: Monday and Tuesday are Idul Fitri, so Wednesday 2 April, 10:00.
    assert escalated.complaint.care_reply_due_at == datetime(2025, 4, 2, 10, 0, tzinfo=WIB)
    for moment, listed in [((2025, 3, 31, 10, 1), []), ((2025, 4, 2, 10, 1), [opened.id])]:
        clock.now = datetime(*moment, tzinfo=WIB)
        page, _ = service.list_complaints(policy, CARE, overdue=True)
        assert [c.id for c in page] == listed
