"""Who may do what to a complaint: every endpoint × every caller, against a written table.

The table below is written from `docs/lifecycle.md` ("Who acts" and "Transitions"), not read
from the code's role table, for one complaint in `awaiting_seller` that the seller has not
answered yet:

- a caller who may not see the complaint gets 404, exactly as for a complaint that does not
  exist (another buyer, a seller of another shop);
- a role that never takes the action gets 403;
- a role that takes the action in some other state gets 409 with `allowed_actions`;
- the rest succeed; a refusal changes nothing, and a success changes only that complaint.

All tests share one database (creating one per case would cost most of the time budget);
after a test that changed it, the baseline is put back, so no case sees another's effects.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from resolution.config import Config
from resolution.domain.lifecycle import PERSON_ACTIONS
from resolution.service import Context
from resolution.store import database
from resolution.store.documents import ComplaintDocument
from resolution.web.app import create_app
from tests.support.bodies import complaint_body, order
from tests.support.clock import Clock
from tests.support.parties import AUDITOR, BUYER, CARE, OTHER_BUYER, OTHER_SELLER, SECRET, SELLER
from tests.support.snapshots import assert_unchanged, restore, stored

PROBLEM = "application/problem+json"
ABSENT_ID = "65f0000000000000000000ff"

CALLERS = {
    "owner": BUYER,  # buyer-1, who opened the complaint
    "other_buyer": OTHER_BUYER,  # buyer-2
    "seller": SELLER,  # seller-1 of shop-1, the complaint's shop
    "other_seller": OTHER_SELLER,  # seller-9 of shop-9
    "care": CARE,
    "auditor": AUDITOR,
}

# fmt: off
# What lifecycle.md says for a complaint in awaiting_seller, before the seller's first answer.
#                      owner  other_buyer  seller  other_seller  care  auditor
EXPECTED = {
    "get":              (200,  404,         200,    404,          200,  200),
    "events":           (200,  404,         200,    404,          200,  200),
    "message":          (201,  404,         201,    404,          201,  403),  # auditor: read-only
    "propose":          (409,  404,         200,    404,          403,  403),  # buyer: later
    "accept":           (409,  404,         200,    404,          403,  403),
    "appeal":           (403,  404,         200,    404,          403,  403),
    "escalate":         (409,  404,         409,    404,          403,  403),  # seller not answered
    "withdraw":         (200,  404,         403,    404,          403,  403),
    "assign":           (403,  404,         403,    404,          409,  403),
    "release":          (403,  404,         403,    404,          409,  403),
    "reassign":         (403,  404,         403,    404,          409,  403),
    "request_evidence": (403,  404,         403,    404,          409,  403),
    "decide":           (403,  404,         403,    404,          409,  403),
    "ship_return":      (409,  404,         403,    404,          403,  403),
    "confirm_return":   (403,  404,         409,    404,          403,  403),
    "ship_items":       (403,  404,         409,    404,          403,  403),
    "confirm_received": (409,  404,         403,    404,          403,  403),
    "request_review":   (409,  404,         409,    404,          403,  403),
    "pause_clock":      (403,  404,         403,    404,          200,  403),
    "resume_clock":     (403,  404,         403,    404,          409,  403),  # it runs
}
# fmt: on

# What each caller who can see it may do now (the complaint's `allowed_actions` for them).
ALLOWED_NOW = {
    "owner": ["withdraw"],
    "seller": ["propose", "accept", "appeal"],
    "care": ["pause_clock"],
    "auditor": [],
}

# Where a success leaves the complaint: (state, outcome).
AFTER = {
    ("seller", "propose"): ("awaiting_buyer", None),
    ("seller", "accept"): ("closed", "agreed"),
    ("seller", "appeal"): ("appealed", None),
    ("owner", "withdraw"): ("closed", "withdrawn"),
    ("care", "pause_clock"): ("awaiting_seller", None),
}

BODIES = {
    "message": {"body": "Ada kabar soal komplain ini?"},
    "propose": {"solution": {"kind": "refund", "amount": 30000}, "note": "Setengah saja."},
    "accept": {},
    "appeal": {"reason": "Paket diterima utuh, lihat foto kurir."},
    "escalate": {"reason": "Kami tidak sepakat."},
    "withdraw": {},
    "assign": {},
    "release": {"reason": "Cuti."},
    "reassign": {"agent_id": "agent-2"},
    "pause_clock": {"reason": "Menunggu investigasi kurir."},
    "resume_clock": {},
    "request_evidence": {"party": "buyer", "what": "Video unboxing."},
    "decide": {
        "solution": {"kind": "refund", "amount": 105000},
        "reason_code": "other",
        "rationale": "Barang rusak.",
    },
    "ship_return": {"courier": "JNE", "tracking_number": "JNE-000123"},
    "confirm_return": {},
    "ship_items": {"courier": "SiCepat", "tracking_number": "SCP-998877"},
    "confirm_received": {},
    "request_review": {"reason": "Agen tidak melihat video saya."},
}

# Four complaints, for two buyers at two shops: key -> (buyer, shop, order id).
COMPLAINTS = {
    "A": (BUYER, "shop-1", "INV-A"),  # the complaint of the matrix
    "B": (BUYER, "shop-9", "INV-B"),
    "C": (OTHER_BUYER, "shop-1", "INV-C"),
    "D": (OTHER_BUYER, "shop-9", "INV-D"),
}
VISIBLE = {
    "owner": {"A", "B"},
    "other_buyer": {"C", "D"},
    "seller": {"A", "C"},
    "other_seller": {"B", "D"},
    "care": {"A", "B", "C", "D"},
    "auditor": {"A", "B", "C", "D"},
}


# --- one database for the module, back at its baseline after every test ---------------------


@pytest.fixture(scope="module")
def shared(mongodb_uri: str) -> Iterator[tuple]:
    """An app on a fresh database holding the four complaints, all awaiting the seller."""
    name = f"test_{os.getpid()}_authorization"
    config = Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=name)
    clock = Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))
    app = create_app(config, context=Context(clock=clock, deadlines=config.deadlines))
    client = app.test_client()
    ids = {}
    for key, (buyer, shop_id, order_id) in COMPLAINTS.items():
        body = complaint_body(order_id, order=order(order_id, shop_id=shop_id))
        response = client.post("/v1/complaints", json=body, headers=buyer)
        assert response.status_code == 201, response.get_data(as_text=True)
        ids[key] = response.get_json()["id"]
    yield client, ids, stored()
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


@pytest.fixture
def client(shared):
    test_client, _, baseline = shared
    assert_unchanged(baseline)
    yield test_client
    if stored() != baseline:
        restore(baseline)


@pytest.fixture
def ids(shared) -> dict[str, str]:
    return shared[1]


# --- requests and answers -------------------------------------------------------------------


def call(client, endpoint: str, complaint_id: str, headers: dict):
    base = f"/v1/complaints/{complaint_id}"
    if endpoint == "get":
        return client.get(base, headers=headers)
    if endpoint == "events":
        return client.get(f"{base}/events", headers=headers)
    if endpoint == "message":
        return client.post(f"{base}/messages", json=BODIES["message"], headers=headers)
    return client.post(f"{base}/actions/{endpoint}", json=BODIES[endpoint], headers=headers)


def problem_of(response, status: int) -> dict:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:600]
    assert response.mimetype == PROBLEM, response.headers.get("Content-Type")
    body = json.loads(text)
    assert body["status"] == status
    for name in ("type", "title", "detail"):
        assert isinstance(body.get(name), str) and body[name], (name, body)
    return body


def expected_status(endpoint: str, caller: str) -> int:
    row = EXPECTED.get(endpoint)
    assert row is not None, f"lifecycle.md (and this table) says nothing about {endpoint!r}"
    return row[list(CALLERS).index(caller)]


ENDPOINTS = ["get", "events", "message", *PERSON_ACTIONS]


def test_the_table_covers_exactly_the_person_actions():
    """An action added to (or dropped from) the machine must be added to the table too."""
    assert set(PERSON_ACTIONS) == set(EXPECTED) - {"get", "events", "message"}


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_who_may_do_what_in_awaiting_seller(client, ids, endpoint, caller):
    status = expected_status(endpoint, caller)
    complaint_id = ids["A"]
    before = stored()
    response = call(client, endpoint, complaint_id, CALLERS[caller])

    if status == 404:
        body = problem_of(response, 404)
        # Existence is not revealed: the same answer as for a complaint that does not exist.
        absent = call(client, endpoint, ABSENT_ID, CALLERS[caller])
        assert json.loads(response.get_data(as_text=True).replace(complaint_id, ABSENT_ID)) == (
            problem_of(absent, 404)
        )
        assert complaint_id not in json.dumps({k: v for k, v in body.items() if k != "detail"})
    elif status == 403:
        body = problem_of(response, 403)
        assert "allowed_actions" not in body
    elif status == 409:
        body = problem_of(response, 409)
        assert body["allowed_actions"] == ALLOWED_NOW[caller]

    if status >= 400:
        assert_unchanged(before)
        return

    assert response.status_code == status, response.get_data(as_text=True)[:600]
    assert response.mimetype == "application/json"
    body = response.get_json()
    if endpoint == "get":
        assert body["id"] == complaint_id and body["state"] == "awaiting_seller"
        assert body["allowed_actions"] == ALLOWED_NOW[caller]
    elif endpoint == "events":
        assert [e["type"] for e in body["items"]] == ["open"]
    if endpoint in ("get", "events"):
        assert_unchanged(before)
        return

    # A write: one event for this complaint (and, when it closed it, its settlement's
    # request), and nothing else changed.
    after = stored()
    assert [d for d in after["complaints"] if d["_id"] != complaint_id] == [
        d for d in before["complaints"] if d["_id"] != complaint_id
    ]
    new_events = [e for e in after["events"] if e not in before["events"]]
    expected = [(complaint_id, 2, endpoint)]
    if body.get("state") == "closed":
        expected.append((complaint_id, 3, "settlement_requested"))
    assert [(e["complaint_id"], e["seq"], e["type"]) for e in new_events] == expected
    complaint = ComplaintDocument.objects.get(id=complaint_id)
    assert complaint.version == len(expected) + 1
    if endpoint == "message":
        assert body["type"] == "message" and complaint.state == "awaiting_seller"
    else:
        state, outcome = AFTER[(caller, endpoint)]
        assert (body["state"], body["outcome"]) == (state, outcome)
        assert (complaint.state, complaint.outcome) == (state, outcome)


@pytest.mark.parametrize("caller", list(CALLERS))
def test_the_list_shows_each_caller_only_what_it_may_see(client, ids, caller):
    headers = CALLERS[caller]
    expected = {ids[key] for key in VISIBLE[caller]}
    before = stored()

    response = client.get("/v1/complaints", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {c["id"] for c in response.get_json()["items"]} == expected

    filtered = client.get("/v1/complaints?state=awaiting_seller", headers=headers).get_json()
    assert {c["id"] for c in filtered["items"]} == expected

    # Walking the pages one at a time shows the same complaints, each once, and no others.
    seen, cursor = [], None
    for _ in range(10):
        query = "limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/complaints?{query}", headers=headers).get_json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(expected)
    assert_unchanged(before)


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("owner", 201),
        ("other_buyer", 201),
        ("seller", 403),
        ("other_seller", 403),
        ("care", 403),
        ("auditor", 403),
    ],
)
def test_only_a_buyer_opens_a_complaint(client, caller, status):
    before = stored()
    response = client.post(
        "/v1/complaints", json=complaint_body("INV-NEW"), headers=CALLERS[caller]
    )
    if status == 403:
        problem_of(response, 403)
        assert_unchanged(before)
    else:
        assert response.status_code == 201, response.get_data(as_text=True)
        assert len(stored()["complaints"]) == len(before["complaints"]) + 1


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        pytest.param("owner", 409, id="owner"),
        # Another buyer's order is, to this buyer, an order that does not exist (422, the same
        # answer as an unknown order): it learns nothing of the complaint on it either.
        pytest.param("other_buyer", 422, id="other_buyer"),
        pytest.param("seller", 403, id="seller"),
        pytest.param(
            "other_seller",
            403,
            id="other_seller",
        ),
        pytest.param("care", 403, id="care"),
        pytest.param("auditor", 403, id="auditor"),
    ],
)
def test_opening_on_an_order_with_an_open_complaint(client, ids, caller, status):
    """Only a buyer opens (403 first); only a caller who may see the open one is told its id."""
    before = stored()
    response = client.post("/v1/complaints", json=complaint_body("INV-A"), headers=CALLERS[caller])
    body = problem_of(response, status)
    if "A" in VISIBLE[caller] and status == 409:
        assert body["complaint_id"] == ids["A"]
    elif caller in ("other_buyer", "other_seller"):
        assert ids["A"] not in response.get_data(as_text=True)
    assert_unchanged(before)


@pytest.mark.parametrize("who", ["seller", "care", "auditor"])
def test_a_caller_who_never_opens_is_refused_before_its_body_is_read(client, who):
    headers = {"seller": SELLER, "care": CARE, "auditor": AUDITOR}[who]
    for body in ({}, {"order": "nonsense"}):
        refused = client.post("/v1/complaints", json=body, headers=headers)
        assert refused.status_code == 403, refused.get_json()
