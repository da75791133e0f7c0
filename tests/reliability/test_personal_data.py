"""Personal data: a NIK planted wherever a client can put text shows only where it may.

Each place gets its own 16-digit NIK (so a leak says where it came from): the description,
a message, a seller's note, an escalation reason, a tracking number, a care_only tracking
number, a photo's caption and its EXIF, an identity document's caption, file name and EXIF,
care's review note on it, and a rejected request's body. Then every response (as every role),
the printable record, the audit export (NDJSON and CSV), the console pages, the webhook
payloads a loopback receiver got, and the log lines are scanned, as bytes, for each NIK in
full, its first 12 digits (a mask on the wrong side) and its base64.

Care's message to one party and care's own notes are planted too.

Where a NIK may appear in full (README "Evidence", "Records", "Personal data"; docs/audit.md
"Masking"):

- restricted content (identity documents, care_only uploads): care, auditors and the
  uploading party, in the API and the console; never the other party, never an integrator's
  webhook payload;
- free text (description, messages, notes, reasons, captions, care's review note and its
  private message): care, auditors and its writer only; the other party and the marketplace
  (API and webhooks) read it with the NIK masked to its last 4 digits (they are shown the
  masked form: checked, so a scan that hid everything would fail);
- tracking numbers are not free text (a JNE airway bill has 16 digits): the parties, care,
  auditors and the marketplace read them as sent;
- nowhere, for anyone: the printable record (masked even for its writer), audit exports
  (masked even for auditors), log lines, error bodies, refusals (401/403/404), and a photo's
  EXIF (stripped before it is stored).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import logging
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PIL import Image

from resolution.config import Config
from resolution.service import Context
from resolution.store import database
from resolution.store.documents import ComplaintDocument
from resolution.web.app import create_app
from resolution.workers import deliverer
from tests.support.bodies import complaint_body
from tests.support.clock import Clock
from tests.support.parties import SECRET, SIGNING_KEY, auth, token
from tests.support.receiver import Receiver

PLACES = (
    "description",
    "message",
    "note",
    "reason",
    "tracking",
    "tracking_care_only",
    "caption",
    "photo_exif",
    "ktp_caption",
    "ktp_filename",
    "ktp_exif",
    "review_note",
    "rejected_body",
    "path",
    "private_to_seller",
    "care_note",
)
NIK = {place: f"3174{n:02d}120385{n:04d}" for n, place in enumerate(PLACES, start=10)}
RESTRICTED = {"tracking_care_only", "ktp_caption", "ktp_filename", "review_note"}
NEVER = {"photo_exif", "ktp_exif", "rejected_body", "path"}
# Care's word to one party (its `to`), and care's own notes.
PRIVATE_TO = {"private_to_seller": "seller"}
CARE_ONLY_TEXT = {"care_note"}
FREE = set(PLACES) - RESTRICTED - NEVER - set(PRIVATE_TO) - CARE_ONLY_TEXT
# Who wrote each piece of free text or uploaded each restricted item: theirs to see again.
WRITER = {
    "description": "buyer",
    "message": "buyer",
    "note": "seller",
    "reason": "buyer",
    "caption": "buyer",
    "tracking_care_only": "buyer",
    "ktp_caption": "buyer",
    "ktp_filename": "buyer",
}
TRACKING = {"tracking"}  # not free text: shown as sent to whoever may read the complaint
MASKED_FORM = "************"

HEADERS = {
    "buyer": auth("buyer", "buyer-1"),
    "seller": auth("seller", "seller-1", "shop-1"),
    "care": auth("care", "agent-1"),
    "auditor": auth("auditor", "auditor-1"),
    "integration": auth("integration", "market-1"),
    "none": {},
}
CSRF = re.compile(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"')


def may_show(place: str, viewer: str, channel: str) -> bool:
    """The table: may this viewer see this place's NIK in full through this channel?"""
    if place in NEVER or channel in ("record", "audit", "log", "refusal"):
        return False
    if place in TRACKING:
        return channel == "webhook" or viewer in ("buyer", "seller", "care", "auditor")
    if channel == "webhook":
        return False  # the marketplace writes none of these: every NIK masked for it
    if viewer in ("care", "auditor"):
        return True
    return viewer in ("buyer", "seller") and WRITER.get(place) == viewer


