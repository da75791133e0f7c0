"""The README's worked deadline example (in WIB) is what the service actually does."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from resolution import service
from resolution.config import Config
from resolution.domain.actors import Actor, Role
from resolution.domain.policy import Policy
from resolution.service.sweeper import sweep
from resolution.store import eventstore
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered

WIB = timezone(timedelta(hours=7))
BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")


@pytest.fixture(params=["environment", "policy file"])
def policy_context(request, context, tmp_path):
    """The service as configured today (the environment), and with a policy file that sets
    nothing but its `[default]` table: the default policy is the same clocks."""
    if request.param == "environment":
        return context
    path = tmp_path / "policy.toml"
    path.write_text('[default]\ninactivity_period = "72h"\ncalendar = "none"\n')
    config = Config.from_env({"RESOLUTION_JWT_SECRET": "x" * 40, "RESOLUTION_POLICY": str(path)})
    assert isinstance(config.deadlines, Policy)
    return replace(context, deadlines=config.deadlines)


def test_the_worked_example_in_the_readme(policy_context, clock):
    context = policy_context
    clock.now = datetime(2025, 6, 5, 10, 0, tzinfo=WIB)  # Thursday 10:00 WIB: opened
    complaint = open_registered(context, BUYER, complaint_body()).complaint
    assert complaint.turn == "seller"
    assert complaint.due_at == datetime(2025, 6, 8, 10, 0, tzinfo=WIB)

    clock.now = datetime(2025, 6, 6, 20, 0, tzinfo=WIB)  # the buyer nudges: no effect
    assert service.post_message(context, BUYER, complaint.id, "Halo?").complaint.due_at == (
        datetime(2025, 6, 8, 10, 0, tzinfo=WIB)
    )
    clock.now = datetime(2025, 6, 7, 9, 30, tzinfo=WIB)  # the seller answers in the thread
    nudged = service.post_message(context, SELLER, complaint.id, "Sedang dicek gudang.")
    assert nudged.complaint.due_at == datetime(2025, 6, 10, 9, 30, tzinfo=WIB)

    assert sweep(context, datetime(2025, 6, 9, 9, 29, tzinfo=WIB)) == {}
    reminded = {"deadline_approaching": 1}  # 24 hours before: Monday 09:30
    assert sweep(context, datetime(2025, 6, 9, 9, 31, tzinfo=WIB)) == reminded
    reminder = eventstore.events_of(complaint.id)[-1]
    assert reminder.type == "deadline_approaching"
    assert reminder.data == {"party": "seller", "due_at": "2025-06-10T02:30:00.000+00:00"}
    assert sweep(context, datetime(2025, 6, 10, 9, 29, tzinfo=WIB)) == {}
    assert sweep(context, datetime(2025, 6, 10, 9, 31, tzinfo=WIB)) == {"auto_escalate": 1}
    escalated = eventstore.load(complaint.id)
    assert escalated.state == "awaiting_care"
    assert escalated.care_due_at == datetime(2025, 6, 11, 9, 31, tzinfo=WIB)
    last = eventstore.events_of(complaint.id)[-1]
    assert last.data["party"] == "seller"
    assert last.data["deadline"] == "2025-06-10T02:30:00.000+00:00"
