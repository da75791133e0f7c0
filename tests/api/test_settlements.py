"""Every closed complaint settles the order's held money once: the split by outcome, the
payment system's answers (idempotent by content, final), care's retry, the review window that
holds a decision's money, and one ledger across an order's complaints. Over HTTP, on the real
database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from resolution.domain.events import first_broken_link
from resolution.service.sweeper import sweep
from resolution.store import eventstore, orders
from tests.support.bodies import order, png
from tests.support.http import act, assert_problem, open_complaint, post_action, uploaded
from tests.support.parties import (
    AUDITOR,
    BUYER,
    CARE,
    MARKETPLACE,
    OTHER_MARKETPLACE,
    SELLER,
    auth,
)

REFUND = {"kind": "refund", "amount": 45000}
HELD = 105000  # what the tests' orders hold: their total


def settlement_of(client, cid: str, who: dict = BUYER) -> dict:
    return client.get(f"/v1/complaints/{cid}", headers=who).get_json()["settlement"]


def event_types(client, cid: str) -> list[str]:
    items = client.get(f"/v1/complaints/{cid}/events", headers=AUDITOR).get_json()["items"]
    return [e["type"] for e in items]


def agreed(client, order_id: str = "INV-1001", solution: dict = REFUND) -> str:
    """The seller accepts the buyer's refund: closed, agreed."""
    cid = open_complaint(client, order_id, requested_solution=solution)
    act(client, cid, "accept", SELLER)
    return cid


def confirm(client, sid: str, reference: str = "PAY-1", who: dict = MARKETPLACE, **headers):
    return client.post(
        f"/v1/settlements/{sid}/confirm", json={"reference": reference}, headers={**who, **headers}
    )


def fail(client, sid: str, reason: str = "Rekening tujuan ditutup.", who: dict = MARKETPLACE):
    return client.post(f"/v1/settlements/{sid}/fail", json={"reason": reason}, headers=who)


def in_mediation(client, order_id: str = "INV-1001") -> str:
    cid = open_complaint(client, order_id)
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 10000}})
    act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    act(client, cid, "assign", CARE)
    return cid


def decision(amount: int = 45000, **more) -> dict:
    return {
        "solution": {"kind": "refund", "amount": amount},
        "reason_code": "damaged",
        "rationale": "Foto menunjukkan jahitan robek.",
        **more,
    }


def test_an_agreed_refund_pays_the_buyer_its_amount_and_the_seller_the_rest_at_once(client):
    cid = agreed(client)
    settlement = settlement_of(client, cid)
    assert (settlement["held"], settlement["to_buyer"], settlement["to_seller"]) == (
        HELD,
        45000,
        60000,
    )
    assert settlement["status"] == "requested"
    assert [a["number"] for a in settlement["attempts"]] == [1]
    assert event_types(client, cid)[-2:] == ["accept", "settlement_requested"]
    # Both parties read it; the marketplace lists it for its channel.
    assert settlement_of(client, cid, SELLER) == settlement
    listed = client.get("/v1/settlements?status=requested", headers=MARKETPLACE).get_json()
    assert [s["id"] for s in listed["items"]] == [settlement["id"]]
    assert listed["items"][0]["order"] == {"channel": "tokopedia", "id": "INV-1001"}
    assert client.get("/v1/settlements", headers=OTHER_MARKETPLACE).get_json()["items"] == []


def test_confirming_is_final_and_the_same_answer_twice_is_a_replay(client):
    cid = agreed(client)
    sid = settlement_of(client, cid)["id"]
    first = confirm(client, sid, "PAY-77")
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "confirmed"
    assert first.get_json()["reference"] == "PAY-77"
    version = client.get(f"/v1/complaints/{cid}", headers=BUYER).get_json()["version"]

    again = confirm(client, sid, "PAY-77")
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert_problem(confirm(client, sid, "PAY-78"), 409)
    assert_problem(fail(client, sid), 409)
    retried = client.post(f"/v1/settlements/{sid}/retry", json={}, headers=CARE)
    assert_problem(retried, 409)
    after = client.get(f"/v1/complaints/{cid}", headers=BUYER).get_json()
    assert after["version"] == version  # nothing more recorded
    assert event_types(client, cid).count("settlement_confirmed") == 1


