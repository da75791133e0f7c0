"""The event log shows a party no more of the other party's identity documents than /evidence."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.bodies import complaint_body, png_file
from tests.support.parties import AUDITOR, BUYER, CARE, SELLER

ROOT = Path(__file__).resolve().parents[2]


def _checker():
    code = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "hash-chain.md").read_text(), re.S)
    namespace: dict = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own documentation, under test
    return namespace["first_broken_link"]


def test_a_seller_sees_that_a_ktp_was_sent_but_not_its_caption_or_file_and_can_still_verify(
    client,
):
    cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).json["id"]
    upload = {
        "kind": "identity_document",
        "caption": "KTP 3171234567890001",
        "file": (png_file("white"), "ktp-budi.png"),
    }
    sent = client.post(
        f"/v1/complaints/{cid}/evidence",
        data=upload,
        headers=BUYER,
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201

    seen_by_seller = client.get(f"/v1/complaints/{cid}/events", headers=SELLER).json["items"]
    added = seen_by_seller[-1]
    assert added["type"] == "evidence_added"
    assert added["data"]["kind"] == "identity_document"
    text = str(added)
    assert (
        "ktp-budi" not in text and "3171234567890001" not in text and "sha256" not in added["data"]
    )
    assert set(added["data_hashes"]) == {"caption", "file"}
    assert _checker()(seen_by_seller) is None

    for reader in (BUYER, CARE, AUDITOR):
        full = client.get(f"/v1/complaints/{cid}/events", headers=reader).json["items"]
        assert full[-1]["data"]["caption"] == "KTP 3171234567890001"
        assert full[-1]["data_hashes"] == {}
        assert _checker()(full) is None


def test_cares_note_on_a_ktp_is_for_the_care_team_and_the_uploader(client):
    cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).json["id"]
    upload = {"kind": "identity_document", "file": (png_file("white"), "ktp.png")}
    sent = client.post(
        f"/v1/complaints/{cid}/evidence",
        data=upload,
        headers=BUYER,
        content_type="multipart/form-data",
    )
    eid = sent.json["id"]
    note = {"note": "NIK 3171234567890001 cocok dengan nama Budi."}
    reviewed = client.post(f"/v1/complaints/{cid}/evidence/{eid}/review", json=note, headers=CARE)
    assert reviewed.status_code == 200 and reviewed.json["reviewed"]["note"] == note["note"]

    (mention,) = client.get(f"/v1/complaints/{cid}/evidence", headers=SELLER).json["items"]
    assert set(mention["reviewed"]) == {"by", "at"}
    log = client.get(f"/v1/complaints/{cid}/events", headers=SELLER).json["items"]
    assert log[-1]["type"] == "evidence_reviewed"
    assert "3171234567890001" not in str(log)
    assert log[-1]["data"]["evidence_id"] == eid and set(log[-1]["data_hashes"]) == {"note"}
    assert _checker()(log) is None

    for reader in (CARE, AUDITOR):
        (item,) = client.get(f"/v1/complaints/{cid}/evidence", headers=reader).json["items"]
        assert item["reviewed"]["note"] == note["note"]
        full = client.get(f"/v1/complaints/{cid}/events", headers=reader).json["items"]
        assert full[-1]["data"]["note"] == note["note"] and full[-1]["data_hashes"] == {}
    # The uploader reads care's note, with the NIK care typed masked (README "Decisions").
    masked = "NIK ************0001 cocok dengan nama Budi."
    (item,) = client.get(f"/v1/complaints/{cid}/evidence", headers=BUYER).json["items"]
    assert item["reviewed"]["note"] == masked
    full = client.get(f"/v1/complaints/{cid}/events", headers=BUYER).json["items"]
    assert full[-1]["data"]["note"] == masked and set(full[-1]["data_hashes"]) == {"note"}
    assert _checker()(full) is None
