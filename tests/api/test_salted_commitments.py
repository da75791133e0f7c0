"""Salted commitments (docs/hash-chain.md, `hash_version` 2): a field withheld from a reader
travels as `H([salt, value])` without its salt, so hashing the true value confirms nothing;
events stored before salts (version 1) keep verifying, alone and in exports old and new."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

from resolution.cli import main
from resolution.domain.audit import UNSALTED_CSV_COLUMNS, chained
from resolution.domain.events import UNSALTED, Event, first_broken_link
from resolution.service import audit, signing, views
from resolution.store import eventstore
from resolution.store.documents import ComplaintDocument, EventDocument
from tests.support.bodies import png
from tests.support.http import act, open_complaint, uploaded
from tests.support.parties import AUDITOR, BUYER, CARE, SELLER

ROOT = Path(__file__).resolve().parents[2]
NIK = "3171234567890001"
CAPTION = f"KTP {NIK}"


def H(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def documented_check():
    code = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "hash-chain.md").read_text(), re.S)
    namespace: dict = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own documentation, under test
    return namespace["first_broken_link"]


def log(client, cid, who) -> list[dict]:
    response = client.get(f"/v1/complaints/{cid}/events", headers=who)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_a_withheld_caption_cannot_be_confirmed_by_hashing_the_true_value(client):
    cid = open_complaint(client)
    ktp = uploaded(client, cid, BUYER, "identity_document", png(), "ktp.png", caption=CAPTION)
    seen = log(client, cid, SELLER)
    added = next(e for e in seen if e["data"].get("evidence_id") == ktp["id"])
    assert added["hash_version"] == 2
    assert CAPTION not in json.dumps(seen) and set(added["data_hashes"]) == {"caption", "file"}
    assert "caption" not in added["salts"] and "file" not in added["salts"]
    # The seller knows (or guesses) what a KTP's caption says, and tries to confirm it.
    guesses = [CAPTION, f"KTP  {NIK}", NIK, "KTP"]
    digest = added["data_hashes"]["caption"]
    assert all(digest not in (H(g), H([None, g]), H(["", g])) for g in guesses)
    # The seller still verifies the whole chain, with the documented code.
    assert documented_check()(seen) is None
    # Whoever may read the caption gets it with its salt, and the commitment is theirs to check.
    for reader in (BUYER, CARE, AUDITOR):
        full = next(e for e in log(client, cid, reader) if e["seq"] == added["seq"])
        assert full["data"]["caption"] == CAPTION and full["data_hashes"] == {}
        assert H([full["salts"]["caption"], CAPTION]) == digest


def test_a_private_message_travels_as_its_commitment_without_a_salt(client):
    cid = open_complaint(client)
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 30000}})
    act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    act(client, cid, "assign", CARE)
    body = {"body": f"Kirim NIK {NIK} lewat sini", "to": "buyer"}
    assert client.post(f"/v1/complaints/{cid}/messages", json=body, headers=CARE).status_code == 201
    private = log(client, cid, SELLER)[-1]
    assert private["salts"] == {"to": private["salts"]["to"]}  # only what the seller is shown
    assert private["data_hashes"]["body"] != H(body["body"])
    assert documented_check()(log(client, cid, SELLER)) is None


def test_a_webhook_payload_carries_the_salts_of_what_it_shows_only(client):
    cid = open_complaint(client)
    uploaded(client, cid, SELLER, "identity_document", png(), "ktp.png", caption=CAPTION)
    complaint = eventstore.load(cid)
    event = eventstore.events_of(cid)[-1]
    payload = views.webhook_payload("tokopedia-backend", event, complaint)
    assert payload["hash_version"] == 2
    assert set(payload["salts"]) == set(payload["data"]) - set(payload["data_hashes"])
    assert CAPTION not in json.dumps(payload)


# --- events stored before salts ----------------------------------------------------------------


def _store_as_before_salts(cid: str) -> None:
    """The complaint's events as the service stored them before salted commitments: each one
    re-sealed under scheme 1, its salts and version gone (what an upgraded database holds)."""
    collection = EventDocument._get_collection()
    prev = "0" * 64
    for event in eventstore.events_of(cid):
        old = Event.sealed(
            cid, event.seq, event.type, event.actor, event.data, event.at, prev, scheme=UNSALTED
        )
        collection.update_one(
            {"complaint_id": cid, "seq": event.seq},
            {
                "$set": {"prev_hash": prev, "hash": old.hash},
                "$unset": {"salts": "", "hash_version": ""},
            },
        )
        prev = old.hash
    ComplaintDocument._get_collection().update_one({"_id": cid}, {"$set": {"last_hash": prev}})


def test_a_chain_begun_before_salts_goes_on_under_them_and_verifies(client, clock):
    cid = open_complaint(client, description=f"Kaos robek. NIK saya {NIK}.")
    uploaded(client, cid, BUYER, "identity_document", png(), "ktp.png", caption=CAPTION)
    _store_as_before_salts(cid)
    clock.advance(minutes=5)
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 30000}})
    stored = eventstore.events_of(cid)
    assert [e.hash_version for e in stored] == [1, 1, 2]
    assert first_broken_link(stored) is None
    for reader in (BUYER, SELLER, CARE):
        seen = log(client, cid, reader)
        assert [e["hash_version"] for e in seen] == [1, 1, 2]
        assert seen[0]["salts"] == {} and documented_check()(seen) is None
    # The old events' withheld fields travel as H(value): the limitation salts remove.
    withheld = log(client, cid, SELLER)[1]["data_hashes"]["caption"]
    assert withheld == H(CAPTION)


def _as_written_before_salts(records: list[dict], ctx) -> list[dict]:
    """An export as the service wrote it before salts: records without `salts` and
    `hash_version`, chained and signed as they were."""
    events = [
        {k: v for k, v in r.items() if k not in ("salts", "hash_version", "line_hash")}
        for r in records
        if "manifest" not in r
    ]
    lines = list(chained(events))
    body = records[-1]["manifest"]
    since, until = datetime.fromisoformat(body["since"]), datetime.fromisoformat(body["until"])
    signed = audit.manifest(ctx, len(lines), since, until, body["filters"], lines[-1]["line_hash"])
    return [*lines, signed]


def test_exports_written_before_salts_and_after_both_verify(client, clock, context, tmp_path):
    cid = open_complaint(client, description=f"Kaos robek. NIK saya {NIK}.")
    uploaded(client, cid, BUYER, "identity_document", png(), "ktp.png", caption=CAPTION)
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 30000}})
    _store_as_before_salts(cid)
    public_key = signing.public_key(context.signing_key)
    response = client.get("/v1/audit/events", headers=AUDITOR)
    new = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [r["hash_version"] for r in new[:-1]] == [1, 1, 1]
    old = _as_written_before_salts(new, context)
    assert all("salts" not in r and "hash_version" not in r for r in old[:-1])

    ndjson = tmp_path / "before.ndjson"
    ndjson.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in old))
    old_csv = tmp_path / "before.csv"
    with old_csv.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(UNSALTED_CSV_COLUMNS)
        for r in old[:-1]:
            writer.writerow([audit._cell(r[c]) for c in UNSALTED_CSV_COLUMNS])
        row = {"type": "manifest", "data": old[-1]["manifest"], "hash": old[-1]["signature"]}
        writer.writerow([audit._cell(row.get(c)) for c in UNSALTED_CSV_COLUMNS])
    after = tmp_path / "after.ndjson"
    after.write_bytes(response.data)
    for path in (ndjson, old_csv, after):
        result = CliRunner().invoke(main, ["verify", str(path), "--public-key", public_key])
        assert result.exit_code == 0 and result.output.startswith("ok: 3 events"), result.output

    # An edit in an old-format file is still found.
    lines = ndjson.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace("Kaos robek", "Kaos bagus")
    ndjson.write_text("".join(lines))
    finding = audit.verify(io.StringIO(ndjson.read_text()), public_key)
    assert not finding.ok and finding.line == 1
