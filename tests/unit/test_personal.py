"""domain.personal: which free text a reader sees with a NIK masked, by who wrote it."""

from __future__ import annotations

from resolution.domain.actors import Actor, Role
from resolution.domain.personal import complaint_as_seen, event_data_as_seen, evidence_as_seen

NIK = "3171234567890001"
MASKED = "************0001"
BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")
CARE = Actor(Role.CARE, "agent-1")
AUDITOR = Actor(Role.AUDITOR, "auditor-1")
MARKET = Actor(Role.INTEGRATION, "market-1")

PHOTO = {
    "id": "6650a1b2c3d4e5f601234567",
    "kind": "photo",
    "by": {"role": "buyer", "id": "buyer-1"},
    "caption": f"foto {NIK}",
    "file": {"filename": f"{NIK}.png", "sha256": "ab" * 32},
    "reviewed": {"by": "agent-1", "note": f"cocok {NIK}"},
}
VIEW = {
    "description": f"NIK {NIK}",
    "reason": "damaged",
    "order": {"id": f"INV-{NIK}"},  # the marketplace's, not free text
    "proposal": {"by": "seller", "note": f"NIK {NIK}", "solution": {"kind": "refund"}},
    "appeal": {"reason": f"banding {NIK}"},
    "resolution": {"rationale": f"dasar {NIK}", "evidence_considered": [PHOTO]},
    "evidence_requests": [{"what": f"KTP {NIK}", "party": "buyer"}],
    "return_shipment": {"tracking_number": NIK},
}


def test_staff_read_every_word_as_written():
    assert complaint_as_seen(CARE, VIEW) == VIEW and complaint_as_seen(AUDITOR, VIEW) == VIEW


def test_the_buyer_reads_its_own_words_and_others_masked():
    seen = complaint_as_seen(BUYER, VIEW)
    assert seen["description"] == VIEW["description"]
    assert seen["proposal"]["note"] == f"NIK {MASKED}"
    assert seen["appeal"]["reason"] == f"banding {MASKED}"
    assert seen["resolution"]["rationale"] == f"dasar {MASKED}"
    assert seen["evidence_requests"][0]["what"] == f"KTP {MASKED}"
    considered = seen["resolution"]["evidence_considered"][0]
    assert considered["caption"] == f"foto {NIK}"  # its own photo
    assert considered["reviewed"]["note"] == f"cocok {MASKED}"  # care's note on it
    assert seen["order"] == VIEW["order"] and seen["return_shipment"] == VIEW["return_shipment"]


def test_the_seller_and_the_marketplace_read_the_buyers_words_masked():
    for reader in (SELLER, MARKET):
        seen = complaint_as_seen(reader, VIEW)
        assert seen["description"] == f"NIK {MASKED}"
        item = evidence_as_seen(reader, PHOTO)
        assert item["caption"] == f"foto {MASKED}" and item["file"]["filename"] == f"{MASKED}.png"
    assert complaint_as_seen(SELLER, VIEW)["proposal"]["note"] == f"NIK {NIK}"


def test_a_masked_event_field_is_given_as_its_commitment():
    data = {"body": f"NIK {NIK}", "evidence_ids": []}
    shown, hashes = event_data_as_seen(SELLER, "buyer", data, {}, lambda key: f"c({key})")
    assert shown == {"body": f"NIK {MASKED}", "evidence_ids": []} and hashes == {"body": "c(body)"}
    assert event_data_as_seen(BUYER, "buyer", data, {}, lambda key: "x") == (data, {})
    # A field already withheld stays as it was withheld.
    withheld = {"body": "[withheld]", "evidence_ids": []}
    assert event_data_as_seen(SELLER, "care", withheld, {"body": "c"}, str)[1] == {"body": "c"}