def shown_masked(place: str, viewer: str, channel: str) -> bool:
    """Free text another wrote, which this viewer reads with the NIK masked."""
    if place in NEVER | TRACKING | RESTRICTED | CARE_ONLY_TEXT:
        return False
    if channel != ("webhook" if viewer == "integration" else "api"):
        return False
    if place in PRIVATE_TO:
        return viewer == PRIVATE_TO[place]
    return viewer in ("buyer", "seller", "integration") and WRITER.get(place) != viewer


def forms(nik: str) -> dict[str, bytes]:
    return {
        "full": nik.encode(),
        "first 12": nik[:12].encode(),
        "base64": base64.b64encode(nik.encode()).rstrip(b"="),
    }


def image(nik: str, color: str) -> io.BytesIO:
    """A JPEG whose EXIF ImageDescription holds the NIK."""
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = f"NIK {nik}"
    Image.new("RGB", (16, 16), color).save(out, "JPEG", exif=exif.tobytes())
    out.seek(0)
    return out


@dataclasses.dataclass
class World:
    app: object
    ctx: Context
    cid: str
    evidence: list[str]
    receiver: Receiver


@pytest.fixture(scope="module")
def world(mongodb_uri: str) -> Iterator[World]:
    name = f"test_{os.getpid()}_personal_data"
    config = Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=name)
    if "rate_limits" in {f.name for f in dataclasses.fields(Config)}:
        from resolution.config import RateLimits

        config = dataclasses.replace(config, rate_limits=RateLimits(writes=None, uploads=None))
    clock = Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))
    ctx = Context(
        clock=clock,
        deadlines=config.deadlines,
        signing_key=SIGNING_KEY,
        webhooks_allow_private=True,
    )
    app = create_app(config, context=ctx)
    c = app.test_client()
    receiver = Receiver()
    buyer, seller, care = HEADERS["buyer"], HEADERS["seller"], HEADERS["care"]

    def ok(response, status=200):
        assert response.status_code == status, response.get_data(as_text=True)[:400]
        return response.get_json()

    ok(c.post("/v1/webhooks", json={"url": receiver.url}, headers=HEADERS["integration"]), 201)
    body = complaint_body("INV-PD-1", description=f"Barang rusak. NIK saya {NIK['description']}.")
    cid = ok(c.post("/v1/complaints", json=body, headers=buyer), 201)["id"]
    base = f"/v1/complaints/{cid}"
    ok(c.post(f"{base}/messages", json={"body": f"NIK: {NIK['message']}"}, headers=buyer), 201)
    offer = {"solution": {"kind": "refund", "amount": 30000}, "note": f"ktp {NIK['note']}"}
    ok(c.post(f"{base}/actions/propose", json=offer, headers=seller))
    for place, care_only in (("tracking", False), ("tracking_care_only", True)):
        sent = {"kind": "tracking", "courier": "JNE", "tracking_number": f"JNE{NIK[place]}"}
        sent["care_only"] = care_only
        ok(c.post(f"{base}/evidence", json=sent, headers=buyer if care_only else seller), 201)
    photo = {
        "kind": "photo",
        "caption": f"foto {NIK['caption']}",
        "file": (image(NIK["photo_exif"], "red"), "foto.jpg"),
    }
    ok(
        c.post(f"{base}/evidence", data=photo, headers=buyer, content_type="multipart/form-data"),
        201,
    )
    ktp = {
        "kind": "identity_document",
        "caption": f"KTP {NIK['ktp_caption']}",
        "file": (image(NIK["ktp_exif"], "white"), f"ktp-{NIK['ktp_filename']}.jpg"),
    }
    sent = c.post(f"{base}/evidence", data=ktp, headers=buyer, content_type="multipart/form-data")
    ktp_id = ok(sent, 201)["id"]
    rejected = {"solution": {"kind": "refund", "amount": -1}, "note": NIK["rejected_body"]}
    assert c.post(f"{base}/actions/propose", json=rejected, headers=buyer).status_code == 422
    ok(c.post(f"{base}/actions/escalate", json={"reason": f"NIK {NIK['reason']}"}, headers=buyer))
    ok(c.post(f"{base}/actions/assign", json={}, headers=care))
    note = {"note": f"cocok: {NIK['review_note']}"}
    ok(c.post(f"{base}/evidence/{ktp_id}/review", json=note, headers=care))
    private = {"body": f"Mohon KTP penjual: {NIK['private_to_seller']}", "to": "seller"}
    ok(c.post(f"{base}/messages", json=private, headers=care), 201)
    ok(c.post(f"{base}/notes", json={"body": f"cek {NIK['care_note']}"}, headers=care), 201)
    deliverer.deliver_pass(ctx)
    evidence = [item["id"] for item in ok(c.get(f"{base}/evidence", headers=care))["items"]]
    yield World(app, ctx, cid, evidence, receiver)
    receiver.close()
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


