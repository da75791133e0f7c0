"""Sending evidence: a file as multipart (exactly one, in the field `file`) within the size limit
of what its bytes are, a tracking number as JSON; every refused upload (malformed, too big, on a
closed or unseen complaint, by an auditor) stores nothing in GridFS and records no event.
"""

from __future__ import annotations

import io

import pytest
from bson import ObjectId

from resolution.domain.evidence import Limits
from resolution.service import Context
from resolution.web.app import create_app
from tests.support.evidence import (
    download,
    evidence_url,
    gridfs_bytes,
    gridfs_chunks,
    gridfs_files,
    jpeg,
    listed,
    mp4,
    noisy_png,
    of_type,
    pdf,
    png,
    raw_upload,
    tracking,
)
from tests.support.http import assert_problem, open_complaint, post_action, upload
from tests.support.parties import AUDITOR, BUYER, OTHER_BUYER, OTHER_SELLER, SELLER


def test_an_empty_file_is_422(client):
    cid = open_complaint(client)
    body = assert_problem(upload(client, cid, BUYER, "photo", b""), 422)
    assert "file" in body["errors"]
    assert gridfs_files() == []


@pytest.fixture
def small_client(config, clock):
    limits = Limits(image=2000, document=2000, video=3000)
    context = Context(clock=clock, deadlines=config.deadlines, evidence_limits=limits)
    return create_app(config, context=context).test_client()


def test_size_limits_go_by_what_the_bytes_are(small_client):
    client = small_client
    cid = open_complaint(client)
    big_png = noisy_png(40)
    assert len(big_png) > 2000
    assert_problem(upload(client, cid, BUYER, "photo", big_png, "foto.png"), 413)
    assert_problem(upload(client, cid, BUYER, "document", pdf(padding=2100), "a.pdf"), 413)
    assert_problem(upload(client, cid, BUYER, "video", mp4(padding=3001), "v.mp4"), 413)
    assert_problem(upload(client, cid, BUYER, "identity_document", mp4(3001), "v.mp4"), 413)
    assert gridfs_files() == [] and gridfs_chunks() == 0
    # Over the image limit but a video: the video's limit applies.
    video = mp4(padding=2500)
    assert 2000 < len(video) <= 3000
    assert upload(client, cid, BUYER, "video", video, "v.mp4").status_code == 201
    exact = pdf(padding=2000 - len(pdf()))
    assert len(exact) == 2000
    assert upload(client, cid, BUYER, "document", exact, "a.pdf").status_code == 201
    assert len(gridfs_files()) == 2
    assert len(of_type(client, cid, "evidence_added")) == 2


def test_a_body_far_over_every_limit_is_413_and_stores_nothing(small_client):
    client = small_client
    cid = open_complaint(client)
    huge = mp4(padding=(1 << 20) + 10_000)
    response = raw_upload(client, cid, BUYER, "video", huge, "v.mp4")
    assert_problem(response, 413)
    assert gridfs_files() == []
    assert of_type(client, cid, "evidence_added") == []


def test_a_file_bigger_than_a_json_body_may_be_is_taken_within_its_limit(client):
    cid = open_complaint(client)
    content = pdf(padding=3 << 20)  # 3 MiB: three times the 1 MiB cap on JSON bodies
    response = raw_upload(client, cid, BUYER, "document", content, "scan.pdf")
    assert response.status_code == 201, response.get_json()
    eid = response.get_json()["id"]
    assert response.get_json()["file"]["size"] == len(content)
    assert gridfs_bytes(eid) == content
    part = download(client, cid, eid, BUYER, Range=f"bytes={len(content) - 100}-")
    assert part.status_code == 206 and part.data == content[-100:]


def test_a_multipart_needs_exactly_one_file_in_the_field_file(client):
    cid = open_complaint(client)
    url = evidence_url(cid)

    def post(data):
        return client.post(url, headers=BUYER, data=data, content_type="multipart/form-data")

    two = {"kind": "photo", "file": [(io.BytesIO(jpeg()), "a.jpg"), (io.BytesIO(png()), "b.png")]}
    assert "file" in assert_problem(post(two), 422)["errors"]
    assert "file" in assert_problem(post({"kind": "photo"}), 422)["errors"]
    assert_problem(post({"kind": "photo", "photo": (io.BytesIO(jpeg()), "a.jpg")}), 422)
    both = {
        "kind": "photo",
        "file": (io.BytesIO(jpeg()), "a.jpg"),
        "extra": (io.BytesIO(png()), "b.png"),
    }
    assert_problem(post(both), 422)
    repeated = {"kind": ["photo", "video"], "file": (io.BytesIO(jpeg()), "a.jpg")}
    assert_problem(post(repeated), 422)
    assert_problem(post({"file": (io.BytesIO(jpeg()), "a.jpg")}), 422)  # no kind
    assert_problem(post({"kind": "selfie", "file": (io.BytesIO(jpeg()), "a.jpg")}), 422)
    assert_problem(post({"kind": "tracking", "file": (io.BytesIO(jpeg()), "a.jpg")}), 422)
    unknown = {"kind": "photo", "colour": "red", "file": (io.BytesIO(jpeg()), "a.jpg")}
    assert_problem(post(unknown), 422)
    assert_problem(
        post({"kind": "photo", "answers": "x", "file": (io.BytesIO(jpeg()), "a.jpg")}), 422
    )
    assert gridfs_files() == []
    assert of_type(client, cid, "evidence_added") == []


