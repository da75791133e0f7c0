"""The sweeper moves silent complaints once, on time, however many sweepers run."""

from __future__ import annotations

import threading
from datetime import timedelta

from click.testing import CliRunner

from resolution import service
from resolution.cli import main
from resolution.domain.actors import Actor, Role
from resolution.domain.events import first_broken_link
from resolution.service.sweeper import sweep
from resolution.store import eventstore
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered
from tests.support.parties import SECRET

BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")


def _open(context, order_id="INV-1"):
    return open_registered(context, BUYER, complaint_body(order_id)).complaint


def test_silent_seller_is_escalated_just_after_the_deadline_and_not_before(context, clock):
    complaint = _open(context)
    deadline = complaint.due_at
    # A minute early nothing moves (the seller is only reminded of its deadline).
    assert sweep(context, deadline - timedelta(minutes=1)) == {"deadline_approaching": 1}
    assert sweep(context, deadline + timedelta(minutes=1)) == {"auto_escalate": 1}
    events = eventstore.events_of(complaint.id)
    assert events[-1].type == "auto_escalate"
    assert events[-1].actor["role"] == "system"
    assert events[-1].data["party"] == "seller"
    assert events[-1].data["deadline"] == deadline.isoformat(timespec="milliseconds")
    assert eventstore.load(complaint.id).state == "awaiting_care"
    assert first_broken_link(events) is None


def test_a_message_from_the_turn_holder_pushes_the_deadline(context, clock):
    complaint = _open(context)
    clock.advance(hours=48)
    service.post_message(context, SELLER, complaint.id, "Sedang kami cek.")
    assert sweep(context, complaint.due_at + timedelta(minutes=1)) == {}
    clock.advance(hours=72, minutes=1)
    assert sweep(context) == {"auto_escalate": 1}


def test_unshipped_return_closes_and_unconfirmed_shipment_completes(context, clock):
    returning = _open(context, "INV-R")
    service.act(
        context,
        SELLER,
        returning.id,
        "propose",
        {"solution": {"kind": "return_refund", "amount": 45000}},
    )
    service.act(context, BUYER, returning.id, "accept", {})
    shipping = _open(context, "INV-S")
    service.act(
        context,
        SELLER,
        shipping.id,
        "propose",
        {"solution": {"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]}},
    )
    service.act(context, BUYER, shipping.id, "accept", {})
    service.act(
        context,
        SELLER,
        shipping.id,
        "ship_items",
        {"courier": "jne", "tracking_number": "JNE12345"},
    )
    moved = sweep(context, clock.now + timedelta(hours=72, minutes=1))
    assert moved == {"auto_close": 1, "auto_complete": 1}
    assert eventstore.load(returning.id).outcome == "return_not_shipped"
    assert eventstore.load(shipping.id).outcome == "fulfilled"


def test_two_sweepers_racing_move_each_complaint_exactly_once(context, clock):
    ids = [_open(context, f"INV-{n}").id for n in range(6)]
    later = clock.now + timedelta(hours=73)
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
    assert sum(sum(r.values()) for r in results) == 6
    for complaint_id in ids:
        events = eventstore.events_of(complaint_id)
        assert [e.type for e in events].count("auto_escalate") == 1
        assert first_broken_link(events) is None


def test_cli_now_gives_the_same_result_as_the_clock(context, clock, config, monkeypatch):
    complaint = _open(context)
    monkeypatch.setenv("MONGODB_URI", config.mongodb_uri)
    monkeypatch.setenv("RESOLUTION_DB_NAME", config.db_name)
    monkeypatch.setenv("RESOLUTION_JWT_SECRET", SECRET)
    early = (complaint.due_at - timedelta(minutes=1)).isoformat()
    result = CliRunner().invoke(main, ["sweep", "--now", early])
    assert result.exit_code == 0, result.output
    assert "Moved 0 complaints" in result.output
    late = (complaint.due_at + timedelta(minutes=1)).astimezone().isoformat()
    result = CliRunner().invoke(main, ["sweep", "--now", late])
    assert "Moved 1 complaints (auto_escalate 1)" in result.output
    assert CliRunner().invoke(main, ["sweep", "--now", "yesterday"]).exit_code == 2