def test_a_failed_settlement_is_retried_by_care_as_a_new_attempt(client):
    cid = agreed(client)
    sid = settlement_of(client, cid)["id"]
    failed = fail(client, sid)
    assert failed.status_code == 200 and failed.get_json()["status"] == "failed"
    assert fail(client, sid).status_code == 200  # the same answer again: a replay
    assert_problem(fail(client, sid, "Lain."), 409)
    assert_problem(confirm(client, sid), 409)  # a failed one is retried before it is paid

    listed = client.get("/v1/settlements?status=failed", headers=CARE).get_json()["items"]
    assert [s["id"] for s in listed] == [sid]
    assert listed[0]["attempts"][-1]["reason"] == "Rekening tujuan ditutup."

    assert_problem(client.post(f"/v1/settlements/{sid}/retry", json={}, headers=MARKETPLACE), 403)
    retried = client.post(
        f"/v1/settlements/{sid}/retry", json={"note": "Rekening baru."}, headers=CARE
    )
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "requested"
    assert [a["number"] for a in retried.get_json()["attempts"]] == [1, 2]
    assert confirm(client, sid, "PAY-2").get_json()["status"] == "confirmed"
    types = event_types(client, cid)
    assert types[types.index("accept") :] == [
        "accept",
        "settlement_requested",
        "settlement_failed",
        "settlement_retried",
        "settlement_confirmed",
    ]


@pytest.mark.parametrize(
    ("sid", "who", "status"),
    [
        ("0" * 24, MARKETPLACE, 404),  # unknown
        ("not-an-id", MARKETPLACE, 404),
        (None, OTHER_MARKETPLACE, 404),  # another channel's
        (None, BUYER, 403),
        (None, SELLER, 403),
        (None, CARE, 403),
        (None, AUDITOR, 403),
    ],
)
def test_answers_from_anyone_but_the_channels_payment_system_are_refused(client, sid, who, status):
    cid = agreed(client)
    real = settlement_of(client, cid)["id"]
    before = client.get(f"/v1/complaints/{cid}", headers=AUDITOR).get_json()
    assert_problem(confirm(client, sid or real, who=who), status)
    assert client.get(f"/v1/complaints/{cid}", headers=AUDITOR).get_json() == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reference": ""},
        {"reference": 12.5},
        {"reference": "has space"},
        {"reference": "x" * 101},
    ],
)
def test_a_malformed_answer_is_refused_and_changes_nothing(client, body):
    cid = agreed(client)
    sid = settlement_of(client, cid)["id"]
    refused = client.post(f"/v1/settlements/{sid}/confirm", json=body, headers=MARKETPLACE)
    assert_problem(refused, 422)
    assert settlement_of(client, cid)["status"] == "requested"


def test_many_confirmations_at_once_record_one(app):
    client = app.test_client()
    cid = agreed(client)
    sid = settlement_of(client, cid)["id"]

    def send(n: int) -> int:
        return confirm(app.test_client(), sid, "PAY-RACE").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(16)))
    assert statuses == [200] * 16
    assert event_types(client, cid).count("settlement_confirmed") == 1


def test_a_withdrawal_releases_everything_to_the_seller(client):
    cid = open_complaint(client)
    act(client, cid, "withdraw", BUYER)
    settlement = settlement_of(client, cid)
    assert (settlement["to_buyer"], settlement["to_seller"], settlement["status"]) == (
        0,
        HELD,
        "requested",
    )


def test_an_order_holding_nothing_settles_as_nothing_to_move(client):
    unpaid = {"payment_status": "cod_pending", "payment_method": "cod", "held_amount": 0}
    cid = open_complaint(
        client,
        "INV-COD",
        order={**order("INV-COD"), **unpaid},
        requested_solution={"kind": "exchange", "items": [{"sku": "TOPI", "qty": 1}]},
    )
    assert_problem(
        post_action(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 1}}),
        422,
    )
    act(client, cid, "withdraw", BUYER)
    settlement = settlement_of(client, cid)
    assert (settlement["to_buyer"], settlement["to_seller"], settlement["status"]) == (
        0,
        0,
        "nothing_to_move",
    )
    assert "settlement_requested" not in event_types(client, cid)


