"""Checkpoints over the real embedded database: made, listed, checked; and every way an
administrator with write access could change history after one, each named by `verify-log`.

The mutations of the issue: a stream rewritten from its first event with a valid chain, a
complaint deleted, a stream truncated, two heads reordered (in a checkpoint's stored leaves,
and two complaints' last events swapped in the database), a checkpoint replaced.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import REGISTRY

from resolution.cli import main
from resolution.domain import merkle
from resolution.domain.checkpoints import Checkpoint, key_id
from resolution.domain.events import Event
from resolution.service import anchoring, signing
from resolution.store import database
from resolution.store.documents import (
    CheckpointChunk,
    CheckpointDocument,
    ComplaintDocument,
    EventDocument,
)
from resolution.workers import sweeper
from tests.support.bodies import complaint_body
from tests.support.parties import BUYER, SECRET, SELLER

SIGNING_KEY = signing.generate()


@pytest.fixture
def resolution(mongodb_uri, db_name, tmp_path):
    env = {
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_JWT_SECRET": SECRET,
        "RESOLUTION_SIGNING_KEY": SIGNING_KEY,
        "RESOLUTION_DATA_DIR": str(tmp_path / "data"),
    }

    def run(*args: str):
        try:
            return CliRunner().invoke(main, list(args), env=env)
        finally:
            database.connect(mongodb_uri, db_name)

    return run


@pytest.fixture
def complaints(client) -> list[str]:
    """Four complaints, the first two with a few events each."""
    ids = []
    for n in range(4):
        made = client.post("/v1/complaints", json=complaint_body(f"INV-{n}"), headers=BUYER)
        assert made.status_code == 201, made.get_json()
        ids.append(made.get_json()["id"])
    for cid in ids[:2]:
        for body in ("Mohon dicek.", "Sudah saya kirim foto."):
            sent = client.post(f"/v1/complaints/{cid}/messages", json={"body": body}, headers=BUYER)
            assert sent.status_code == 201, sent.get_json()
    reply = {"solution": {"kind": "refund", "amount": 30000}}
    proposed = client.post(f"/v1/complaints/{ids[0]}/actions/propose", json=reply, headers=SELLER)
    assert proposed.status_code == 200, proposed.get_json()
    return sorted(ids)


def events_of(cid: str) -> list[dict]:
    return list(EventDocument._get_collection().find({"complaint_id": cid}).sort("seq", 1))


def rewrite_from_the_first_event(cid: str) -> None:
    """A new history for the complaint, every event re-sealed: its chain verifies."""
    collection = EventDocument._get_collection()
    prev = "0" * 64
    for doc in events_of(cid):
        data = dict(doc["data"])
        if doc["seq"] == 1:
            data["description"] = "Barang sesuai pesanan."  # what the intruder wants on record
        event = Event.sealed(cid, doc["seq"], doc["type"], doc["actor"], data, doc["at"], prev)
        collection.update_one(
            {"_id": doc["_id"]},
            {
                "$set": {
                    "data": event.data,
                    "salts": event.salts,
                    "prev_hash": prev,
                    "hash": event.hash,
                }
            },
        )
        prev = event.hash
    ComplaintDocument._get_collection().update_one({"_id": cid}, {"$set": {"last_hash": prev}})


def truncate(cid: str) -> None:
    docs = events_of(cid)
    EventDocument._get_collection().delete_one({"_id": docs[-1]["_id"]})
    ComplaintDocument._get_collection().update_one(
        {"_id": cid}, {"$set": {"version": docs[-2]["seq"], "last_hash": docs[-2]["hash"]}}
    )


def delete(cid: str) -> None:
    EventDocument._get_collection().delete_many({"complaint_id": cid})
    ComplaintDocument._get_collection().delete_one({"_id": cid})


def checked(resolution, *args: str):
    result = resolution("verify-log", *args)
    assert "Traceback" not in result.output
    return result


def test_a_checkpoint_is_signed_listed_and_the_log_verifies(resolution, complaints):
    made = resolution("checkpoint")
    assert made.exit_code == 0, made.output
    line = made.output.strip()
    assert line.startswith("resolution-checkpoint/v1 n=1 size=4 ")
    doc = CheckpointDocument._get_collection().find_one({"_id": 1})
    assert doc["events"] == sum(len(events_of(c)) for c in complaints)
    assert resolution("checkpoint").exit_code == 0
    ok = checked(resolution)
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("ok: checkpoints 1..2")
    history = resolution("keys", "--history")
    assert history.exit_code == 0 and len(history.output.splitlines()) == 1


@pytest.mark.parametrize(
    ("mutate", "what"),
    [
        (rewrite_from_the_first_event, "rewritten"),
        (delete, "deleted"),
        (truncate, "truncated"),
    ],
)
def test_a_change_to_a_complaints_history_after_a_checkpoint_is_named(
    resolution, complaints, mutate, what
):
    assert resolution("checkpoint").exit_code == 0
    victim = complaints[0] if complaints[0] in complaints[:2] else complaints[1]
    victim = max(complaints, key=lambda c: len(events_of(c)))
    mutate(victim)
    # Against the database now, and between the checkpoint before and one made after.
    for _ in range(2):
        result = checked(resolution)
        assert result.exit_code == 1, result.output
        assert f"complaint {victim}: {what}" in result.output, result.output
        others = [c for c in complaints if c != victim]
        assert not any(c in result.output for c in others)
        assert resolution("checkpoint").exit_code == 0


def test_two_complaints_last_events_swapped_are_both_named(resolution, complaints):
    assert resolution("checkpoint").exit_code == 0
    a, b = complaints[:2]
    ea, eb = events_of(a)[-1], events_of(b)[-1]
    collection = EventDocument._get_collection()
    collection.update_one({"_id": ea["_id"]}, {"$set": {"hash": eb["hash"]}})
    collection.update_one({"_id": eb["_id"]}, {"$set": {"hash": ea["hash"]}})
    result = checked(resolution)
    assert result.exit_code == 1
    assert f"complaint {a}: rewritten" in result.output
    assert f"complaint {b}: rewritten" in result.output


def test_two_heads_reordered_in_a_stored_checkpoint_are_named(resolution, complaints):
    assert resolution("checkpoint").exit_code == 0
    chunks = CheckpointChunk._get_collection()
    doc = chunks.find_one()
    leaves = doc["leaves"]
    leaves[0], leaves[1] = leaves[1], leaves[0]
    # The intruder keeps the store consistent: the chunk under its new root, listed.
    new_root = merkle.root([merkle.leaf_hash(*leaf) for leaf in leaves]).hex()
    chunks.insert_one({"_id": new_root, "leaves": leaves})
    CheckpointDocument._get_collection().update_one({"_id": 1}, {"$set": {"chunks": [new_root]}})
    result = checked(resolution)
    assert result.exit_code == 1
    assert "checkpoint 1: the stored heads do not match its signed root" in result.output


def test_a_replaced_checkpoint_is_named(resolution, complaints):
    assert resolution("checkpoint").exit_code == 0
    assert resolution("checkpoint").exit_code == 0
    # The intruder signs a checkpoint 1 of their own (they have no service key).
    theirs = Ed25519PrivateKey.generate()
    raw = base64.b64decode(signing.public_key(theirs))
    old = CheckpointDocument._get_collection().find_one({"_id": 1})
    forged = Checkpoint(
        1, old["size"], old["events"], old["time"], "ab" * 32, old["prev"], key_id(raw)
    )
    signature = signing.sign(theirs, forged.body.encode())
    CheckpointDocument._get_collection().update_one(
        {"_id": 1}, {"$set": {"root": forged.root, "key": forged.key, "signature": signature}}
    )
    result = checked(resolution)
    assert result.exit_code == 1
    assert f"checkpoint 1 is signed by an unknown key {forged.key}" in result.output
    assert "checkpoint 2 does not follow checkpoint 1 (replaced or forked)" in result.output
    # Pinned to the service's key, the same.
    public = resolution("keys").output.strip()
    pinned = checked(resolution, "--public-key", public)
    assert pinned.exit_code == 1 and "unknown key" in pinned.output


def test_the_sweeper_alerts_on_a_break_between_its_checkpoints(
    context, complaints, caplog, monkeypatch
):
    from datetime import timedelta

    every = timedelta(minutes=5)
    sweeper.run(context, checkpoint_every=every)
    assert anchoring.latest().n == 1
    delete(complaints[0])
    context.clock.advance(minutes=6)
    before = (
        REGISTRY.get_sample_value("resolution_checkpoint_breaks_total", {"what": "deleted"}) or 0
    )
    with caplog.at_level(logging.ERROR, logger="resolution.anchoring"):
        sweeper.run(context, checkpoint_every=every)
    assert anchoring.latest().n == 2
    after = REGISTRY.get_sample_value("resolution_checkpoint_breaks_total", {"what": "deleted"})
    assert after == before + 1
    assert f"complaint {complaints[0]}: deleted" in caplog.text


def test_bad_arguments_are_named_without_a_traceback(resolution, complaints):
    none_yet = checked(resolution)
    assert none_yet.exit_code == 1 and "there is no checkpoint yet" in none_yet.output
    assert resolution("checkpoint").exit_code == 0
    backwards = checked(resolution, "--from", "2", "--to", "1")
    assert backwards.exit_code != 0 and "--from 2 is after --to 1" in backwards.output
    missing = checked(resolution, "--to", "7")
    assert missing.exit_code == 1 and "checkpoint 7 is missing" in missing.output
    bad_key = checked(resolution, "--public-key", "not-a-key")
    assert bad_key.exit_code != 0 and "is not a public key" in bad_key.output


# --- exports that cannot be cut ------------------------------------------------------------------


def test_an_export_cut_at_any_line_is_detected(resolution, complaints, tmp_path):
    assert resolution("checkpoint").exit_code == 0
    out = tmp_path / "all.ndjson"
    assert resolution("export", "--out", str(out)).exit_code == 0
    public = resolution("keys").output.strip()
    assert resolution("verify", str(out), "--public-key", public).exit_code == 0
    lines = out.read_text().splitlines(keepends=True)
    manifest = json.loads(lines[-1])["manifest"]
    assert manifest["checkpoint"].startswith("resolution-checkpoint/v1 n=1 ")
    assert len(manifest["heads"]) == len(complaints)
    for keep in range(len(lines)):
        # The first `keep` lines, and the signed manifest put back after fewer events.
        cuts = [lines[:keep]] + ([[*lines[:keep], lines[-1]]] if keep < len(lines) - 1 else [])
        for cut in cuts:
            part = tmp_path / "cut.ndjson"
            part.write_text("".join(cut))
            result = resolution("verify", str(part), "--public-key", public)
            assert result.exit_code == 1, (keep, result.output)
            assert "Traceback" not in result.output


def test_a_stream_truncated_before_the_export_is_named_against_its_checkpoint(
    resolution, complaints, tmp_path
):
    assert resolution("checkpoint").exit_code == 0
    victim = max(complaints, key=lambda c: len(events_of(c)))
    last = events_of(victim)[-1]
    EventDocument._get_collection().delete_one({"_id": last["_id"]})  # the tail, events only
    out = tmp_path / "after-cut.ndjson"
    assert resolution("export", "--out", str(out)).exit_code == 0
    result = resolution("verify", str(out))
    assert result.exit_code == 1
    assert f"complaint {victim}: its events end at seq {last['seq'] - 1}" in result.output
    assert "(cut off)" in result.output


def _export(context, path, after=None, **query) -> dict:
    from resolution.domain.actors import Actor, Role
    from resolution.service import audit

    wanted = audit.ExportQuery(after=after["manifest"] if after else None, **query)
    records = list(audit.export_records(context, Actor(Role.AUDITOR, "a-1"), wanted))
    path.write_text("".join(audit.as_ndjson(records)))
    return records[-1]


def _verify(path, previous=None) -> str:
    from resolution.service import audit
    from tests.support.parties import SIGNING_KEY as KEY

    with path.open() as stream:
        found = audit.verify(stream, signing.public_key(KEY), previous)
    return found.message if not found.ok else "ok"


def test_consecutive_exports_follow_each_other_and_a_gap_is_named(
    context, complaints, client, tmp_path
):
    from resolution.domain.audit import chained
    from resolution.domain.errors import Invalid
    from resolution.domain.events import canonical
    from resolution.service.audit import as_ndjson
    from tests.support.parties import SIGNING_KEY as KEY

    first = tmp_path / "1.ndjson"
    anchoring.make(context)
    one = _export(context, first)
    cid = complaints[2]
    context.clock.advance(minutes=1)
    for body in ("Satu.", "Dua.", "Tiga."):
        sent = client.post(f"/v1/complaints/{cid}/messages", json={"body": body}, headers=BUYER)
        assert sent.status_code == 201
    context.clock.advance(minutes=1)
    anchoring.make(context)
    second = tmp_path / "2.ndjson"
    two = _export(context, second, after=one)
    body = two["manifest"]
    assert body["since"] == one["manifest"]["until"] and body["count"] == 3
    assert _verify(second, one) == "ok"

    # The second export without its first event (re-signed as if the service wrote it so):
    # against the first, the gap shows.
    events = [json.loads(line) for line in second.read_text().splitlines()[:-1]][1:]
    records = list(chained([{k: v for k, v in e.items() if k != "line_hash"} for e in events]))
    forged = dict(body, count=len(records), line_hash=records[-1]["line_hash"])
    manifest = {"manifest": forged, "signature": signing.sign(KEY, canonical(forged))}
    gap = tmp_path / "gap.ndjson"
    gap.write_text("".join(as_ndjson([*records, manifest])))
    assert f"complaint {cid}: events are missing between the exports" in _verify(gap, one)

    # Not the export it claims to follow; a `since` that leaves a gap.
    assert "not the one this export follows" in _verify(second, two)
    with pytest.raises(Invalid, match="--since must be the previous export's end"):
        _export(context, gap, after=one, since=one_day_before(one))


def one_day_before(manifest: dict):
    from datetime import datetime, timedelta

    return datetime.fromisoformat(manifest["manifest"]["until"]) - timedelta(days=1)


def test_verify_after_something_that_is_not_an_export_is_refused(resolution, complaints, tmp_path):
    out = tmp_path / "e.ndjson"
    assert resolution("export", "--out", str(out)).exit_code == 0
    not_export = tmp_path / "x.ndjson"
    not_export.write_text("hello\n")
    bad = resolution("verify", str(out), "--after", str(not_export))
    assert bad.exit_code == 2 and "does not end with an export's manifest" in bad.output
    again = resolution("export", "--after", str(not_export), "--out", str(out))
    assert again.exit_code == 2 and "Traceback" not in again.output
