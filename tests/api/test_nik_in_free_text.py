"""A NIK typed into free text: as written for its writer, care and auditors; masked to its last
4 digits for the other party and the marketplace, in the complaint, the event log (which still
verifies, without the masked field's salt), the evidence list and webhook payloads."""

from __future__ import annotations

import json
import re
from pathlib import Path

from resolution.service import views
from resolution.store import eventstore
from tests.support.bodies import png
from tests.support.http import act, open_complaint, uploaded
from tests.support.parties import AUDITOR, BUYER, CARE, SELLER, auth

ROOT = Path(__file__).resolve().parents[2]
NIK = "3171234567890001"
MASKED = "************0001"
INTEGRATION = auth("integration", "tokopedia-backend", channels=("tokopedia",))


def documented_check():
    code = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "hash-chain.md").read_text(), re.S)
    namespace: dict = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own documentation, under test
    return namespace["first_broken_link"]


def get(client, path, who):
    response = client.get(path, headers=who)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_writer_care_and_auditors_read_it_as_written_the_others_masked(client):
    cid = open_complaint(client, description=f"Kaos robek. NIK saya {NIK}.")
    say = {"body": f"NIK penjual {NIK[:-1]}2 untuk retur"}
    assert (
        client.post(f"/v1/complaints/{cid}/messages", json=say, headers=SELLER).status_code == 201
    )
    uploaded(client, cid, BUYER, "photo", png(), f"foto-{NIK}.png", caption=f"foto {NIK}")
    base = f"/v1/complaints/{cid}"
    for who in (BUYER, CARE, AUDITOR):
        complaint = get(client, base, who)
        assert complaint["description"] == f"Kaos robek. NIK saya {NIK}."
        assert get(client, f"{base}/evidence", who)["items"][0]["caption"] == f"foto {NIK}"
    for who in (SELLER, INTEGRATION):
        complaint = get(client, base, who)
        assert complaint["description"] == f"Kaos robek. NIK saya {MASKED}."
        assert NIK not in json.dumps(complaint)
    for who in (SELLER,):  # the marketplace does not read the evidence list
        item = get(client, f"{base}/evidence", who)["items"][0]
        assert item["caption"] == f"foto {MASKED}"
        assert item["file"]["filename"] == f"foto-{MASKED}.png"
    # The seller's own message: as written for the seller, masked for the buyer.
    assert get(client, f"{base}/events", SELLER)["items"][1]["data"]["body"] == say["body"]
    assert MASKED[:-1] in get(client, f"{base}/events", BUYER)["items"][1]["data"]["body"]


def test_a_masked_event_log_still_verifies_and_gives_no_salt_for_the_masked_field(client):
    cid = open_complaint(client, description=f"Kaos robek. NIK saya {NIK}.")
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 3000}})
    act(client, cid, "escalate", BUYER, {"reason": f"NIK {NIK}, tidak sepakat"})
    seen = get(client, f"/v1/complaints/{cid}/events", SELLER)["items"]
    assert NIK not in json.dumps(seen)
    opened, escalated = seen[0], seen[2]
    assert opened["data"]["description"] == f"Kaos robek. NIK saya {MASKED}."
    assert set(opened["data_hashes"]) == {"description"} and "description" not in opened["salts"]
    assert escalated["data"]["reason"] == f"NIK {MASKED}, tidak sepakat"
    assert documented_check()(seen) is None
    assert documented_check()(get(client, f"/v1/complaints/{cid}/events", BUYER)["items"]) is None


def test_a_webhook_payload_masks_a_nik_in_free_text(client):
    cid = open_complaint(client, description=f"Kaos robek. NIK saya {NIK}.")
    event = eventstore.events_of(cid)[0]
    payload = views.webhook_payload("tokopedia-backend", event, eventstore.load(cid))
    assert NIK not in json.dumps(payload)
    assert payload["data"]["description"] == f"Kaos robek. NIK saya {MASKED}."
    assert payload["complaint"]["description"] == f"Kaos robek. NIK saya {MASKED}."
    assert set(payload["data_hashes"]) == {"description"}


def test_a_tracking_number_of_sixteen_digits_is_not_masked(client):
    """Not free text: a JNE airway bill has 16 digits, and the buyer follows the parcel by it."""
    cid = open_complaint(client)
    sent = {"kind": "tracking", "courier": "JNE", "tracking_number": NIK}
    assert (
        client.post(f"/v1/complaints/{cid}/evidence", json=sent, headers=SELLER).status_code == 201
    )
    item = get(client, f"/v1/complaints/{cid}/evidence", BUYER)["items"][0]
    assert item["tracking_number"] == NIK
