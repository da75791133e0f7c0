"""Orders come from the marketplace: it registers and updates them, only an order's buyer opens
a complaint on it, in time, and the marketplace reads what it needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from resolution.domain.orders import Windows
from tests.support.http import PROBLEM
from tests.support.parties import (
    BUYER,
    CARE,
    MARKETPLACE,
    OTHER_BUYER,
    OTHER_MARKETPLACE,
    OTHER_SELLER,
    SELLER,
    auth,
)
from tests.support.snapshots import assert_unchanged, stored

ORDER = "/v1/orders/tokopedia/INV-7001"


@pytest.fixture
def context(context):
    """The real complaint windows (other tests' are long: their orders were paid in 2025)."""
    return replace(context, windows=Windows())


def registered(**changes) -> dict:
    """INV-7001 as the marketplace has it: buyer-1's, shop-1's, paid, delivered on 3 June."""
    body = {
        "buyer_id": "buyer-1",
        "shop_id": "shop-1",
        "items": [
            {"sku": "KAOS-M", "name": "Kaos polos M", "qty": 2, "price": 45000},
            {"sku": "TOPI", "name": "Topi", "qty": 1, "price": 15000},
        ],
        "total": 105000,
        "payment": {"method": "transfer", "status": "paid", "paid_at": "2025-06-01T01:00:00Z"},
        "shipment": {
            "courier": "J&T",
            "tracking_number": "JP100",
            "shipped_at": "2025-06-02T01:00:00Z",
            "delivered_at": "2025-06-03T01:00:00Z",
        },
        "held_amount": 105000,
    }
    body.update(changes)
    return body


def opening(order_id: str = "INV-7001", amount: int = 45000) -> dict:
    return {
        "order": {"channel": "tokopedia", "id": order_id},
        "reason": "damaged",
        "description": "Kaosnya robek di jahitan.",
        "requested_solution": {"kind": "refund", "amount": amount},
    }


def put(client, body: dict, path: str = ORDER, headers: dict = MARKETPLACE, **more):
    return client.put(path, json=body, headers={**headers, **more})


def test_the_marketplace_registers_an_order_and_reads_it_back(client):
    first = put(client, registered())
    assert first.status_code == 201, first.get_json()
    assert first.headers["ETag"] == '"1"'
    assert first.headers["Location"].endswith(ORDER)
    order = first.get_json()
    assert order["channel"] == "tokopedia" and order["id"] == "INV-7001"
    assert order["version"] == 1 and order["held_amount"] == 105000
    for reader in (MARKETPLACE, BUYER, SELLER):
        got = client.get(ORDER, headers=reader)
        assert got.status_code == 200 and got.get_json() == order
    same = put(client, registered())
    assert same.status_code == 200 and same.get_json()["version"] == 1  # nothing new
    changed = put(client, registered(invoice_url="https://tokopedia.example/inv/7001"))
    assert changed.status_code == 200 and changed.get_json()["version"] == 2


def test_nobody_else_reads_an_order_and_the_answer_is_that_of_an_unknown_one(client):
    put(client, registered())
    unknown = client.get("/v1/orders/tokopedia/INV-0000", headers=OTHER_BUYER)
    for stranger in (OTHER_BUYER, OTHER_SELLER, OTHER_MARKETPLACE, CARE):
        answer = client.get(ORDER, headers=stranger)
        assert answer.status_code == 404
        assert answer.get_json()["type"] == unknown.get_json()["type"]


def test_only_an_integration_token_for_the_channel_writes_its_orders(client):
    before = stored()
    for writer in (BUYER, SELLER, CARE, OTHER_MARKETPLACE, auth("integration", "no-channels")):
        refused = put(client, registered(), headers=writer)
        assert refused.status_code == 403, (writer, refused.get_json())
        assert refused.mimetype == PROBLEM
    assert_unchanged(before)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"total": 100000}, "total"),
        ({"held_amount": 105001}, "held_amount"),
        ({"held_amount": -1}, "held_amount"),
        ({"held_amount": 1.5}, "held_amount"),
        ({"total": "105000"}, "total"),
        (
            {
                "items": [{"sku": "A", "name": "a", "qty": 1, "price": 5}] * 2,
                "total": 10,
                "held_amount": 10,
            },
            "items",
        ),
        ({"payment": {"method": "cash", "status": "paid"}}, "payment"),
        (
            {
                "payment": {
                    "method": "transfer",
                    "status": "paid",
                    "paid_at": "2025-06-05T03:06:00Z",
                }
            },
            "payment.paid_at",
        ),
        ({"completed_at": "2030-01-01T00:00:00Z"}, "completed_at"),
    ],
)
def test_an_order_that_cannot_be_true_is_refused_naming_the_field(client, changes, field):
    before = stored()
    refused = put(client, registered(**changes))
    assert refused.status_code == 422, refused.get_json()
    assert field in refused.get_json()["errors"], refused.get_json()
    assert_unchanged(before)


