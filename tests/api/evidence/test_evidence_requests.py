"""Evidence asked for, answered and reviewed: messages point at the complaint's own evidence; care
asks one party for evidence and may not decide while it is awaited or unread (until its due
time); only that party's answer settles it; reviews are care's. And the issue's "Done when".
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from bson import ObjectId
from PIL import Image

from tests.support.evidence import (
    COUNTER,
    complaint,
    download,
    events,
    evidence_url,
    gridfs_files,
    in_mediation,
    jpeg,
    listed,
    mp4,
    of_type,
    png,
    review,
    tracking,
)
from tests.support.http import act, assert_problem, open_complaint, post_action, upload
from tests.support.parties import AUDITOR, BUYER, CARE, CARE_2, SELLER

DECISION = {
    "solution": {"kind": "refund", "amount": 45000},
    "reason_code": "other",
    "rationale": "Video menunjukkan cacat.",
}


def decision_on(client, cid: str) -> dict:
    """`DECISION`, considering all of the complaint's evidence."""
    items = client.get(f"/v1/complaints/{cid}/evidence", headers=CARE).get_json()["items"]
    return {**DECISION, "evidence_considered": [item["id"] for item in items]}


def test_messages_may_point_at_the_complaints_evidence_only(client):
    cid = open_complaint(client)
    eid = upload(client, cid, BUYER, "photo", jpeg()).get_json()["id"]
    url = f"/v1/complaints/{cid}/messages"
    response = client.post(url, json={"body": "Lihat foto.", "evidence_ids": [eid]}, headers=BUYER)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["evidence_ids"] == [eid]
    unknown = str(ObjectId())
    body = {"body": "Lihat.", "evidence_ids": [eid, unknown]}
    problem = assert_problem(client.post(url, json=body, headers=SELLER), 422)
    assert "evidence_ids" in problem["errors"]
    bad = {"body": "Lihat.", "evidence_ids": ["../../etc/passwd"]}
    assert_problem(client.post(url, json=bad, headers=SELLER), 422)
    # Evidence of another complaint is unknown here.
    other = open_complaint(client, "INV-2002")
    foreign = upload(client, other, BUYER, "photo", png()).get_json()["id"]
    foreign_ref = {"body": "Lihat.", "evidence_ids": [foreign]}
    assert_problem(client.post(url, json=foreign_ref, headers=BUYER), 422)
    (message,) = of_type(client, cid, "message")
    assert message["data"]["evidence_ids"] == [eid]


def request_evidence(client, cid, party="seller", what="Video unboxing paket.", **extra):
    body = {"party": party, "what": what, **extra}
    response = post_action(client, cid, "request_evidence", CARE, body)
    assert response.status_code == 200, response.get_json()
    request = response.get_json()["evidence_request"]
    assert request["id"] == response.get_json()["version"]  # the request's event seq
    return request


