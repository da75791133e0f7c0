"""Restricted evidence (identity documents, anything `care_only`): its content only for care,
auditors and the uploader's party, a bare mention for the other party, nothing for outsiders,
in the list and the event log alike; every new read of it is an event, and no byte of it leaves
without one.
"""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    complaint,
    download,
    events,
    evidence_url,
    jpeg,
    listed,
    of_type,
    pdf,
    png,
    review,
    sha256,
    tracking,
    webp,
)
from tests.support.http import assert_problem, open_complaint, post_action, upload
from tests.support.parties import (
    AUDITOR,
    BUYER,
    CARE,
    CARE_2,
    OTHER_BUYER,
    OTHER_SELLER,
    SELLER,
    auth,
)

SAME_SHOP_SELLER = auth("seller", "seller-2", "shop-1")  # another admin of the buyer's shop
MENTION_KEYS = {"id", "kind", "by", "at", "care_only", "restricted", "reviewed"}


@pytest.fixture
def gallery(client):
    """A complaint with a plain photo, and restricted uploads of the buyer and of the seller."""
    cid = open_complaint(client)

    def up(who, kind, content, filename, caption, **form):
        response = upload(client, cid, who, kind, content, filename, caption=caption, **form)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    ids = {
        "photo": up(BUYER, "photo", jpeg(), "kaos.jpg", "Jahitan robek"),
        "buyer_ktp": up(BUYER, "identity_document", png(), "ktp-budi.png", "KTP Budi 3171"),
        "buyer_private": up(BUYER, "photo", webp(), "rumah.webp", "Depan rumah", care_only="true"),
        "seller_ktp": up(SELLER, "identity_document", pdf(), "ktp-siti.pdf", "KTP Siti"),
        "seller_private": up(SELLER, "photo", png(), "gudang.png", "Gudang", care_only="true"),
    }
    return cid, ids


RESTRICTED_OF = {
    "buyer": ("buyer_ktp", "buyer_private"),
    "seller": ("seller_ktp", "seller_private"),
}


@pytest.mark.parametrize(
    "who, party",
    [
        (BUYER, "buyer"),
        (SELLER, "seller"),
        (SAME_SHOP_SELLER, "seller"),
        (CARE, "care"),
        (CARE_2, "care"),
        (AUDITOR, "auditor"),
    ],
    ids=["buyer", "seller", "same-shop-seller", "care", "other-care", "auditor"],
)
def test_restricted_content_is_for_care_auditors_and_its_uploaders_party(
    client, gallery, who, party
):
    cid, ids = gallery
    items = listed(client, cid, who)
    assert list(items) == list(ids.values())
    hidden = {
        name
        for side, names in RESTRICTED_OF.items()
        if party in ("buyer", "seller") and side != party
        for name in names
    }
    for name, eid in ids.items():
        item = items[eid]
        assert item["restricted"] is (name != "photo")
        before = len(of_type(client, cid, "evidence_viewed"))
        got = download(client, cid, eid, who)
        if name in hidden:
            assert set(item) <= MENTION_KEYS, item
            assert "file" not in item and "caption" not in item and "href" not in item
            assert item["by"] == {"role": "seller" if party == "buyer" else "buyer"}
            assert item["kind"] == ("identity_document" if name.endswith("ktp") else "photo")
            body = assert_problem(got, 403)
            assert "Budi" not in body["detail"] and "ktp-" not in body["detail"]
            assert len(of_type(client, cid, "evidence_viewed")) == before
        else:
            assert "file" in item and "caption" in item and item["href"]
            assert item["by"]["id"]
            assert got.status_code == 200 and sha256(got.data) == item["file"]["sha256"]
            viewed = of_type(client, cid, "evidence_viewed")
            if name == "photo":
                assert len(viewed) == before
                assert got.headers["Cache-Control"] == "private"
            else:
                assert len(viewed) == before + 1
                assert viewed[-1]["data"]["evidence_id"] == eid
                assert viewed[-1]["data"]["kind"] == item["kind"]
                assert viewed[-1]["actor"]["role"] == party
                assert got.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("who", [OTHER_BUYER, OTHER_SELLER], ids=["other-buyer", "other-shop"])
def test_outsiders_do_not_learn_that_the_evidence_exists(client, gallery, who):
    cid, ids = gallery
    assert_problem(client.get(evidence_url(cid), headers=who), 404)
    for eid in ids.values():
        assert_problem(download(client, cid, eid, who), 404)
        assert_problem(review(client, cid, eid, who), 404)
    assert of_type(client, cid, "evidence_viewed") == []


def test_the_event_log_hides_what_the_evidence_list_hides(client, gallery):
    cid, ids = gallery
    log = client.get(f"/v1/complaints/{cid}/events", headers=SELLER).get_json()["items"]
    added = {e["data"]["evidence_id"]: e for e in log if e["type"] == "evidence_added"}
    for name in RESTRICTED_OF["buyer"]:
        data = added[ids[name]]["data"]
        text = str(data)
        assert "Budi" not in text and "rumah" not in text and "ktp-budi" not in text
        assert data["evidence_id"] == ids[name] and data["kind"] in ("photo", "identity_document")
    assert added[ids["photo"]]["data"]["caption"] == "Jahitan robek"