def test_if_match_and_idempotency_keys_are_honoured(client):
    put(client, registered())
    stale = put(client, registered(held_amount=50000), **{"If-Match": '"7"'})
    assert stale.status_code == 412 and stale.get_json()["version"] == 1
    keyed = {"Idempotency-Key": "order-1"}
    first = put(client, registered(held_amount=60000), **keyed)
    again = put(client, registered(held_amount=60000), **keyed)
    assert first.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    other = put(client, registered(held_amount=1), **keyed)
    assert other.status_code == 422


def test_only_the_orders_buyer_opens_a_complaint_and_a_foreign_order_looks_unknown(client):
    put(client, registered())
    before = stored()
    foreign = client.post("/v1/complaints", json=opening(), headers=OTHER_BUYER)
    unknown = client.post("/v1/complaints", json=opening("INV-0000"), headers=OTHER_BUYER)
    assert foreign.status_code == unknown.status_code == 422
    drop = lambda r: r.get_data().replace(b"INV-7001", b"INV-0000")  # noqa: E731
    assert drop(foreign) == unknown.get_data()  # byte for byte, but for the id it names
    assert foreign.headers["Content-Type"] == unknown.headers["Content-Type"]
    assert_unchanged(before)
    own = client.post("/v1/complaints", json=opening(), headers=BUYER)
    assert own.status_code == 201, own.get_json()
    snapshot = own.get_json()["order"]
    assert snapshot["payment"]["method"] == "transfer" and snapshot["held_amount"] == 105000


def test_the_window_closes_seven_days_after_delivery_to_the_second(client, clock):
    put(client, registered())
    delivered = clock.now.replace(day=3, hour=1, minute=0, second=0, microsecond=0)
    clock.now = delivered + timedelta(days=7) - timedelta(seconds=1)
    assert client.post("/v1/complaints", json=opening(), headers=BUYER).status_code == 201
    put(client, registered(), path="/v1/orders/tokopedia/INV-7002")
    clock.now = delivered + timedelta(days=7)
    late = client.post("/v1/complaints", json=opening("INV-7002"), headers=BUYER)
    assert late.status_code == 422
    assert late.get_json()["closed_at"] == "2025-06-10T01:00:00.000+00:00"


def test_never_delivered_the_window_is_thirty_days_after_payment_and_ends_at_completion(
    client, clock
):
    never = registered(shipment=None)
    put(client, never)
    clock.now = clock.now.replace(month=7, day=1, hour=0, minute=59, second=59)
    assert client.post("/v1/complaints", json=opening(), headers=BUYER).status_code == 201
    completed = registered(shipment=None, completed_at="2025-06-04T00:00:00Z")
    put(client, completed, path="/v1/orders/tokopedia/INV-7003")
    refused = client.post("/v1/complaints", json=opening("INV-7003"), headers=BUYER)
    assert refused.get_json()["closed_at"] == "2025-06-04T00:00:00.000+00:00"