def test_a_decision_holds_its_money_until_the_review_window_closes_to_the_second(
    client, context, clock
):
    cid = in_mediation(client)
    decided = act(client, cid, "decide", CARE, decision()).get_json()
    settlement = decided["settlement"]
    assert settlement["status"] == "held"
    assert settlement["release_at"] == decided["review_until"]
    assert decided["resolution"]["reason_code"] == "damaged"
    assert decided["resolution"]["reason_label"] == {
        "en": "The item arrived damaged",
        "id": "Barang diterima dalam keadaan rusak",
    }
    assert_problem(confirm(client, settlement["id"]), 409)  # not asked for yet

    release_at = datetime.fromisoformat(settlement["release_at"])
    just_before = release_at - timedelta(milliseconds=1)
    assert sweep(context, just_before)["settlement_requested"] == 0
    assert settlement_of(client, cid)["status"] == "held"
    clock.now = release_at
    assert_problem(post_action(client, cid, "request_review", SELLER, {"reason": "Telat."}), 409)
    assert sweep(context, release_at)["settlement_requested"] == 1
    assert sweep(context, release_at)["settlement_requested"] == 0  # once
    assert settlement_of(client, cid)["status"] == "requested"
    assert event_types(client, cid)[-2:] == ["decide", "settlement_requested"]


def test_a_review_replaces_the_held_settlement_and_the_new_decision_makes_its_own(client):
    cid = in_mediation(client)
    first = act(client, cid, "decide", CARE, decision(45000)).get_json()["settlement"]
    reviewed = act(client, cid, "request_review", SELLER, {"reason": "Foto lama."}).get_json()
    assert reviewed["settlement"] is None
    assert_problem(confirm(client, first["id"]), 404)
    act(client, cid, "assign", auth("care", "agent-2"))
    again = act(client, cid, "decide", auth("care", "agent-2"), decision(20000)).get_json()
    second = again["settlement"]
    assert second["id"] != first["id"]
    assert (second["to_buyer"], second["to_seller"], second["status"]) == (20000, 85000, "held")


def test_a_decision_names_its_code_and_this_complaints_evidence(client):
    cid = in_mediation(client)
    photo = uploaded(client, cid, BUYER, "photo", png(), caption="Jahitan robek")
    other = open_complaint(client, "INV-2002")
    foreign = uploaded(client, other, BUYER, "photo", png("red"))
    before = client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()["version"]
    for body in (
        {k: v for k, v in decision().items() if k != "reason_code"},
        decision(reason_code="because"),
        decision(),  # evidence exists: name at least one
        decision(evidence_considered=[foreign["id"]]),
        decision(evidence_considered=["0" * 24]),
        decision(evidence_considered=[photo["id"], photo["id"]]),
        decision(45000.5, evidence_considered=[photo["id"]]),  # 45000.0 is 45000
    ):
        assert_problem(post_action(client, cid, "decide", CARE, body), 422)
    assert client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()["version"] == before

    decided = act(client, cid, "decide", CARE, decision(evidence_considered=[photo["id"]]))
    considered = decided.get_json()["resolution"]["evidence_considered"]
    assert [item["id"] for item in considered] == [photo["id"]]
    assert considered[0]["kind"] == "photo" and considered[0]["caption"] == "Jahitan robek"
    seller_view = client.get(f"/v1/complaints/{cid}", headers=SELLER).get_json()["resolution"]
    assert seller_view["rationale"] == "Foto menunjukkan jahitan robek."
    assert [item["id"] for item in seller_view["evidence_considered"]] == [photo["id"]]


def test_restricted_evidence_is_named_as_such_never_opened_for_the_other_party(client):
    cid = in_mediation(client)
    ktp = uploaded(client, cid, SELLER, "identity_document", png(), caption="KTP 3171")
    decided = act(client, cid, "decide", CARE, decision(evidence_considered=[ktp["id"]]))
    assert decided.status_code == 200
    buyer_view = client.get(f"/v1/complaints/{cid}", headers=BUYER).get_json()["resolution"]
    (item,) = buyer_view["evidence_considered"]
    assert item["restricted"] is True and "caption" not in item and "file" not in item
    seller_view = client.get(f"/v1/complaints/{cid}", headers=SELLER).get_json()["resolution"]
    assert seller_view["evidence_considered"][0]["caption"] == "KTP 3171"


