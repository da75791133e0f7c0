"""What an evidence file is goes by its bytes, never its name: each kind takes the types of the
issue's table and refuses the others (415); images are re-saved without their GPS, comment or
XMP and hashed as stored; an image that cannot be read is 422 and stores nothing.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from resolution.domain.evidence import CONTENT_TYPES, KINDS
from tests.support.evidence import (
    ALLOWED,
    IMAGE_TYPES,
    SAMPLES,
    download,
    evidence_url,
    gridfs_bytes,
    gridfs_chunks,
    gridfs_files,
    jpeg,
    listed,
    mp4,
    of_type,
    pdf,
    png,
    sha256,
    webp,
)
from tests.support.http import assert_problem, open_complaint, upload
from tests.support.parties import BUYER, CARE, SELLER


def test_the_samples_are_what_filetype_says_they_are():
    import filetype

    for mime, (make, _) in SAMPLES.items():
        guess = filetype.guess(make())
        assert guess is not None and guess.mime == mime


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


# --- cleaned as stored ----------------------------------------------------------------------------


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
