"""A shop's figures ("Skor Performa Toko"): counted from the shop's complaints opened in the
window, through one index range; for its sellers, care, auditors and the marketplace of its
channels."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from resolution.service.sweeper import sweep
from resolution.store.documents import ComplaintDocument
from tests.support.bodies import order
from tests.support.http import act, assert_problem, open_complaint
from tests.support.parties import (
    AUDITOR,
    BUYER,
    CARE,
    MARKETPLACE,
    OTHER_MARKETPLACE,
    OTHER_SELLER,
    SELLER,
)

STATS = "/v1/shops/shop-1/stats"


def figures(client, who=SELLER, **query) -> dict:
    response = client.get(STATS, query_string=query, headers=who)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_figures_count_reasons_outcomes_escalations_answers_and_refunds(client, context, clock):
    agreed = open_complaint(client, "INV-F1")
    clock.advance(hours=2)
    act(client, agreed, "accept", SELLER)  # the seller answers two hours in: a refund
    settlement = client.get(f"/v1/complaints/{agreed}", headers=BUYER).get_json()["settlement"]
    paid = client.post(
        f"/v1/settlements/{settlement['id']}/confirm",
        json={"reference": "PAY-F1"},
        headers=MARKETPLACE,
    )
    assert paid.status_code == 200

    decided = open_complaint(client, "INV-F2", reason="wrong_item")
    clock.advance(hours=4)
    act(client, decided, "propose", SELLER, {"solution": {"kind": "refund", "amount": 10000}})
    act(client, decided, "escalate", BUYER, {"reason": "Tidak sepakat."})
    act(client, decided, "assign", CARE)
    decision = {
        "solution": {"kind": "refund", "amount": 20000},
        "reason_code": "wrong_item",
        "rationale": "Barang salah kirim.",
    }
    act(client, decided, "decide", CARE, decision)

    open_complaint(client, "INV-F3", reason="incomplete")
    clock.advance(hours=80)
    assert sweep(context, clock())["auto_escalate"] == 1
    open_complaint(client, "INV-F4", order=order("INV-F4", shop_id="shop-9"))  # another shop

    shown = figures(client, since="2025-06-01T00:00:00Z", until="2025-07-01T00:00:00Z")
    assert shown["shop_id"] == "shop-1" and shown["channels"] is None
    assert shown["opened"] == {
        "total": 3,
        "by_reason": {"damaged": 1, "wrong_item": 1, "incomplete": 1},
    }
    assert shown["closed"] == {
        "total": 2,
        "by_outcome": {"agreed": 1, "decided": 1},
        "by_reason_code": {"none": 1, "wrong_item": 1},
    }
    assert shown["escalated"] == {"count": 2, "share": 0.6667}
    assert shown["auto_escalated"] == {"count": 1, "share": 0.3333}
    # Answered two and four hours after opening: the median is three hours.
    assert shown["seller_first_answer"] == {"answered": 2, "median_seconds": 3 * 3600}
    # 45,000 paid and confirmed; the decision's 20,000 waits for its review window.
    assert shown["refunded"] == {"confirmed": 45000, "pending": 20000}

    # A window that holds none of them counts nothing; the same figures for care and auditors.
    assert figures(client, until="2025-06-01T00:00:00Z")["opened"]["total"] == 0
    assert (
        figures(client, CARE, since="2025-06-01T00:00:00Z", until="2025-07-01T00:00:00Z") == shown
    )
    assert (
        figures(client, AUDITOR, since="2025-06-01T00:00:00Z", until="2025-07-01T00:00:00Z")
        == shown
    )
    # The marketplace counts its channels' complaints only.
    mine = figures(client, MARKETPLACE, since="2025-06-01T00:00:00Z", until="2025-07-01T00:00:00Z")
    assert mine["channels"] == ["tokopedia"] and mine["opened"]["total"] == 3
    theirs = figures(
        client, OTHER_MARKETPLACE, since="2025-06-01T00:00:00Z", until="2025-07-01T00:00:00Z"
    )
    assert theirs["channels"] == ["tiktok_shop"] and theirs["opened"]["total"] == 0


def test_only_the_shops_sellers_staff_and_the_marketplace_read_them(client):
    assert_problem(client.get(STATS, headers=BUYER), 403)
    assert_problem(client.get(STATS, headers=OTHER_SELLER), 403)
    assert_problem(client.get(STATS), 401)
    assert_problem(client.get("/v1/shops/not a shop/stats", headers=CARE), 404)


def test_a_window_backwards_or_too_long_is_refused(client):
    backwards = {"since": "2025-06-02T00:00:00Z", "until": "2025-06-01T00:00:00Z"}
    assert_problem(client.get(STATS, query_string=backwards, headers=SELLER), 422)
    long = {"since": "2024-01-01T00:00:00Z", "until": "2025-06-01T00:00:00Z"}
    assert_problem(client.get(STATS, query_string=long, headers=SELLER), 422)
    assert_problem(client.get(STATS, query_string={"since": "yesterday"}, headers=SELLER), 422)


def test_the_figures_read_one_index_range_not_every_complaint(client):
    for n in range(6):
        open_complaint(client, f"INV-G{n}")
    for n in range(4):
        open_complaint(client, f"INV-H{n}", order=order(f"INV-H{n}", shop_id="shop-9"))
    query = {
        "shop_id": "shop-1",
        "created_at": {
            "$gte": datetime(2025, 6, 1, tzinfo=UTC),
            "$lt": datetime(2025, 7, 1, tzinfo=UTC),
        },
    }
    plan = ComplaintDocument._get_collection().find(query).explain()
    assert "by_shop" in json.dumps(plan["queryPlanner"]["winningPlan"], default=str)
    assert plan["executionStats"]["totalDocsExamined"] == 6  # the shop's own, no other's
