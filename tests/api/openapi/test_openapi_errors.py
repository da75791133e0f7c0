"""Refusals answer as openapi.yaml says: every error status an operation declares (400, 401,
403, 404, 409, 412, 413, 415, 416, 422, 503) provoked on the wire, for complaints, actions,
messages and evidence, and checked by `Wire` against its declared problem.
"""

from __future__ import annotations

import io
import json

from PIL import Image

from resolution.web.app import MAX_BODY
from tests.support.bodies import complaint_body, order, png
from tests.support.parties import AUDITOR, BUYER, CARE, OTHER_BUYER, SELLER
from tests.support.spec import EVIDENCE, EVIDENCE_FILE, EVIDENCE_REVIEW
from tests.support.wire import (
    act,
    download,
    open_complaint,
    post_message,
    review_evidence,
    tracking,
    upload,
)


def test_errors_answer_as_the_spec_says(wire, spec, monkeypatch):
    cid = open_complaint(wire, complaint_body()).get_json()["id"]
    offer = {"solution": {"kind": "refund", "amount": 30000}}

    # 401: no token, a forged one.
    assert wire("get", "/v1/complaints").status_code == 401
    forged = wire("get", "/v1/complaints/{id}", id=cid, headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401 and forged.headers["WWW-Authenticate"].startswith("Bearer")
    assert act(wire, cid, "propose", {}, offer).status_code == 401

    # 404: not an id, an unknown id, a complaint the caller may not see.
    assert wire("get", "/v1/complaints/{id}", id="not-an-id", headers=BUYER).status_code == 404
    unknown = "0123456789abcdef01234567"
    assert wire("get", "/v1/complaints/{id}", id=unknown, headers=BUYER).status_code == 404
    assert wire("get", "/v1/complaints/{id}", id=cid, headers=OTHER_BUYER).status_code == 404
    assert wire("get", "/v1/complaints/{id}/events", id=unknown, headers=CARE).status_code == 404
    assert act(wire, "NOT-AN-ID", "propose", SELLER, offer).status_code == 404
    assert post_message(wire, unknown, CARE, "Halo").status_code == 404

    # 403: a role that may never do it.
    assert open_complaint(wire, complaint_body("INV-9999"), SELLER).status_code == 403
    assert act(wire, cid, "propose", AUDITOR, offer).status_code == 403
    assert (
        act(
            wire, cid, "decide", BUYER, {**offer, "reason_code": "other", "rationale": "x"}
        ).status_code
        == 403
    )
    assert post_message(wire, cid, AUDITOR, "Halo").status_code == 403

    # 409: a second open complaint on the order; an action not allowed now.
    again = open_complaint(wire, complaint_body())
    assert again.status_code == 409 and again.get_json()["complaint_id"] == cid
    early = act(wire, cid, "escalate", BUYER, {"reason": "Lama."})
    assert early.status_code == 409
    assert early.get_json()["allowed_actions"] == ["withdraw"]
    assert act(wire, cid, "accept", BUYER).status_code == 409

    # 412: a stale If-Match.
    stale = act(wire, cid, "propose", {**SELLER, "If-Match": '"7"'}, offer)
    assert stale.status_code == 412 and stale.get_json()["version"] == 1

    # 422: unknown, missing or malformed fields, rules, headers and queries.
    invalid = [
        act(wire, cid, "propose", SELLER, {**offer, "extra": 1}),
        act(wire, cid, "propose", SELLER, {}),
        act(wire, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 1.5}}),
        act(wire, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 999999}}),
        act(wire, cid, "propose", SELLER, [offer]),
        act(wire, cid, "accept", SELLER, {"why": "not"}),
        act(wire, cid, "propose", {**SELLER, "If-Match": "latest"}, offer),
        act(wire, cid, "propose", {**SELLER, "Idempotency-Key": "k" * 256}, offer),
        open_complaint(wire, {**complaint_body("INV-2"), "order": order("INV-2", total=0)}),
        wire("get", "/v1/complaints", query={"limit": 0}, headers=BUYER),
        wire("get", "/v1/complaints", query={"state": "open"}, headers=BUYER),
        wire("get", "/v1/complaints", query={"sort": "id"}, headers=BUYER),
        wire("get", "/v1/complaints/{id}/events", id=cid, query={"cursor": "x"}, headers=BUYER),
    ]
    for response in invalid:
        assert response.status_code == 422, response.get_json()
        assert "errors" in response.get_json()
    reused = act(wire, cid, "propose", {**SELLER, "Idempotency-Key": "k-1"}, offer)
    assert reused.status_code == 200
    other = {"solution": {"kind": "refund", "amount": 20000}}
    assert act(wire, cid, "propose", {**SELLER, "Idempotency-Key": "k-1"}, other).status_code == 422
    replayed = act(wire, cid, "propose", {**SELLER, "Idempotency-Key": "k-1"}, offer)
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"

    # 415, 400, 413: the body itself.
    plain = act(wire, cid, "propose", SELLER, data="refund please", content_type="text/plain")
    assert plain.status_code == 415
    broken = act(wire, cid, "propose", SELLER, data='{"solution":', content_type="application/json")
    assert broken.status_code == 400
    huge = json.dumps({"body": "x" * MAX_BODY})
    too_large = wire(
        "post",
        "/v1/complaints/{id}/messages",
        id=cid,
        data=huge,
        content_type="application/json",
        headers=BUYER,
    )
    assert too_large.status_code == 413
    assert (
        wire(
            "post", "/v1/complaints", data="{", content_type="application/json", headers=BUYER
        ).status_code
        == 400
    )

    # 503: the database does not answer.
    monkeypatch.setattr("resolution.api.health.database_answers", lambda: False)
    assert wire("get", "/readyz").status_code == 503

    statuses = {status for _, _, status in wire.seen}
    assert {400, 401, 403, 404, 409, 412, 413, 415, 422, 503} <= statuses


