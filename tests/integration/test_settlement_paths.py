"""A property over generated paths of the lifecycle, through the service on the real database:
whatever the parties, care and the clock do (reviews, returns, timeouts, withdrawals), a
complaint that closes ends in exactly one settlement whose amounts sum to what the order held,
split as the lifecycle's "Money" table says, asked of the payment system exactly once."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from resolution.domain.actors import SYSTEM, Actor, Role
from resolution.domain.decisions import REASON_CODES
from resolution.domain.errors import DomainError
from resolution.domain.events import first_broken_link
from resolution.domain.lifecycle import allowed_actions
from resolution.service import complaints
from resolution.service.sweeper import sweep
from resolution.store import eventstore
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered

HELD = 105000  # the tests' orders hold their total
PEOPLE = {
    "buyer": Actor(Role.BUYER, "buyer-1"),
    "seller": Actor(Role.SELLER, "seller-1", shop_id="shop-1"),
    "agent-1": Actor(Role.CARE, "agent-1"),
    "agent-2": Actor(Role.CARE, "agent-2"),
}
SOLUTIONS = st.one_of(
    st.builds(lambda a: {"kind": "refund", "amount": a}, st.integers(1, HELD)),
    st.builds(lambda a: {"kind": "return_refund", "amount": a}, st.integers(1, HELD)),
    st.just({"kind": "exchange", "items": [{"sku": "KAOS-M", "qty": 1}]}),
    st.just({"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]}),
)
SHIPMENT = {"courier": "JNE", "tracking_number": "JNE-0001"}
_orders = itertools.count(1)


def _request(draw, action: str) -> dict:
    if action == "propose":
        return {"solution": draw(SOLUTIONS)}
    if action == "decide":
        kinds = st.one_of(SOLUTIONS, st.just({"kind": "release_to_seller"}))
        return {
            "solution": draw(kinds),
            "reason_code": draw(st.sampled_from(list(REASON_CODES))),
            "rationale": "Menurut bukti.",
            "evidence_considered": [],
        }
    if action in ("appeal", "escalate", "request_review", "release", "pause_clock"):
        return {"reason": "Tidak sepakat."}
    if action == "reassign":
        return {"agent_id": draw(st.sampled_from(["agent-1", "agent-2"]))}
    if action in ("ship_return", "ship_items"):
        return dict(SHIPMENT)
    if action == "request_evidence":
        return {"party": draw(st.sampled_from(["buyer", "seller"])), "what": "Foto."}
    return {}


def expected_to_buyer(outcome: str, solution: dict | None) -> int:
    """The lifecycle's "Money" table, written out again from the document."""
    if solution is None:
        return 0
    if outcome in ("agreed", "decided") and solution["kind"] == "refund":
        return solution["amount"]
    if outcome == "fulfilled" and solution["kind"] == "return_refund":
        return solution["amount"]
    return 0


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_path_that_closes_ends_in_one_settlement_of_what_was_held(context, clock, data):
    order_id = f"INV-P{next(_orders)}"
    opening = complaint_body(order_id, requested_solution=data.draw(SOLUTIONS, label="requested"))
    cid = open_registered(context, PEOPLE["buyer"], opening).complaint.id
    for _ in range(data.draw(st.integers(3, 24), label="steps")):
        complaint = eventstore.load(cid)
        now = clock()
        choices = [
            (who, action)
            for who, actor in PEOPLE.items()
            for action in allowed_actions(complaint, actor, now)
        ]
        # A withdrawal ends most paths at once: taken now and then, so that the others
        # (decisions and their reviews, returns, shipments) are walked as often.
        if data.draw(st.integers(0, 9), label="withdraw?") > 0:
            choices = [c for c in choices if c[1] != "withdraw"] or choices
        choice = data.draw(st.sampled_from([*choices, ("clock", "wait")]), label="step")
        if choice == ("clock", "wait"):
            clock.advance(hours=data.draw(st.sampled_from([1, 30, 73])))
            sweep(context, clock())
            continue
        who, action = choice
        try:
            complaints.act(context, PEOPLE[who], cid, action, _request(data.draw, action))
        except DomainError:
            continue  # a rule refused it (an amount over what is held, the decider reviewing)
        clock.advance(minutes=5)

    # Whatever happened, let every clock run out: held money is released once.
    for _ in range(4):
        clock.advance(hours=80)
        sweep(context, clock())
    complaint = eventstore.load(cid)
    events = eventstore.events_of(cid)
    assert first_broken_link(events) is None
    types = [e.type for e in events]
    event(f"{complaint.state} {complaint.outcome or ''} reviews={types.count('request_review')}")
    if complaint.state != "closed":
        assert complaint.settlement is None
        assert "settlement_requested" not in types
        return
    settlement = complaint.settlement
    assert settlement is not None
    assert settlement["held"] == HELD
    assert settlement["to_buyer"] + settlement["to_seller"] == HELD
    solution = (complaint.resolution or {}).get("solution")
    assert settlement["to_buyer"] == expected_to_buyer(complaint.outcome, solution)
    assert settlement["status"] == "requested"
    assert types.count("settlement_requested") == 1
    # Each time the complaint closed (a review reopens it at most once, and may come before
    # it closed, from a pending return or shipment), its closing recorded a settlement; only
    # the last one stands.
    closings = [e for e in events if "settlement" in e.data]
    assert closings == [e for e in events if e.data.get("state") == "closed"]
    assert closings[-1].data["settlement"]["id"] == settlement["id"]
    assert events[types.index("settlement_requested")].actor == SYSTEM.as_data()
