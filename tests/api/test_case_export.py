"""A party's printable record of their own complaint: GET /v1/complaints/{id}/export."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

from tests.support.bodies import complaint_body, png_file
from tests.support.http import act
from tests.support.parties import AUDITOR, BUYER, CARE, OTHER_BUYER, OTHER_SELLER, SELLER

NIK = "3171234567890001"


class _Text(HTMLParser):
    """The page's visible text, and whether it holds anything that runs or loads."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.active: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "img", "iframe", "link", "object", "embed"):
            self.active.append(tag)
        self.active += [name for name, _ in attrs if name.startswith("on")]

    def handle_data(self, data):
        self.parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.parts))


def page(response) -> _Text:
    parser = _Text()
    parser.feed(response.get_data(as_text=True))
    return parser


def decided_case(client) -> str:
    """Opened with a NIK in the text, a KTP and a tracking number, escalated, decided."""
    body = complaint_body(description=f"Kaos robek <b>parah</b>. NIK saya {NIK}.")
    cid = client.post("/v1/complaints", json=body, headers=BUYER).get_json()["id"]
    offer = {"solution": {"kind": "refund", "amount": 30000}, "note": "Sebagian saja."}
    act(client, cid, "propose", SELLER, offer)
    ktp = {
        "kind": "identity_document",
        "caption": f"KTP {NIK}",
        "file": (png_file("white"), "ktp-budi.png"),
    }
    sent = client.post(
        f"/v1/complaints/{cid}/evidence",
        data=ktp,
        headers=BUYER,
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201
    ktp_id = sent.get_json()["id"]
    parcel = {"kind": "tracking", "courier": "J&T", "tracking_number": "JP1234567890"}
    assert (
        client.post(f"/v1/complaints/{cid}/evidence", json=parcel, headers=SELLER).status_code
        == 201
    )
    act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    act(client, cid, "assign", CARE)
    decision = {
        "solution": {"kind": "refund", "amount": 45000},
        "reason_code": "damaged",
        "rationale": "Foto jelas.",
        "evidence_considered": [ktp_id],
    }
    act(client, cid, "decide", CARE, decision)
    return cid


def test_a_buyer_prints_the_whole_case_in_indonesian_and_wib(client):
    cid = decided_case(client)
    response = client.get(f"/v1/complaints/{cid}/export", headers=BUYER)
    assert response.status_code == 200
    assert response.mimetype == "text/html" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Language"] == "id"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    shown = page(response)
    assert shown.active == []  # nothing runs, nothing is fetched
    text = shown.text
    assert f"Komplain {cid}" in text
    assert "INV-1001" in text and "Rp 45.000" in text
    assert "Ditutup" in text and "tim care memutuskan" in text
    assert "WIB" in text
    # Every event is a line of the timeline, numbered by its seq.
    events = client.get(f"/v1/complaints/{cid}/events", headers=BUYER).get_json()["items"]
    html = response.get_data(as_text=True)
    assert [int(s) for s in re.findall(r'id="event-(\d+)"', html)] == [e["seq"] for e in events]
    assert "Foto jelas." in text and "Tidak sepakat." in text
    # The buyer's words are text, never markup; a NIK keeps its last four digits only.
    assert "&lt;b&gt;parah&lt;/b&gt;" in html
    assert NIK not in html and "0001" in text
    assert events[-1]["hash"] in text


def test_times_are_in_wib(client, clock):
    cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).get_json()["id"]
    # The test clock starts at a known UTC instant: WIB is seven hours ahead.
    opened = client.get(f"/v1/complaints/{cid}", headers=BUYER).get_json()["created_at"]
    local = datetime.fromisoformat(opened) + timedelta(hours=7)
    text = page(client.get(f"/v1/complaints/{cid}/export", headers=BUYER)).text
    assert f"{local:%H}.{local:%M} WIB" in text


def test_english_on_request(client):
    cid = decided_case(client)
    by_query = client.get(f"/v1/complaints/{cid}/export?lang=en", headers=SELLER)
    assert by_query.headers["Content-Language"] == "en"
    text = page(by_query).text
    assert f"Complaint {cid}" in text and "the care team decided" in text
    by_header = client.get(
        f"/v1/complaints/{cid}/export", headers={**SELLER, "Accept-Language": "en-US,en;q=0.8"}
    )
    assert by_header.headers["Content-Language"] == "en"
    unknown = client.get(f"/v1/complaints/{cid}/export?lang=fr", headers=SELLER)
    assert unknown.headers["Content-Language"] == "id"


def test_the_seller_sees_that_a_ktp_was_sent_never_what_it_says(client):
    cid = decided_case(client)
    html = client.get(f"/v1/complaints/{cid}/export?lang=en", headers=SELLER).get_data(as_text=True)
    assert "identity document" in html
    assert "ktp-budi" not in html and "KTP ****" not in html and NIK not in html
    mine = client.get(f"/v1/complaints/{cid}/export?lang=en", headers=BUYER).get_data(as_text=True)
    assert "KTP ************0001" in mine and "ktp-budi" not in mine
    assert "JP1234567890" in html and "JP1234567890" in mine


def test_who_may_print_it(client):
    cid = decided_case(client)
    for reader in (BUYER, SELLER, CARE, AUDITOR):
        assert client.get(f"/v1/complaints/{cid}/export", headers=reader).status_code == 200
    for stranger in (OTHER_BUYER, OTHER_SELLER):
        refused = client.get(f"/v1/complaints/{cid}/export", headers=stranger)
        assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert client.get(f"/v1/complaints/{cid}/export").status_code == 401
    assert client.get("/v1/complaints/not-an-id/export", headers=BUYER).status_code == 404


def test_the_record_says_why_it_was_decided_and_what_the_money_does(client):
    cid = decided_case(client)
    seller = client.get(f"/v1/complaints/{cid}/export?lang=en", headers=SELLER).get_data(
        as_text=True
    )
    assert "The item arrived damaged" in seller and "(damaged)" in seller  # code and label
    assert "Foto jelas." in seller  # the rationale
    # The evidence considered: the buyer's KTP, named as personal data, never shown.
    considered = seller.split('<ul class="considered">')[1].split("</ul>")[0]
    assert "identity document" in considered and "personal data" in considered
    assert NIK[-4:] not in considered and "KTP" not in considered
    assert "Rp 45.000 to the buyer, Rp 60.000 to the seller" in seller
    assert "held until the review window closes" in seller
    indonesian = client.get(f"/v1/complaints/{cid}/export", headers=BUYER).get_data(as_text=True)
    assert "Barang diterima dalam keadaan rusak" in indonesian
    assert "Rp 45.000 untuk pembeli, Rp 60.000 untuk penjual" in indonesian
