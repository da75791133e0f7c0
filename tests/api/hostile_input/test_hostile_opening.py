"""Hostile openings (POST /v1/complaints): smuggled operators and unknown fields, wrong types,
money and strings out of bounds, times out of range, bodies that are not JSON or too much of
it, bad keys, the wrong callers. Each is a clear 4xx and changes nothing stored (the shared
database and the checks: conftest.py).
"""

from __future__ import annotations

import json

import pytest

from tests.support.bodies import complaint_body, order
from tests.support.hostile import (
    DEEP,
    REFUND,
    TOO_LARGE,
    Case,
    asking,
    assert_clear_problem,
    opening,
    opening_body,
    registering,
    send_case,
)
from tests.support.parties import CARE, SELLER
from tests.support.snapshots import assert_unchanged, stored

OPEN_CASES = [
    # unknown fields and MongoDB operators smuggled in as keys or values
    opening(
        "unknown-field", {**opening_body("INV-2002"), "buyer_id": "buyer-2"}, errors_at="buyer_id"
    ),
    opening("where-key", {**opening_body("INV-2002"), "$where": "sleep(1000)"}, errors_at="$where"),
    opening("set-key", {**opening_body("INV-2002"), "$set": {"state": "closed"}}, errors_at="$set"),
    registering("order-id-ne", id={"$ne": None}),
    registering("order-shop-regex", shop_id={"$regex": ".*"}),
    opening(
        "order-where-key",
        {**opening_body("INV-2002"), "order": {**order("INV-2002"), "$where": "1"}},
    ),
    registering(
        "item-where-key", items=[{"sku": "A", "name": "a", "qty": 1, "price": 1, "$where": "1"}]
    ),
    opening("reason-ne", {**opening_body("INV-2002"), "reason": {"$ne": None}}, errors_at="reason"),
    opening(
        "amount-gt",
        asking({"kind": "refund", "amount": {"$gt": 0}}),
        errors_at="requested_solution",
    ),
    opening(
        "kind-in",
        asking({"kind": {"$in": ["refund"]}, "amount": 1}),
        errors_at="requested_solution",
    ),
    # wrong types
    opening("reason-list", {**opening_body("INV-2002"), "reason": ["damaged"]}, errors_at="reason"),
    opening(
        "description-int", {**opening_body("INV-2002"), "description": 7}, errors_at="description"
    ),
    opening("order-string", {**opening_body("INV-2002"), "order": "INV-2002"}, errors_at="order"),
    registering("items-object", items={"sku": "A"}),
    registering("qty-string", items=[{"sku": "A", "name": "a", "qty": "2", "price": 1}]),
    registering("total-string", total="105000"),
    registering("total-float", total=105000.5),
    registering("price-float", items=[{"sku": "A", "name": "a", "qty": 1, "price": 9.5}]),
    registering("paid-at-int", paid_at=1717200000),
    registering("paid-at-naive", paid_at="2025-06-01T08:00:00"),
    registering("paid-at-garbage", paid_at="yesterday"),
    # money: whole rupiah, more than zero, at most the order total; never a fraction or a string
    # (45000.0 is the integer 45000: tests/api/test_integral_numbers.py)
    opening("amount-zero", asking({"kind": "refund", "amount": 0})),
    opening("amount-negative", asking({"kind": "refund", "amount": -45000})),
    opening("amount-over-total", asking({"kind": "refund", "amount": 105001})),
    opening("amount-over-max", asking({"kind": "refund", "amount": 10**13 + 1})),
    opening("amount-over-int64", asking({"kind": "refund", "amount": 2**64})),
    opening("amount-float", asking({"kind": "refund", "amount": 45000.5})),
    opening("amount-fraction", asking({"kind": "refund", "amount": 45000.5})),
    opening("amount-string", asking({"kind": "refund", "amount": "45000"})),
    opening("amount-bool", asking({"kind": "refund", "amount": True})),
    opening("amount-null", asking({"kind": "refund", "amount": None})),
    opening("amount-missing", asking({"kind": "refund"})),
    registering("total-zero", total=0),
    registering("total-negative", total=-1),
    registering("price-negative", items=[{"sku": "A", "name": "a", "qty": 1, "price": -1}]),
    registering("qty-zero", items=[{"sku": "A", "name": "a", "qty": 0, "price": 1}]),
    opening("kind-unknown", asking({"kind": "cash", "amount": 1})),
    opening("kind-care-only", asking({"kind": "release_to_seller"})),
    opening("refund-with-items", asking({**REFUND, "items": [{"sku": "TOPI", "qty": 1}]})),
    opening(
        "exchange-unknown-sku", asking({"kind": "exchange", "items": [{"sku": "NOPE", "qty": 1}]})
    ),
    opening(
        "exchange-too-many", asking({"kind": "exchange", "items": [{"sku": "TOPI", "qty": 2}]})
    ),
    registering("duplicate-sku", items=[{"sku": "A", "name": "a", "qty": 1, "price": 1}] * 2),
    # strings: bounded, and ids are ids
    opening("description-too-long", {**opening_body("INV-2002"), "description": "x" * 5001}),
    opening("description-empty", {**opening_body("INV-2002"), "description": ""}),
    registering(
        "item-name-too-long", items=[{"sku": "A", "name": "n" * 201, "qty": 1, "price": 1}]
    ),
    registering("order-id-too-long", id="I" * 65),
    registering("order-id-space", id="INV 2002"),
    registering("order-id-path", id="../../etc"),
    registering("order-id-empty", id=""),
    registering("channel-upper", channel="Tokopedia"),
    opening(
        "order-id-newline",
        complaint_body("INV-1001\n", order=order("INV-1001\n")),
    ),
    registering("shop-id-newline", shop_id="shop-1\n"),
    registering("channel-newline", channel="tokopedia\n"),
    registering("sku-newline", items=[{"sku": "A\n", "name": "a", "qty": 1, "price": 1}]),
    # times out of range once in UTC
    registering("paid-at-year-1", paid_at="0001-01-01T00:00:00+14:00"),
    registering("paid-at-year-9999", paid_at="9999-12-31T23:59:59-14:00"),
    registering("delivered-at-year-1", delivered_at="0001-01-01T00:00:00+01:00"),
    opening(
        "lone-surrogate",
        raw=json.dumps(opening_body("INV-2002")).replace("Kaosnya robek", "\\ud800"),
        status=400,
    ),
    # not an object, not JSON, not JSON at all, too much JSON
    opening("empty-body", raw=b""),
    opening("array", []),
    opening("string", "open it"),
    opening("number", 42),
    opening("null", None),
    opening("true", True),
    opening("malformed", raw='{"order": ', status=400),
    opening("single-quotes", raw="{'reason': 'damaged'}", status=400),
    opening("trailing-garbage", raw='{"reason": "damaged"} x', status=400),
    opening("invalid-utf8", raw=b'{"description": "\xff\xfe"}', status=400),
    opening("five-thousand-digits", raw='{"total": ' + "9" * 5000 + "}", status=400),
    opening("deeply-nested", raw=DEEP, status=400),
    opening("over-1-MiB", raw=TOO_LARGE, status=413),
    opening(
        "text-plain",
        raw=json.dumps(opening_body("INV-2002")),
        content_type="text/plain",
        status=415,
    ),
    opening(
        "form", raw="reason=damaged", content_type="application/x-www-form-urlencoded", status=415
    ),
    opening("xml", raw="<complaint/>", content_type="application/xml", status=415),
    opening(
        "no-content-type", raw=json.dumps(opening_body("INV-2002")), content_type=None, status=415
    ),
    opening(
        "idempotency-key-too-long",
        opening_body("INV-2002"),
        headers={"Idempotency-Key": "k" * 256},
        errors_at="Idempotency-Key",
    ),
    opening(
        "idempotency-key-empty",
        opening_body("INV-2002"),
        headers={"Idempotency-Key": ""},
        errors_at="Idempotency-Key",
    ),
    opening(
        "idempotency-key-control",
        opening_body("INV-2002"),
        headers={"Idempotency-Key": "a\tb"},
        errors_at="Idempotency-Key",
    ),
    opening(
        "idempotency-key-reused",
        opening_body("INV-2002"),
        headers={"Idempotency-Key": "open-1"},
        errors_at="Idempotency-Key",
    ),
    opening("by-seller", opening_body("INV-2002"), status=403, who=SELLER),
    opening("by-care", opening_body("INV-2002"), status=403, who=CARE),
    opening("second-on-order", opening_body("INV-1001"), status=409),
]


@pytest.mark.parametrize("case", [*OPEN_CASES])
def test_hostile_request_is_a_clear_4xx_and_changes_nothing(client, cid, case: Case):
    before = stored()
    response = send_case(client, case, cid)
    assert_clear_problem(response, case.status, case.errors_at)
    assert_unchanged(before)
