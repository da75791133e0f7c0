"""Hostile and malformed requests: each one a clear 4xx problem, and none changes stored data.

Every case sends one request against a database that already holds a complaint (opened with an
Idempotency-Key, so all three collections have documents: see `shared`), then checks the
status, that the answer is `application/problem+json` with `type`, `title`, `status` and
`detail` (and `errors` for a 422), and that a snapshot of every collection is the same before
and after.

Cases marked `xfail(strict=True)` are real bugs found by this file: see each `reason`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from resolution.api import create_app
from resolution.config import Config
from resolution.service import Context
from resolution.store import database
from resolution.store.documents import ComplaintDocument
from tests.support.bodies import complaint_body, order
from tests.support.clock import Clock
from tests.support.parties import BUYER, CARE, SECRET, SELLER
from tests.support.snapshots import assert_unchanged, restore, stored

PROBLEM = "application/problem+json"
MiB = 1024 * 1024
ABSENT_ID = "65f0000000000000000000ff"  # well-formed, but no such complaint


# --- what is stored, and what an error looks like -------------------------------------------


def assert_problem(response, status: int, errors_at: str | None = None) -> dict:
    """`response` is an RFC 9457 problem with this status (and, for a 422, its `errors`)."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:600]
    assert response.mimetype == PROBLEM, response.headers.get("Content-Type")
    body = json.loads(text)
    assert isinstance(body, dict)
    assert body["status"] == status
    for name in ("type", "title", "detail"):
        assert isinstance(body.get(name), str) and body[name], (name, body)
    assert "Traceback" not in text
    if status == 422:
        assert isinstance(body.get("errors"), dict) and body["errors"], body
        if errors_at is not None:
            assert errors_at in body["errors"], body["errors"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers
    if status == 405:
        assert response.headers.get("Allow"), response.headers
    return body


# --- the cases ------------------------------------------------------------------------------

_NO_BODY = object()


@dataclass(frozen=True)
class Case:
    """One request: `path` may name `{cid}` (the stored complaint) or `{CID}` (it upper-cased)."""

    method: str
    path: str
    status: int
    body: object = _NO_BODY  # sent as JSON text unless `raw` is given
    raw: bytes | str | None = None
    content_type: str | None = "application/json"
    headers: dict = field(default_factory=dict)
    errors_at: str | None = None


def _param(case: Case, id: str, bug: str | None):
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(case, id=id, marks=marks)


def opening(id, body=_NO_BODY, status=422, *, bug=None, who=BUYER, headers=None, **kw):
    """POST /v1/complaints by the buyer."""
    case = Case("POST", "/v1/complaints", status, body, headers={**who, **(headers or {})}, **kw)
    return _param(case, f"open-{id}", bug)


def proposing(id, body=_NO_BODY, status=422, *, bug=None, headers=None, **kw):
    """POST …/actions/propose by the shop's seller (whose turn it is)."""
    path = "/v1/complaints/{cid}/actions/propose"
    case = Case("POST", path, status, body, headers={**SELLER, **(headers or {})}, **kw)
    return _param(case, f"propose-{id}", bug)


def messaging(id, body=_NO_BODY, status=422, *, bug=None, headers=None, **kw):
    """POST …/messages by the buyer."""
    path = "/v1/complaints/{cid}/messages"
    case = Case("POST", path, status, body, headers={**BUYER, **(headers or {})}, **kw)
    return _param(case, f"message-{id}", bug)


def listing(id, query, status=422, *, path="/v1/complaints", **kw):
    """GET a list with a query string, by the buyer."""
    return _param(Case("GET", f"{path}?{query}", status, headers=dict(BUYER), **kw), id, None)


def requesting(id, method, path, status, body=_NO_BODY, who=BUYER, *, bug=None):
    return _param(Case(method, path, status, body, headers=dict(who)), id, bug)


def opened_with(**order_changes) -> dict:
    """A valid opening request on another order (INV-2002), its order changed as given."""
    return complaint_body("INV-2002", order=order("INV-2002", **order_changes))


def asking(solution: object) -> dict:
    return complaint_body("INV-2002", requested_solution=solution)


def counter(solution: object, **more) -> dict:
    return {"solution": solution, **more}


REFUND = {"kind": "refund", "amount": 30000}
DEEP = "[" * 100_000 + "]" * 100_000  # 200 kB of nesting: far below the 1 MiB limit
HUGE_INT = '{"solution": {"kind": "refund", "amount": ' + "9" * 5000 + "}}"
TOO_LARGE = json.dumps({"description": "x" * MiB})
SURROGATE = "Kaosnya robek \\ud800 di jahitan."  # a lone surrogate, as JSON text


OPEN_CASES = [
    # unknown fields and MongoDB operators smuggled in as keys or values
    opening(
        "unknown-field", {**complaint_body("INV-2002"), "buyer_id": "buyer-2"}, errors_at="buyer_id"
    ),
    opening(
        "where-key", {**complaint_body("INV-2002"), "$where": "sleep(1000)"}, errors_at="$where"
    ),
    opening(
        "set-key", {**complaint_body("INV-2002"), "$set": {"state": "closed"}}, errors_at="$set"
    ),
    opening("order-id-ne", opened_with(id={"$ne": None}), errors_at="order"),
    opening("order-shop-regex", opened_with(shop_id={"$regex": ".*"}), errors_at="order"),
    opening(
        "order-where-key",
        {**complaint_body("INV-2002"), "order": {**order("INV-2002"), "$where": "1"}},
    ),
    opening(
        "item-where-key",
        opened_with(items=[{"sku": "A", "name": "a", "qty": 1, "price": 1, "$where": "1"}]),
    ),
    opening(
        "reason-ne", {**complaint_body("INV-2002"), "reason": {"$ne": None}}, errors_at="reason"
    ),
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
    opening(
        "reason-list", {**complaint_body("INV-2002"), "reason": ["damaged"]}, errors_at="reason"
    ),
    opening(
        "description-int", {**complaint_body("INV-2002"), "description": 7}, errors_at="description"
    ),
    opening("order-string", {**complaint_body("INV-2002"), "order": "INV-2002"}, errors_at="order"),
    opening("items-object", opened_with(items={"sku": "A"}), errors_at="order"),
    opening("qty-string", opened_with(items=[{"sku": "A", "name": "a", "qty": "2", "price": 1}])),
    opening("total-string", opened_with(total="105000"), errors_at="order"),
    opening("total-float", opened_with(total=105000.0), errors_at="order"),
    opening("price-float", opened_with(items=[{"sku": "A", "name": "a", "qty": 1, "price": 9.5}])),
    opening("paid-at-int", opened_with(paid_at=1717200000), errors_at="order"),
    opening("paid-at-naive", opened_with(paid_at="2025-06-01T08:00:00"), errors_at="order"),
    opening("paid-at-garbage", opened_with(paid_at="yesterday"), errors_at="order"),
    # money: whole rupiah, more than zero, at most the order total; never a float or a string
    opening("amount-zero", asking({"kind": "refund", "amount": 0})),
    opening("amount-negative", asking({"kind": "refund", "amount": -45000})),
    opening("amount-over-total", asking({"kind": "refund", "amount": 105001})),
    opening("amount-over-max", asking({"kind": "refund", "amount": 10**13 + 1})),
    opening("amount-over-int64", asking({"kind": "refund", "amount": 2**64})),
    opening("amount-float", asking({"kind": "refund", "amount": 45000.0})),
    opening("amount-fraction", asking({"kind": "refund", "amount": 45000.5})),
    opening("amount-string", asking({"kind": "refund", "amount": "45000"})),
    opening("amount-bool", asking({"kind": "refund", "amount": True})),
    opening("amount-null", asking({"kind": "refund", "amount": None})),
    opening("amount-missing", asking({"kind": "refund"})),
    opening("total-zero", opened_with(total=0), errors_at="order"),
    opening("total-negative", opened_with(total=-1), errors_at="order"),
    opening(
        "price-negative", opened_with(items=[{"sku": "A", "name": "a", "qty": 1, "price": -1}])
    ),
    opening("qty-zero", opened_with(items=[{"sku": "A", "name": "a", "qty": 0, "price": 1}])),
    opening("kind-unknown", asking({"kind": "cash", "amount": 1})),
    opening("kind-care-only", asking({"kind": "release_to_seller"})),
    opening("refund-with-items", asking({**REFUND, "items": [{"sku": "TOPI", "qty": 1}]})),
    opening(
        "exchange-unknown-sku", asking({"kind": "exchange", "items": [{"sku": "NOPE", "qty": 1}]})
    ),
    opening(
        "exchange-too-many", asking({"kind": "exchange", "items": [{"sku": "TOPI", "qty": 2}]})
    ),
    opening(
        "duplicate-sku", opened_with(items=[{"sku": "A", "name": "a", "qty": 1, "price": 1}] * 2)
    ),
    # strings: bounded, and ids are ids
    opening("description-too-long", {**complaint_body("INV-2002"), "description": "x" * 5001}),
    opening("description-empty", {**complaint_body("INV-2002"), "description": ""}),
    opening(
        "item-name-too-long",
        opened_with(items=[{"sku": "A", "name": "n" * 201, "qty": 1, "price": 1}]),
    ),
    opening("order-id-too-long", opened_with(id="I" * 65), errors_at="order"),
    opening("order-id-space", opened_with(id="INV 2002"), errors_at="order"),
    opening("order-id-path", opened_with(id="../../etc"), errors_at="order"),
    opening("order-id-empty", opened_with(id=""), errors_at="order"),
    opening("channel-upper", opened_with(channel="Tokopedia"), errors_at="order"),
    opening(
        "order-id-newline",
        complaint_body("INV-1001\n", order=order("INV-1001\n")),
    ),
    opening("shop-id-newline", opened_with(shop_id="shop-1\n")),
    opening("channel-newline", opened_with(channel="tokopedia\n")),
    opening(
        "sku-newline",
        opened_with(items=[{"sku": "A\n", "name": "a", "qty": 1, "price": 1}]),
    ),
    # times out of range once in UTC
    opening("paid-at-year-1", opened_with(paid_at="0001-01-01T00:00:00+14:00")),
    opening("paid-at-year-9999", opened_with(paid_at="9999-12-31T23:59:59-14:00")),
    opening(
        "delivered-at-year-1",
        opened_with(delivered_at="0001-01-01T00:00:00+01:00"),
    ),
    opening(
        "lone-surrogate",
        raw=json.dumps(complaint_body("INV-2002")).replace("Kaosnya robek", "\\ud800"),
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
        raw=json.dumps(complaint_body("INV-2002")),
        content_type="text/plain",
        status=415,
    ),
    opening(
        "form", raw="reason=damaged", content_type="application/x-www-form-urlencoded", status=415
    ),
    opening("xml", raw="<complaint/>", content_type="application/xml", status=415),
    opening(
        "no-content-type", raw=json.dumps(complaint_body("INV-2002")), content_type=None, status=415
    ),
    opening(
        "idempotency-key-too-long",
        complaint_body("INV-2002"),
        headers={"Idempotency-Key": "k" * 256},
        errors_at="Idempotency-Key",
    ),
    opening(
        "idempotency-key-empty",
        complaint_body("INV-2002"),
        headers={"Idempotency-Key": ""},
        errors_at="Idempotency-Key",
    ),
    opening(
        "idempotency-key-control",
        complaint_body("INV-2002"),
        headers={"Idempotency-Key": "a\tb"},
        errors_at="Idempotency-Key",
    ),
    opening(
        "idempotency-key-reused",
        complaint_body("INV-2002"),
        headers={"Idempotency-Key": "open-1"},
        errors_at="Idempotency-Key",
    ),
    opening("by-seller", complaint_body("INV-2002"), status=403, who=SELLER),
    opening("by-care", complaint_body("INV-2002"), status=403, who=CARE),
    opening("second-on-order", complaint_body(), status=409),
]

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
    proposing("amount-float", counter({"kind": "refund", "amount": 30000.0})),
    proposing("amount-fraction", counter({"kind": "refund", "amount": 0.5})),
    proposing("amount-string", counter({"kind": "refund", "amount": "30000"})),
    proposing("amount-bool", counter({"kind": "refund", "amount": True})),
    proposing("amount-nan", raw='{"solution": {"kind": "refund", "amount": NaN}}'),
    proposing("amount-infinity", raw='{"solution": {"kind": "refund", "amount": Infinity}}'),
    proposing("amount-exponent", raw='{"solution": {"kind": "refund", "amount": 3e4}}'),
    proposing("amount-5000-digits", raw=HUGE_INT, status=400),
    proposing("kind-care-only", counter({"kind": "release_to_seller"})),
    proposing(
        "items-unknown-sku",
        counter({"kind": "send_remaining", "items": [{"sku": "NOPE", "qty": 1}]}),
    ),
    proposing(
        "items-qty-float",
        counter({"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1.0}]}),
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

QUERY_CASES = [
    listing("list-state-ne", "state[$ne]=x", errors_at="state[$ne]"),
    listing("list-state-json-ne", "state=%7B%22%24ne%22%3Anull%7D", errors_at="state"),
    listing("list-state-regex", "state[$regex]=.*", errors_at="state[$regex]"),
    listing("list-state-new", "state=new", errors_at="state"),
    listing("list-state-unknown", "state=deleted", errors_at="state"),
    listing("list-buyer-id", "buyer_id=buyer-2", errors_at="buyer_id"),
    listing("list-shop-id", "shop_id=shop-9", errors_at="shop_id"),
    listing("list-where", "$where=1", errors_at="$where"),
    listing("list-limit-zero", "limit=0", errors_at="limit"),
    listing("list-limit-negative", "limit=-1", errors_at="limit"),
    listing("list-limit-too-large", "limit=101", errors_at="limit"),
    listing("list-limit-huge", "limit=" + "9" * 40, errors_at="limit"),
    listing("list-limit-word", "limit=all", errors_at="limit"),
    listing("list-limit-float", "limit=1.5", errors_at="limit"),
    listing("list-limit-empty", "limit=", errors_at="limit"),
    listing("list-limit-gt", "limit[$gt]=0", errors_at="limit[$gt]"),
    listing("list-cursor-word", "cursor=next", errors_at="cursor"),
    listing("list-cursor-ne", "cursor[$ne]=x", errors_at="cursor[$ne]"),
    listing("list-cursor-json", "cursor=%7B%22%24gt%22%3A%22%22%7D", errors_at="cursor"),
    listing(
        "events-cursor-negative",
        "cursor=-1",
        path="/v1/complaints/{cid}/events",
        errors_at="cursor",
    ),
    listing(
        "events-cursor-word", "cursor=abc", path="/v1/complaints/{cid}/events", errors_at="cursor"
    ),
    listing(
        "events-cursor-ten-digits",
        "cursor=1234567890",
        path="/v1/complaints/{cid}/events",
        errors_at="cursor",
    ),
    listing(
        "events-cursor-gt",
        "cursor[$gt]=0",
        path="/v1/complaints/{cid}/events",
        errors_at="cursor[$gt]",
    ),
    listing(
        "events-limit-too-large",
        "limit=1000",
        path="/v1/complaints/{cid}/events",
        errors_at="limit",
    ),
    listing("events-type", "type=open", path="/v1/complaints/{cid}/events", errors_at="type"),
]

NOT_IDS = {
    "word": "not-an-id",
    "short": "65f00000000000000000000",
    "long": "65f0000000000000000000001",
    "upper": "{CID}",
    "non-hex": "65f00000000000000000000g",
    "json-ne": "%7B%22%24ne%22%3Anull%7D",
    "dollar-ne": "%24ne",
    "null": "null",
    "zero": "0",
    "huge": "9" * 2000,
    "encoded-slash": "..%2F..",
    "absent": ABSENT_ID,
}
PATH_CASES = [
    *(requesting(f"get-{n}", "GET", f"/v1/complaints/{x}", 404) for n, x in NOT_IDS.items()),
    *(
        requesting(f"events-{n}", "GET", f"/v1/complaints/{x}/events", 404)
        for n, x in NOT_IDS.items()
    ),
    *(
        requesting(f"message-{n}", "POST", f"/v1/complaints/{x}/messages", 404, {"body": "hi"})
        for n, x in NOT_IDS.items()
    ),
    *(
        requesting(
            f"propose-{n}",
            "POST",
            f"/v1/complaints/{x}/actions/propose",
            404,
            counter(REFUND),
            SELLER,
        )
        for n, x in NOT_IDS.items()
    ),
    requesting("get-trailing-newline", "GET", "/v1/complaints/{cid}%0A", 404),
    requesting(
        "message-trailing-newline", "POST", "/v1/complaints/{cid}%0A/messages", 404, {"body": "hi"}
    ),
    # actions that are not a person's, or not actions at all
    requesting(
        "action-auto-escalate", "POST", "/v1/complaints/{cid}/actions/auto_escalate", 404, {}
    ),
    requesting(
        "action-auto-close", "POST", "/v1/complaints/{cid}/actions/auto_close", 404, {}, CARE
    ),
    requesting("action-open", "POST", "/v1/complaints/{cid}/actions/open", 404, {}),
    requesting("action-unknown", "POST", "/v1/complaints/{cid}/actions/refund_now", 404, {}),
    requesting("action-upper", "POST", "/v1/complaints/{cid}/actions/WITHDRAW", 404, {}),
    requesting("action-empty", "POST", "/v1/complaints/{cid}/actions/", 404, {}),
    requesting("action-dollar", "POST", "/v1/complaints/{cid}/actions/$set", 404, {}),
    # wrong methods
    requesting("delete-complaint", "DELETE", "/v1/complaints/{cid}", 405),
    requesting("put-complaint", "PUT", "/v1/complaints/{cid}", 405, complaint_body()),
    requesting("patch-complaint", "PATCH", "/v1/complaints/{cid}", 405, {"state": "closed"}),
    requesting("post-complaint", "POST", "/v1/complaints/{cid}", 405, {"state": "closed"}),
    requesting("delete-list", "DELETE", "/v1/complaints", 405),
    requesting("put-list", "PUT", "/v1/complaints", 405, complaint_body("INV-2002")),
    requesting("get-action", "GET", "/v1/complaints/{cid}/actions/withdraw", 405),
    requesting("put-action", "PUT", "/v1/complaints/{cid}/actions/withdraw", 405, {}),
    requesting("delete-events", "DELETE", "/v1/complaints/{cid}/events", 405),
    requesting("post-events", "POST", "/v1/complaints/{cid}/events", 405, {"type": "message"}),
    requesting("delete-messages", "DELETE", "/v1/complaints/{cid}/messages", 405),
]


# --- the stored complaint, and sending a case -----------------------------------------------
#
# Creating a database per case would cost most of the time budget, and a hostile request must
# not change anything anyway: so the module shares one database, every test compares the whole
# of it before and after, and puts back the baseline when a (buggy) request changed it.


@pytest.fixture(scope="module")
def shared(mongodb_uri: str) -> Iterator[tuple]:
    """One app on one fresh database holding a complaint of buyer-1 at shop-1, and its id.

    The complaint awaits the seller; it was opened with an Idempotency-Key and carries a
    message, so the complaints, events and idempotency collections all hold documents.
    """
    name = f"test_{os.getpid()}_hostile_input"
    config = Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=name)
    clock = Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))
    app = create_app(config, context=Context(clock=clock, deadlines=config.deadlines))
    client = app.test_client()
    opened = client.post(
        "/v1/complaints", json=complaint_body(), headers={**BUYER, "Idempotency-Key": "open-1"}
    )
    assert opened.status_code == 201, opened.get_data(as_text=True)
    complaint_id = opened.get_json()["id"]
    reply = client.post(
        f"/v1/complaints/{complaint_id}/messages", json={"body": "Ada kabar?"}, headers=BUYER
    )
    assert reply.status_code == 201, reply.get_data(as_text=True)
    yield client, complaint_id, stored()
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


@pytest.fixture
def client(shared):
    """The shared app's test client; the database is back at its baseline after each test."""
    test_client, _, baseline = shared
    yield test_client
    if stored() != baseline:
        restore(baseline)


@pytest.fixture
def cid(shared) -> str:
    return shared[1]


def send(client, case: Case, cid: str):
    path = case.path.replace("{cid}", cid).replace("{CID}", cid.upper())
    kwargs: dict = {"headers": case.headers}
    if case.raw is not None:
        kwargs["data"] = case.raw
    elif case.body is not _NO_BODY:
        kwargs["data"] = json.dumps(case.body)
    if "data" in kwargs and case.content_type is not None:
        kwargs["content_type"] = case.content_type
    return client.open(path, method=case.method, **kwargs)


@pytest.mark.parametrize(
    "case", [*OPEN_CASES, *PROPOSE_CASES, *MESSAGE_CASES, *QUERY_CASES, *PATH_CASES]
)
def test_hostile_request_is_a_clear_4xx_and_changes_nothing(client, cid, case: Case):
    before = stored()
    response = send(client, case, cid)
    assert_problem(response, case.status, case.errors_at)
    assert_unchanged(before)


def test_a_409_from_the_lifecycle_names_the_allowed_actions(client, cid):
    """The problem for a wrong-state action says what the caller may do instead."""
    before = stored()
    response = client.post(f"/v1/complaints/{cid}/actions/confirm_return", json={}, headers=SELLER)
    body = assert_problem(response, 409)
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
    assert_problem(response, 422)
    assert_unchanged(before)


# --- tokens ---------------------------------------------------------------------------------

_IN_AN_HOUR = datetime.now(UTC) + timedelta(hours=1)
_AGO = datetime.now(UTC) - timedelta(minutes=5)
_BUYER_CLAIMS = {"sub": "buyer-1", "role": "buyer", "exp": _IN_AN_HOUR}
_SELLER_CLAIMS = {"sub": "seller-1", "role": "seller", "shop_id": "shop-1", "exp": _IN_AN_HOUR}
OTHER_SECRET = "another-secret-of-at-least-32-bytes-long"


def _signed(claims: dict, key: str | None = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _without(claims: dict, name: str) -> dict:
    return {k: v for k, v in claims.items() if k != name}


TOKENS = {
    "none": None,
    "empty-header": "",
    "bearer-only": "Bearer",
    "bearer-blank": "Bearer    ",
    "garbage": "Bearer garbage",
    "three-garbage-parts": "Bearer a.b.c",
    "basic-scheme": "Basic YnV5ZXItMTpzZWNyZXQ=",
    "token-scheme": f"Token {_signed(_BUYER_CLAIMS)}",
    "no-scheme": _signed(_BUYER_CLAIMS),
    "expired": f"Bearer {_signed({**_BUYER_CLAIMS, 'exp': _AGO})}",
    "other-secret": f"Bearer {_signed(_BUYER_CLAIMS, OTHER_SECRET)}",
    "alg-none": f"Bearer {_signed(_BUYER_CLAIMS, None, 'none')}",
    "alg-hs512": f"Bearer {_signed(_BUYER_CLAIMS, SECRET * 2, 'HS512')}",
    "tampered-role": "Bearer "
    + ".".join(
        (
            _signed(_BUYER_CLAIMS).split(".")[0],
            _signed({**_BUYER_CLAIMS, "role": "care"}).split(".")[1],
            _signed(_BUYER_CLAIMS).split(".")[2],
        )
    ),
    "missing-exp": f"Bearer {_signed(_without(_BUYER_CLAIMS, 'exp'))}",
    "missing-sub": f"Bearer {_signed(_without(_BUYER_CLAIMS, 'sub'))}",
    "empty-sub": f"Bearer {_signed({**_BUYER_CLAIMS, 'sub': ''})}",
    "long-sub": f"Bearer {_signed({**_BUYER_CLAIMS, 'sub': 'b' * 129})}",
    "int-sub": f"Bearer {_signed({**_BUYER_CLAIMS, 'sub': 7})}",
    "missing-role": f"Bearer {_signed(_without(_BUYER_CLAIMS, 'role'))}",
    "unknown-role": f"Bearer {_signed({**_BUYER_CLAIMS, 'role': 'admin'})}",
    "system-role": f"Bearer {_signed({**_BUYER_CLAIMS, 'role': 'system'})}",
    "upper-role": f"Bearer {_signed({**_BUYER_CLAIMS, 'role': 'BUYER'})}",
    "list-role": f"Bearer {_signed({**_BUYER_CLAIMS, 'role': ['care']})}",
    "seller-without-shop": f"Bearer {_signed(_without(_SELLER_CLAIMS, 'shop_id'))}",
    "seller-empty-shop": f"Bearer {_signed({**_SELLER_CLAIMS, 'shop_id': ''})}",
    "seller-shop-object": f"Bearer {_signed({**_SELLER_CLAIMS, 'shop_id': {'$ne': None}})}",
}

TOKEN_ENDPOINTS = {
    "open": ("POST", "/v1/complaints", complaint_body("INV-2002")),
    "propose": ("POST", "/v1/complaints/{cid}/actions/propose", counter(REFUND)),
}
OTHER_ENDPOINTS = {
    "list": ("GET", "/v1/complaints", _NO_BODY),
    "get": ("GET", "/v1/complaints/{cid}", _NO_BODY),
    "events": ("GET", "/v1/complaints/{cid}/events", _NO_BODY),
    "message": ("POST", "/v1/complaints/{cid}/messages", {"body": "hi"}),
    "withdraw": ("POST", "/v1/complaints/{cid}/actions/withdraw", {}),
}
TOKEN_CASES = [
    *(
        pytest.param(endpoint, header, id=f"{endpoint}-{name}")
        for endpoint in TOKEN_ENDPOINTS
        for name, header in TOKENS.items()
    ),
    *(
        pytest.param(endpoint, TOKENS[name], id=f"{endpoint}-{name}")
        for endpoint in OTHER_ENDPOINTS
        for name in ("none", "expired", "other-secret", "alg-none", "seller-without-shop")
    ),
]


@pytest.mark.parametrize(("endpoint", "header"), TOKEN_CASES)
def test_missing_or_bad_token_is_401_and_changes_nothing(client, cid, endpoint, header):
    method, path, body = {**TOKEN_ENDPOINTS, **OTHER_ENDPOINTS}[endpoint]
    headers = {} if header is None else {"Authorization": header}
    case = Case(method, path, 401, body, headers=headers)
    before = stored()
    assert_problem(send(client, case, cid), 401)
    assert_unchanged(before)


def test_the_same_requests_with_a_good_token_succeed(client, cid):
    """The token cases fail for their token alone: with a valid one, each request works."""
    good = {"Authorization": f"Bearer {_signed(_BUYER_CLAIMS)}"}
    seller = {"Authorization": f"Bearer {_signed(_SELLER_CLAIMS)}"}
    assert client.get("/v1/complaints", headers=good).status_code == 200
    assert client.get(f"/v1/complaints/{cid}", headers=good).status_code == 200
    assert client.get(f"/v1/complaints/{cid}/events", headers=good).status_code == 200
    assert (
        client.post("/v1/complaints", json=complaint_body("INV-2002"), headers=good).status_code
        == 201
    )
    response = client.post(
        f"/v1/complaints/{cid}/actions/propose", json=counter(REFUND), headers=seller
    )
    assert response.status_code == 200, response.get_data(as_text=True)
