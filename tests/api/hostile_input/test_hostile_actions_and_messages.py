"""Hostile actions and messages on the stored complaint: counter-offers and messages with
smuggled operators, wrong types, amounts out of bounds, broken or oversized bodies, bad
If-Match and Idempotency-Key headers; a wrong-state action, a due time past the calendar. Each
is a clear 4xx and changes nothing stored (the shared database and the checks: conftest.py).
"""

from __future__ import annotations

import json

import pytest

from tests.support.hostile import (
    DEEP,
    REFUND,
    TOO_LARGE,
    Case,
    MiB,
    assert_clear_problem,
    counter,
    messaging,
    proposing,
    send_case,
)
from tests.support.parties import BUYER, CARE, SELLER
from tests.support.snapshots import assert_unchanged, stored

HUGE_INT = '{"solution": {"kind": "refund", "amount": ' + "9" * 5000 + "}}"
SURROGATE = "Kaosnya robek \\ud800 di jahitan."  # a lone surrogate, as JSON text

PROPOSE_CASES = [
    proposing("unknown-field", counter(REFUND, state="closed"), errors_at="state"),
    proposing("set-key", {**counter(REFUND), "$set": {"state": "closed"}}, errors_at="$set"),
    proposing("where-key", {**counter(REFUND), "$where": "this.amount > 0"}, errors_at="$where"),
    proposing("solution-ne", counter({"$ne": None}), errors_at="solution"),
    proposing("solution-where-key", counter({**REFUND, "$where": "1"}), errors_at="solution"),
    proposing("amount-gt", counter({"kind": "refund", "amount": {"$gt": 0}}), errors_at="solution"),
    proposing(
        "kind-regex", counter({"kind": {"$regex": "^re"}, "amount": 1}), errors_at="solution"
    ),
    proposing("solution-list", counter([REFUND]), errors_at="solution"),
    proposing("solution-missing", {"note": "no solution"}, errors_at="solution"),
    proposing("amount-zero", counter({"kind": "refund", "amount": 0})),
    proposing("amount-negative", counter({"kind": "refund", "amount": -1})),
    proposing("amount-over-total", counter({"kind": "refund", "amount": 105001})),
    proposing("amount-over-max", counter({"kind": "refund", "amount": 10**13 + 1})),
    proposing("amount-float", counter({"kind": "refund", "amount": 30000.5})),
    proposing("amount-fraction", counter({"kind": "refund", "amount": 0.5})),
    proposing("amount-string", counter({"kind": "refund", "amount": "30000"})),
    proposing("amount-bool", counter({"kind": "refund", "amount": True})),
    proposing("amount-nan", raw='{"solution": {"kind": "refund", "amount": NaN}}'),
    proposing("amount-infinity", raw='{"solution": {"kind": "refund", "amount": Infinity}}'),
    proposing("amount-exponent", raw='{"solution": {"kind": "refund", "amount": 3.00005e4}}'),
    proposing("amount-5000-digits", raw=HUGE_INT, status=400),
    proposing("kind-care-only", counter({"kind": "release_to_seller"})),
    proposing(
        "items-unknown-sku",
        counter({"kind": "send_remaining", "items": [{"sku": "NOPE", "qty": 1}]}),
    ),
    proposing(
        "items-qty-float",
        counter({"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1.5}]}),
    ),
    proposing("items-empty", counter({"kind": "exchange", "items": []})),
    proposing("note-too-long", counter(REFUND, note="n" * 2001), errors_at="note"),
    proposing("note-object", counter(REFUND, note={"$ne": ""}), errors_at="note"),
    proposing(
        "lone-surrogate",
        raw='{"solution": {"kind": "refund", "amount": 1}, "note": "' + SURROGATE + '"}',
        status=400,
    ),
    proposing("empty-body", raw=b""),
    proposing("array", [REFUND]),
    proposing("null", None),
    proposing("malformed", raw="{", status=400),
    proposing("deeply-nested", raw=DEEP, status=400),
    proposing("over-1-MiB", raw=TOO_LARGE, status=413),
    proposing("text-plain", raw=json.dumps(counter(REFUND)), content_type="text/plain", status=415),
    proposing(
        "if-match-word", counter(REFUND), headers={"If-Match": "latest"}, errors_at="If-Match"
    ),
    proposing(
        "if-match-list", counter(REFUND), headers={"If-Match": '"1", "2"'}, errors_at="If-Match"
    ),
    proposing(
        "if-match-negative", counter(REFUND), headers={"If-Match": '"-1"'}, errors_at="If-Match"
    ),
    proposing(
        "if-match-ten-digits",
        counter(REFUND),
        headers={"If-Match": '"1234567890"'},
        errors_at="If-Match",
    ),
    proposing(
        "if-match-operator",
        counter(REFUND),
        headers={"If-Match": '{"$gt": 0}'},
        errors_at="If-Match",
    ),
    proposing("if-match-stale", counter(REFUND), headers={"If-Match": '"99"'}, status=412),
    proposing(
        "idempotency-key-too-long",
        counter(REFUND),
        headers={"Idempotency-Key": "k" * 256},
        errors_at="Idempotency-Key",
    ),
]

MESSAGE_CASES = [
    messaging("missing", {}, errors_at="body"),
    messaging("empty", {"body": ""}, errors_at="body"),
    messaging("too-long", {"body": "x" * 5001}, errors_at="body"),
    messaging("int", {"body": 5}, errors_at="body"),
    messaging("list", {"body": ["hi"]}, errors_at="body"),
    messaging("ne", {"body": {"$ne": None}}, errors_at="body"),
    messaging("unknown-field", {"body": "hi", "actor": {"role": "care"}}, errors_at="actor"),
    messaging("where-key", {"body": "hi", "$where": "1"}, errors_at="$where"),
    messaging("array", ["hi"]),
    messaging("string", "hi"),
    messaging("null", None),
    messaging("lone-surrogate", raw='{"body": "' + SURROGATE + '"}', status=400),
    messaging("malformed", raw='{"body": "hi"', status=400),
    messaging("deeply-nested", raw=DEEP, status=400),
    messaging("over-1-MiB", raw=json.dumps({"body": "x" * MiB}), status=413),
    messaging("text-plain", raw='{"body": "hi"}', content_type="text/plain", status=415),
    messaging("if-match-word", {"body": "hi"}, headers={"If-Match": "v1"}, errors_at="If-Match"),
    messaging("if-match-stale", {"body": "hi"}, headers={"If-Match": '"7"'}, status=412),
    messaging(
        "idempotency-key-too-long",
        {"body": "hi"},
        headers={"Idempotency-Key": "k" * 300},
        errors_at="Idempotency-Key",
    ),
]


@pytest.mark.parametrize("case", [*PROPOSE_CASES, *MESSAGE_CASES])
def test_hostile_request_is_a_clear_4xx_and_changes_nothing(client, cid, case: Case):
    before = stored()
    response = send_case(client, case, cid)
    assert_clear_problem(response, case.status, case.errors_at)
    assert_unchanged(before)


def test_a_409_from_the_lifecycle_names_the_allowed_actions(client, cid):
    """The problem for a wrong-state action says what the caller may do instead."""
    before = stored()
    response = client.post(f"/v1/complaints/{cid}/actions/confirm_return", json={}, headers=SELLER)
    body = assert_clear_problem(response, 409)
    assert body["allowed_actions"] == ["propose", "accept", "appeal"]
    assert_unchanged(before)


def test_evidence_due_far_in_the_future_is_refused(client, cid):
    """A care agent's `due_at` that overflows in UTC is a 422, not a 500."""
    for who, action, body in (
        (SELLER, "propose", counter(REFUND)),
        (BUYER, "escalate", {"reason": "Kami tidak sepakat."}),
        (CARE, "assign", {}),
    ):
        response = client.post(f"/v1/complaints/{cid}/actions/{action}", json=body, headers=who)
        assert response.status_code == 200, response.get_data(as_text=True)
    before = stored()
    response = client.post(
        f"/v1/complaints/{cid}/actions/request_evidence",
        json={"party": "buyer", "what": "Video unboxing.", "due_at": "9999-12-31T23:59:59-14:00"},
        headers=CARE,
    )
    assert_clear_problem(response, 422)
    assert_unchanged(before)
