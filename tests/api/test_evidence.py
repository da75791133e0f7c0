"""Evidence over HTTP: uploads checked by their bytes, photos cleaned, files streamed with
ranges, personal data shown only to whom it belongs, every read of it on the record, and no
decision while the evidence care asked for is awaited or unread.

Files are made here (Pillow, a few magic bytes): there are no binary fixtures. Every refused
upload is checked to leave nothing in GridFS (bucket `evidence`).
"""

from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime, timedelta

import pytest
from bson import ObjectId
from gridfs import GridFSBucket
from PIL import Image

from resolution.api import create_app
from resolution.domain.evidence import CONTENT_TYPES, KINDS, Limits
from resolution.service import Context
from resolution.store.documents import ComplaintDocument
from tests.support.bodies import complaint_body
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
COUNTER = {"kind": "refund", "amount": 30000}
DECISION = {
    "solution": {"kind": "refund", "amount": 45000},
    "rationale": "Video menunjukkan cacat.",
}
MENTION_KEYS = {"id", "kind", "by", "at", "care_only", "restricted", "reviewed"}


# --- files made on the spot ------------------------------------------------------------------


def _image(fmt: str, *, gps: bool = False, size: tuple[int, int] = (16, 12)) -> bytes:
    out = io.BytesIO()
    im = Image.new("RGB", size, "orange")
    if gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "S", 2: (6.0, 12.0, 30.0)}  # GPSInfo: somewhere in Jakarta
        im.save(out, fmt, exif=exif)
    else:
        im.save(out, fmt)
    return out.getvalue()


def jpeg(**kw) -> bytes:
    return _image("JPEG", **kw)


def png(**kw) -> bytes:
    return _image("PNG", **kw)


def webp(**kw) -> bytes:
    return _image("WEBP", **kw)


