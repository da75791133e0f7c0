"""Machines are built once per thread and lent to one block at a time (`machine_for`).

A reused machine must answer exactly as a new one would: the same enabled actions in every
state for every role, after a refused action as after a taken one, and never the complaint
it was lent for before.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from statemachine.exceptions import TransitionNotAllowed

from resolution.domain.actors import Actor, Role
from resolution.domain.lifecycle import Lifecycle, _Position, allowed_actions, machine_for
from resolution.domain.projection import Complaint

NOW = datetime(2025, 6, 5, 10, 0, tzinfo=UTC)
ACTORS = [
    Actor(Role.BUYER, "buyer-1"),
    Actor(Role.SELLER, "seller-1", "shop-1"),
    Actor(Role.CARE, "agent-1"),
    Actor(Role.SYSTEM, "system"),
]
STATES = [state.id for state in Lifecycle.states]


def _complaint(state: str, **fields) -> Complaint:
    return Complaint(id="6b0000000000000000000001", state=state, **fields)


def _fresh_enabled(complaint: Complaint, actor: Actor) -> set[str]:
    machine = Lifecycle(model=_Position(complaint.state, complaint), state_field="state")
    return {e.id for e in machine.enabled_events(actor=actor, now=NOW)}


def _lent_enabled(complaint: Complaint, actor: Actor) -> set[str]:
    with machine_for(complaint) as machine:
        return {e.id for e in machine.enabled_events(actor=actor, now=NOW)}


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.role.value)
def test_a_lent_machine_answers_like_a_new_one_in_every_state(actor):
    facts = {"seller_answered": True, "assigned_to": "agent-1", "outcome": "decided"}
    # Twice round, in both orders: the second pass runs on machines used in other states.
    for states in (STATES, list(reversed(STATES))):
        for state in states:
            complaint = _complaint(state, **facts)
            assert _lent_enabled(complaint, actor) == _fresh_enabled(complaint, actor), state


def test_a_machine_lent_after_an_action_starts_from_the_next_complaints_state():
    with machine_for(_complaint("awaiting_seller")) as machine:
        machine.send("propose", actor=ACTORS[1], now=NOW)
        assert machine.model.state == "awaiting_buyer"
        used = machine
    with machine_for(_complaint("awaiting_seller")) as machine:
        assert machine is used  # the same machine, resumed at the new complaint's state
        assert machine.model.state == "awaiting_seller"
        assert "appeal" in {e.id for e in machine.enabled_events(actor=ACTORS[1], now=NOW)}


def test_a_machine_lent_after_a_refusal_works_as_before():
    with pytest.raises(TransitionNotAllowed), machine_for(_complaint("awaiting_seller")) as machine:
        machine.send("decide", actor=ACTORS[2], now=NOW)  # not from this state
    complaint = _complaint("awaiting_seller")
    assert _lent_enabled(complaint, ACTORS[1]) == _fresh_enabled(complaint, ACTORS[1])
    with machine_for(complaint) as machine:
        machine.send("propose", actor=ACTORS[1], now=NOW)
        assert machine.model.state == "awaiting_buyer"


def test_a_block_inside_a_block_gets_its_own_machine():
    outer_complaint = _complaint("awaiting_seller")
    with machine_for(outer_complaint) as outer:
        with machine_for(_complaint("closed")) as inner:
            assert inner is not outer
            assert inner.model.state == "closed"
        assert outer.model.state == "awaiting_seller"
        assert outer.model.complaint is outer_complaint


def test_an_idle_machine_holds_no_complaint():
    with machine_for(_complaint("awaiting_care")) as machine:
        pass
    assert machine.model.complaint is None


def test_threads_never_share_a_machine():
    seen: dict[int, set[int]] = {}
    barrier = threading.Barrier(4)

    def work(n: int) -> None:
        ids = seen.setdefault(n, set())
        barrier.wait()
        for _ in range(50):
            with machine_for(_complaint("awaiting_buyer")) as machine:
                ids.add(id(machine))
                assert allowed_actions(_complaint("awaiting_buyer"), ACTORS[0], NOW)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n in range(4):
        for m in range(n + 1, 4):
            assert not seen[n] & seen[m]
