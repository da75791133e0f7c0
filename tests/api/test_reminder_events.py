"""A reminder (`deadline_approaching`) shows in the event log as openapi.yaml describes it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import yaml

from resolution.domain.events import first_broken_link, iso
from resolution.service.sweeper import sweep
from resolution.store import eventstore
from tests.support.bodies import complaint_body
from tests.support.parties import AUDITOR, BUYER, CARE, SELLER
from tests.support.spec import SPEC_PATH
from tests.support.wire import Wire

EVENTS = "/v1/complaints/{id}/events"


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def wire(client, spec) -> Wire:
    return Wire(client, spec)


def test_the_reminder_is_in_the_event_log_for_everyone_who_may_see_it(wire, context):
    opened = wire("post", "/v1/complaints", json=complaint_body(), headers=BUYER)
    assert opened.status_code == 201
    cid, due_at = opened.get_json()["id"], opened.get_json()["due_at"]
    remind_at = datetime.fromisoformat(due_at) - timedelta(hours=24)
    assert sweep(context, remind_at + timedelta(minutes=5)) == {"deadline_approaching": 1}

    for who in (BUYER, SELLER, CARE, AUDITOR):
        events = wire("get", EVENTS, id=cid, headers=who).get_json()["items"]  # spec-checked
        assert [e["type"] for e in events] == ["open", "deadline_approaching"]
        reminder = events[-1]
        assert reminder["actor"] == {"role": "system", "id": "resolution"}
        assert reminder["data"] == {"party": "seller", "due_at": due_at}
        assert reminder["data_hashes"] == {}
        assert reminder["at"] == iso(remind_at + timedelta(minutes=5))
    assert first_broken_link(eventstore.events_of(cid)) is None

    complaint = wire("get", "/v1/complaints/{id}", id=cid, headers=SELLER)
    assert complaint.headers["ETag"] == '"2"'  # the reminder is an event: a new version
    shown = complaint.get_json()
    assert shown["state"] == "awaiting_seller" and shown["due_at"] == due_at
    assert "remind_at" not in shown  # the sweeper's bookkeeping, not the API's
