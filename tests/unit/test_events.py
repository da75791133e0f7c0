"""Events: a hash chain that shows any later edit, and a projection rebuilt from events alone."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resolution.domain import commands, lifecycle
from resolution.domain.errors import DomainError
from resolution.domain.events import (
    GENESIS,
    SALTED,
    UNSALTED,
    Event,
    canonical,
    chain_hash,
    first_broken_link,
    iso,
    sha256,
)
from resolution.domain.projection import replay

WIB = timezone(timedelta(hours=7))


def test_replaying_the_events_rebuilds_the_complaint_applied_step_by_step(
    reach, deadlines, any_path
):
    story = reach(any_path)
    assert replay(story.events, deadlines) == story.complaint


def test_a_recorded_chain_has_no_broken_link(reach, any_path):
    events = reach(any_path).events
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS
    assert all(e.prev_hash == before.hash for before, e in zip(events, events[1:], strict=False))
    assert first_broken_link(events) is None


# A long chain (a decision, its review and a second decision), and ways to tamper with it.
TAMPERING = {
    "data-field": lambda e: replace(e, data={**e.data, "state": "closed"}),
    "data-field-added": lambda e: replace(e, data={**e.data, "note": "added later"}),
    "data-field-removed": lambda e: replace(
        e, data={k: v for k, v in e.data.items() if k != "state"}
    ),
    "actor": lambda e: replace(e, actor={**e.actor, "id": "someone-else"}),
    "type": lambda e: replace(e, type="withdraw"),
    "at": lambda e: replace(e, at=e.at - timedelta(seconds=1)),
    "at-by-a-millisecond": lambda e: replace(e, at=e.at + timedelta(milliseconds=1)),
    "complaint_id": lambda e: replace(e, complaint_id="65f0000000000000000000ff"),
    "hash": lambda e: replace(e, hash="f" * 64),
    # The salted scheme: a salt changed, dropped, or the event passed off as unsalted.
    "salt": lambda e: replace(e, salts={**e.salts, "state": "AAAAAAAAAAAAAAAAAAAAAA"}),
    "salt-dropped": lambda e: replace(e, salts={k: v for k, v in e.salts.items() if k != "state"}),
    "hash_version-downgraded": lambda e: replace(e, hash_version=UNSALTED),
    "hash_version-unknown": lambda e: replace(e, hash_version=3),
}


@pytest.mark.parametrize("seq", [1, 4, 7])
@pytest.mark.parametrize("how", list(TAMPERING))
def test_an_edited_event_is_named_by_its_seq(reach, how, seq):
    events = list(reach("closed_after_review").events)
    events[seq - 1] = TAMPERING[how](events[seq - 1])
    assert first_broken_link(events) == seq


def test_an_edited_and_resealed_event_breaks_the_link_to_the_next_one(reach):
    events = list(reach("closed_after_review").events)
    edited = events[3]
    events[3] = Event.sealed(
        edited.complaint_id,
        edited.seq,
        edited.type,
        edited.actor,
        {**edited.data, "reason": "something milder"},
        edited.at,
        edited.prev_hash,
    )
    assert first_broken_link(events) == 5


@pytest.mark.parametrize("dropped", [1, 3, 6])
def test_a_dropped_event_is_named_by_the_seq_where_the_gap_shows(reach, dropped):
    events = list(reach("closed_after_review").events)
    del events[dropped - 1]
    assert first_broken_link(events) == dropped + 1


def test_swapped_events_break_the_chain_at_the_first_swap(reach):
    events = list(reach("closed_after_review").events)
    events[2], events[3] = events[3], events[2]
    assert first_broken_link(events) == 4  # the event now in third place has seq 4


# --- salted commitments (hash scheme 2) ----------------------------------------------------


def test_new_events_commit_each_field_with_a_salt_of_its_own(reach, any_path):
    for event in reach(any_path).events:
        assert event.hash_version == SALTED and set(event.salts) == set(event.data)
        assert len(set(event.salts.values())) == len(event.salts)  # one salt per field
        for key, value in event.data.items():
            assert event.commitment(key) == sha256([event.salts[key], value])
            assert event.commitment(key) != sha256(value)


def test_salts_are_random_so_the_same_value_commits_differently_each_time(reach, actors):
    story = reach("awaiting_seller")
    at = datetime(2025, 3, 3, 9, 30, tzinfo=WIB)
    one = commands.message(story.complaint, actors["buyer"], "3171234567890001", at)
    two = commands.message(story.complaint, actors["buyer"], "3171234567890001", at)
    assert one.salts["body"] != two.salts["body"]
    assert one.commitment("body") != two.commitment("body")


def test_an_event_hashed_under_the_unsalted_scheme_still_verifies(reach):
    """Events written before salts (scheme 1) keep their hash: H(value) per field."""
    story = reach("awaiting_seller")
    first = story.events[0]
    old = Event.sealed(
        first.complaint_id,
        1,
        first.type,
        first.actor,
        first.data,
        first.at,
        GENESIS,
        scheme=UNSALTED,
    )
    assert old.hash_version == UNSALTED and old.salts == {} and old.verify()
    assert old.commitment("description") == sha256(first.data["description"])
    assert "hash_version" not in old.as_data() and "salts" not in old.as_data()
    assert first_broken_link([old]) is None
    assert not replace(old, hash_version=SALTED).verify()  # nor can it be passed off as salted


def test_a_withheld_field_cannot_be_confirmed_by_hashing_its_true_value(reach, actors):
    """What a reader not shown a field holds: its commitment, never its salt. Hashing the
    true value (or the value with any salt but the one withheld) does not give it."""
    story = reach("awaiting_seller")
    nik = "3171234567890001"
    event = commands.message(
        story.complaint, actors["buyer"], nik, datetime(2025, 3, 3, 9, tzinfo=WIB)
    )
    shown = event.as_shown({"body": "[withheld]"}, {"body": event.commitment("body")})
    assert shown["salts"] == {} and nik not in canonical(shown).decode()
    digest = shown["data_hashes"]["body"]
    guesses = [nik, f"NIK {nik}", [None, nik], ["", nik], [shown["hash"], nik]]
    assert all(sha256(g) != digest for g in guesses)
    # …while the shown record still verifies with the commitment standing for the field.
    args = (shown["complaint_id"], shown["seq"], shown["type"], shown["actor"])
    rest = (shown["data"], shown["at"], shown["prev_hash"], shown["data_hashes"])
    assert chain_hash(*args, *rest, shown["salts"], shown["hash_version"]) == event.hash


# --- canonical form -----------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8():
    value = {"b": 1, "a": [True, None, {"z": "Kaos hitam – ukuran M", "y": 105000}]}
    assert canonical(value) == (
        '{"a":[true,null,{"y":105000,"z":"Kaos hitam – ukuran M"}],"b":1}'.encode()
    )


def test_canonical_json_keeps_non_ascii_text_as_utf8():
    encoded = canonical({"description": "Barang rusak 😞, tolong dicek"})
    assert "😞".encode() in encoded
    assert b"\\u" not in encoded
    assert encoded.decode("utf-8")


@pytest.mark.parametrize(
    "value", [1.0, {"amount": 50000.0}, [1, 2.5], {"solution": {"amount": float("nan")}}]
)
def test_canonical_json_refuses_floats(value):
    with pytest.raises(TypeError, match="float"):
        canonical(value)


def test_canonical_json_writes_times_as_utc_milliseconds():
    moment = datetime(2025, 3, 3, 9, 0, 0, 987654, tzinfo=WIB)
    assert canonical({"at": moment}) == b'{"at":"2025-03-03T02:00:00.987+00:00"}'
    assert iso(moment) == "2025-03-03T02:00:00.987+00:00"


def test_canonical_json_refuses_naive_times():
    with pytest.raises(ValueError, match="naive"):
        canonical({"at": datetime(2025, 3, 3, 9, 0)})


def test_a_sealed_event_keeps_its_time_to_the_millisecond_in_utc(reach, actors):
    story = reach("awaiting_seller")
    at = datetime(2025, 3, 3, 9, 30, 0, 654321, tzinfo=WIB)
    event = commands.message(story.complaint, actors["buyer"], "Halo", at)
    assert event.at == datetime(2025, 3, 3, 2, 30, 0, 654000, tzinfo=UTC)
    assert event.at.utcoffset() == timedelta(0)
    assert event.verify()


def test_times_inside_the_data_are_sealed_as_millisecond_strings(reach):
    story = reach("in_mediation")
    due = datetime(2025, 3, 9, 12, 0, 0, 999999, tzinfo=UTC)
    asked = story.act(
        "agent1", "request_evidence", {"party": "seller", "what": "Resi", "due_at": due}
    )
    assert asked.events[-1].data["due_at"] == "2025-03-09T12:00:00.999+00:00"
    opened = reach("awaiting_seller").events[0]
    assert opened.data["order"]["payment"]["paid_at"] == "2025-02-27T05:30:00.000+00:00"


def test_money_in_events_is_an_int(reach):
    for event in reach("closed_after_review").events:
        solution = event.data.get("solution") or event.data.get("requested_solution")
        if solution and "amount" in solution:
            assert type(solution["amount"]) is int


# --- any sequence of actions --------------------------------------------------------------

WHO = ("buyer", "seller", "agent1", "agent2", "auditor", "system")
ANY_ACTION = (*lifecycle.ACTIONS, "message")
SYSTEM_ACTIONS = ("auto_escalate", "auto_close", "auto_complete")
SOLUTIONS = (
    {"kind": "refund", "amount": 30000},
    {"kind": "return_refund", "amount": 105000},
    {"kind": "exchange", "items": [{"sku": "TEE-BLK-M", "qty": 1}]},
    {"kind": "send_remaining", "items": [{"sku": "CAP-01", "qty": 1}]},
    {"kind": "release_to_seller"},
)
PAUSES = (1, 60, 24 * 60, 73 * 60)  # minutes; the last one outlasts the inactivity period
EXAMPLES = int(os.environ.get("RESOLUTION_PROPERTY_EXAMPLES", "12"))


def request_for(action: str, variant: int, default_request) -> dict:
    request = default_request(action)
    if action == "propose":
        request["solution"] = SOLUTIONS[variant % 4]  # parties cannot propose release_to_seller
    elif action == "decide":
        request["solution"] = SOLUTIONS[variant]
    elif action == "request_evidence":
        request["party"] = ("buyer", "seller")[variant % 2]
    elif action == "assign" and variant == 0:
        request["agent_id"] = "agent2"
    elif action == "reassign":
        # to one of the agents the walk can act as (or to the current one: refused)
        request["agent_id"] = ("agent1", "agent2")[variant % 2]
    return request


def next_step(draw, complaint, last_at, actors):
    """Any action by anyone (refusals included), or, most steps, one that is likely to be taken
    so that sequences get somewhere: a button of the turn-holder (or of anyone), a message, or
    a system action past the deadline."""
    at = last_at + timedelta(minutes=draw(st.sampled_from(PAUSES)))
    mode = draw(st.sampled_from(("any", "turn", "turn", "person", "message", "system")))
    if mode == "any":
        return draw(st.sampled_from(ANY_ACTION)), draw(st.sampled_from(WHO)), at
    if mode == "message":
        return "message", draw(st.sampled_from(("buyer", "seller", "agent1"))), at
    if mode == "system":
        if complaint.due_at is not None:
            at = max(at, complaint.due_at + timedelta(minutes=1))
        return draw(st.sampled_from(SYSTEM_ACTIONS)), "system", at
    if mode == "turn" and complaint.turn in ("buyer", "seller"):
        who = complaint.turn
    elif mode == "turn" and complaint.assigned_to:
        who = complaint.assigned_to
    else:
        who = draw(st.sampled_from(("buyer", "seller", "agent1", "agent2")))
    buttons = lifecycle.allowed_actions(complaint, actors[who], at)
    return (draw(st.sampled_from(buttons)) if buttons else "accept"), who, at


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data(), opening=st.integers(0, 3), length=st.integers(0, 15))
def test_any_sequence_of_actions_keeps_a_gapless_valid_chain_that_replays(
    story, default_request, deadlines, actors, data, opening, length
):
    current = story(SOLUTIONS[opening])
    for _ in range(length):
        action, who, at = next_step(data.draw, current.complaint, current.last_at, actors)
        variant = data.draw(st.integers(0, 4))
        try:
            if action == "message":
                current = current.record(
                    commands.message(current.complaint, actors[who], "Pesan", at)
                )
            else:
                current = current.act(
                    who, action, request_for(action, variant, default_request), at=at
                )
        except DomainError:
            continue
    events, complaint = current.events, current.complaint
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert complaint.version == len(events)
    assert first_broken_link(events) is None
    assert replay(events, deadlines) == complaint
    assert (complaint.state == "closed") == (complaint.outcome is not None)