def test_an_orders_money_is_one_ledger_across_its_complaints(client):
    first = agreed(client)
    assert settlement_of(client, first)["to_buyer"] == 45000
    # The first complaint moved everything held (45,000 to the buyer, the rest released to
    # the seller): a second complaint on the order can ask for no money back.
    refused = client.post(
        "/v1/complaints",
        json={
            "order": {"channel": "tokopedia", "id": "INV-1001"},
            "reason": "damaged",
            "description": "Topinya juga rusak.",
            "requested_solution": {"kind": "refund", "amount": 15000},
        },
        headers=BUYER,
    )
    problem = assert_problem(refused, 422)
    assert (problem["refundable"], problem["refunded"], problem["settled"]) == (0, 45000, HELD)
    second = client.post(
        "/v1/complaints",
        json={
            "order": {"channel": "tokopedia", "id": "INV-1001"},
            "reason": "incomplete",
            "description": "Topinya tidak ada.",
            "requested_solution": {"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]},
        },
        headers=BUYER,
    )
    assert second.status_code == 201, second.get_json()
    cid = second.get_json()["id"]
    act(client, cid, "withdraw", BUYER)
    assert settlement_of(client, cid)["status"] == "nothing_to_move"
    settled = [c.settlement for c in orders.complaints_on("tokopedia", "INV-1001")]
    assert sum(s["to_buyer"] for s in settled) <= HELD
    assert sum(s["to_buyer"] + s["to_seller"] for s in settled) == HELD


def test_the_settlement_steps_are_events_in_the_chain(client):
    cid = agreed(client)
    sid = settlement_of(client, cid)["id"]
    confirm(client, sid, "PAY-9")
    events = eventstore.events_of(cid)
    assert first_broken_link(events) is None
    assert [e.type for e in events][-3:] == [
        "accept",
        "settlement_requested",
        "settlement_confirmed",
    ]
    confirmed = events[-1]
    assert confirmed.actor["role"] == "integration"
    assert confirmed.data == {"settlement_id": sid, "attempt": 1, "reference": "PAY-9"}


def test_a_confirmation_and_a_failure_racing_leave_one_answer(app):
    client = app.test_client()
    cid = agreed(client)
    sid = settlement_of(client, cid)["id"]

    def send(n: int) -> int:
        other = app.test_client()
        return (confirm(other, sid, "PAY-R") if n % 2 else fail(other, sid)).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(16)))
    settlement = settlement_of(client, cid)
    won = "confirmed" if settlement["status"] == "confirmed" else "failed"
    answers = [
        t for t in event_types(client, cid) if t in ("settlement_confirmed", "settlement_failed")
    ]
    assert answers == [f"settlement_{won}"]
    # The winner's kind answers 200 each time (the same answer again); the other kind 409.
    assert sorted(set(statuses)) == [200, 409]
    assert statuses.count(200) == 8 and statuses.count(409) == 8


def test_the_listing_pages_newest_first_and_filters_by_channel(client):
    ids = [settlement_of(client, agreed(client, f"INV-L{n}"))["id"] for n in range(3)]
    first = client.get("/v1/settlements?limit=2", headers=CARE).get_json()
    assert [s["id"] for s in first["items"]] == ids[::-1][:2]
    rest = client.get(f"/v1/settlements?limit=2&cursor={first['next_cursor']}", headers=CARE)
    assert [s["id"] for s in rest.get_json()["items"]] == ids[:1]
    assert rest.get_json()["next_cursor"] is None
    assert client.get("/v1/settlements?channel=tiktok_shop", headers=CARE).get_json()["items"] == []
    # A channel the marketplace does not act for lists nothing, never another's settlements.
    other = client.get("/v1/settlements?channel=tokopedia", headers=OTHER_MARKETPLACE)
    assert other.get_json()["items"] == []
    assert_problem(client.get("/v1/settlements?status=paid", headers=CARE), 422)
    assert_problem(client.get("/v1/settlements?cursor=zzz", headers=CARE), 422)