def responses(world: World) -> Iterator[tuple[str, str, str, bytes]]:
    """(viewer, channel, what, body) for every response and export a viewer can get."""
    c = world.app.test_client()
    base = f"/v1/complaints/{world.cid}"
    api_paths = [
        "/v1/complaints",
        base,
        f"{base}/events",
        f"{base}/evidence",
        *[f"{base}/evidence/{eid}" for eid in world.evidence],
        "/v1/webhooks",
    ]
    for viewer, headers in HEADERS.items():
        for path in api_paths:
            response = c.get(path, headers=headers)
            channel = "api" if response.status_code < 400 else "refusal"
            yield viewer, channel, f"GET {path} ({response.status_code})", response.get_data()
            response.close()
        for accept in ("application/x-ndjson", "text/csv"):
            response = c.get("/v1/audit/events", headers={**headers, "Accept": accept})
            channel = "audit" if response.status_code == 200 else "refusal"
            yield viewer, channel, f"audit {accept} ({response.status_code})", response.get_data()
        for lang in ("id", "en"):
            response = c.get(f"{base}/export?lang={lang}", headers=headers)
            yield viewer, "record", f"export {lang} ({response.status_code})", response.get_data()
    console = world.app.test_client()
    page = console.get("/console/login")
    form = {"csrf_token": CSRF.search(page.get_data(as_text=True)).group(1)}
    console.post("/console/login", data={**form, "token": token("care", "agent-1")})
    for path in [
        "/console/",
        f"/console/complaints/{world.cid}",
        *[f"/console/complaints/{world.cid}/evidence/{eid}" for eid in world.evidence],
    ]:
        response = console.get(path)
        yield "care", "console", f"console {path} ({response.status_code})", response.get_data()
    for headers, body in world.receiver.received:
        yield "integration", "webhook", f"delivery {headers.get('Resolution-Event')}", body


