"""Evidence files encrypted at rest, each under its own AES-256-GCM key wrapped by the master
key: the raw chunks hold no plaintext, ranges and ETags work as before, a destroyed key makes
the file 410 Gone for good, and the master key rotates without touching a file."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from resolution.config import Config, ConfigError
from resolution.domain.actors import Actor, Role
from resolution.service import encryption
from resolution.service import evidence as evidence_service
from resolution.store import files
from resolution.store.documents import FileKeyDocument
from tests.support.evidence import (
    download,
    evidence_url,
    gridfs_bytes,
    gridfs_files,
    gridfs_raw,
    pdf,
    raw_upload,
    sha256,
)
from tests.support.http import assert_problem, open_complaint, uploaded
from tests.support.parties import BUYER, CARE, SELLER

# A PDF with a distinctive body over three segments, so a range can cross a segment's edge.
BODY = os.urandom(16) * (3 * encryption.SEGMENT // 16 + 7)
DOCUMENT = pdf()[:-7] + BODY + b"\n%%EOF\n"


def _windows(data: bytes, width: int = 16, step: int = 4093) -> list[bytes]:
    return [data[i : i + width] for i in range(0, len(data) - width, step)]


@pytest.fixture
def stored(client):
    cid = open_complaint(client)
    response = raw_upload(client, cid, BUYER, "document", DOCUMENT, "invoice.pdf")
    assert response.status_code == 201, response.get_json()
    return cid, response.get_json()["id"]


def test_the_raw_chunks_hold_no_plaintext_and_the_key_lives_apart(stored):
    cid, eid = stored
    raw = gridfs_raw(eid)
    assert len(raw) == encryption.sealed_size(len(DOCUMENT))
    assert not any(window in raw for window in _windows(DOCUMENT))
    assert b"%PDF" not in raw
    (meta,) = [f for f in gridfs_files() if str(f["_id"]) == eid]
    assert meta["metadata"]["encryption"] == encryption.SCHEME
    assert "key" not in str(meta["metadata"]).lower()
    record = files.key_of(eid)
    assert record["kek"] == encryption.process_keyring().current_id
    assert len(record["wrapped"]) == 32 + 16 and bytes(record["wrapped"]) not in raw
    assert gridfs_bytes(eid) == DOCUMENT  # decrypted with its own key, the bytes uploaded


def test_ranges_across_segments_etags_and_whole_reads_work_as_before(client, stored):
    cid, eid = stored
    whole = download(client, cid, eid, BUYER)
    assert whole.status_code == 200 and whole.data == DOCUMENT
    assert whole.headers["ETag"] == f'"{sha256(DOCUMENT)}"'
    assert int(whole.headers["Content-Length"]) == len(DOCUMENT)
    edge = encryption.SEGMENT
    for first, last in ((edge - 5, edge + 5), (0, 0), (2 * edge, 2 * edge + 99)):
        part = download(client, cid, eid, BUYER, Range=f"bytes={first}-{last}")
        assert part.status_code == 206 and part.data == DOCUMENT[first : last + 1]
        assert part.headers["Content-Range"] == f"bytes {first}-{last}/{len(DOCUMENT)}"
    tail = download(client, cid, eid, BUYER, Range="bytes=-10")
    assert tail.status_code == 206 and tail.data == DOCUMENT[-10:]
    cached = download(client, cid, eid, BUYER, **{"If-None-Match": whole.headers["ETag"]})
    assert cached.status_code == 304
    beyond = download(client, cid, eid, BUYER, Range=f"bytes={len(DOCUMENT)}-")
    assert beyond.status_code == 416


def test_a_restricted_read_is_still_recorded_before_its_bytes(client):
    cid = open_complaint(client)
    ktp = uploaded(client, cid, BUYER, "identity_document", DOCUMENT, "ktp.pdf")
    assert download(client, cid, ktp["id"], CARE).data == DOCUMENT
    log = client.get(f"/v1/complaints/{cid}/events", headers=CARE).get_json()["items"]
    assert log[-1]["type"] == "evidence_viewed" and log[-1]["actor"]["role"] == "care"
    assert download(client, cid, ktp["id"], SELLER).status_code == 403


def test_a_file_whose_key_is_gone_is_410_and_its_old_chunks_are_noise(client, stored):
    cid, eid = stored
    backup = gridfs_raw(eid)  # a copy of the chunks, as an old backup holds them
    FileKeyDocument._get_collection().delete_one({"_id": eid})  # the key destroyed alone
    for who in (BUYER, CARE):
        body = assert_problem(download(client, cid, eid, who), 410)
        assert body["type"] == "/problems/gone" and eid in body["detail"]
    files.delete(eid)  # and the chunks
    assert assert_problem(download(client, cid, eid, BUYER), 410)["title"] == "Gone"
    assert not any(window in backup for window in _windows(DOCUMENT))
    listed = client.get(evidence_url(cid), headers=BUYER).get_json()["items"]
    assert listed[0]["file"]["sha256"] == sha256(DOCUMENT)  # the entry and its hash remain


def test_the_master_key_rotates_without_rewriting_a_file(context, client, stored):
    cid, eid = stored
    before = gridfs_raw(eid)
    old = context.file_keys
    new = encryption.Keyring(os.urandom(32), (old.current,))
    object.__setattr__(context, "file_keys", new)  # the app's context: a restart with new keys
    assert download(client, cid, eid, BUYER).data == DOCUMENT  # the old key still unwraps
    assert evidence_service.rewrap_file_keys(context) == 1
    assert evidence_service.rewrap_file_keys(context) == 0  # nothing left under the old key
    assert files.key_of(eid)["kek"] == new.current_id
    object.__setattr__(context, "file_keys", replace(new, previous=()))  # the old key dropped
    assert download(client, cid, eid, BUYER).data == DOCUMENT
    assert gridfs_raw(eid) == before  # not one byte of the file was rewritten
    object.__setattr__(context, "file_keys", old)  # without the new key: refused, not served
    with pytest.raises(RuntimeError, match="RESOLUTION_MASTER_KEY_PREVIOUS"):
        evidence_service.open_evidence(context, Actor(Role.BUYER, "buyer-1"), cid, eid)


@pytest.mark.parametrize(
    "value", ["00" * 31, "00" * 33, "g" * 64, "0x" + "00" * 31, "a" * 63 + " b"]
)
def test_a_master_key_of_the_wrong_form_refuses_to_start(value):
    env = {"RESOLUTION_JWT_SECRET": "x" * 40, "RESOLUTION_MASTER_KEY": value}
    with pytest.raises(ConfigError, match="RESOLUTION_MASTER_KEY must be .*64 hex characters"):
        Config.from_env(env)
    with pytest.raises(ConfigError, match="RESOLUTION_MASTER_KEY_PREVIOUS"):
        Config.from_env(
            {
                **env,
                "RESOLUTION_MASTER_KEY": "ab" * 32,
                **{"RESOLUTION_MASTER_KEY_PREVIOUS": f"{'cd' * 32},{value}"},
            }
        )


def test_production_wants_a_master_key_and_development_has_one(tmp_path):
    production = {"RESOLUTION_ENV": "production", "RESOLUTION_JWT_SECRET": "x" * 40}
    with pytest.raises(ConfigError, match="RESOLUTION_MASTER_KEY is not set"):
        Config.from_env(production)
    config = Config.from_env({**production, "RESOLUTION_MASTER_KEY": "AB" * 32})
    assert config.master_key == "ab" * 32
    # Without one in development, the data dir's own key serves every process alike.
    one = encryption.load(None, (), tmp_path)
    assert encryption.load(None, (), tmp_path) == one
    assert (tmp_path / "master.key").stat().st_mode & 0o077 == 0
    # …and once one is configured, files wrapped under the data dir's key stay readable.
    configured = encryption.load("ab" * 32, (), tmp_path)
    assert configured.current == bytes.fromhex("ab" * 32) and one.current in configured.previous