def test_cash_on_delivery_and_unpaid_orders_can_be_complained_about(client):
    cod = registered(payment={"method": "cod", "status": "cod_pending"}, held_amount=0)
    assert put(client, cod).status_code == 201
    opened = client.post(
        "/v1/complaints",
        json={**opening(), "requested_solution": {"kind": "send_remaining"}},
        headers=BUYER,
    )
    assert opened.status_code == 201, opened.get_json()
    unpaid = registered(payment={"method": "transfer", "status": "unpaid"})
    put(client, unpaid, path="/v1/orders/tokopedia/INV-7004")
    assert client.post("/v1/complaints", json=opening("INV-7004"), headers=BUYER).status_code == 201


def test_an_order_cancelled_before_it_shipped_takes_no_complaint(client):
    cancelled = registered(payment={"method": "ewallet", "status": "cancelled"}, shipment=None)
    put(client, cancelled)
    refused = client.post("/v1/complaints", json=opening(), headers=BUYER)
    assert refused.status_code == 422 and "cancelled" in refused.get_json()["detail"]


def test_a_refund_is_capped_by_what_the_order_still_holds(client):
    put(client, registered(held_amount=40000))
    refused = client.post("/v1/complaints", json=opening(amount=45000), headers=BUYER)
    problem = refused.get_json()
    assert refused.status_code == 422
    assert (problem["refundable"], problem["held_amount"], problem["refunded"]) == (40000, 40000, 0)
    assert "40000" in problem["detail"]
    opened = client.post("/v1/complaints", json=opening(amount=30000), headers=BUYER).get_json()
    withdrawn = client.post(f"/v1/complaints/{opened['id']}/actions/withdraw", headers=BUYER)
    assert withdrawn.status_code == 200
    # Withdrawn: the settlement released all that was held to the seller, and nothing is left
    # for another complaint on the order to ask back.
    assert withdrawn.get_json()["settlement"]["to_seller"] == 40000
    again = client.post("/v1/complaints", json=opening(amount=1), headers=BUYER)
    problem = again.get_json()
    assert again.status_code == 422
    assert (problem["refundable"], problem["refunded"], problem["settled"]) == (0, 0, 40000)


def test_a_change_to_the_order_reaches_its_open_complaint_as_an_event(client):
    put(client, registered())
    cid = client.post("/v1/complaints", json=opening(), headers=BUYER).get_json()["id"]
    refunded = registered(payment={"method": "transfer", "status": "refunded"}, held_amount=0)
    assert put(client, refunded).status_code == 200
    events = client.get(f"/v1/complaints/{cid}/events", headers=BUYER).get_json()["items"]
    update = events[-1]
    assert update["type"] == "order_updated"
    assert update["actor"]["role"] == "integration"
    assert set(update["data"]["changes"]) == {"payment", "held_amount"}
    assert update["data"]["changes"]["held_amount"] == {"before": 105000, "after": 0}
    complaint = client.get(f"/v1/complaints/{cid}", headers=SELLER).get_json()
    assert complaint["order"]["held_amount"] == 0
    assert complaint["order"]["payment"]["status"] == "refunded"


def test_a_complaints_parties_never_change_under_it(client):
    put(client, registered())
    client.post("/v1/complaints", json=opening(), headers=BUYER)
    before = stored()
    moved = put(client, registered(buyer_id="buyer-2"))
    assert moved.status_code == 409 and moved.mimetype == PROBLEM
    assert_unchanged(before)


