"""Videos and PDFs lose their metadata as photos lose their EXIF: a phone's MOV and MP4 come
back without GPS position or device, a PDF without its author or XMP; the stored hash (and
`ETag`) is of what is kept, and what is kept still plays, or opens."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pikepdf
import pytest

from tests.support.evidence import download, gridfs_bytes, pdf, raw_upload, sha256
from tests.support.http import assert_problem, open_complaint
from tests.support.parties import BUYER

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GPS = b"+37.7858-122.4064"
DEVICE = (b"iPhone 15 Pro", b"Apple")


@pytest.mark.parametrize("name", ["phone.mov", "phone.mp4"])
def test_a_phone_video_comes_back_without_its_gps_position_or_device(client, name):
    original = (FIXTURES / name).read_bytes()
    assert GPS in original and DEVICE[0] in original  # the fixture does carry them
    cid = open_complaint(client)
    response = raw_upload(client, cid, BUYER, "video", original, name)
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    served = download(client, cid, item["id"], BUYER)
    kept = served.data
    assert GPS not in kept and not any(d in kept for d in DEVICE)
    assert b"\xa9xyz" not in kept and b"mdta" not in kept and b"Lavf" not in kept
    assert item["file"]["sha256"] == sha256(kept) == served.headers["ETag"].strip('"')
    assert item["file"]["size"] == len(kept) and gridfs_bytes(item["id"]) == kept
    with av.open(io.BytesIO(kept)) as video:  # still the same five frames
        assert sum(1 for _ in video.decode(video=0)) == 5


def test_a_pdf_comes_back_without_its_author_or_xmp(client):
    original = (FIXTURES / "author.pdf").read_bytes()
    assert b"Budi Santoso" in original and b"xmpmeta" in original
    cid = open_complaint(client)
    response = raw_upload(client, cid, BUYER, "document", original, "surat.pdf")
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    kept = download(client, cid, item["id"], BUYER).data
    assert b"Budi Santoso" not in kept and b"xmpmeta" not in kept and b"/Author" not in kept
    assert item["file"]["sha256"] == sha256(kept)
    with pikepdf.open(io.BytesIO(kept)) as document:
        assert len(document.pages) == 1 and "/Info" not in document.trailer


def test_a_pdf_without_metadata_is_kept_byte_for_byte(client):
    plain = pikepdf.new()
    plain.add_blank_page()
    out = io.BytesIO()
    plain.save(out)
    if "/Info" in pikepdf.open(io.BytesIO(out.getvalue())).trailer:  # pikepdf names itself
        with pikepdf.open(io.BytesIO(out.getvalue())) as again:
            del again.trailer["/Info"]
            out = io.BytesIO()
            again.save(out)
    data = out.getvalue()
    cid = open_complaint(client)
    item = raw_upload(client, cid, BUYER, "document", data, "a.pdf").get_json()
    assert item["file"]["sha256"] == sha256(data)


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("document", pdf()[:-7] + b"/Author (Budi Santoso)\n%%EOF\n"),
        (
            "video",
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"udta\xa9xyz" + b"\0" * 64,
        ),
    ],
)
def test_a_file_that_cannot_be_read_to_clean_but_holds_metadata_is_refused(client, kind, content):
    cid = open_complaint(client)
    body = assert_problem(raw_upload(client, cid, BUYER, kind, content, "x.bin"), 415)
    assert "metadata" in body["detail"]
    assert client.get(f"/v1/complaints/{cid}/evidence", headers=BUYER).get_json()["items"] == []
