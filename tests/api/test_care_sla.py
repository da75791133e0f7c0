"""The care team's service level: shown to care and auditors, listed when breached."""

from __future__ import annotations

from datetime import timedelta

from resolution.domain.events import iso
from tests.support.bodies import complaint_body
from tests.support.parties import AUDITOR, BUYER, CARE, SELLER


def _escalated(client, order_id="INV-SLA") -> str:
    cid = client.post("/v1/complaints", json=complaint_body(order_id), headers=BUYER).json["id"]
    offer = {"solution": {"kind": "refund", "amount": 20000}}
    assert (
        client.post(f"/v1/complaints/{cid}/actions/propose", json=offer, headers=SELLER).status_code
        == 200
    )
    escalation = {"reason": "Tidak sepakat."}
    assert (
        client.post(
            f"/v1/complaints/{cid}/actions/escalate", json=escalation, headers=BUYER
        ).status_code
        == 200
    )
    return cid


def _overdue_ids(client, headers=CARE) -> list[str]:
    response = client.get("/v1/complaints?overdue=true", headers=headers)
    assert response.status_code == 200, response.json
    return [c["id"] for c in response.json["items"]]


def test_an_escalation_not_assigned_within_24_hours_is_listed_as_overdue(client, clock):
    cid = _escalated(client)
    escalated_at = clock.now
    seen = client.get(f"/v1/complaints/{cid}", headers=CARE).json
    assert seen["care_due_at"] == iso(escalated_at + timedelta(hours=24))
    assert seen["care_overdue"] is False
    assert _overdue_ids(client) == []
    clock.advance(hours=24, minutes=1)
    assert _overdue_ids(client) == [cid]
    assert _overdue_ids(client, AUDITOR) == [cid]
    assert client.get(f"/v1/complaints/{cid}", headers=CARE).json["care_overdue"] is True


def test_assignment_starts_the_24_hours_to_a_decision(client, clock):
    cid = _escalated(client)
    clock.advance(hours=30)
    assert client.post(f"/v1/complaints/{cid}/actions/assign", headers=CARE).status_code == 200
    # Taking the case is no reply: it stays overdue until care writes to a party.
    assert _overdue_ids(client) == [cid]
    reply = {"body": "Kami sedang memeriksa kasus ini."}
    assert (
        client.post(f"/v1/complaints/{cid}/messages", json=reply, headers=CARE).status_code == 201
    )
    assert _overdue_ids(client) == []
    clock.advance(hours=23)
    assert _overdue_ids(client) == []
    clock.advance(hours=2)
    assert _overdue_ids(client) == [cid]
    decision = {
        "solution": {"kind": "refund", "amount": 20000},
        "reason_code": "other",
        "rationale": "Foto jelas.",
    }
    assert (
        client.post(f"/v1/complaints/{cid}/actions/decide", json=decision, headers=CARE).status_code
        == 200
    )
    assert _overdue_ids(client) == []


def test_parties_neither_see_nor_list_the_care_clock(client, clock):
    cid = _escalated(client)
    for party in (BUYER, SELLER):
        seen = client.get(f"/v1/complaints/{cid}", headers=party).json
        assert "care_due_at" not in seen and "care_overdue" not in seen
        refused = client.get("/v1/complaints?overdue=true", headers=party)
        assert refused.status_code == 403
        assert refused.content_type == "application/problem+json"