def test_a_planted_nik_shows_only_where_it_may(world, caplog, scale, figures):
    caplog.set_level(logging.INFO)  # the service's level (DEBUG adds pymongo's commands)
    scanned, leaks, shown, masked = 0, [], set(), set()
    for _ in range(scale.pick(1, 3)):
        for viewer, channel, what, body in responses(world):
            scanned += 1
            for place, nik in NIK.items():
                if shown_masked(place, viewer, channel):
                    if (MASKED_FORM + nik[-4:]).encode() in body:
                        masked.add((place, viewer))
                if may_show(place, viewer, channel):
                    if nik.encode() in body:
                        shown.add((place, viewer))
                    continue  # in full, so its parts too
                for form, needle in forms(nik).items():
                    if needle in body:
                        leaks.append(f"{viewer} {what}: {place}'s NIK ({form})")
    # A NIK in a path: the 404 echoes the caller's own input to it; the log must not keep it.
    echo = world.app.test_client().get(f"/v1/complaints/{NIK['path']}", headers=HEADERS["buyer"])
    assert echo.status_code == 404
    log_text = caplog.text.encode() + b"".join(repr(vars(r)).encode() for r in caplog.records)
    scanned += 1
    for place, nik in NIK.items():
        for form, needle in forms(nik).items():
            if needle in log_text:
                leaks.append(f"log lines: {place}'s NIK ({form})")
    assert world.receiver.received, "the webhook receiver got nothing to scan"
    figures.add("personal_data", "responses_scanned", scanned)
    figures.add("personal_data", "leaks", len(leaks))
    assert not leaks, "\n".join(sorted(set(leaks)))
    # And the withheld kinds still reach those they are for (a scan that hid all would pass).
    for place, viewer in [
        ("private_to_seller", "care"),
        ("care_note", "care"),
        ("care_note", "auditor"),
        ("message", "buyer"),  # its writer reads it as written
        ("note", "seller"),
        ("ktp_caption", "buyer"),
        ("tracking", "seller"),
        ("tracking", "buyer"),
    ]:
        assert (place, viewer) in shown, (place, viewer)
    # …and the other party and the marketplace read free text with the NIK masked, not absent.
    expected = {
        (place, viewer)
        for place in PLACES
        for viewer in ("buyer", "seller", "integration")
        if shown_masked(place, viewer, "webhook" if viewer == "integration" else "api")
    }
    assert expected and expected <= masked, sorted(expected - masked)


# --- an erased subject's values appear nowhere -------------------------------------------------

# What buyer-7 writes on its one complaint, each value unique, in every place a buyer types.
ERASED = {
    "description": "Rahasia-DESKRIPSI-5150 rusak parah",
    "message": "Rahasia-PESAN-5151 tolong hubungi",
    "caption": "Rahasia-KETERANGAN-5152",
    "filename": "Rahasia-BERKAS-5153",
    "tracking": "JNERAHASIA5154",
    "reason": "Rahasia-ALASAN-5155 tidak sepakat",
    "ktp_caption": "Rahasia-KTP-5156",
}
ERASED_BUYER = auth("buyer", "buyer-7")