def test_evidence_errors_answer_as_the_spec_says(wire, app):
    import dataclasses

    from resolution.domain.evidence import Limits

    cid = open_complaint(wire, complaint_body()).get_json()["id"]
    photo = upload(wire, cid, BUYER, "photo", png()).get_json()["id"]
    ktp = upload(wire, cid, BUYER, "identity_document", png()).get_json()["id"]
    resi = tracking(wire, cid, SELLER).get_json()["id"]
    unknown = "0123456789abcdef01234567"

    # 401: no token.
    assert wire("get", EVIDENCE, id=cid).status_code == 401
    assert upload(wire, cid, {}, "photo", png()).status_code == 401
    assert download(wire, cid, photo, {}).status_code == 401
    assert review_evidence(wire, cid, photo, {}, {"note": "x"}).status_code == 401

    # 403: auditors add nothing; another party's identity document; reviews are care's.
    assert tracking(wire, cid, AUDITOR).status_code == 403
    assert download(wire, cid, ktp, SELLER).status_code == 403
    assert review_evidence(wire, cid, photo, SELLER, {"note": "x"}).status_code == 403

    # 404: a complaint the caller may not see; evidence that is not there; a tracking number.
    assert wire("get", EVIDENCE, id=cid, headers=OTHER_BUYER).status_code == 404
    assert upload(wire, unknown, BUYER, "photo", png()).status_code == 404
    assert download(wire, cid, unknown, BUYER).status_code == 404
    assert download(wire, cid, "not-an-id", BUYER).status_code == 404
    assert download(wire, cid, resi, SELLER).status_code == 404
    assert review_evidence(wire, cid, unknown, CARE, {"note": "x"}).status_code == 404

    # 416: a range past the end; more than one range.
    assert download(wire, cid, photo, BUYER, Range="bytes=100000-").status_code == 416
    assert download(wire, cid, photo, BUYER, Range="bytes=0-1,3-4").status_code == 416

    # 415: neither form nor JSON; bytes that are not what the kind allows.
    assert (
        wire(
            "post", EVIDENCE, id=cid, data="foto", content_type="text/plain", headers=BUYER
        ).status_code
        == 415
    )
    assert upload(wire, cid, BUYER, "photo", b"%PDF-1.4\n%%EOF\n").status_code == 415
    assert upload(wire, cid, BUYER, "video", png()).status_code == 415
    assert (
        review_evidence(wire, cid, photo, CARE, data="ok", content_type="text/plain").status_code
        == 415
    )

    # 400: malformed JSON.
    assert (
        wire(
            "post", EVIDENCE, id=cid, data="{", content_type="application/json", headers=SELLER
        ).status_code
        == 400
    )
    assert (
        review_evidence(
            wire, cid, photo, CARE, data="{", content_type="application/json"
        ).status_code
        == 400
    )

    # 422: no file, an empty one, an unknown field, a kind for the other body, no note.
    no_file = wire(
        "post",
        EVIDENCE,
        id=cid,
        data={"kind": "photo"},
        content_type="multipart/form-data",
        headers=BUYER,
    )
    invalid = [
        no_file,
        upload(wire, cid, BUYER, "photo", b""),
        upload(wire, cid, BUYER, "photo", png(), where="rumah"),
        upload(wire, cid, BUYER, "tracking", png()),
        upload(wire, cid, BUYER, "photo", png(), answers="7"),  # no such request
        wire("post", EVIDENCE, id=cid, json={"kind": "photo"}, headers=BUYER),
        tracking(wire, cid, SELLER, tracking_number="?"),
        review_evidence(wire, cid, photo, CARE, {}),
        review_evidence(wire, cid, photo, CARE),
    ]
    for response in invalid:
        assert response.status_code == 422, response.get_json()
        assert "errors" in response.get_json()

    # 413: a file over the limit for what it is; a request over the largest limit.
    context = app.extensions["resolution.context"]
    tiny = Limits(image=64, document=64, video=64)
    app.extensions["resolution.context"] = dataclasses.replace(context, evidence_limits=tiny)
    big = io.BytesIO()
    Image.effect_noise((64, 64), 64).convert("RGB").save(big, "PNG")
    assert upload(wire, cid, BUYER, "photo", big.getvalue()).status_code == 413
    framing = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
    oversized = framing + b"\0" * (2 << 20) + b"\r\n--b--\r\n"  # built here: no temporary file
    assert (
        wire(
            "post",
            EVIDENCE,
            id=cid,
            data=oversized,
            content_type="multipart/form-data; boundary=b",
            headers=BUYER,
        ).status_code
        == 413
    )
    app.extensions["resolution.context"] = context

    # 409: reviewed twice; a closed complaint takes no evidence and no reviews.
    assert review_evidence(wire, cid, photo, CARE, {"note": "ok"}).status_code == 200
    twice = review_evidence(wire, cid, photo, CARE, {"note": "ok"})
    assert twice.status_code == 409 and twice.get_json()["type"] == "/problems/conflict"
    assert act(wire, cid, "withdraw", BUYER).status_code == 200
    closed = upload(wire, cid, BUYER, "photo", png())
    assert closed.status_code == 409 and closed.get_json()["allowed_actions"] == []
    assert review_evidence(wire, cid, ktp, CARE, {"note": "ok"}).status_code == 409
    assert download(wire, cid, photo, SELLER).status_code == 200  # still readable

    statuses = {(t, m, s) for t, m, s in wire.seen if s >= 400}
    for template, method, wanted in [
        (EVIDENCE, "post", {400, 401, 403, 404, 409, 413, 415, 422}),
        (EVIDENCE, "get", {401, 404}),
        (EVIDENCE_FILE, "get", {401, 403, 404, 416}),
        (EVIDENCE_REVIEW, "post", {400, 401, 403, 404, 409, 415, 422}),
    ]:
        assert {s for t, m, s in statuses if (t, m) == (template, method)} == wanted, template