def test_a_care_only_tracking_number_is_hidden_from_the_other_party_everywhere(client):
    cid = open_complaint(client)
    secret = tracking(client, cid, BUYER, care_only=True, tracking_number="SECRET1234")
    eid = secret.get_json()["id"]
    mention = listed(client, cid, SELLER)[eid]
    assert "tracking_number" not in mention and "courier" not in mention
    log = client.get(f"/v1/complaints/{cid}/events", headers=SELLER).get_json()["items"]
    (added,) = [e for e in log if e["type"] == "evidence_added"]
    assert "SECRET1234" not in str(added["data"])


def test_every_new_read_of_restricted_evidence_is_recorded_once(client, gallery):
    cid, ids = gallery
    eid = ids["buyer_ktp"]
    size = listed(client, cid, CARE)[eid]["file"]["size"]
    assert size > 20

    def viewed():
        return of_type(client, cid, "evidence_viewed")

    assert download(client, cid, eid, CARE).status_code == 200
    assert [(v["actor"]["role"], v["actor"]["id"]) for v in viewed()] == [("care", "agent-1")]
    # A player seeking further continues the same read.
    assert download(client, cid, eid, CARE, Range="bytes=10-").status_code == 206
    assert download(client, cid, eid, CARE, Range="bytes=10-19").status_code == 206
    assert len(viewed()) == 1
    # Starting again from byte 0 is a new read.
    assert download(client, cid, eid, CARE, Range="bytes=0-9").status_code == 206
    assert download(client, cid, eid, AUDITOR).status_code == 200
    assert download(client, cid, eid, BUYER).status_code == 200
    assert download(client, cid, eid, SELLER).status_code == 403
    who = [(v["actor"]["role"], v["actor"]["id"]) for v in viewed()]
    assert who == [
        ("care", "agent-1"),
        ("care", "agent-1"),
        ("auditor", "auditor-1"),
        ("buyer", "buyer-1"),
    ]
    assert all(
        {k: v["data"][k] for k in ("evidence_id", "kind")}
        == {"evidence_id": eid, "kind": "identity_document"}
        for v in viewed()
    )
    # Each read records the bytes its answer sent (a range its length, a whole file its size).
    assert [v["data"]["bytes"] for v in viewed()] == [size, 10, size, size]
    # The reads are events: the complaint's version moved with each.
    assert complaint(client, cid)["version"] == events(client, cid)[-1]["seq"]


def test_a_suffix_range_covering_the_whole_file_is_a_recorded_read(client, gallery):
    cid, ids = gallery
    eid = ids["buyer_ktp"]
    size = listed(client, cid, CARE)[eid]["file"]["size"]
    got = download(client, cid, eid, CARE, Range=f"bytes=-{size}")
    assert got.status_code == 206 and len(got.data) == size
    assert len(of_type(client, cid, "evidence_viewed")) == 1


def test_no_byte_of_restricted_evidence_leaves_without_a_recorded_reader(client, gallery, clock):
    cid, ids = gallery
    eid = ids["buyer_ktp"]
    size = listed(client, cid, CARE)[eid]["file"]["size"]

    def readers():
        return [v["actor"]["id"] for v in of_type(client, cid, "evidence_viewed")]

    # Nothing goes out: no read. (A HEAD, a 304, a 416.)
    assert client.head(evidence_url(cid, eid), headers=CARE).status_code == 200
    tag = download(client, cid, eid, BUYER).headers["ETag"]
    assert readers() == ["buyer-1"]
    cached = download(client, cid, eid, CARE, **{"If-None-Match": tag})
    assert cached.status_code == 304
    outside = download(client, cid, eid, CARE, Range=f"bytes={size}-")
    assert outside.status_code == 416
    assert outside.headers["Content-Range"] == f"bytes */{size}"
    assert readers() == ["buyer-1"]
    # A range that skips byte 0, with no read begun: a read all the same.
    assert download(client, cid, eid, CARE, Range="bytes=1-").status_code == 206
    assert download(client, cid, eid, CARE, Range=f"bytes=-{size - 1}").status_code == 206
    assert readers() == ["buyer-1", "agent-1"]
    # Within ten minutes it continues that read; after, it begins another.
    clock.advance(minutes=9)
    assert download(client, cid, eid, CARE, Range="bytes=5-9").status_code == 206
    assert readers() == ["buyer-1", "agent-1"]
    clock.advance(minutes=2)
    assert download(client, cid, eid, CARE, Range="bytes=5-9").status_code == 206
    assert readers() == ["buyer-1", "agent-1", "agent-1"]


def test_reading_restricted_evidence_of_a_closed_complaint_is_still_recorded(client, gallery):
    cid, ids = gallery
    assert post_action(client, cid, "withdraw", BUYER).status_code == 200
    assert download(client, cid, ids["seller_ktp"], AUDITOR).status_code == 200
    (viewed,) = of_type(client, cid, "evidence_viewed")
    assert viewed["actor"]["role"] == "auditor"
    assert download(client, cid, ids["seller_ktp"], BUYER).status_code == 403