def test_decide_waits_for_the_requested_evidence_and_its_review(client):
    cid = in_mediation(client)
    request = request_evidence(client, cid)
    shown = complaint(client, cid, SELLER)
    assert shown["turn"] == "seller"
    assert shown["evidence_request"]["party"] == "seller"
    assert shown["evidence_request"]["what"] == "Video unboxing paket."
    refused = assert_problem(
        post_action(client, cid, "decide", CARE, decision_on(client, cid)), 409
    )
    assert "evidence" in refused["detail"]
    assert "decide" not in refused["allowed_actions"]
    assert "decide" not in complaint(client, cid)["allowed_actions"]

    answer = upload(client, cid, SELLER, "video", mp4(), "unboxing.mp4", answers=request["id"])
    assert answer.status_code == 201, answer.get_json()
    eid = answer.get_json()["id"]
    shown = complaint(client, cid)
    assert shown["turn"] == "care"
    assert shown["evidence_request"]["answered_at"]
    assert shown["evidence_request"]["answer_ids"] == [eid]
    refused = assert_problem(
        post_action(client, cid, "decide", CARE, decision_on(client, cid)), 409
    )
    assert "evidence" in refused["detail"] and "review" in refused["detail"]

    assert_problem(review(client, cid, eid, BUYER), 403)
    assert_problem(review(client, cid, eid, SELLER), 403)
    assert_problem(review(client, cid, eid, AUDITOR), 403)
    assert_problem(review(client, cid, str(ObjectId()), CARE), 404)
    assert_problem(client.post(f"{evidence_url(cid, eid)}/review", json={}, headers=CARE), 422)
    reviewed = review(client, cid, eid, CARE_2, note="Video jelas: kaos sobek saat dibuka.")
    assert reviewed.status_code == 200, reviewed.get_json()
    assert reviewed.get_json()["reviewed"]["by"] == "agent-2"
    assert reviewed.get_json()["reviewed"]["note"] == "Video jelas: kaos sobek saat dibuka."
    assert listed(client, cid, BUYER)[eid]["reviewed"]["by"] == "agent-2"
    assert_problem(review(client, cid, eid, CARE), 409)
    assert len(of_type(client, cid, "evidence_reviewed")) == 1

    decided = post_action(client, cid, "decide", CARE, decision_on(client, cid))
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["state"] == "closed"
    assert decided.get_json()["outcome"] == "decided"
    assert_problem(review(client, cid, eid, CARE_2), 409)  # closed, and reviewed already


def test_an_unanswered_request_stops_blocking_at_its_due_time(client, clock):
    cid = in_mediation(client)
    due = clock.now + timedelta(hours=26)
    request = request_evidence(client, cid, due_at=due.isoformat())
    assert datetime.fromisoformat(request["due_at"]) == due
    clock.advance(hours=25, minutes=59)
    refused = assert_problem(
        post_action(client, cid, "decide", CARE, decision_on(client, cid)), 409
    )
    assert f"#{request['id']} (from the seller" in refused["detail"]  # it names the request
    clock.advance(minutes=1)
    assert complaint(client, cid)["evidence_requests"][0]["state"] == "expired"
    decided = post_action(client, cid, "decide", CARE, decision_on(client, cid))
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["outcome"] == "decided"
    log = client.get(f"/v1/complaints/{cid}/events", headers=CARE).get_json()["items"]
    decide = next(e for e in log if e["type"] == "decide")
    assert decide["data"]["expired_requests"] == [request["id"]]  # decided without it: on record


def test_a_request_is_due_at_least_a_day_away(client, clock):
    cid = in_mediation(client)
    version = complaint(client, cid)["version"]
    for soon in (timedelta(seconds=1), timedelta(hours=23, minutes=59)):
        body = {"party": "buyer", "what": "Video.", "due_at": (clock.now + soon).isoformat()}
        problem = assert_problem(post_action(client, cid, "request_evidence", CARE, body), 422)
        assert "24 hours" in problem["detail"]
    assert complaint(client, cid)["version"] == version


