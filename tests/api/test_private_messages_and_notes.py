"""Care talks to one party privately, and keeps notes of its own: only care, that party and
auditors read a private message; only care and auditors a note. Everyone else sees that it
exists and the hash of what it says, so the chain still verifies, in every output: the event
log, the printable record, webhooks and the audit export."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from resolution.domain.events import first_broken_link
from resolution.service import webhooks as webhook_service
from resolution.store import eventstore
from resolution.store.documents import WebhookDelivery
from tests.support.evidence import in_mediation
from tests.support.http import assert_problem
from tests.support.parties import AUDITOR, BUYER, CARE, MARKETPLACE, SELLER

SECRET_TO_SELLER = "Mohon kirim resi pengiriman asli ke kami, rahasia-8812."
NOTE = "Penjual ini sudah tiga kali bermasalah, catatan-7731."


@pytest.fixture
def context(context):
    return replace(context, webhooks_allow_private=True)  # the test's hook is on loopback


def write(client, cid, who, path, body):
    return client.post(f"/v1/complaints/{cid}/{path}", json=body, headers=who)


def log_text(client, cid, who) -> str:
    response = client.get(f"/v1/complaints/{cid}/events", headers=who)
    assert response.status_code == 200
    return json.dumps(response.get_json())


def test_a_private_message_reads_for_care_that_party_and_auditors_only(client):
    cid = in_mediation(client)
    sent = write(client, cid, CARE, "messages", {"body": SECRET_TO_SELLER, "to": "seller"})
    assert sent.status_code == 201, sent.get_json()
    for reader in (CARE, SELLER, AUDITOR, MARKETPLACE):
        assert SECRET_TO_SELLER in log_text(client, cid, reader)
    buyer_log = client.get(f"/v1/complaints/{cid}/events", headers=BUYER).get_json()["items"]
    private = buyer_log[-1]
    assert private["data"]["to"] == "seller" and SECRET_TO_SELLER not in json.dumps(private)
    assert set(private["data_hashes"]) == {"body"}
    # The buyer can still check the chain, with the hash in place of the withheld body.
    assert first_broken_link(eventstore.events_of(cid)) is None
    printed = client.get(f"/v1/complaints/{cid}/export?lang=en", headers=BUYER)
    assert SECRET_TO_SELLER not in printed.get_data(as_text=True)
    assert SECRET_TO_SELLER in client.get(
        f"/v1/complaints/{cid}/export?lang=en", headers=SELLER
    ).get_data(as_text=True)


def test_a_note_reads_for_care_and_auditors_only(client):
    cid = in_mediation(client)
    noted = write(client, cid, CARE, "notes", {"body": NOTE})
    assert noted.status_code == 201 and noted.get_json()["type"] == "note"
    for reader in (CARE, AUDITOR):
        assert NOTE in log_text(client, cid, reader)
    for reader in (BUYER, SELLER, MARKETPLACE):
        assert NOTE not in log_text(client, cid, reader)
        printed = client.get(f"/v1/complaints/{cid}/export", headers=reader)
        assert NOTE not in printed.get_data(as_text=True)
    exported = client.get(f"/v1/audit/events?complaint_id={cid}", headers=AUDITOR)
    assert NOTE in exported.get_data(as_text=True)  # kept in the log for auditors
    # A note is nobody's activity and no reply: care's first clock still runs.
    shown = client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()
    assert shown["care_reply_due_at"] is not None


def test_webhooks_carry_a_note_and_anothers_private_message_withheld(client, context):
    subscribed = client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=MARKETPLACE
    )
    assert subscribed.status_code == 201
    cid = in_mediation(client)
    write(client, cid, CARE, "notes", {"body": NOTE})
    write(client, cid, CARE, "messages", {"body": SECRET_TO_SELLER, "to": "seller"})
    webhook_service.fan_out(context)
    payloads = [d.payload for d in WebhookDelivery.objects(complaint_id=cid)]
    note = next(p for p in payloads if p["type"] == "note")
    assert NOTE not in json.dumps(note) and set(note["data_hashes"]) == {"body"}
    private = next(p for p in payloads if p["type"] == "message" and p["data"].get("to"))
    assert private["data"]["body"] == SECRET_TO_SELLER  # the marketplace relays it to the seller


@pytest.mark.parametrize(
    ("who", "path", "body", "status"),
    [
        (BUYER, "notes", {"body": "Saya pembeli."}, 403),
        (SELLER, "notes", {"body": "Saya penjual."}, 403),
        (AUDITOR, "notes", {"body": "Saya auditor."}, 403),
        (MARKETPLACE, "notes", {"body": "x"}, 403),
        (CARE, "notes", {}, 422),
        (CARE, "notes", {"body": ""}, 422),
        (BUYER, "messages", {"body": "Ke penjual saja.", "to": "seller"}, 422),
        (SELLER, "messages", {"body": "Ke pembeli saja.", "to": "buyer"}, 422),
        (CARE, "messages", {"body": "Ke siapa?", "to": "auditor"}, 422),
    ],
)
def test_refused_notes_and_private_messages_change_nothing(client, who, path, body, status):
    cid = in_mediation(client)
    before = client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()["version"]
    assert_problem(write(client, cid, who, path, body), status)
    assert client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()["version"] == before