@pytest.fixture(scope="module")
def erased_world(mongodb_uri: str) -> Iterator[World]:
    name = f"test_{os.getpid()}_erased_subject"
    config = Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=name)
    if "rate_limits" in {f.name for f in dataclasses.fields(Config)}:
        from resolution.config import RateLimits

        config = dataclasses.replace(config, rate_limits=RateLimits(writes=None, uploads=None))
    clock = Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))
    ctx = Context(
        clock=clock,
        deadlines=config.deadlines,
        signing_key=SIGNING_KEY,
        webhooks_allow_private=True,
    )
    app = create_app(config, context=ctx)
    c = app.test_client()
    receiver = Receiver()
    buyer, seller, care = ERASED_BUYER, HEADERS["seller"], HEADERS["care"]

    def ok(response, status=200):
        assert response.status_code == status, response.get_data(as_text=True)[:400]
        return response.get_json()

    ok(c.post("/v1/webhooks", json={"url": receiver.url}, headers=HEADERS["integration"]), 201)
    body = complaint_body("INV-ER-1", description=ERASED["description"])
    body["order"]["buyer_id"] = "buyer-7"
    cid = ok(c.post("/v1/complaints", json=body, headers=buyer), 201)["id"]
    base = f"/v1/complaints/{cid}"
    ok(c.post(f"{base}/messages", json={"body": ERASED["message"]}, headers=buyer), 201)
    photo = {
        "kind": "photo",
        "caption": ERASED["caption"],
        "file": (image("0000", "red"), f"{ERASED['filename']}.jpg"),
    }
    ok(
        c.post(f"{base}/evidence", data=photo, headers=buyer, content_type="multipart/form-data"),
        201,
    )
    ktp = {
        "kind": "identity_document",
        "caption": ERASED["ktp_caption"],
        "file": (image("1", "white"), "k.jpg"),
    }
    ok(c.post(f"{base}/evidence", data=ktp, headers=buyer, content_type="multipart/form-data"), 201)
    sent = {"kind": "tracking", "courier": "JNE", "tracking_number": ERASED["tracking"]}
    ok(c.post(f"{base}/evidence", json=sent, headers=buyer), 201)
    offer = {"solution": {"kind": "refund", "amount": 30000}, "note": "Sebagian."}
    ok(c.post(f"{base}/actions/propose", json=offer, headers=seller))
    ok(c.post(f"{base}/actions/escalate", json={"reason": ERASED["reason"]}, headers=buyer))
    ok(c.post(f"{base}/actions/assign", json={}, headers=care))
    ok(c.post(f"{base}/actions/withdraw", json={}, headers=buyer))
    deliverer.deliver_pass(ctx)  # the marketplace got the words before the erasure
    delivered_before = len(receiver.received)
    ok(
        c.post(
            "/v1/data-subjects/buyer:buyer-7/erasure", json={"reason": "Permintaan."}, headers=care
        ),
        201,
    )
    deliverer.deliver_pass(ctx)
    # Every delivery again, now from the rewritten payloads (as a redelivery would send).
    for sub in ok(c.get("/v1/webhooks", headers=HEADERS["integration"]))["items"]:
        for d in ok(c.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=HEADERS["integration"]))[
            "items"
        ]:
            ok(
                c.post(
                    f"/v1/webhooks/{sub['id']}/deliveries/{d['id']}/redeliver",
                    headers=HEADERS["integration"],
                ),
                202,
            )
    deliverer.deliver_pass(ctx)
    receiver.before = receiver.received[:delivered_before]  # type: ignore[attr-defined]
    receiver.received = receiver.received[delivered_before:]  # what left after the erasure
    evidence = [item["id"] for item in ok(c.get(f"{base}/evidence", headers=care))["items"]]
    yield World(app, ctx, cid, evidence, receiver)
    receiver.close()
    ComplaintDocument._get_db().client.drop_database(name)  # (`world` disconnects, last)


def _every_document(db) -> Iterator[tuple[str, bytes]]:
    """Every document of every collection, as BSON bytes (GridFS chunks included)."""
    import bson

    for name in db.list_collection_names():
        for doc in db[name].find():
            yield name, bson.encode(doc)


def test_an_erased_subjects_values_appear_nowhere(erased_world, caplog):
    caplog.set_level(logging.INFO)
    needles = {place: value.encode() for place, value in ERASED.items()}
    leaks, scanned = [], 0
    db = ComplaintDocument._get_db()
    for collection, raw in _every_document(db):
        scanned += 1
        leaks += [f"collection {collection}: {p}" for p, n in needles.items() if n in raw]
    for viewer, _, what, body in responses(erased_world):
        scanned += 1
        leaks += [f"{viewer} {what}: {p}" for p, n in needles.items() if n in body]
    for headers, body in erased_world.receiver.received:
        leaks += [
            f"webhook {headers.get('Resolution-Event')}: {p}"
            for p, n in needles.items()
            if n in body
        ]
    log_text = caplog.text.encode() + b"".join(repr(vars(r)).encode() for r in caplog.records)
    leaks += [f"log lines: {p}" for p, n in needles.items() if n in log_text]
    assert erased_world.receiver.received, "no webhook was delivered after the erasure"
    # The scan finds these values where they were: the deliveries made before the erasure.
    before = b"".join(body for _, body in erased_world.receiver.before)
    assert all(needles[p] in before for p in ("description", "message", "reason")), "vacuous"
    assert scanned > 50
    assert not leaks, "\n".join(sorted(set(leaks)))
    # …and what is left says it was erased, and still verifies.
    c = erased_world.app.test_client()
    got = c.get(f"/v1/complaints/{erased_world.cid}", headers=HEADERS["care"]).get_json()
    assert got["description"] == "[erased]"
