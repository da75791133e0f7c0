"""Evidence, for the tests of the evidence API: files made on the spot (Pillow, a few magic
bytes: there are no binary fixtures), the requests the tests make, and what GridFS (bucket
`evidence`) holds.
"""

from __future__ import annotations

import hashlib
import io
import os

from bson import ObjectId
from gridfs import GridFSBucket
from PIL import Image

from resolution.store.documents import ComplaintDocument
from tests.support.http import act, open_complaint
from tests.support.parties import AUDITOR, BUYER, CARE, SELLER

COUNTER = {"kind": "refund", "amount": 30000}


# --- files made on the spot -----------------------------------------------------------------------


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
# The table of what each kind may be (and resolution/domain/evidence.py's).
ALLOWED = {
    "photo": IMAGE_TYPES,
    "screenshot": IMAGE_TYPES,
    "video": VIDEO_TYPES,
    "document": IMAGE_TYPES | {"application/pdf"},
    "identity_document": IMAGE_TYPES | VIDEO_TYPES | {"application/pdf"},
}


# --- requests -------------------------------------------------------------------------------------


def evidence_url(cid: str, eid: str | None = None) -> str:
    return f"/v1/complaints/{cid}/evidence" + (f"/{eid}" if eid else "")


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


def in_mediation(client, order_id="INV-1001") -> str:
    cid = open_complaint(client, order_id)
    act(client, cid, "propose", SELLER, {"solution": COUNTER})
    act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    act(client, cid, "assign", CARE)
    return cid


# --- what GridFS holds ----------------------------------------------------------------------------


def gridfs_files() -> list[dict]:
    return list(ComplaintDocument._get_db()["evidence.files"].find())


def gridfs_chunks() -> int:
    return ComplaintDocument._get_db()["evidence.chunks"].count_documents({})


def gridfs_bytes(eid: str) -> bytes:
    """What the service stored for this file, decrypted with its own key (the bytes it
    serves); `gridfs_raw` is what the database holds."""
    from resolution.service import encryption
    from resolution.store import files

    bucket = GridFSBucket(ComplaintDocument._get_db(), bucket_name="evidence")
    stored = bucket.open_download_stream(ObjectId(eid))
    keys = encryption.process_keyring()
    data_key = keys.unwrap(files.key_of(eid), eid)
    return encryption.DecryptingReader(stored, data_key, eid).read()


def gridfs_raw(eid: str) -> bytes:
    """The file's stored chunks, concatenated, as any copy of the database holds them."""
    chunks = ComplaintDocument._get_db()["evidence.chunks"]
    return b"".join(c["data"] for c in chunks.find({"files_id": ObjectId(eid)}).sort("n", 1))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
