"""JSON has one kind of number: `352.0` is the integer 352 (JSON Schema's `integer` says so
too), so `qty`, `price`, `total`, `held_amount` and `amount` take it, as an `int`. A fraction,
a string or a boolean is still refused (README, Decisions: "Integral numbers")."""

from __future__ import annotations

import pytest

from tests.support.orders import marketplace
from tests.support.parties import BUYER, SELLER


def registered(client, order_id: str, **numbers) -> object:
    body = {
        "buyer_id": "buyer-1",
        "shop_id": "shop-1",
        "items": [
            {"sku": "KAOS-M", "name": "Kaos", "qty": numbers.get("qty", 2.0), "price": 45000.0}
        ],
        "total": numbers.get("total", 90000.0),
        "payment": {"method": "transfer", "status": "paid", "paid_at": None},
        "held_amount": 90000.0,
    }
    headers = marketplace("tokopedia", order_id)
    return client.put(f"/v1/orders/tokopedia/{order_id}", json=body, headers=headers)


def test_integral_floats_are_integers_and_stored_as_ints(client):
    answer = registered(client, "INV-FLOAT-1")
    assert answer.status_code == 201, answer.get_json()
    order = answer.get_json()
    assert order["items"][0]["qty"] == 2 and type(order["items"][0]["qty"]) is int
    assert type(order["total"]) is int and type(order["held_amount"]) is int
    assert "90000.0" not in answer.get_data(as_text=True)

    opened = client.post(
        "/v1/complaints",
        json={
            "order": {"channel": "tokopedia", "id": "INV-FLOAT-1"},
            "reason": "damaged",
            "description": "Kaosnya robek.",
            "requested_solution": {"kind": "refund", "amount": 45000.0},
        },
        headers=BUYER,
    )
    assert opened.status_code == 201, opened.get_json()
    amount = opened.get_json()["proposal"]["solution"]["amount"]
    assert amount == 45000 and type(amount) is int
    cid = opened.get_json()["id"]
    offer = {"solution": {"kind": "refund", "amount": 20000.0}}
    proposed = client.post(f"/v1/complaints/{cid}/actions/propose", json=offer, headers=SELLER)
    assert proposed.status_code == 200, proposed.get_json()
    amount = proposed.get_json()["proposal"]["solution"]["amount"]
    assert amount == 20000 and type(amount) is int


@pytest.mark.parametrize("qty", [2.5, "2", True, 1e400])
def test_fractions_strings_and_booleans_are_not_integers(client, qty):
    answer = registered(client, "INV-FLOAT-2", qty=qty)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert "qty" in str(answer.get_json()["errors"])


def test_with_an_idempotency_key_352_and_352_0_are_the_same_request(client):
    registered(client, "INV-FLOAT-3")
    body = {
        "order": {"channel": "tokopedia", "id": "INV-FLOAT-3"},
        "reason": "damaged",
        "description": "Kaosnya robek.",
        "requested_solution": {"kind": "refund", "amount": 45000.0},
    }
    key = {"Idempotency-Key": "float-1", **BUYER}
    first = client.post("/v1/complaints", json=body, headers=key)
    assert first.status_code == 201, first.get_json()
    body["requested_solution"]["amount"] = 45000
    again = client.post("/v1/complaints", json=body, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    body["requested_solution"]["amount"] = 45000.5
    other = client.post("/v1/complaints", json=body, headers={**key, "Idempotency-Key": "f-2"})
    assert other.status_code == 422
