"""Every path of the lifecycle table, walked over HTTP by a buyer, a seller and care agents.

After each step the response carries the complaint's new version as its ETag; before each
step the actor's `allowed_actions` offers (or withholds) what the step needs; after each path
the event log holds one event per step, `seq` 1..n without a gap, and its hash chain holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from resolution.domain.events import Event, first_broken_link
from resolution.store import eventstore
from tests.support.bodies import complaint_body
from tests.support.http import complaint_opened, open_complaint
from tests.support.parties import AUDITOR, BUYER, CARE, CARE_2, OTHER_BUYER, SELLER

PARTIES = {"buyer": BUYER, "seller": SELLER, "care": CARE, "care2": CARE_2, "auditor": AUDITOR}

REFUND = {"kind": "refund", "amount": 45000}
COUNTER = {"kind": "refund", "amount": 30000}
RETURN_REFUND = {"kind": "return_refund", "amount": 105000}
EXCHANGE = {"kind": "exchange", "items": [{"sku": "KAOS-M", "qty": 1}]}
SEND_REMAINING = {"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]}
RELEASE = {"kind": "release_to_seller"}
RETURN_SLIP = {"courier": "JNE", "tracking_number": "JNE-000123"}
RESI = {"courier": "SiCepat", "tracking_number": "SCP-998877"}


ANY = object()  # a step that does not say whose turn follows


@dataclass(frozen=True)
class Step:
    """One request of a path: who does what, and what the complaint looks like afterwards.

    `action` "message" posts a message (`body` = {"body": ...}). A step with `status` other
    than 200 is a refusal: no event, no new version, and the action is not offered.
    """

    who: str
    action: str
    body: dict = field(default_factory=dict)
    state: str | None = None
    status: int = 200
    turn: object = ANY
    outcome: str | None = None
    hours_later: float = 1


def s(who: str, action: str, body: dict | None = None, **expect) -> Step:
    return Step(who, action, body or {}, **expect)


ESCALATED = [
    s("seller", "propose", {"solution": COUNTER, "note": "Setengah saja."}, state="awaiting_buyer"),
    s("buyer", "escalate", {"reason": "Kami tidak sepakat."}, state="awaiting_care", turn="care"),
    s("care", "assign", state="in_mediation", turn="care"),
]

PATHS: dict[str, tuple[dict, list[Step]]] = {
    "refund_seller_accepts": (
        REFUND,
        [s("seller", "accept", state="closed", outcome="agreed", turn=None)],
    ),
    "refund_buyer_accepts_counter_offer": (
        REFUND,
        [
            s("seller", "propose", {"solution": COUNTER}, state="awaiting_buyer", turn="buyer"),
            s("buyer", "accept", state="closed", outcome="agreed"),
        ],
    ),
    "return_refund": (
        RETURN_REFUND,
        [
            s("seller", "accept", state="awaiting_return", turn="buyer"),
            s("buyer", "ship_return", RETURN_SLIP, state="return_shipped", turn="seller"),
            s("seller", "confirm_return", state="closed", outcome="fulfilled"),
        ],
    ),
    "exchange": (
        EXCHANGE,
        [
            s("seller", "accept", state="awaiting_return", turn="buyer"),
            s("buyer", "ship_return", RETURN_SLIP, state="return_shipped", turn="seller"),
            s("seller", "confirm_return", state="awaiting_shipment", turn="seller"),
            s("seller", "ship_items", RESI, state="shipment_sent", turn="buyer"),
            s("buyer", "confirm_received", state="closed", outcome="fulfilled"),
        ],
    ),
    "send_remaining": (
        SEND_REMAINING,
        [
            s("seller", "accept", state="awaiting_shipment", turn="seller"),
            s("buyer", "withdraw", status=409),
            s("seller", "ship_items", RESI, state="shipment_sent", turn="buyer"),
            s("buyer", "withdraw", status=409),
            s("buyer", "confirm_received", state="closed", outcome="fulfilled"),
            s("buyer", "withdraw", status=409),
        ],
    ),
    "appeal_then_buyer_proposes": (
        REFUND,
        [
            s(
                "seller",
                "appeal",
                {"reason": "Barang dikirim utuh."},
                state="appealed",
                turn="buyer",
            ),
            s("buyer", "propose", {"solution": COUNTER}, state="awaiting_seller", turn="seller"),
            s("seller", "accept", state="closed", outcome="agreed"),
        ],
    ),
    "appeal_then_escalate": (
        REFUND,
        [
            s(
                "seller",
                "appeal",
                {"reason": "Barang dikirim utuh."},
                state="appealed",
                turn="buyer",
            ),
            s("buyer", "escalate", {"reason": "Lihat video saya."}, state="awaiting_care"),
            s("care2", "assign", state="in_mediation", turn="care"),
        ],
    ),
    "seller_cannot_escalate_before_answering": (
        REFUND,
        [
            s("seller", "escalate", {"reason": "Terlalu cepat."}, status=409),
            s("buyer", "escalate", {"reason": "Terlalu cepat."}, status=409),
            s("seller", "propose", {"solution": COUNTER}, state="awaiting_buyer"),
            s("seller", "escalate", {"reason": "Pembeli diam."}, state="awaiting_care"),
        ],
    ),
    "mediation_evidence_decision_and_review": (
        REFUND,
        [
            *ESCALATED,
            s(
                "care",
                "request_evidence",
                {"party": "buyer", "what": "Video unboxing."},
                state="in_mediation",
                turn="buyer",
            ),
            s("buyer", "message", {"body": "Ini videonya."}, state="in_mediation", turn="care"),
            s(
                "care",
                "decide",
                {
                    "solution": REFUND,
                    "reason_code": "other",
                    "rationale": "Video menunjukkan robek.",
                },
                state="closed",
                outcome="decided",
                turn=None,
            ),
            s("buyer", "message", {"body": "Terima kasih."}, status=409),
            s(
                "seller",
                "request_review",
                {"reason": "Video tidak jelas."},
                state="awaiting_care",
                turn="care",
                hours_later=48,
            ),
            s("buyer", "request_review", {"reason": "Sekali lagi."}, status=409),
            s("care", "assign", status=409),
            s("care2", "assign", state="in_mediation", turn="care"),
            s(
                "care",
                "decide",
                {"solution": RELEASE, "reason_code": "other", "rationale": "Bukan saya."},
                status=409,
            ),
            s(
                "care2",
                "decide",
                {
                    "solution": RELEASE,
                    "reason_code": "other",
                    "rationale": "Kurir membuktikan paket utuh.",
                },
                state="closed",
                outcome="decided",
            ),
            s("seller", "request_review", {"reason": "Lagi."}, status=409),
        ],
    ),
    "decide_return_refund": (
        REFUND,
        [
            *ESCALATED,
            s(
                "care",
                "decide",
                {
                    "solution": RETURN_REFUND,
                    "reason_code": "other",
                    "rationale": "Kembalikan barang.",
                },
                state="awaiting_return",
                turn="buyer",
            ),
            s("buyer", "ship_return", RETURN_SLIP, state="return_shipped", turn="seller"),
            s("seller", "confirm_return", state="closed", outcome="fulfilled"),
        ],
    ),
    "decide_send_remaining": (
        REFUND,
        [
            *ESCALATED,
            s(
                "care",
                "decide",
                {"solution": SEND_REMAINING, "reason_code": "other", "rationale": "Kirim topinya."},
                state="awaiting_shipment",
                turn="seller",
            ),
            s("seller", "ship_items", RESI, state="shipment_sent"),
            s("buyer", "confirm_received", state="closed", outcome="fulfilled"),
        ],
    ),
    "escalate_from_shipment_sent": (
        SEND_REMAINING,
        [
            s("seller", "accept", state="awaiting_shipment"),
            s("seller", "ship_items", RESI, state="shipment_sent", turn="buyer"),
            s("seller", "escalate", {"reason": "Pembeli diam."}, status=409),
            s("buyer", "escalate", {"reason": "Topinya tidak sampai."}, state="awaiting_care"),
            s("care", "assign", state="in_mediation"),
        ],
    ),
    "withdraw_awaiting_seller": (
        REFUND,
        [s("buyer", "withdraw", state="closed", outcome="withdrawn", turn=None)],
    ),
    "withdraw_awaiting_buyer": (
        REFUND,
        [
            s("seller", "propose", {"solution": COUNTER}, state="awaiting_buyer"),
            s("buyer", "withdraw", {"reason": "Sudah beres."}, state="closed", outcome="withdrawn"),
        ],
    ),
    "withdraw_in_mediation": (
        REFUND,
        [*ESCALATED, s("buyer", "withdraw", state="closed", outcome="withdrawn")],
    ),
    "withdraw_awaiting_return": (
        RETURN_REFUND,
        [
            s("seller", "accept", state="awaiting_return"),
            s("buyer", "withdraw", state="closed", outcome="withdrawn"),
        ],
    ),
    "no_withdraw_once_return_shipped": (
        RETURN_REFUND,
        [
            s("seller", "accept", state="awaiting_return"),
            s("buyer", "ship_return", RETURN_SLIP, state="return_shipped"),
            s("buyer", "withdraw", status=409),
            s("seller", "confirm_return", state="closed", outcome="fulfilled"),
        ],
    ),
}


def get(client, cid: str, who: str = "buyer") -> dict:
    response = client.get(f"/v1/complaints/{cid}", headers=PARTIES[who])
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == f'"{response.get_json()["version"]}"'
    return response.get_json()


def take(client, cid: str, step: Step, headers: dict | None = None):
    headers = {**PARTIES[step.who], **(headers or {})}
    if step.action == "message":
        return client.post(f"/v1/complaints/{cid}/messages", json=step.body, headers=headers)
    return client.post(
        f"/v1/complaints/{cid}/actions/{step.action}", json=step.body, headers=headers
    )


def event_from_json(item: dict) -> Event:
    return Event(
        item["complaint_id"],
        item["seq"],
        item["type"],
        item["actor"],
        item["data"],
        datetime.fromisoformat(item["at"]),
        item["prev_hash"],
        item["hash"],
        item["salts"],
        item["hash_version"],
        item["data_hashes"],  # the commitments of what this reader is not shown
    )


def all_events(client, cid: str, who: str = "auditor", limit: int = 100) -> list[dict]:
    items, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(f"/v1/complaints/{cid}/events{query}", headers=PARTIES[who])
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def assert_log_holds(client, cid: str, types: list[str]) -> None:
    """The log over HTTP: one event per step, seq 1..n, a valid chain; the store agrees."""
    items = all_events(client, cid)
    assert [e["type"] for e in items] == types
    assert [e["seq"] for e in items] == list(range(1, len(types) + 1))
    events = [event_from_json(item) for item in items]
    assert first_broken_link(events) is None
    stored = eventstore.events_of(cid)
    assert first_broken_link(stored) is None
    assert [e.hash for e in stored] == [e.hash for e in events]


@pytest.mark.parametrize("name", list(PATHS))
def test_path_over_http(client, clock, name):
    solution, steps = PATHS[name]
    opened = complaint_opened(client, solution=solution)
    cid = opened.get_json()["id"]
    assert opened.headers["ETag"] == '"1"'
    assert opened.headers["Location"].endswith(f"/v1/complaints/{cid}")
    types, version = ["open"], 1

    for number, step in enumerate(steps, 1):
        where = f"step {number} ({step.who} {step.action})"
        clock.advance(hours=step.hours_later)
        before = get(client, cid, step.who)
        if step.action != "message":
            offered = step.action in before["allowed_actions"]
            assert offered is (step.status == 200), (where, before["allowed_actions"])

        response = take(client, cid, step)
        assert response.status_code == (
            201 if step.action == "message" and step.status == 200 else step.status
        ), (where, response.get_json())
        if step.status != 200:
            problem = response.get_json()
            assert response.mimetype == "application/problem+json"
            assert problem["status"] == step.status
            assert get(client, cid, step.who)["version"] == version, where
            continue

        version += 1
        types.append(step.action)
        after = get(client, cid, step.who)
        if before["state"] != "closed" and after["state"] == "closed":
            # A closing records the settlement; unless a care decision holds it for the review
            # window (or nothing is held), the payment system is asked in the same write.
            settlement = after["settlement"]
            assert settlement["to_buyer"] + settlement["to_seller"] == settlement["held"], where
            if settlement["status"] == "requested":
                version += 1
                types.append("settlement_requested")
            else:
                assert settlement["status"] in ("held", "nothing_to_move"), where
        assert response.headers["ETag"] == f'"{version}"', where
        assert after["version"] == version
        if step.state:
            assert after["state"] == step.state, where
        if step.turn is not ANY:
            assert after["turn"] == step.turn, where
        if after["state"] == "closed":
            assert after["turn"] is None and after["due_at"] is None, where
        if step.outcome:
            assert after["outcome"] == step.outcome, where
        if step.action != "message":
            assert response.get_json() == after, where  # the action answers with the complaint

    assert_log_holds(client, cid, types)
    final = get(client, cid, "auditor")
    assert final["version"] == len(types)
    assert final["allowed_actions"] == []  # the auditor only reads
    if final["state"] == "closed":
        assert get(client, cid, "care")["allowed_actions"] == []
        for who in ("buyer", "seller"):
            offered = get(client, cid, who)["allowed_actions"]
            assert set(offered) <= {"request_review"}, (who, offered)


def test_allowed_actions_per_party_after_opening(client):
    cid = open_complaint(client)
    assert get(client, cid, "buyer")["allowed_actions"] == ["withdraw"]
    assert get(client, cid, "seller")["allowed_actions"] == ["propose", "accept", "appeal"]
    # Care may pause a party's clock (waiting on a courier's investigation), nothing more.
    assert get(client, cid, "care")["allowed_actions"] == ["pause_clock"]
    assert get(client, cid, "auditor")["allowed_actions"] == []


def test_decided_complaint_offers_a_review_to_both_parties_until_the_period_ends(client, clock):
    cid = open_complaint(client)
    for step in [
        *ESCALATED,
        s(
            "care",
            "decide",
            {"solution": REFUND, "reason_code": "other", "rationale": "Barang robek."},
        ),
    ]:
        assert take(client, cid, step).status_code == 200
    decided = get(client, cid, "buyer")
    assert decided["state"] == "closed" and decided["outcome"] == "decided"
    assert decided["allowed_actions"] == ["request_review"]
    assert get(client, cid, "seller")["allowed_actions"] == ["request_review"]

    clock.advance(hours=72, minutes=1)  # past the inactivity period after the decision
    assert get(client, cid, "buyer")["allowed_actions"] == []
    late = take(client, cid, s("buyer", "request_review", {"reason": "Terlambat."}))
    assert late.status_code == 409
    assert "time to request a review" in late.get_json()["detail"]
    assert get(client, cid)["version"] == 5


def test_evidence_request_hands_the_turn_to_the_named_party(client):
    cid = open_complaint(client)
    for step in ESCALATED:
        assert take(client, cid, step).status_code == 200
    asked = take(
        client, cid, s("care", "request_evidence", {"party": "seller", "what": "Resi pengiriman."})
    )
    assert asked.status_code == 200
    complaint = asked.get_json()
    assert complaint["turn"] == "seller"
    assert complaint["evidence_request"]["party"] == "seller"
    # Another party's message does not answer it; the named party's does.
    assert take(client, cid, s("buyer", "message", {"body": "Saya juga."})).status_code == 201
    assert get(client, cid)["turn"] == "seller"
    assert take(client, cid, s("seller", "message", {"body": "Resi: JNE-1"})).status_code == 201
    answered = get(client, cid, "care")
    assert answered["turn"] == "care"
    assert answered["evidence_request"]["answered_at"]
    assert_log_holds(
        client,
        cid,
        ["open", "propose", "escalate", "assign", "request_evidence", "message", "message"],
    )


def test_care_cannot_decide_while_the_evidence_it_asked_for_is_unanswered(client, clock):
    cid = open_complaint(client)
    for step in ESCALATED:
        assert take(client, cid, step).status_code == 200
    asked = take(
        client, cid, s("care", "request_evidence", {"party": "buyer", "what": "Video unboxing."})
    )
    assert asked.get_json()["turn"] == "buyer"
    assert "decide" not in get(client, cid, "care")["allowed_actions"]
    early = take(
        client,
        cid,
        s("care", "decide", {"solution": RELEASE, "reason_code": "other", "rationale": "Diam."}),
    )
    assert early.status_code == 409
    assert get(client, cid)["state"] == "in_mediation"

    # Past the evidence's due time, care may decide without it.
    clock.advance(hours=72, minutes=1)
    assert "decide" in get(client, cid, "care")["allowed_actions"]
    late = take(
        client,
        cid,
        s("care", "decide", {"solution": RELEASE, "reason_code": "other", "rationale": "Diam."}),
    )
    assert late.status_code == 200
    assert late.get_json()["state"] == "closed" and late.get_json()["outcome"] == "decided"


@pytest.mark.parametrize("action", ["auto_escalate", "auto_close", "auto_complete", "open"])
@pytest.mark.parametrize("who", ["buyer", "seller", "care"])
def test_system_transitions_cannot_be_triggered_over_http(client, clock, action, who):
    cid = open_complaint(client)
    clock.advance(hours=200)  # long past every deadline: only the route can refuse
    response = client.post(f"/v1/complaints/{cid}/actions/{action}", json={}, headers=PARTIES[who])
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert get(client, cid)["version"] == 1
    assert get(client, cid)["state"] == "awaiting_seller"


def test_second_complaint_on_an_order_is_refused_until_the_first_is_closed(client):
    first = open_complaint(client)
    again = client.post("/v1/complaints", json=complaint_body(), headers=BUYER)
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.get_json()["complaint_id"] == first
    assert first in again.get_json()["detail"]

    # Another order, or the same order id on another channel, is another complaint.
    assert complaint_opened(client, "INV-2002").status_code == 201
    other_channel = complaint_body()
    other_channel["order"]["channel"] = "tiktok_shop"
    assert client.post("/v1/complaints", json=other_channel, headers=BUYER).status_code == 201

    assert take(client, first, s("seller", "accept")).get_json()["state"] == "closed"
    # (An exchange: the first complaint's settlement moved all the order held.)
    exchange = complaint_body(
        requested_solution={"kind": "exchange", "items": [{"sku": "TOPI", "qty": 1}]}
    )
    reopened = client.post("/v1/complaints", json=exchange, headers=BUYER)
    assert reopened.status_code == 201, reopened.get_json()
    assert reopened.get_json()["id"] != first
    assert client.post("/v1/complaints", json=exchange, headers=BUYER).status_code == 409


def test_if_match_current_version_is_accepted_and_a_stale_one_gets_412(client):
    cid = open_complaint(client)
    message = s("seller", "message", {"body": "Mohon foto."})
    ok = take(client, cid, message, {"If-Match": '"1"'})
    assert ok.status_code == 201 and ok.headers["ETag"] == '"2"'

    stale = take(client, cid, message, {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert stale.get_json()["version"] == 2

    propose = s("seller", "propose", {"solution": COUNTER})
    assert take(client, cid, propose, {"If-Match": '"1"'}).status_code == 412
    assert get(client, cid)["version"] == 2
    accepted = take(client, cid, propose, {"If-Match": '"2"'})
    assert accepted.status_code == 200 and accepted.headers["ETag"] == '"3"'
    # `*` and a weak ETag name "any" and "this" version.
    assert (
        take(client, cid, s("buyer", "message", {"body": "?"}), {"If-Match": "*"}).status_code
        == 201
    )
    weak = take(client, cid, s("buyer", "accept"), {"If-Match": 'W/"4"'})
    assert weak.status_code == 200 and weak.get_json()["state"] == "closed"
    bad = take(client, cid, s("buyer", "message", {"body": "?"}), {"If-Match": "latest"})
    assert bad.status_code == 422
    assert_log_holds(
        client, cid, ["open", "message", "propose", "message", "accept", "settlement_requested"]
    )


def test_complaints_are_listed_newest_first_a_page_at_a_time(client, clock):
    ids = []
    for n in range(5):
        ids.append(open_complaint(client, f"INV-{n}"))
        clock.advance(seconds=1)  # newest first by opening time; opened at one instant: by id
    seen, cursor, pages = [], None, 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(f"/v1/complaints{query}", headers=BUYER)
        assert response.status_code == 200
        page = response.get_json()
        pages += 1
        assert len(page["items"]) == (2 if pages < 3 else 1)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor.startswith("n") and f".{seen[-1]}." in cursor  # (created_at, id), checked
    assert pages == 3
    assert seen == list(reversed(ids))
    assert len(set(seen)) == 5

    # Exactly a page: the last full page says there is nothing after it.
    full = client.get("/v1/complaints?limit=5", headers=BUYER).get_json()
    assert [c["id"] for c in full["items"]] == seen and full["next_cursor"] is None
    # Other callers see only their own.
    assert client.get("/v1/complaints", headers=SELLER).get_json()["items"][0]["id"] == ids[-1]
    assert client.get("/v1/complaints", headers=OTHER_BUYER).get_json() == {
        "items": [],
        "next_cursor": None,
    }
    bad = client.get("/v1/complaints?cursor=not-a-cursor", headers=BUYER)
    assert bad.status_code == 400 and bad.get_json()["type"] == "/problems/bad-cursor"


def test_events_are_paged_in_seq_order(client):
    cid = open_complaint(client)
    for n in range(4):
        assert take(client, cid, s("buyer", "message", {"body": f"pesan {n}"})).status_code == 201
    pages, cursor, seqs = [], None, []
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/v1/complaints/{cid}/events{query}", headers=SELLER).get_json()
        pages.append([e["seq"] for e in page["items"]])
        seqs += pages[-1]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [[1, 2], [3, 4], [5]]
    assert seqs == [1, 2, 3, 4, 5]
    assert_log_holds(client, cid, ["open"] + ["message"] * 4)
    # A cursor exactly at the end gives an empty last page.
    tail = client.get(f"/v1/complaints/{cid}/events?cursor=5", headers=SELLER).get_json()
    assert tail == {"items": [], "next_cursor": None}
