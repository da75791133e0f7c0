"""Pausing and resuming a party's clock through the API: bad input is problem+json 4xx and
stores nothing; two sweepers racing over paused and resumed complaints move each once."""

from __future__ import annotations

import threading
from datetime import timedelta

from resolution.domain.events import first_broken_link
from resolution.service.sweeper import sweep
from resolution.store import eventstore
from tests.support.bodies import complaint_body
from tests.support.http import act, post_action
from tests.support.parties import BUYER, CARE, SELLER
from tests.support.snapshots import assert_unchanged, stored

PROBLEM = "application/problem+json"


def opened(client, order_id: str = "INV-2001") -> str:
    body = complaint_body(order_id)
    return client.post("/v1/complaints", json=body, headers=BUYER).get_json()["id"]


def refused(client, cid, action, body, status):
    before = stored()
    answer = post_action(client, cid, action, CARE, body)
    assert answer.status_code == status, answer.get_json()
    assert answer.headers["Content-Type"].startswith(PROBLEM)
    assert_unchanged(before)
    return answer.get_json()


def test_bad_pauses_and_resumes_are_problems_that_change_nothing(client, clock):
    cid = opened(client)
    too_long = (clock.now + timedelta(days=14, minutes=1)).isoformat()
    problem = refused(client, cid, "pause_clock", {"reason": "Kurir.", "until": too_long}, 422)
    assert "until" in problem["errors"]
    past = (clock.now - timedelta(hours=1)).isoformat()
    refused(client, cid, "pause_clock", {"reason": "Kurir.", "until": past}, 422)
    refused(client, cid, "pause_clock", {"until": too_long}, 422)  # no reason
    problem = refused(client, cid, "resume_clock", {}, 409)  # the clock runs
    assert "the clock is running" in problem["detail"]
    assert act(client, cid, "withdraw", BUYER, {}).status_code == 200
    refused(client, cid, "pause_clock", {"reason": "Kurir."}, 409)  # closed


def test_a_pause_shows_on_the_complaint_and_holds_off_the_sweeper(client, clock, context):
    cid = opened(client)
    due = client.get(f"/v1/complaints/{cid}", headers=SELLER).get_json()["due_at"]
    until = clock.now + timedelta(days=5)
    paused = act(client, cid, "pause_clock", CARE, {"reason": "Kurir.", "until": until.isoformat()})
    complaint = paused.get_json()
    assert complaint["paused"]["reason"] == "Kurir."
    assert complaint["deadline"]["paused_for"] == "P5D"
    assert complaint["due_at"] > due
    # Past the old deadline, before `until`: nothing moves, nobody is reminded.
    assert sweep(context, clock.now + timedelta(hours=73)) == {}


def test_two_sweepers_racing_over_paused_and_resumed_complaints(client, clock, context):
    ids = [opened(client, f"INV-30{n}") for n in range(6)]
    until = clock.now + timedelta(hours=1)
    for cid in ids[:4]:
        act(client, cid, "pause_clock", CARE, {"reason": "Kurir.", "until": until.isoformat()})
    clock.now += timedelta(minutes=30)
    act(client, ids[0], "resume_clock", CARE, {})  # care resumed one early
    later = clock.now + timedelta(hours=80)  # past every deadline, pauses included
    barrier = threading.Barrier(2)
    results = []

    def run():
        barrier.wait()
        results.append(sweep(context, later))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum((r for r in results), start=type(results[0])())
    assert total["resume_clock"] == 3  # the three still paused, once each
    assert total["auto_escalate"] == 6
    for cid in ids:
        events = eventstore.events_of(cid)
        types = [e.type for e in events]
        assert types.count("auto_escalate") == 1
        assert types.count("resume_clock") == (1 if cid in ids[:4] else 0)
        assert first_broken_link(events) is None
        complaint = eventstore.load(cid)
        assert complaint.state == "awaiting_care" and complaint.paused is None
