"""Hostile and malformed requests as data: each `Case` is one request (method, path, body or raw
bytes, headers) and the 4xx it must get. tests/api/hostile_input/ sends them against a
database that already holds a complaint and checks that each is a clear problem and changes
nothing stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest

from tests.support.bodies import complaint_body, order
from tests.support.http import PROBLEM
from tests.support.orders import registration
from tests.support.parties import BUYER, MARKETPLACE, SELLER

MiB = 1024 * 1024


# --- what a clear refusal looks like --------------------------------------------------------------


def assert_clear_problem(response, status: int, errors_at: str | None = None) -> dict:
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


# --- the cases ------------------------------------------------------------------------------------

NO_BODY = object()


@dataclass(frozen=True)
class Case:
    """One request: `path` may name `{cid}` (the stored complaint) or `{CID}` (it upper-cased)."""

    method: str
    path: str
    status: int
    body: object = NO_BODY  # sent as JSON text unless `raw` is given
    raw: bytes | str | None = None
    content_type: str | None = "application/json"
    headers: dict = field(default_factory=dict)
    errors_at: str | None = None


def case_param(case: Case, id: str, bug: str | None):
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(case, id=id, marks=marks)


def opening(id, body=NO_BODY, status=422, *, bug=None, who=BUYER, headers=None, **kw):
    """POST /v1/complaints by the buyer."""
    case = Case("POST", "/v1/complaints", status, body, headers={**who, **(headers or {})}, **kw)
    return case_param(case, f"open-{id}", bug)


def proposing(id, body=NO_BODY, status=422, *, bug=None, headers=None, **kw):
    """POST …/actions/propose by the shop's seller (whose turn it is)."""
    path = "/v1/complaints/{cid}/actions/propose"
    case = Case("POST", path, status, body, headers={**SELLER, **(headers or {})}, **kw)
    return case_param(case, f"propose-{id}", bug)


def messaging(id, body=NO_BODY, status=422, *, bug=None, headers=None, **kw):
    """POST …/messages by the buyer."""
    path = "/v1/complaints/{cid}/messages"
    case = Case("POST", path, status, body, headers={**BUYER, **(headers or {})}, **kw)
    return case_param(case, f"message-{id}", bug)


def listing(id, query, status=422, *, path="/v1/complaints", **kw):
    """GET a list with a query string, by the buyer."""
    return case_param(Case("GET", f"{path}?{query}", status, headers=dict(BUYER), **kw), id, None)


def requesting(id, method, path, status, body=NO_BODY, who=BUYER, *, bug=None):
    return case_param(Case(method, path, status, body, headers=dict(who)), id, bug)


def opening_body(order_id: str = "INV-2002", **overrides) -> dict:
    """A valid opening request on a registered order (the shared database holds INV-2002 for
    the buyer), naming it by reference."""
    body = complaint_body(order_id, **overrides)
    return {**body, "order": {"channel": "tokopedia", "id": order_id}}


def asking(solution: object) -> dict:
    return opening_body("INV-2002", requested_solution=solution)


# Where an order's fields go when the marketplace registers it (the rest are top-level).
_IN_PATH = ("id", "channel")
_NESTED = {"paid_at": "payment", "delivered_at": "shipment"}


def registering(name, status=422, *, bug=None, **order_changes):
    """PUT /v1/orders/tokopedia/INV-3001 by the marketplace, the order changed as given (an
    id or channel is the path's: a path that names no order is a 404)."""
    path_parts = {"channel": "tokopedia", "id": "INV-3001"}
    body = registration(order("INV-3001"), "buyer-1")
    for name, value in order_changes.items():
        if name in _IN_PATH:
            path_parts[name] = value
            status = 404
        elif name in _NESTED:
            body[_NESTED[name]] = {**(body.get(_NESTED[name]) or {}), name: value}
        else:
            body[name] = value
    path = f"/v1/orders/{quote(str(path_parts['channel']))}/{quote(str(path_parts['id']))}"
    case = Case("PUT", path, status, body, headers=dict(MARKETPLACE))
    return case_param(case, f"register-{name}", bug)


def counter(solution: object, **more) -> dict:
    return {"solution": solution, **more}


REFUND = {"kind": "refund", "amount": 30000}
DEEP = "[" * 100_000 + "]" * 100_000  # 200 kB of nesting: far below the 1 MiB limit
TOO_LARGE = json.dumps({"description": "x" * MiB})


def send_case(client, case: Case, cid: str):
    path = case.path.replace("{cid}", cid).replace("{CID}", cid.upper())
    kwargs: dict = {"headers": case.headers}
    if case.raw is not None:
        kwargs["data"] = case.raw
    elif case.body is not NO_BODY:
        kwargs["data"] = json.dumps(case.body)
    if "data" in kwargs and case.content_type is not None:
        kwargs["content_type"] = case.content_type
    return client.open(path, method=case.method, **kwargs)