def noisy_png(side: int) -> bytes:
    """A PNG that does not compress: about 3 * side * side bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(3 * side * side)).save(out, "PNG")
    return out.getvalue()


def mp4(padding: int = 64) -> bytes:
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * padding


def quicktime(padding: int = 64) -> bytes:
    return b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * padding


def pdf(padding: int = 0) -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
        b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
        b"trailer <</Root 1 0 R>>\n" + b"%" * padding + b"\n%%EOF\n"
    )


SAMPLES = {
    "image/jpeg": (jpeg, "foto.jpg"),
    "image/png": (png, "foto.png"),
    "image/webp": (webp, "foto.webp"),
    "video/mp4": (mp4, "unboxing.mp4"),
    "video/quicktime": (quicktime, "unboxing.mov"),
    "application/pdf": (pdf, "invoice.pdf"),
}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp"}
VIDEO_TYPES = {"video/mp4", "video/quicktime"}
# The issue's table of what each kind may be (and resolution/domain/evidence.py's).
ALLOWED = {
    "photo": IMAGE_TYPES,
    "screenshot": IMAGE_TYPES,
    "video": VIDEO_TYPES,
    "document": IMAGE_TYPES | {"application/pdf"},
    "identity_document": IMAGE_TYPES | VIDEO_TYPES | {"application/pdf"},
}


def test_the_samples_are_what_filetype_says_they_are():
    import filetype

    for mime, (make, _) in SAMPLES.items():
        guess = filetype.guess(make())
        assert guess is not None and guess.mime == mime


# --- requests -----------------------------------------------------------------------------


def evidence_url(cid: str, eid: str | None = None) -> str:
    return f"/v1/complaints/{cid}/evidence" + (f"/{eid}" if eid else "")


def upload(client, cid, who, kind, content, filename="foto.jpg", headers=None, **form):
    data = {"kind": kind, **{k: str(v) for k, v in form.items()}}
    data["file"] = (io.BytesIO(content), filename, "application/octet-stream")
    return client.post(
        evidence_url(cid),
        headers={**who, **(headers or {})},
        data=data,
        content_type="multipart/form-data",
    )


def raw_upload(client, cid, who, kind, content, filename):
    """A multipart upload made by hand: for a big file, the test client would spool the body
    to a temporary file it never closes."""
    boundary = "----evidence-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return client.post(
        evidence_url(cid),
        headers=who,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def tracking(client, cid, who, **extra):
    body = {"kind": "tracking", "courier": "J&T", "tracking_number": "JP1234567890", **extra}
    return client.post(evidence_url(cid), json=body, headers=who)


def download(client, cid, eid, who, **headers):
    return client.get(evidence_url(cid, eid), headers={**who, **headers})


def review(client, cid, eid, who, note="Sudah dilihat."):
    return client.post(f"{evidence_url(cid, eid)}/review", json={"note": note}, headers=who)


def act(client, cid, action, who, body=None):
    return client.post(f"/v1/complaints/{cid}/actions/{action}", json=body or {}, headers=who)


def complaint(client, cid, who=CARE) -> dict:
    response = client.get(f"/v1/complaints/{cid}", headers=who)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def events(client, cid) -> list[dict]:
    response = client.get(f"/v1/complaints/{cid}/events", headers=AUDITOR)
    assert response.status_code == 200
    return response.get_json()["items"]


def of_type(client, cid, type_: str) -> list[dict]:
    return [e for e in events(client, cid) if e["type"] == type_]


def listed(client, cid, who) -> dict[str, dict]:
    response = client.get(evidence_url(cid), headers=who)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["next_cursor"] is None
    return {item["id"]: item for item in body["items"]}


def open_complaint(client, order_id="INV-1001") -> str:
    response = client.post("/v1/complaints", json=complaint_body(order_id), headers=BUYER)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def in_mediation(client, order_id="INV-1001") -> str:
    cid = open_complaint(client, order_id)
    assert act(client, cid, "propose", SELLER, {"solution": COUNTER}).status_code == 200
    assert act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."}).status_code == 200
    assert act(client, cid, "assign", CARE).status_code == 200
    return cid


def gridfs_files() -> list[dict]:
    return list(ComplaintDocument._get_db()["evidence.files"].find())


def gridfs_chunks() -> int:
    return ComplaintDocument._get_db()["evidence.chunks"].count_documents({})


def gridfs_bytes(eid: str) -> bytes:
    bucket = GridFSBucket(ComplaintDocument._get_db(), bucket_name="evidence")
    return bucket.open_download_stream(ObjectId(eid)).read()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    return body


# --- what may be uploaded -----------------------------------------------------------------


def test_the_kinds_and_their_types_are_those_of_the_issue():
    assert set(KINDS) == {
        "photo",
        "video",
        "screenshot",
        "document",
        "tracking",
        "identity_document",
    }
    assert {kind: set(types) for kind, types in CONTENT_TYPES.items()} == ALLOWED


def test_every_kind_takes_its_types_and_refuses_the_others(client):
    cid = open_complaint(client)
    accepted = []
    for kind, allowed in ALLOWED.items():
        for mime, (make, filename) in SAMPLES.items():
            response = upload(client, cid, BUYER, kind, make(), filename)
            if mime in allowed:
                assert response.status_code == 201, (kind, mime, response.get_json())
                item = response.get_json()
                assert item["kind"] == kind
                assert item["file"]["content_type"] == mime
                assert item["file"]["filename"] == filename
                assert item["href"] == evidence_url(cid, item["id"])
                assert response.headers["Location"] == evidence_url(cid)
                got = download(client, cid, item["id"], BUYER)
                assert got.status_code == 200 and got.mimetype == mime
                assert item["file"]["size"] == len(got.data)
                assert item["file"]["sha256"] == sha256(got.data)
                if mime not in IMAGE_TYPES:  # only images are re-saved
                    assert got.data == make()
                accepted.append(item["id"])
            else:
                body = assert_problem(response, 415)
                assert mime in body["detail"], (kind, mime, body["detail"])
    assert len(accepted) == sum(len(a) for a in ALLOWED.values())
    assert sorted(str(f["_id"]) for f in gridfs_files()) == sorted(accepted)
    assert all(f["metadata"]["recorded"] is True for f in gridfs_files())
    assert [e["data"]["evidence_id"] for e in of_type(client, cid, "evidence_added")] == accepted
    assert list(listed(client, cid, CARE)) == accepted


def test_a_pdf_sent_as_a_photo_is_refused_whatever_its_name(client):
    cid = open_complaint(client)
    for kind in ("photo", "screenshot", "video"):
        body = assert_problem(upload(client, cid, BUYER, kind, pdf(), "foto.jpg"), 415)
        assert "application/pdf" in body["detail"]
    body = assert_problem(upload(client, cid, BUYER, "document", mp4(), "invoice.pdf"), 415)
    assert "video/mp4" in body["detail"]
    assert gridfs_files() == [] and gridfs_chunks() == 0
    assert of_type(client, cid, "evidence_added") == []


@pytest.mark.parametrize(
    "content, status",
    [
        pytest.param(b"#!/bin/sh\nrm -rf / --no-preserve-root\n", 415, id="shell-script"),
        pytest.param(b"<html><script>alert(1)</script></html>", 415, id="html"),
        pytest.param(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff;", 415, id="gif"),
        # JPEG's magic bytes and nothing else: the type matches, the image cannot be read.
        pytest.param(b"\xff\xd8\xff", 422, id="jpeg-magic-only"),
    ],
)
def test_a_file_that_only_claims_to_be_a_photo_is_refused(client, content, status):
    cid = open_complaint(client)
    data = {"kind": "photo", "file": (io.BytesIO(content), "foto.jpg", "image/jpeg")}
    response = client.post(
        evidence_url(cid), headers=BUYER, data=data, content_type="multipart/form-data"
    )
    assert_problem(response, status)
    assert gridfs_files() == [] and gridfs_chunks() == 0
    assert of_type(client, cid, "evidence_added") == []


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


# --- what is stored -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [jpeg, png, webp], ids=["jpeg", "png", "webp"])
def test_a_photo_comes_back_without_its_gps_and_hashed_as_stored(client, make):
    original = make(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # it does carry GPS
    cid = open_complaint(client)
    response = upload(client, cid, BUYER, "photo", original)
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    got = download(client, cid, item["id"], SELLER)
    assert got.status_code == 200
    cleaned = Image.open(io.BytesIO(got.data))
    assert cleaned.getexif().get_ifd(0x8825) == {}
    assert 0x8825 not in cleaned.getexif()
    assert "exif" not in cleaned.info
    assert cleaned.size == (16, 12)
    stored = gridfs_bytes(item["id"])
    assert got.data == stored != original
    assert item["file"]["sha256"] == sha256(got.data) == sha256(stored)
    assert item["file"]["size"] == len(stored)
    (meta,) = [f["metadata"] for f in gridfs_files()]
    assert meta["sha256"] == item["file"]["sha256"]
    assert meta["content_type"] == item["file"]["content_type"]
    assert meta["complaint_id"] == cid and meta["kind"] == "photo"
    assert meta["uploaded_by"] == {"role": "buyer", "id": "buyer-1"}
    (added,) = of_type(client, cid, "evidence_added")
    assert added["data"]["file"]["sha256"] == item["file"]["sha256"]


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG header announcing a huge image, and no pixels: a decompression bomb's shape."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_an_unreadable_image_is_422_and_stores_nothing(client):
    cid = open_complaint(client)
    broken = png()[:40]  # the signature and header, then nothing
    assert_problem(upload(client, cid, BUYER, "photo", broken, "foto.png"), 422)
    bomb = _png_claiming(40_000, 40_000)
    assert_problem(upload(client, cid, BUYER, "photo", bomb, "foto.png"), 422)
    assert gridfs_files() == []
    assert of_type(client, cid, "evidence_added") == []


# --- reading files: ETag, ranges -----------------------------------------------------------


def test_a_file_is_streamed_with_etag_and_byte_ranges(client):
    cid = open_complaint(client)
    content = pdf(padding=200)
    item = upload(client, cid, BUYER, "document", content, "a.pdf").get_json()
    eid, size = item["id"], len(content)
    tag = f'"{item["file"]["sha256"]}"'

    whole = download(client, cid, eid, SELLER)
    assert whole.status_code == 200 and whole.data == content
    assert whole.headers["ETag"] == tag
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Length"] == str(size)
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert whole.headers["Content-Disposition"] == "inline"
    assert whole.headers["Cache-Control"] == "private"
    assert whole.mimetype == "application/pdf"

    first = download(client, cid, eid, SELLER, Range="bytes=0-9")
    assert first.status_code == 206 and first.data == content[:10]
    assert first.headers["Content-Range"] == f"bytes 0-9/{size}"
    assert first.headers["Content-Length"] == "10"
    rest = download(client, cid, eid, SELLER, Range="bytes=10-")
    assert rest.status_code == 206 and rest.data == content[10:]
    assert rest.headers["Content-Range"] == f"bytes 10-{size - 1}/{size}"
    tail = download(client, cid, eid, SELLER, Range="bytes=-5")
    assert tail.status_code == 206 and tail.data == content[-5:]

    assert_problem(download(client, cid, eid, SELLER, Range=f"bytes={size}-"), 416)
    assert_problem(download(client, cid, eid, SELLER, Range="bytes=0-1,5-6"), 416)

    cached = download(client, cid, eid, SELLER, **{"If-None-Match": tag})
    assert cached.status_code == 304 and cached.data == b""
    assert cached.headers["ETag"] == tag
    stale = download(client, cid, eid, SELLER, **{"If-None-Match": '"0000"'})
    assert stale.status_code == 200 and stale.data == content
    changed = download(client, cid, eid, SELLER, Range="bytes=0-9", **{"If-Range": '"0000"'})
    assert changed.status_code == 200 and changed.data == content
    same = download(client, cid, eid, SELLER, Range="bytes=0-9", **{"If-Range": tag})
    assert same.status_code == 206 and same.data == content[:10]
    # Ordinary evidence leaves no trail when read.
    assert of_type(client, cid, "evidence_viewed") == []


def test_a_range_in_another_unit_is_ignored(client):
    cid = open_complaint(client)
    content = pdf(padding=50)
    eid = upload(client, cid, BUYER, "document", content, "a.pdf").get_json()["id"]
    response = download(client, cid, eid, SELLER, Range="items=0-5")
    assert response.status_code == 200 and response.data == content


def test_unknown_evidence_and_tracking_have_no_file(client):
    cid = open_complaint(client)
    eid = tracking(client, cid, BUYER).get_json()["id"]
    assert_problem(download(client, cid, eid, BUYER), 404)
    assert_problem(download(client, cid, str(ObjectId()), BUYER), 404)
    assert_problem(download(client, cid, "not-an-id", BUYER), 404)
    assert_problem(download(client, str(ObjectId()), eid, BUYER), 404)


# --- tracking numbers ------------------------------------------------------------------------


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


# --- who sees what -------------------------------------------------------------------------


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
    assert all(v["data"] == {"evidence_id": eid, "kind": "identity_document"} for v in viewed())
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
    assert act(client, cid, "withdraw", BUYER).status_code == 200
    assert download(client, cid, ids["seller_ktp"], AUDITOR).status_code == 200
    (viewed,) = of_type(client, cid, "evidence_viewed")
    assert viewed["actor"]["role"] == "auditor"
    assert download(client, cid, ids["seller_ktp"], BUYER).status_code == 403


# --- refused uploads leave nothing ------------------------------------------------------------


def test_no_evidence_on_a_closed_complaint(client):
    cid = open_complaint(client)
    assert act(client, cid, "withdraw", BUYER).status_code == 200
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
    assert act(client, cid, "withdraw", BUYER).status_code == 200
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


@pytest.mark.parametrize("value", ["true", 1, "yes", None])
def test_care_only_in_json_is_a_json_boolean(client, value):
    cid = open_complaint(client)
    body = assert_problem(tracking(client, cid, BUYER, care_only=value), 422)
    assert "care_only" in str(body)
    assert of_type(client, cid, "evidence_added") == []


def test_a_jpeg_loses_its_comment_and_xmp_too(client):
    out = io.BytesIO()
    Image.new("RGB", (16, 12), "orange").save(
        out, "JPEG", comment=b"Budi, Jl. Melati 5", xmp=b"<x:xmpmeta>Budi</x:xmpmeta>"
    )
    original = out.getvalue()
    assert b"Budi" in original
    cid = open_complaint(client)
    item = upload(client, cid, BUYER, "photo", original).get_json()
    got = download(client, cid, item["id"], SELLER).data
    assert b"Budi" not in got
    cleaned = Image.open(io.BytesIO(got))
    assert "comment" not in cleaned.info and "xmp" not in cleaned.info


# --- messages ------------------------------------------------------------------------------


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


# --- evidence asked for, answered, reviewed ------------------------------------------------


def request_evidence(client, cid, party="seller", what="Video unboxing paket.", **extra):
    body = {"party": party, "what": what, **extra}
    response = act(client, cid, "request_evidence", CARE, body)
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
    refused = assert_problem(act(client, cid, "decide", CARE, DECISION), 409)
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
    refused = assert_problem(act(client, cid, "decide", CARE, DECISION), 409)
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

    decided = act(client, cid, "decide", CARE, DECISION)
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["state"] == "closed"
    assert decided.get_json()["outcome"] == "decided"
    assert_problem(review(client, cid, eid, CARE_2), 409)  # closed, and reviewed already


def test_an_unanswered_request_stops_blocking_at_its_due_time(client, clock):
    cid = in_mediation(client)
    due = clock.now + timedelta(hours=6)
    request = request_evidence(client, cid, due_at=due.isoformat())
    assert datetime.fromisoformat(request["due_at"]) == due
    clock.advance(hours=5, minutes=59)
    assert_problem(act(client, cid, "decide", CARE, DECISION), 409)
    clock.advance(minutes=1)
    decided = act(client, cid, "decide", CARE, DECISION)
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["outcome"] == "decided"


def test_an_answer_by_message_alone_settles_the_request(client):
    cid = in_mediation(client)
    request = request_evidence(client, cid)
    url = f"/v1/complaints/{cid}/messages"
    body = {"body": "Kami tidak merekam video unboxing.", "answers": request["id"]}
    assert client.post(url, json=body, headers=SELLER).status_code == 201
    assert complaint(client, cid)["turn"] == "care"
    assert act(client, cid, "decide", CARE, DECISION).status_code == 200


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
    assert_problem(act(client, cid, "decide", CARE, DECISION), 409)


def test_review_refused_on_a_closed_complaint(client):
    cid = open_complaint(client)
    eid = upload(client, cid, BUYER, "photo", jpeg()).get_json()["id"]
    assert act(client, cid, "withdraw", BUYER).status_code == 200
    assert_problem(review(client, cid, eid, CARE), 409)


# --- the issue's "Done when" ---------------------------------------------------------------


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
    assert act(client, cid, "propose", SELLER, {"solution": COUNTER}).status_code == 200
    assert act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."}).status_code == 200
    assert act(client, cid, "assign", CARE).status_code == 200
    steps += ["propose", "escalate", "assign"]
    assert download(client, cid, ktp_id, CARE).status_code == 200
    steps += ["evidence_viewed"]

    # Care asks the seller for an unboxing video: no decision until answered and reviewed.
    request = request_evidence(client, cid)
    steps += ["request_evidence"]
    assert complaint(client, cid, SELLER)["turn"] == "seller"
    assert "evidence" in assert_problem(act(client, cid, "decide", CARE, DECISION), 409)["detail"]
    clock.advance(hours=2)
    video = upload(client, cid, SELLER, "video", mp4(), "unboxing.mp4", answers=request["id"])
    assert video.status_code == 201
    steps += ["evidence_added"]
    video_id = video.get_json()["id"]
    assert complaint(client, cid)["turn"] == "care"
    assert_problem(act(client, cid, "decide", CARE, DECISION), 409)
    assert review(client, cid, video_id, CARE, "Kaos sudah sobek saat dibuka.").status_code == 200
    steps += ["evidence_reviewed"]
    decided = act(client, cid, "decide", CARE, DECISION)
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
