"""Files stored before evidence was encrypted are sealed in place by `resolution encrypt-files`:
afterwards their raw chunks hold no plaintext, their id, hash, ETag and ranges are as before,
and the command is idempotent, survives a crash and runs on several processes at once."""

from __future__ import annotations

import io
import os
import threading

from bson import ObjectId
from click.testing import CliRunner
from gridfs import GridFSBucket

from resolution import cli
from resolution.service import encryption
from resolution.service import evidence as evidence_service
from resolution.store import database, files
from resolution.store.documents import ComplaintDocument
from tests.support.evidence import (
    download,
    gridfs_files,
    gridfs_raw,
    pdf,
    raw_upload,
    sha256,
)
from tests.support.http import open_complaint, uploaded
from tests.support.parties import BUYER, CARE


def document() -> bytes:
    """A PDF with a distinctive body over three segments (kept byte for byte on upload)."""
    body = os.urandom(16) * (3 * encryption.SEGMENT // 16 + 7)
    return pdf()[:-7] + body + b"\n%%EOF\n"


def _windows(data: bytes, width: int = 16, step: int = 4093) -> list[bytes]:
    return [data[i : i + width] for i in range(0, len(data) - width, step)]


def stored_the_old_way(client, cid: str, content: bytes, kind: str = "document") -> str:
    """Evidence whose file is stored as before encryption: the upload's sealed file and key
    replaced by the plaintext with the metadata the old code wrote (no `encryption`)."""
    name = "ktp.pdf" if kind == "identity_document" else "invoice.pdf"
    response = raw_upload(client, cid, BUYER, kind, content, name)
    assert response.status_code == 201, response.get_json()
    eid = response.get_json()["id"]
    (meta,) = [f["metadata"] for f in gridfs_files() if str(f["_id"]) == eid]
    files.delete(eid)
    old = {k: meta[k] for k in ("complaint_id", "kind", "content_type", "sha256", "uploaded_by")}
    bucket = GridFSBucket(ComplaintDocument._get_db(), bucket_name="evidence")
    bucket.upload_from_stream_with_id(
        ObjectId(eid), "evidence", io.BytesIO(content), metadata={**old, "recorded": True}
    )
    assert gridfs_raw(eid) == content and files.key_of(eid) is None
    return eid


def test_a_plaintext_file_is_sealed_in_place_and_served_as_before(client, context):
    cid = open_complaint(client)
    content = document()
    eid = stored_the_old_way(client, cid, content)
    before = download(client, cid, eid, BUYER)
    assert before.status_code == 200 and before.data == content  # served as stored
    sealed_already = uploaded(client, cid, BUYER, "document", document(), "new.pdf")["id"]
    untouched = gridfs_raw(sealed_already)

    assert evidence_service.encrypt_stored_files(context, batch=1).sealed == 1

    raw = gridfs_raw(eid)
    assert len(raw) == encryption.sealed_size(len(content))
    assert not any(window in raw for window in _windows(content)) and b"%PDF" not in raw
    (meta,) = [f for f in gridfs_files() if str(f["_id"]) == eid]
    assert meta["metadata"]["encryption"] == encryption.SCHEME
    assert meta["metadata"]["size"] == len(content)
    assert meta["metadata"]["sha256"] == sha256(content) and meta["metadata"]["recorded"]
    assert "sealing" not in files.key_of(eid) and "seals" not in meta["metadata"]
    assert len(gridfs_files()) == 2  # no copy left beside it
    assert gridfs_raw(sealed_already) == untouched  # an encrypted file is not touched

    whole = download(client, cid, eid, BUYER)
    assert whole.data == content and whole.headers["ETag"] == before.headers["ETag"]
    edge = encryption.SEGMENT
    part = download(client, cid, eid, BUYER, Range=f"bytes={edge - 5}-{edge + 5}")
    assert part.status_code == 206 and part.data == content[edge - 5 : edge + 6]
    cached = download(client, cid, eid, BUYER, **{"If-None-Match": before.headers["ETag"]})
    assert cached.status_code == 304

    # Twice: nothing to do.
    assert evidence_service.encrypt_stored_files(context) == evidence_service.Sealed(0, 0)
    assert gridfs_raw(eid) == raw


def test_a_restricted_file_sealed_in_place_is_still_read_on_the_record(client, context):
    cid = open_complaint(client)
    content = document()
    eid = stored_the_old_way(client, cid, content, "identity_document")
    evidence_service.encrypt_stored_files(context)
    assert download(client, cid, eid, CARE).data == content
    log = client.get(f"/v1/complaints/{cid}/events", headers=CARE).get_json()["items"]
    assert log[-1]["type"] == "evidence_viewed" and log[-1]["data"]["evidence_id"] == eid
    # Destroying its key now destroys it: 410, as for any encrypted file.
    backup = gridfs_raw(eid)
    files.delete(eid)
    assert download(client, cid, eid, CARE).status_code == 410
    assert not any(window in backup for window in _windows(content))


def test_a_run_that_died_leaves_the_plaintext_and_its_claim_is_taken_over(client, context, clock):
    cid = open_complaint(client)
    content = document()
    eid = stored_the_old_way(client, cid, content)
    # A process claimed the file and stored its sealed copy, then died before the swap.
    key = encryption.new_data_key()
    dead_copy = files.new_file_id()
    claimed, _ = files.claim_for_sealing(
        eid, context.file_keys.wrap(key, eid), dead_copy, clock.now, clock.now
    )
    assert claimed
    sealed = encryption.EncryptingReader(io.BytesIO(content), len(content), key, eid)
    files.put_sealed_copy(sealed, {"encryption": encryption.SCHEME}, dead_copy, eid)
    assert download(client, cid, eid, BUYER).data == content  # still served, as stored

    # Within the lease, another run leaves the file to its claimant.
    clock.advance(minutes=14)
    assert evidence_service.encrypt_stored_files(context) == evidence_service.Sealed(0, 1)
    assert gridfs_raw(eid) == content
    # After it, the claim is taken over, the dead run's copy deleted, the file sealed.
    clock.advance(minutes=2)
    assert evidence_service.encrypt_stored_files(context).sealed == 1
    assert dead_copy not in {str(f["_id"]) for f in gridfs_files()}
    assert len(gridfs_files()) == 1 and not gridfs_raw(dead_copy)
    assert content[:64] not in gridfs_raw(eid)
    assert download(client, cid, eid, BUYER).data == content


def test_several_processes_at_once_seal_each_file_once(client, context):
    cid = open_complaint(client)
    contents = {stored_the_old_way(client, cid, c): c for c in (document(), document(), pdf(9))}
    results: list[evidence_service.Sealed] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(evidence_service.encrypt_stored_files(context, batch=2))
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sum(r.sealed for r in results) == len(contents)
    assert len(gridfs_files()) == len(contents)  # no copy left behind
    for eid, content in contents.items():
        assert "sealing" not in files.key_of(eid)
        assert download(client, cid, eid, BUYER).data == content
        assert content[:64] not in gridfs_raw(eid)
    assert evidence_service.encrypt_stored_files(context).sealed == 0


def test_a_file_destroyed_while_listed_is_left_gone(client, context):
    cid = open_complaint(client)
    eid = stored_the_old_way(client, cid, document())
    (listed,) = files.plaintext_after(None, 10)
    files.delete(eid)  # purged or erased between the listing and its sealing
    assert not evidence_service._seal(context, listed)
    assert files.key_of(eid) is None and gridfs_files() == []  # no key, no copy outlives it


def test_the_command_seals_and_says_how_many(client, mongodb_uri, db_name, tmp_path):
    cid = open_complaint(client)
    content = document()
    eid = stored_the_old_way(client, cid, content)
    env = {
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_MASTER_KEY": encryption.process_keyring().current.hex(),
    }
    command = ["encrypt-files", "--data-dir", str(tmp_path)]
    try:
        first = CliRunner().invoke(cli.main, command, env=env, catch_exceptions=False)
        again = CliRunner().invoke(cli.main, command, env=env, catch_exceptions=False)
    finally:
        database.connect(mongodb_uri, db_name)  # the command disconnects the shared client
    assert first.exit_code == 0, first.output
    assert "Encrypted 1 evidence file stored before encryption" in first.output
    assert content[:64] not in gridfs_raw(eid)
    assert "Encrypted 0 evidence files" in again.output


def test_the_files_to_seal_are_read_from_their_index(client):
    cid = open_complaint(client)
    old = [stored_the_old_way(client, cid, pdf(n)) for n in range(3)]
    for n in range(4):
        uploaded(client, cid, BUYER, "document", pdf(10 + n), "new.pdf")
    assert [f["_id"] for f in files.plaintext_after(None, 10)] == sorted(old)
    assert [f["_id"] for f in files.plaintext_after(old[0], 1)] == [sorted(old)[1]]
    # The query as the store sends it, explained: the `by_encryption` range, nothing else.
    stored = ComplaintDocument._get_db()["evidence.files"]
    query = {"metadata.encryption": None, "_id": {"$gt": ObjectId("0" * 24)}}
    sort = [("metadata.encryption", 1), ("_id", 1)]
    plan = stored.find(query).sort(sort).limit(10).explain()
    assert "by_encryption" in str(plan["queryPlanner"]["winningPlan"])
    assert plan["executionStats"]["totalDocsExamined"] == len(old)
