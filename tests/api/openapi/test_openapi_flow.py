"""A whole flow on a real database answers as openapi.yaml says: three complaints taken through
every action, evidence uploaded, listed, downloaded (whole, a range, conditionally) and
reviewed, lists and the event log read a page at a time; every response checked by `Wire`.
"""

from __future__ import annotations

import hashlib

from resolution.domain.lifecycle import PERSON_ACTIONS
from tests.support.bodies import complaint_body, png
from tests.support.parties import AUDITOR, BUYER, CARE, CARE_2, MARKETPLACE, SELLER
from tests.support.spec import EVIDENCE, EVIDENCE_FILE, EVIDENCE_REVIEW, action_path
from tests.support.wire import (
    act,
    download,
    open_complaint,
    post_message,
    review_evidence,
    tracking,
    upload,
    viewed,
)


def test_a_whole_flow_answers_as_the_spec_says(wire, spec, clock):
    assert wire("get", "/healthz").status_code == 200
    assert wire("get", "/readyz").status_code == 200

    # Complaint A: refund, counter-offer, escalation, evidence, decision, review, return.
    refund_40000 = {"solution": {"kind": "refund", "amount": 40000}}
    first = open_complaint(wire, complaint_body(), {**BUYER, "Idempotency-Key": "a-1"})
    assert first.status_code == 201
    a = first.get_json()
    cid = a["id"]
    assert first.headers["Location"] == f"/v1/complaints/{cid}"
    assert first.headers["ETag"] == '"1"'
    assert "care_due_at" not in a and "care_overdue" not in a
    replay = open_complaint(wire, complaint_body(), {**BUYER, "Idempotency-Key": "a-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == cid

    seen_by_care = wire("get", "/v1/complaints/{id}", id=cid, headers=CARE).get_json()
    assert seen_by_care["care_due_at"] is None and seen_by_care["care_overdue"] is False
    assert wire("get", "/v1/complaints/{id}", id=cid, headers=BUYER).headers["ETag"] == '"1"'
    assert wire("get", "/v1/complaints/{id}", id=cid, headers=AUDITOR).status_code == 200

    message = post_message(wire, cid, {**BUYER, "If-Match": '"1"'}, "Foto terlampir.")
    assert message.status_code == 201 and message.headers["ETag"] == '"2"'
    assert message.get_json()["type"] == "message"

    offer = {"solution": {"kind": "refund", "amount": 30000}, "note": "Sebagian saja."}
    stale = act(wire, cid, "propose", {**SELLER, "If-Match": '"1"'}, offer)
    assert stale.status_code == 412 and stale.get_json()["version"] == 2
    assert act(wire, cid, "propose", {**SELLER, "If-Match": '"2"'}, offer).status_code == 200
    escalated = act(wire, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    assert escalated.get_json()["state"] == "awaiting_care"
    assert act(wire, cid, "assign", CARE).get_json()["assigned_to"] == "agent-1"
    not_assignee = act(wire, cid, "request_evidence", CARE_2, {"party": "buyer", "what": "Video"})
    assert not_assignee.status_code == 409 and "allowed_actions" in not_assignee.get_json()
    asked = act(wire, cid, "request_evidence", CARE, {"party": "buyer", "what": "Video unboxing"})
    assert asked.get_json()["turn"] == "buyer"
    request = asked.get_json()["evidence_request"]
    assert asked.headers["ETag"] == f'"{request["id"]}"' and request["answer_ids"] == []

    # Evidence: a photo answering the request, an identity document, a tracking number.
    sent = upload(wire, cid, BUYER, "photo", png(), caption="Robek", answers=str(request["id"]))
    assert sent.status_code == 201 and sent.headers["Location"] == f"/v1/complaints/{cid}/evidence"
    photo = sent.get_json()
    assert photo["file"]["content_type"] == "image/png" and photo["restricted"] is False
    assert photo["href"] == f"/v1/complaints/{cid}/evidence/{photo['id']}"
    ktp = upload(wire, cid, BUYER, "identity_document", png("white")).get_json()
    assert ktp["restricted"] is True and "file" in ktp  # the uploader sees it all
    resi = tracking(wire, cid, {**SELLER, "Idempotency-Key": "resi-1"}, caption="Diterima")
    assert resi.status_code == 201 and resi.get_json()["tracking_number"] == "JP1234567890"
    again = tracking(wire, cid, {**SELLER, "Idempotency-Key": "resi-1"}, caption="Diterima")
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == resi.get_json()
    pointing = {"body": "Ini fotonya.", "evidence_ids": [photo["id"]], "answers": request["id"]}
    said = wire("post", "/v1/complaints/{id}/messages", id=cid, json=pointing, headers=BUYER)
    assert said.status_code == 201 and said.get_json()["data"] == pointing
    answered = wire("get", "/v1/complaints/{id}", id=cid, headers=CARE).get_json()
    assert answered["evidence_request"]["answer_ids"] == [photo["id"], ktp["id"]]
    assert answered["turn"] == "care"

    # Listing: the seller sees a bare mention of the buyer's identity document.
    as_seller = wire("get", EVIDENCE, id=cid, headers=SELLER).get_json()
    assert [item["id"] for item in as_seller["items"]] == [photo["id"], ktp["id"], resi.json["id"]]
    assert as_seller["items"][1] == {
        "id": ktp["id"],
        "kind": "identity_document",
        "by": {"role": "buyer"},
        "at": ktp["at"],
        "care_only": False,
        "restricted": True,
        "reviewed": None,
    }
    assert wire("get", EVIDENCE, id=cid, headers=CARE).get_json()["items"][1] == ktp

    # Downloads: the whole file, a range, a conditional request; the trail of restricted reads.
    whole = download(wire, cid, photo["id"], SELLER)
    assert whole.status_code == 200 and whole.mimetype == "image/png"
    content = whole.get_data()
    assert hashlib.sha256(content).hexdigest() == photo["file"]["sha256"]
    assert len(content) == photo["file"]["size"] == int(whole.headers["Content-Length"])
    assert whole.headers["ETag"] == f'"{photo["file"]["sha256"]}"'
    assert whole.headers["Cache-Control"] == "private"
    part = download(wire, cid, photo["id"], SELLER, Range="bytes=0-9")
    assert part.status_code == 206 and part.get_data() == content[:10]
    assert part.headers["Content-Range"] == f"bytes 0-9/{len(content)}"
    same = download(wire, cid, photo["id"], SELLER, **{"If-None-Match": whole.headers["ETag"]})
    assert same.status_code == 304
    assert download(wire, cid, ktp["id"], SELLER).status_code == 403
    assert viewed(wire, cid) == []  # ordinary evidence leaves no trail, a refusal neither
    read = download(wire, cid, ktp["id"], CARE)
    assert read.status_code == 200 and read.headers["Cache-Control"] == "private, no-store"
    seeking = download(wire, cid, ktp["id"], CARE, Range="bytes=10-")
    assert seeking.status_code == 206  # continues the read: not recorded again
    assert download(wire, cid, ktp["id"], AUDITOR).status_code == 200
    trail, size = viewed(wire, cid), len(read.data)
    assert [(e["actor"]["role"], e["data"]) for e in trail] == [
        ("care", {"evidence_id": ktp["id"], "kind": "identity_document", "bytes": size}),
        ("auditor", {"evidence_id": ktp["id"], "kind": "identity_document", "bytes": size}),
    ]

    # The decision waits until care has reviewed what answered its request.
    unread = act(
        wire,
        cid,
        "decide",
        CARE,
        {**refund_40000, "reason_code": "other", "rationale": "Belum dibaca."},
    )
    assert unread.status_code == 409 and "reviewed" in unread.get_json()["detail"]
    checked = review_evidence(wire, cid, photo["id"], CARE_2, {"note": "Robek terlihat jelas."})
    assert checked.status_code == 200 and checked.headers["ETag"]
    assert checked.get_json()["reviewed"]["by"] == "agent-2"
    assert review_evidence(wire, cid, ktp["id"], CARE, {"note": "KTP cocok."}).status_code == 200
    decided = act(
        wire,
        cid,
        "decide",
        CARE,
        {
            **refund_40000,
            "reason_code": "damaged",
            "rationale": "Foto menunjukkan robek.",
            "evidence_considered": [photo["id"], ktp["id"]],
        },
    )
    assert decided.get_json()["outcome"] == "decided"
    assert decided.get_json()["settlement"]["status"] == "held"
    assert post_message(wire, cid, BUYER, "Halo?").status_code == 409
    review = act(wire, cid, "request_review", SELLER, {"reason": "Kami keberatan."})
    assert review.get_json()["state"] == "awaiting_care"
    assert act(wire, cid, "assign", CARE).status_code == 409  # the decider may not review
    assert act(wire, cid, "assign", CARE_2, {}).status_code == 200
    return_refund = {
        "solution": {"kind": "return_refund", "amount": 45000},
        "reason_code": "not_as_described",
        "rationale": "Retur.",
        "evidence_considered": [photo["id"]],
    }
    assert act(wire, cid, "decide", CARE_2, return_refund).get_json()["state"] == "awaiting_return"
    shipment = {"courier": "JNE", "tracking_number": "JNE-0001234"}
    assert act(wire, cid, "ship_return", BUYER, shipment).get_json()["state"] == "return_shipped"
    done = act(wire, cid, "confirm_return", SELLER)
    assert done.get_json()["outcome"] == "fulfilled"

    # Complaint B: appeal, a new request, acceptance, the missing part shipped and received.
    clock.advance(seconds=1)  # listed newest first by opening time (ids are random)
    b = wire(
        "post",
        "/v1/complaints",
        json=complaint_body(
            "INV-1002",
            reason="incomplete",
            requested_solution={"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]},
        ),
        headers=BUYER,
    ).get_json()["id"]
    assert act(wire, b, "appeal", SELLER, {"reason": "Sudah dikirim lengkap."}).status_code == 200
    remaining = {"solution": {"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]}}
    assert act(wire, b, "propose", BUYER, remaining).get_json()["state"] == "awaiting_seller"
    assert act(wire, b, "accept", SELLER).get_json()["state"] == "awaiting_shipment"
    sent = act(wire, b, "ship_items", SELLER, {"courier": "SiCepat", "tracking_number": "SC12345"})
    assert sent.get_json()["state"] == "shipment_sent"
    assert act(wire, b, "confirm_received", BUYER, {}).get_json()["outcome"] == "fulfilled"

    # Complaint D: care pauses the buyer's clock and starts it again; then the case changes
    # hands, and goes back to the queue.
    clock.advance(seconds=1)
    d = open_complaint(wire, complaint_body("INV-1004")).get_json()["id"]
    assert act(wire, d, "appeal", SELLER, {"reason": "Barang sudah sesuai."}).status_code == 200
    paused = act(wire, d, "pause_clock", CARE, {"reason": "Menunggu investigasi kurir."})
    assert paused.get_json()["paused"]["by"] == "agent-1"
    assert act(wire, d, "resume_clock", CARE, {}).get_json()["paused"] is None
    assert act(wire, d, "escalate", BUYER, {"reason": "Mohon dicek."}).status_code == 200
    assert act(wire, d, "assign", CARE).status_code == 200
    handed = act(wire, d, "reassign", CARE, {"agent_id": "agent-2"})
    assert handed.get_json()["assigned_to"] == "agent-2"
    released = act(wire, d, "release", CARE_2, {"reason": "Cuti."})
    assert released.get_json()["state"] == "awaiting_care"

    # Complaint C: withdrawn at once.
    clock.advance(seconds=1)
    c = open_complaint(wire, complaint_body("INV-1003")).get_json()["id"]
    assert act(wire, c, "withdraw", BUYER).get_json()["outcome"] == "withdrawn"

    # Settlements: the payment system's to-do list, its answers, care's retry.
    settlements = wire("get", "/v1/settlements", query={"status": "requested"}, headers=MARKETPLACE)
    to_pay = {item["complaint_id"]: item for item in settlements.get_json()["items"]}
    assert set(to_pay) == {cid, b, c}
    assert (to_pay[cid]["to_buyer"], to_pay[c]["to_buyer"]) == (45000, 0)
    paid = wire(
        "post",
        "/v1/settlements/{id}/confirm",
        id=to_pay[cid]["id"],
        json={"reference": "PAY-1"},
        headers=MARKETPLACE,
    )
    assert paid.get_json()["status"] == "confirmed"
    sid = to_pay[b]["id"]
    failed = wire(
        "post",
        "/v1/settlements/{id}/fail",
        id=sid,
        json={"reason": "Ditolak."},
        headers=MARKETPLACE,
    )
    assert failed.get_json()["status"] == "failed"
    assert (
        wire("post", "/v1/settlements/{id}/retry", id=sid, json={}, headers=CARE).status_code == 200
    )
    assert wire("get", "/v1/settlements/{id}", id=sid, headers=AUDITOR).status_code == 200
    assert wire("get", "/v1/settlements", headers=BUYER).status_code == 403

    # Reading: lists a page at a time, the event log to its end.
    for who in (BUYER, SELLER, CARE, AUDITOR):
        page = wire("get", "/v1/complaints", headers=who).get_json()
        assert len(page["items"]) == 4 and page["next_cursor"] is None
    query = {"limit": 1}
    listed = []
    while True:
        page = wire("get", "/v1/complaints", query=query, headers=BUYER).get_json()
        listed += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        query = {"limit": 1, "cursor": page["next_cursor"]}
    assert listed == [c, d, b, cid]
    closed_ones = wire("get", "/v1/complaints", query={"state": "closed"}, headers=CARE).get_json()
    assert {item["id"] for item in closed_ones["items"]} == {cid, b, c}  # d is with care
    seqs, query = [], {"limit": 5}
    while True:
        page = wire(
            "get", "/v1/complaints/{id}/events", id=cid, query=query, headers=AUDITOR
        ).get_json()
        seqs += [event["seq"] for event in page["items"]]
        if page["next_cursor"] is None:
            break
        query = {"limit": 5, "cursor": page["next_cursor"]}
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 5

    # Every action was taken once and answered as documented; so was every evidence operation.
    for action in PERSON_ACTIONS:
        assert (action_path(action), "post", 200) in wire.seen, action
    for template, method, status in [
        (EVIDENCE, "post", 201),
        (EVIDENCE, "get", 200),
        (EVIDENCE_FILE, "get", 200),
        (EVIDENCE_FILE, "get", 206),
        (EVIDENCE_FILE, "get", 304),
        (EVIDENCE_REVIEW, "post", 200),
    ]:
        assert (template, method, status) in wire.seen, (template, method, status)