def test_the_marketplace_reads_the_complaints_of_its_channels_and_acts_on_none(client):
    put(client, registered())
    cid = client.post("/v1/complaints", json=opening(), headers=BUYER).get_json()["id"]
    listed = client.get("/v1/complaints?channel=tokopedia", headers=MARKETPLACE).get_json()
    assert [c["id"] for c in listed["items"]] == [cid]
    shown = client.get(f"/v1/complaints/{cid}", headers=MARKETPLACE).get_json()
    assert shown["allowed_actions"] == [] and "care_due_at" not in shown
    assert client.get(f"/v1/complaints/{cid}/events", headers=MARKETPLACE).status_code == 200
    assert client.get(f"/v1/complaints/{cid}", headers=OTHER_MARKETPLACE).status_code == 404
    other = client.get("/v1/complaints", headers=OTHER_MARKETPLACE).get_json()
    assert other["items"] == []
    acting = client.post(
        f"/v1/complaints/{cid}/messages", json={"body": "Halo"}, headers=MARKETPLACE
    )
    assert acting.status_code == 403


def test_filters_by_order_and_shop(client):
    for n in (1, 2, 3):
        put(client, registered(), path=f"/v1/orders/tokopedia/INV-710{n}")
        client.post("/v1/complaints", json=opening(f"INV-710{n}"), headers=BUYER)
    mine = client.get("/v1/complaints?order_id=INV-7102", headers=BUYER).get_json()["items"]
    assert [c["order"]["id"] for c in mine] == ["INV-7102"]
    shop = client.get("/v1/complaints?shop_id=shop-1", headers=MARKETPLACE).get_json()["items"]
    assert len(shop) == 3
    elsewhere = client.get("/v1/complaints?shop_id=shop-9", headers=SELLER).get_json()["items"]
    assert elsewhere == []


def test_the_change_feed_skips_nothing_while_complaints_change_between_pages(client, clock):
    ids = []
    for n in range(5):
        put(client, registered(), path=f"/v1/orders/tokopedia/INV-720{n}")
        clock.advance(minutes=1)
        opened = client.post("/v1/complaints", json=opening(f"INV-720{n}"), headers=BUYER)
        ids.append(opened.get_json()["id"])
    since = "2025-06-01T00:00:00Z"
    seen: list[str] = []
    page = client.get(f"/v1/complaints?updated_since={since}&limit=2", headers=MARKETPLACE)
    seen += [c["id"] for c in page.get_json()["items"]]
    # Between pages: one already listed and one not yet listed change.
    for cid in (ids[0], ids[3]):
        clock.advance(minutes=1)  # one change after the other (at one instant: by id)
        client.post(f"/v1/complaints/{cid}/messages", json={"body": "Halo"}, headers=BUYER)
    cursor = page.get_json()["next_cursor"]
    while cursor:
        page = client.get(
            f"/v1/complaints?updated_since={since}&limit=2&cursor={cursor}", headers=MARKETPLACE
        )
        seen += [c["id"] for c in page.get_json()["items"]]
        cursor = page.get_json()["next_cursor"]
    assert set(seen) == set(ids)  # nothing skipped
    assert seen[-2:] == [ids[0], ids[3]]  # the changed ones come again, last, in change order
    listing_cursor = client.get("/v1/complaints?limit=1", headers=BUYER).get_json()["next_cursor"]
    mixed = client.get(
        f"/v1/complaints?updated_since={since}&cursor={listing_cursor}", headers=BUYER
    )
    assert mixed.status_code == 400  # another listing's cursor: `bad-cursor`
    assert mixed.get_json()["type"] == "/problems/bad-cursor"


def test_a_change_to_an_order_whose_complaints_are_closed_changes_no_complaint(client):
    put(client, registered())
    cid = client.post("/v1/complaints", json=opening(), headers=BUYER).get_json()["id"]
    client.post(f"/v1/complaints/{cid}/actions/withdraw", headers=BUYER)
    before = client.get(f"/v1/complaints/{cid}/events", headers=BUYER).get_json()["items"]
    assert put(client, registered(held_amount=0)).status_code == 200
    after = client.get(f"/v1/complaints/{cid}/events", headers=BUYER).get_json()["items"]
    assert after == before