def test_a_body_that_is_neither_multipart_nor_json_is_415(client):
    cid = open_complaint(client)
    url = evidence_url(cid)
    for content_type, data in [
        ("text/plain", b"kind=photo"),
        ("application/x-www-form-urlencoded", b"kind=photo"),
        ("image/jpeg", jpeg()),
        ("application/octet-stream", pdf()),
    ]:
        response = client.post(url, headers=BUYER, data=data, content_type=content_type)
        assert_problem(response, 415)
    assert gridfs_files() == []


# --- tracking numbers -----------------------------------------------------------------------------


def test_a_tracking_number_is_json_without_a_file(client):
    cid = open_complaint(client)
    response = tracking(client, cid, BUYER, caption="Paket sampai terbuka.")
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    assert item["kind"] == "tracking"
    assert item["courier"] == "J&T" and item["tracking_number"] == "JP1234567890"
    assert item["caption"] == "Paket sampai terbuka."
    assert "file" not in item and "href" not in item
    assert listed(client, cid, SELLER)[item["id"]]["tracking_number"] == "JP1234567890"
    (added,) = of_type(client, cid, "evidence_added")
    assert added["data"]["tracking_number"] == "JP1234567890"
    assert added["actor"]["role"] == "buyer"
    assert gridfs_files() == []


def test_json_is_only_for_tracking_numbers(client):
    cid = open_complaint(client)
    url = evidence_url(cid)
    photo = {"kind": "photo", "courier": "JNE", "tracking_number": "JNE12345"}
    assert "kind" in assert_problem(client.post(url, json=photo, headers=BUYER), 422)["errors"]
    assert_problem(
        client.post(url, json={"kind": "tracking", "courier": "JNE"}, headers=BUYER), 422
    )
    bad = {"kind": "tracking", "courier": "JNE", "tracking_number": "x y"}
    assert_problem(client.post(url, json=bad, headers=BUYER), 422)
    assert_problem(client.post(url, json={}, headers=BUYER), 422)
    assert_problem(client.post(url, headers=BUYER), 422)  # no body at all
    extra = {"kind": "tracking", "courier": "JNE", "tracking_number": "JNE12345", "file": "x"}
    assert_problem(client.post(url, json=extra, headers=BUYER), 422)
    assert of_type(client, cid, "evidence_added") == []


@pytest.mark.parametrize("value", ["true", 1, "yes", None])
def test_care_only_in_json_is_a_json_boolean(client, value):
    cid = open_complaint(client)
    body = assert_problem(tracking(client, cid, BUYER, care_only=value), 422)
    assert "care_only" in str(body)
    assert of_type(client, cid, "evidence_added") == []


# --- refused uploads leave nothing ----------------------------------------------------------------


def test_no_evidence_on_a_closed_complaint(client):
    cid = open_complaint(client)
    assert post_action(client, cid, "withdraw", BUYER).status_code == 200
    body = assert_problem(upload(client, cid, BUYER, "photo", jpeg()), 409)
    assert "closed" in body["detail"]
    assert_problem(upload(client, cid, SELLER, "video", mp4(), "v.mp4"), 409)
    assert_problem(tracking(client, cid, BUYER), 409)
    assert gridfs_files() == [] and gridfs_chunks() == 0
    assert of_type(client, cid, "evidence_added") == []


def test_an_upload_to_an_unseen_complaint_or_by_an_auditor_stores_nothing(client):
    cid = open_complaint(client)
    assert_problem(upload(client, cid, OTHER_BUYER, "photo", jpeg()), 404)
    assert_problem(upload(client, cid, OTHER_SELLER, "photo", jpeg()), 404)
    assert_problem(upload(client, str(ObjectId()), BUYER, "photo", jpeg()), 404)
    assert_problem(upload(client, cid, AUDITOR, "photo", jpeg()), 403)
    assert_problem(tracking(client, cid, AUDITOR), 403)
    assert_problem(tracking(client, cid, OTHER_SELLER), 404)
    no_token = client.post(
        evidence_url(cid),
        data={"kind": "photo", "file": (io.BytesIO(jpeg()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert_problem(no_token, 401)
    assert gridfs_files() == [] and gridfs_chunks() == 0
    assert of_type(client, cid, "evidence_added") == []


def test_a_file_name_keeps_only_what_can_be_read(client):
    cid = open_complaint(client)
    sent = upload(client, cid, BUYER, "photo", png(), filename="foto\x00\x1b[31m.png")
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["file"]["filename"] == "foto[31m.png"
