"""Erasure on request (UU PDP): care erases a data subject's personal data; the values and
their salts go, the commitments stay, so every chain, checkpoint and export, old and new,
still verifies; their files are destroyed; open or held complaints refuse it; a repeat
replays the receipt."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from resolution.domain.checkpoints import key_id
from resolution.domain.events import first_broken_link
from resolution.service import anchoring, audit, signing
from resolution.store import eventstore, files
from tests.support.bodies import png
from tests.support.evidence import download
from tests.support.http import act, assert_problem, open_complaint, uploaded
from tests.support.parties import AUDITOR, BUYER, CARE, SELLER, auth

ROOT = Path(__file__).resolve().parents[2]
URL = "/v1/data-subjects/{}/erasure"
DESCRIPTION = "Kaos robek, alamat saya Jl. Melati 7 Bandung."
MESSAGE = "Nomor HP saya 0812-3456-7890."
CAPTION = "Foto kaos di rumah Melati"
TRACKING = "JNE55501234"
THEIRS = (DESCRIPTION, MESSAGE, CAPTION, TRACKING, "rumah-melati.png")
SELLER_SAYS = "Mohon maaf, kami cek gudang."


def H(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def documented_check():
    code = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "hash-chain.md").read_text(), re.S)
    namespace: dict = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own documentation, under test
    return namespace["first_broken_link"]


def closed_case(client) -> tuple[str, dict]:
    cid = open_complaint(client, description=DESCRIPTION)
    post = client.post(f"/v1/complaints/{cid}/messages", json={"body": MESSAGE}, headers=BUYER)
    assert post.status_code == 201
    said = client.post(f"/v1/complaints/{cid}/messages", json={"body": SELLER_SAYS}, headers=SELLER)
    assert said.status_code == 201
    photo = uploaded(client, cid, BUYER, "photo", png(), "rumah-melati.png", caption=CAPTION)
    sent = {"kind": "tracking", "courier": "JNE", "tracking_number": TRACKING}
    assert (
        client.post(f"/v1/complaints/{cid}/evidence", json=sent, headers=BUYER).status_code == 201
    )
    note = {"body": "Pembeli tinggal di Melati, cek alamat."}
    assert client.post(f"/v1/complaints/{cid}/notes", json=note, headers=CARE).status_code == 201
    act(client, cid, "withdraw", BUYER)
    return cid, photo


def export(client) -> str:
    response = client.get("/v1/audit/events", headers=AUDITOR)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_erasure_keeps_every_chain_and_export_verifiable(client, clock, context):
    cid, photo = closed_case(client)
    key = signing.public_key(context.signing_key)
    anchoring.make(context)  # a checkpoint over the complaint's head before the erasure
    before = export(client)
    stored_before = eventstore.events_of(cid)
    clock.advance(minutes=5)

    response = client.post(
        URL.format("buyer:buyer-1"), json={"reason": "Permintaan pembeli."}, headers=CARE
    )
    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    assert receipt["subject_id"] == "buyer:buyer-1" and receipt["by"] == "agent-1"
    (done,) = receipt["complaints"]
    assert done["complaint_id"] == cid and done["files"] == [photo["id"]]
    erased = {(f["seq"], f["field"]) for f in done["fields"]}
    assert (1, "description") in erased and (2, "body") in erased

    stored = eventstore.events_of(cid)
    assert [e.hash for e in stored[:-1]] == [e.hash for e in stored_before]  # hashes kept
    assert first_broken_link(stored) is None
    assert stored[-1].type == "erasure" and stored[-1].data["receipt_id"] == receipt["id"]
    assert stored[0].data["description"] == "[erased]" and "description" not in stored[0].salts
    assert stored[0].data["reason"] == stored_before[0].data["reason"]  # a code, not theirs
    assert stored[2].data["body"] == SELLER_SAYS  # the seller's words are the seller's
    # The commitment stays; without the salt, the true value confirms nothing.
    commitment = stored[0].commitments["description"]
    assert commitment == stored_before[0].commitment("description") != H(DESCRIPTION)

    for who in (BUYER, SELLER, CARE, AUDITOR):
        log = client.get(f"/v1/complaints/{cid}/events", headers=who).get_json()["items"]
        assert documented_check()(log) is None
        assert log[0]["data_hashes"]["description"] == commitment
    complaint = client.get(f"/v1/complaints/{cid}", headers=CARE).get_json()
    assert complaint["description"] == "[erased]"
    # Their file is destroyed, its entry marked.
    assert files.key_of(photo["id"]) is None
    assert_problem(download(client, cid, photo["id"], CARE), 410)
    listed = client.get(f"/v1/complaints/{cid}/evidence", headers=CARE).get_json()["items"]
    by_id = {item["id"]: item for item in listed}
    assert by_id[photo["id"]]["erased_at"] and by_id[photo["id"]]["caption"] == "[erased]"

    # Exports: the one made before still verifies, so does a new one, without the values.
    assert audit.verify(io.StringIO(before), key).ok
    after = export(client)
    assert audit.verify(io.StringIO(after), key).ok
    assert not any(value in after for value in THEIRS)
    # The checkpoint made before, and one made now, still hold over the database.
    anchoring.make(context)
    trusted = {key_id(base64.b64decode(key)): key}
    report = anchoring.verify_log(trusted)
    assert report.breaks == [] and report.checked == [1, 2]


def test_a_second_erasure_replays_the_receipt(client, clock):
    closed_case(client)
    first = client.post(URL.format("buyer:buyer-1"), json={"reason": "Permintaan."}, headers=CARE)
    assert first.status_code == 201
    again = client.post(URL.format("buyer:buyer-1"), json={"reason": "Permintaan."}, headers=CARE)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()


def test_open_or_held_complaints_are_listed_in_a_409_and_nothing_is_erased(client, clock):
    closed, _ = closed_case(client)
    still_open = open_complaint(client, "INV-2002", description=DESCRIPTION)
    before = {cid: [e.data for e in eventstore.events_of(cid)] for cid in (closed, still_open)}
    refused = client.post(URL.format("buyer:buyer-1"), json={"reason": "x"}, headers=CARE)
    body = assert_problem(refused, 409)
    assert body["complaints"] == [
        {"id": still_open, "state": "awaiting_seller", "legal_hold": False}
    ]
    act(client, still_open, "withdraw", BUYER)
    hold = client.post(
        f"/v1/complaints/{closed}/legal-hold", json={"reason": "Perkara."}, headers=CARE
    )
    assert hold.status_code == 200
    body = assert_problem(
        client.post(URL.format("buyer:buyer-1"), json={"reason": "x"}, headers=CARE), 409
    )
    assert [c["id"] for c in body["complaints"]] == [closed] and body["complaints"][0]["legal_hold"]
    assert [e.data for e in eventstore.events_of(closed)][: len(before[closed])] == before[closed]
    assert all(e.type != "erasure" for e in eventstore.events_of(still_open))


@pytest.mark.parametrize(
    ("who", "subject", "status"),
    [
        (BUYER, "buyer:buyer-1", 403),
        (SELLER, "buyer:buyer-1", 403),
        (AUDITOR, "buyer:buyer-1", 403),
        (auth("integration", "market-1", channels=("tokopedia",)), "buyer:buyer-1", 403),
        ({}, "buyer:buyer-1", 401),
        (CARE, "buyer:nobody-here", 404),
        (CARE, "shopper:buyer-1", 422),
    ],
)
def test_who_may_erase_and_whom(client, clock, who, subject, status):
    closed_case(client)
    assert_problem(client.post(URL.format(subject), json={"reason": "x"}, headers=who), status)
    if status != 401:
        assert_problem(
            client.post(URL.format(subject), json={}, headers=who), status if status == 403 else 422
        )


def test_a_sellers_person_is_a_subject_too(client, clock):
    cid, _ = closed_case(client)
    done = client.post(URL.format("seller:seller-1"), json={"reason": "Permintaan."}, headers=CARE)
    assert done.status_code == 201, done.get_json()
    events = eventstore.events_of(cid)
    assert events[2].data["body"] == "[erased]" and events[1].data["body"] == MESSAGE
    assert first_broken_link(events) is None
