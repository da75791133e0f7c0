"""Evidence writes retried and preconditioned: the same Idempotency-Key replays the first upload
(a file or a tracking number), even once the complaint has closed, and refuses a different
request; If-Match guards uploads and reviews like any write.
"""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    complaint,
    evidence_url,
    gridfs_files,
    jpeg,
    of_type,
    png,
    tracking,
)
from tests.support.http import assert_problem, open_complaint, post_action, upload
from tests.support.parties import BUYER, CARE, SELLER


def test_the_same_idempotency_key_and_file_replay_the_first_upload(client):
    cid = open_complaint(client)
    key = {"Idempotency-Key": "upload-ktp-1"}
    content = png()
    first = upload(client, cid, BUYER, "identity_document", content, "ktp.png", headers=key)
    assert first.status_code == 201
    again = upload(client, cid, BUYER, "identity_document", content, "ktp.png", headers=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(of_type(client, cid, "evidence_added")) == 1
    assert [str(f["_id"]) for f in gridfs_files()] == [first.get_json()["id"]]

    other = upload(client, cid, BUYER, "identity_document", jpeg(), "ktp.png", headers=key)
    assert "Idempotency-Key" in assert_problem(other, 422)["errors"]
    caption = upload(
        client, cid, BUYER, "identity_document", content, "ktp.png", headers=key, caption="x"
    )
    assert_problem(caption, 422)
    assert len(of_type(client, cid, "evidence_added")) == 1
    assert [str(f["_id"]) for f in gridfs_files()] == [first.get_json()["id"]]
    # The key is the caller's own: the seller's identical key is another request.
    theirs = upload(client, cid, SELLER, "photo", content, "ktp.png", headers=key)
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert len(gridfs_files()) == 2


def test_the_same_idempotency_key_replays_a_tracking_number(client):
    cid = open_complaint(client)
    key = {**BUYER, "Idempotency-Key": "resi-1"}
    first = tracking(client, cid, key)
    again = tracking(client, cid, key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert_problem(tracking(client, cid, key, tracking_number="OTHER12345"), 422)
    assert len(of_type(client, cid, "evidence_added")) == 1


@pytest.mark.parametrize("what", ["file", "tracking"])
def test_an_upload_retried_after_the_complaint_closed_still_replays(client, what):
    cid = open_complaint(client)
    key = {"Idempotency-Key": f"late-{what}"}

    def send():
        if what == "file":
            return upload(client, cid, BUYER, "photo", png(), "a.png", headers=key)
        return tracking(client, cid, {**BUYER, **key})

    first = send()
    assert first.status_code == 201
    assert post_action(client, cid, "withdraw", BUYER).status_code == 200
    later = send()
    assert later.status_code == 201, later.get_json()
    assert later.headers["Idempotent-Replayed"] == "true"
    assert later.get_json() == first.get_json()
    assert len(of_type(client, cid, "evidence_added")) == 1
    assert len(gridfs_files()) == (1 if what == "file" else 0)


def test_evidence_writes_honour_if_match(client):
    cid = open_complaint(client)
    version = complaint(client, cid)["version"]
    stale = {"If-Match": f'"{version + 1}"'}
    refused = upload(client, cid, BUYER, "photo", png(), "a.png", headers=stale)
    assert assert_problem(refused, 412)["version"] == version
    assert_problem(tracking(client, cid, {**BUYER, **stale}), 412)
    assert gridfs_files() == [] and of_type(client, cid, "evidence_added") == []
    current = {"If-Match": f'"{version}"'}
    added = upload(client, cid, BUYER, "photo", png(), "a.png", headers=current)
    assert added.status_code == 201 and added.headers["ETag"] == f'"{version + 1}"'
    eid = added.get_json()["id"]
    url = f"{evidence_url(cid, eid)}/review"
    old = client.post(url, json={"note": "Ok."}, headers={**CARE, **current})
    assert_problem(old, 412)
    fresh = client.post(
        url, json={"note": "Ok."}, headers={**CARE, "If-Match": added.headers["ETag"]}
    )
    assert fresh.status_code == 200 and fresh.headers["ETag"] == f'"{version + 2}"'
