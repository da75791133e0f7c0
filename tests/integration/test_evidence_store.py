"""The evidence service on the real database: a file is in GridFS exactly when its event is.

The file is stored before its event commits (a transaction cannot carry 100 MB); whatever
refuses the event afterwards (the complaint closed in between, a replay, a failing commit)
must take the file away again.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from bson import ObjectId
from PIL import Image

from resolution import service
from resolution.domain import commands
from resolution.domain.actors import Actor, Role
from resolution.domain.errors import (
    FileTooLarge,
    Forbidden,
    Gone,
    Invalid,
    NotAllowed,
    NotFound,
    UnsupportedFile,
)
from resolution.domain.evidence import Limits
from resolution.service import Context, Idempotency, Replayed, encryption
from resolution.service import evidence as evidence_service
from resolution.store import eventstore, files
from resolution.store.documents import ComplaintDocument, FileKeyDocument
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered

BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")
OTHER_SELLER = Actor(Role.SELLER, "seller-9", "shop-9")
CARE = Actor(Role.CARE, "agent-1")
AUDITOR = Actor(Role.AUDITOR, "auditor-1")


def _jpeg_with_gps() -> io.BytesIO:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (6.0, 12.0, 30.0)}
    Image.new("RGB", (8, 8), "green").save(out, "JPEG", exif=exif)
    out.seek(0)
    return out


def _pdf() -> io.BytesIO:
    return io.BytesIO(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")


def _files() -> list[dict]:
    return list(ComplaintDocument._get_db()["evidence.files"].find())


def _chunks() -> int:
    return ComplaintDocument._get_db()["evidence.chunks"].count_documents({})


def _events(complaint_id: str) -> list[str]:
    return [e.type for e in eventstore.events_of(complaint_id)]


@pytest.fixture
def cid(context) -> str:
    return open_registered(context, BUYER, complaint_body()).complaint.id


def test_an_upload_stores_the_cleaned_file_and_marks_it_recorded(context, cid):
    recorded = evidence_service.add_evidence(
        context, BUYER, cid, {"kind": "photo", "caption": "Robek"}, _jpeg_with_gps(), "a.jpg"
    )
    assert recorded.event.type == "evidence_added"
    eid = recorded.event.data["evidence_id"]
    (stored,) = _files()
    assert str(stored["_id"]) == eid
    assert stored["metadata"]["recorded"] is True
    assert stored["metadata"]["complaint_id"] == cid
    assert stored["metadata"]["uploaded_by"] == BUYER.as_data()
    _, opened = evidence_service.open_evidence(context, BUYER, cid, eid)
    content = opened.read()
    assert hashlib.sha256(content).hexdigest() == recorded.event.data["file"]["sha256"]
    assert stored["metadata"]["sha256"] == recorded.event.data["file"]["sha256"]
    assert len(content) == recorded.event.data["file"]["size"] == stored["metadata"]["size"]
    assert stored["length"] == encryption.sealed_size(len(content))  # stored sealed
    assert content not in files.open_file(eid).read()
    assert Image.open(io.BytesIO(content)).getexif().get_ifd(0x8825) == {}
    item = recorded.complaint.evidence[-1]
    assert item["id"] == eid and item["caption"] == "Robek" and item["restricted"] is False
    assert eventstore.load(cid).evidence == recorded.complaint.evidence


def test_a_failing_event_commit_deletes_the_stored_file(context, cid, monkeypatch):
    def closed_meanwhile(complaint, actor, item, now):
        assert files.open_file(item["evidence_id"]) is not None  # stored before the commit
        raise NotAllowed("The complaint is closed: no more messages or evidence.", [])

    monkeypatch.setattr(commands, "add_evidence", closed_meanwhile)
    with pytest.raises(NotAllowed):
        evidence_service.add_evidence(context, BUYER, cid, {"kind": "document"}, _pdf(), "a.pdf")
    assert _files() == [] and _chunks() == 0
    assert _events(cid) == ["open"]


def test_a_complaint_closed_between_the_check_and_the_commit_keeps_no_file(
    context, cid, monkeypatch
):
    put = files.put

    def put_then_withdraw(stream, metadata, file_id=None):
        file_id = put(stream, metadata, file_id)
        service.act(context, BUYER, cid, "withdraw", {})  # another request wins the race
        return file_id

    monkeypatch.setattr(files, "put", put_then_withdraw)
    with pytest.raises(NotAllowed):
        evidence_service.add_evidence(context, SELLER, cid, {"kind": "document"}, _pdf(), "a.pdf")
    assert _files() == [] and _chunks() == 0
    assert FileKeyDocument._get_collection().count_documents({}) == 0  # its key went too
    assert _events(cid) == ["open", "withdraw", "settlement_requested"]


def test_an_unexpected_failure_while_committing_deletes_the_file(context, cid, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(eventstore, "append", broken)
    with pytest.raises(RuntimeError):
        evidence_service.add_evidence(context, BUYER, cid, {"kind": "photo"}, _jpeg_with_gps())
    assert _files() == [] and _chunks() == 0


def test_refusals_before_storing_store_nothing(context, cid):
    small = Context(
        clock=context.clock,
        deadlines=context.deadlines,
        evidence_limits=Limits(image=10, document=10, video=10),
    )
    cases = [
        (NotFound, context, OTHER_SELLER, cid, "photo", _jpeg_with_gps()),
        (NotFound, context, BUYER, str(ObjectId()), "photo", _jpeg_with_gps()),
        (Forbidden, context, AUDITOR, cid, "photo", _jpeg_with_gps()),
        (UnsupportedFile, context, BUYER, cid, "photo", _pdf()),
        (UnsupportedFile, context, BUYER, cid, "video", io.BytesIO(b"#!/bin/sh\necho\n")),
        (Invalid, context, BUYER, cid, "photo", io.BytesIO(b"")),
        (FileTooLarge, small, BUYER, cid, "photo", _jpeg_with_gps()),
    ]
    for error, ctx, actor, complaint_id, kind, stream in cases:
        with pytest.raises(error):
            evidence_service.add_evidence(ctx, actor, complaint_id, {"kind": kind}, stream, "x")
    assert _files() == [] and _chunks() == 0
    assert _events(cid) == ["open"]


def test_a_replayed_upload_deletes_its_second_copy(context, cid):
    def render(result):
        return 201, {"id": result.event.data["evidence_id"]}, {}

    idem = Idempotency("k-1", "fingerprint-1", render)
    first = evidence_service.add_evidence(
        context, BUYER, cid, {"kind": "document"}, _pdf(), "a.pdf", idem
    )
    with pytest.raises(Replayed) as replay:
        evidence_service.add_evidence(
            context, BUYER, cid, {"kind": "document"}, _pdf(), "a.pdf", idem
        )
    assert replay.value.body == {"id": first.event.data["evidence_id"]}
    other = Idempotency("k-1", "fingerprint-2", render)
    with pytest.raises(Invalid):
        evidence_service.add_evidence(
            context, BUYER, cid, {"kind": "document"}, _pdf(), "a.pdf", other
        )
    assert [str(f["_id"]) for f in _files()] == [first.event.data["evidence_id"]]
    assert _events(cid) == ["open", "evidence_added"]


def test_reading_restricted_evidence_records_the_reader_unless_a_read_continues(context, cid):
    recorded = evidence_service.add_evidence(
        context, BUYER, cid, {"kind": "identity_document"}, _pdf(), "ktp.pdf"
    )
    eid = recorded.event.data["evidence_id"]
    item, stored = evidence_service.open_evidence(context, CARE, cid, eid)
    assert item["restricted"] is True and stored.read() == _pdf().getvalue()
    assert _events(cid) == ["open", "evidence_added"]  # opening sends nothing yet
    evidence_service.record_read(context, CARE, cid, item, 0)
    evidence_service.record_read(context, CARE, cid, item, 100)  # a player seeking on
    item, _ = evidence_service.open_evidence(context, AUDITOR, cid, eid)
    evidence_service.record_read(context, AUDITOR, cid, item, 100)  # nothing begun: a read
    with pytest.raises(Forbidden):
        evidence_service.open_evidence(context, SELLER, cid, eid)
    viewed = [e for e in eventstore.events_of(cid) if e.type == "evidence_viewed"]
    assert [e.actor["role"] for e in viewed] == ["care", "auditor"]
    assert all(e.data == {"evidence_id": eid, "kind": "identity_document"} for e in viewed)
    mention = evidence_service.list_evidence(context, SELLER, cid)[0]
    assert "file" not in mention and mention["by"] == {"role": "buyer"}


def test_a_destroyed_file_is_gone_and_one_lost_otherwise_is_missing(context, cid):
    recorded = evidence_service.add_evidence(context, BUYER, cid, {"kind": "document"}, _pdf())
    eid = recorded.event.data["evidence_id"]
    files.delete(eid)  # its key, then its chunks
    with pytest.raises(Gone):
        evidence_service.open_evidence(context, BUYER, cid, eid)
    recorded = evidence_service.add_evidence(context, BUYER, cid, {"kind": "document"}, _pdf())
    eid = recorded.event.data["evidence_id"]
    files._bucket().delete(ObjectId(eid))  # the chunks lost, the key still there
    with pytest.raises(NotFound):
        evidence_service.open_evidence(context, BUYER, cid, eid)