def test_every_open_request_holds_the_decision_until_answered_and_reviewed(client, clock):
    cid = in_mediation(client)
    to_buyer = request_evidence(client, cid, party="buyer")
    to_seller = post_action(
        client, cid, "request_evidence", CARE, {"party": "seller", "what": "Resi asli."}
    ).get_json()["evidence_request"]
    assert {r["state"] for r in complaint(client, cid)["evidence_requests"]} == {"open"}
    # The buyer answers: the seller's request still holds the decision, and it is its turn.
    sent = upload(client, cid, BUYER, "photo", jpeg(), answers=str(to_buyer["id"])).get_json()
    shown = complaint(client, cid)
    assert shown["turn"] == "seller"
    refused = assert_problem(
        post_action(client, cid, "decide", CARE, decision_on(client, cid)), 409
    )
    assert f"#{to_buyer['id']}" in refused["detail"] and f"#{to_seller['id']}" in refused["detail"]
    # Care withdraws the seller's request; the buyer's answer still waits for its review.
    withdrawn = client.post(
        f"/v1/complaints/{cid}/evidence-requests/{to_seller['id']}/withdraw",
        json={"reason": "Resi sudah ada di pesanan."},
        headers=CARE,
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()
    states = {r["id"]: r["state"] for r in withdrawn.get_json()["evidence_requests"]}
    assert states == {to_buyer["id"]: "answered", to_seller["id"]: "withdrawn"}
    assert_problem(post_action(client, cid, "decide", CARE, decision_on(client, cid)), 409)
    assert review(client, cid, sent["id"], CARE).status_code == 200
    assert post_action(client, cid, "decide", CARE, decision_on(client, cid)).status_code == 200


def test_only_the_cases_agent_withdraws_a_request_and_only_once(client):
    cid = in_mediation(client)
    request = request_evidence(client, cid)
    url = f"/v1/complaints/{cid}/evidence-requests/{request['id']}/withdraw"
    assert_problem(client.post(url, json={"reason": "x"}, headers=CARE_2), 409)
    assert_problem(client.post(url, json={"reason": "x"}, headers=BUYER), 403)
    assert_problem(client.post(url, json={}, headers=CARE), 422)
    absent = f"/v1/complaints/{cid}/evidence-requests/999/withdraw"
    assert_problem(client.post(absent, json={"reason": "x"}, headers=CARE), 404)
    assert client.post(url, json={"reason": "Tidak perlu."}, headers=CARE).status_code == 200
    assert_problem(client.post(url, json={"reason": "Lagi."}, headers=CARE), 409)


def test_an_answer_by_message_alone_settles_the_request(client):
    cid = in_mediation(client)
    request = request_evidence(client, cid)
    url = f"/v1/complaints/{cid}/messages"
    body = {"body": "Kami tidak merekam video unboxing.", "answers": request["id"]}
    assert client.post(url, json=body, headers=SELLER).status_code == 201
    assert complaint(client, cid)["turn"] == "care"
    assert post_action(client, cid, "decide", CARE, decision_on(client, cid)).status_code == 200


def test_answers_must_name_the_request_made_to_the_caller(client):
    cid = in_mediation(client)
    # No request yet: nothing to answer.
    early = upload(client, cid, SELLER, "video", mp4(), "v.mp4", answers=1)
    assert "answers" in assert_problem(early, 422)["errors"]
    request = request_evidence(client, cid)
    wrong = upload(client, cid, SELLER, "video", mp4(), "v.mp4", answers=request["id"] - 1)
    assert "answers" in assert_problem(wrong, 422)["errors"]
    # The request was made to the seller, not the buyer.
    buyer = upload(client, cid, BUYER, "photo", jpeg(), answers=request["id"])
    assert "answers" in assert_problem(buyer, 422)["errors"]
    assert_problem(tracking(client, cid, BUYER, answers=request["id"]), 422)
    msg = {"body": "Ini jawabannya.", "answers": request["id"] + 5}
    assert_problem(client.post(f"/v1/complaints/{cid}/messages", json=msg, headers=SELLER), 422)
    assert gridfs_files() == []
    assert of_type(client, cid, "evidence_added") == []
    assert complaint(client, cid)["turn"] == "seller"


def test_evidence_from_the_other_party_does_not_answer_the_request(client):
    cid = in_mediation(client)
    request_evidence(client, cid)
    assert upload(client, cid, BUYER, "photo", jpeg()).status_code == 201
    shown = complaint(client, cid)
    assert shown["turn"] == "seller"
    assert not shown["evidence_request"].get("answered_at")
    assert_problem(post_action(client, cid, "decide", CARE, decision_on(client, cid)), 409)


def test_review_refused_on_a_closed_complaint(client):
    cid = open_complaint(client)
    eid = upload(client, cid, BUYER, "photo", jpeg()).get_json()["id"]
    assert post_action(client, cid, "withdraw", BUYER).status_code == 200
    assert_problem(review(client, cid, eid, CARE), 409)


# --- the "Done when" ----------------------------------------------------------------------


def test_done_when(client, clock):
    cid = open_complaint(client)
    steps = ["open"]

    # The buyer uploads a photo and a tracking number, and a KTP.
    photo = upload(client, cid, BUYER, "photo", jpeg(gps=True), "kaos.jpg", caption="Robek")
    assert photo.status_code == 201
    resi = tracking(client, cid, BUYER)
    assert resi.status_code == 201
    ktp = upload(client, cid, BUYER, "identity_document", png(), "ktp.png", caption="KTP Budi")
    assert ktp.status_code == 201
    steps += ["evidence_added"] * 3
    photo_id, resi_id, ktp_id = (r.get_json()["id"] for r in (photo, resi, ktp))

    # The seller sees the photo and the tracking number, and that a KTP exists: no more.
    seen = listed(client, cid, SELLER)
    assert seen[photo_id]["caption"] == "Robek" and "file" in seen[photo_id]
    assert seen[resi_id]["tracking_number"] == "JP1234567890"
    assert seen[ktp_id] == {
        "id": ktp_id,
        "kind": "identity_document",
        "by": {"role": "buyer"},
        "at": seen[ktp_id]["at"],
        "care_only": False,
        "restricted": True,
        "reviewed": None,
    }
    assert_problem(download(client, cid, ktp_id, SELLER), 403)
    assert download(client, cid, photo_id, SELLER).status_code == 200

    # Mediation: the seller counters, the buyer escalates, care takes it and reads the KTP.
    act(client, cid, "propose", SELLER, {"solution": COUNTER})
    act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    act(client, cid, "assign", CARE)
    steps += ["propose", "escalate", "assign"]
    assert download(client, cid, ktp_id, CARE).status_code == 200
    steps += ["evidence_viewed"]

    # Care asks the seller for an unboxing video: no decision until answered and reviewed.
    request = request_evidence(client, cid)
    steps += ["request_evidence"]
    assert complaint(client, cid, SELLER)["turn"] == "seller"
    assert (
        "evidence"
        in assert_problem(post_action(client, cid, "decide", CARE, decision_on(client, cid)), 409)[
            "detail"
        ]
    )
    clock.advance(hours=2)
    video = upload(client, cid, SELLER, "video", mp4(), "unboxing.mp4", answers=request["id"])
    assert video.status_code == 201
    steps += ["evidence_added"]
    video_id = video.get_json()["id"]
    assert complaint(client, cid)["turn"] == "care"
    assert_problem(post_action(client, cid, "decide", CARE, decision_on(client, cid)), 409)
    assert review(client, cid, video_id, CARE, "Kaos sudah sobek saat dibuka.").status_code == 200
    steps += ["evidence_reviewed"]
    decided = post_action(client, cid, "decide", CARE, decision_on(client, cid))
    assert decided.status_code == 200, decided.get_json()
    steps += ["decide"]

    # Every step is an event, in order, and the chain holds.
    log = events(client, cid)
    assert [e["type"] for e in log] == steps
    assert [e["seq"] for e in log] == list(range(1, len(steps) + 1))
    assert all(
        later["prev_hash"] == earlier["hash"] for earlier, later in zip(log, log[1:], strict=False)
    )
    by_type = {e["type"]: e for e in log}
    assert by_type["evidence_viewed"]["actor"] == {"role": "care", "id": "agent-1"}
    assert by_type["evidence_viewed"]["data"]["evidence_id"] == ktp_id
    assert by_type["evidence_reviewed"]["data"]["evidence_id"] == video_id
    assert log[request["id"] - 1]["type"] == "request_evidence"
    assert log[request["id"] - 1]["data"]["party"] == "seller"
    # The photo kept no GPS; the files in GridFS are the three uploads.
    assert len(gridfs_files()) == 3
    cleaned = Image.open(io.BytesIO(download(client, cid, photo_id, BUYER).data))
    assert cleaned.getexif().get_ifd(0x8825) == {}
