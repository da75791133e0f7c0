"""Audit exports over HTTP: GET /v1/audit/events for care and auditors, masked, chained, signed.

Every export here is checked the way an auditor would check it: with the service's verify
function, with `resolution verify`, or by hand with the formulas of docs/hash-chain.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from resolution.cli import main
from resolution.domain.audit import IDENTITY_WITHHELD, mask_text, masked_record
from resolution.domain.events import GENESIS, Event
from resolution.service import audit, signing
from resolution.store import eventstore
from tests.support.bodies import complaint_body, order, png
from tests.support.http import act, assert_problem, open_complaint, uploaded
from tests.support.parties import AUDITOR, BUYER, CARE, OTHER_BUYER, SELLER, auth

ROOT = Path(__file__).resolve().parents[2]
NIK = "3171234567890001"
MASKED_NIK = "************0001"
INTEGRATION = auth("integration", "tokopedia-backend")
URL = "/v1/audit/events"
RECORD_KEYS = {
    "complaint_id",
    "seq",
    "type",
    "actor",
    "at",
    "data",
    "data_hashes",
    "salts",
    "hash_version",
    "prev_hash",
    "hash",
    "line_hash",
}
MANIFEST_KEYS = {
    "count",
    "since",
    "until",
    "filters",
    "line_hash",
    "generated_at",
    "public_key",
    "checkpoint",
    "heads",
}
# A 16-digit number standing on its own (hex digests may hold a run of digits: not a NIK).
LONE_16_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{16}(?![0-9A-Za-z])")


# --- helpers ---------------------------------------------------------------------------------


def export(client, who=AUDITOR, accept: str | None = None, **params):
    headers = dict(who or {})
    if accept is not None:
        headers["Accept"] = accept
    return client.get(URL, headers=headers, query_string=params)


def records(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/x-ndjson"
    lines = response.get_data(as_text=True).splitlines()
    return [json.loads(line) for line in lines]


def event_records(response) -> list[dict]:
    *events, manifest = records(response)
    assert set(manifest) == {"manifest", "signature"}
    return events


def manifest_of(response) -> dict:
    return records(response)[-1]["manifest"]


def verified(data: bytes | str, public_key: str | None) -> audit.Finding:
    text = data.decode() if isinstance(data, bytes) else data
    return audit.verify(io.StringIO(text, newline=""), public_key)


def message(client, cid, who, body):
    response = client.post(f"/v1/complaints/{cid}/messages", json={"body": body}, headers=who)
    assert response.status_code == 201, response.get_json()


def H(value) -> str:
    """`H` of docs/hash-chain.md, written out as an auditor would."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def documented_csv_columns() -> list[str]:
    """The column list of docs/audit.md (the line after 'CSV columns, in this order:')."""
    text = (ROOT / "docs" / "audit.md").read_text()
    block = re.search(r"<!-- csv-columns -->\n```\n(.*?)\n```", text, re.S)
    assert block, "docs/audit.md lists the CSV columns in a marked code block"
    return block.group(1).split(",")


@pytest.fixture
def public_key(context) -> str:
    """The service's public key (the app signs with the context's key)."""
    return signing.public_key(context.signing_key)


@pytest.fixture
def two_complaints(client, clock) -> tuple[str, str]:
    """Two complaints whose events interleave in time (and tie at their opening)."""
    first = open_complaint(client, "INV-1001")
    second = open_complaint(client, "INV-1002")  # the same instant: ordered by complaint id
    clock.advance(minutes=1)
    act(client, first, "propose", SELLER, {"solution": {"kind": "refund", "amount": 30000}})
    clock.advance(minutes=1)
    message(client, second, SELLER, "Sedang dicek gudang.")
    clock.advance(minutes=1)
    message(client, first, BUYER, "Kurang.")
    clock.advance(minutes=1)
    return first, second


# --- who may export --------------------------------------------------------------------------


@pytest.mark.parametrize("who", [AUDITOR, CARE], ids=["auditor", "care"])
def test_auditors_and_care_may_export(client, two_complaints, who):
    assert len(event_records(export(client, who))) == 5


@pytest.mark.parametrize(
    "who",
    [BUYER, OTHER_BUYER, SELLER, INTEGRATION],
    ids=["buyer", "other-buyer", "seller", "integration"],
)
def test_parties_and_integrations_are_refused(client, two_complaints, who):
    body = assert_problem(export(client, who), 403)
    assert NIK not in json.dumps(body)
    # Whatever else the request says: the role is refused first.
    assert_problem(export(client, who, since="yesterday"), 403)
    assert_problem(export(client, who, accept="application/json"), 403)
    assert_problem(export(client, who, accept="text/csv"), 403)


def test_no_token_or_a_bad_one_is_401(client):
    assert_problem(export(client, None), 401)
    assert_problem(export(client, {"Authorization": "Bearer not-a-token"}), 401)
    assert_problem(export(client, auth("system", "resolution")), 401)


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept, mimetype",
    [
        (None, "application/x-ndjson"),
        ("*/*", "application/x-ndjson"),
        ("application/x-ndjson", "application/x-ndjson"),
        ("text/csv", "text/csv"),
        ("text/*", "text/csv"),
        ("text/csv;q=0.5, application/x-ndjson", "application/x-ndjson"),
        ("application/json;q=1, text/csv;q=0.1", "text/csv"),
    ],
)
def test_the_accept_header_chooses_ndjson_or_csv(
    client, two_complaints, accept, mimetype, public_key
):
    response = export(client, accept=accept)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    extension = "csv" if mimetype == "text/csv" else "ndjson"
    disposition = f'attachment; filename="resolution-events.{extension}"'
    assert response.headers["Content-Disposition"] == disposition
    assert verified(response.data, public_key).ok


@pytest.mark.parametrize("accept", ["application/json", "text/html", "application/pdf"])
def test_an_accept_admitting_neither_format_is_406(client, accept):
    body = assert_problem(export(client, accept=accept), 406)
    assert "application/x-ndjson" in body["detail"] and "text/csv" in body["detail"]


def test_the_export_is_streamed(client, two_complaints):
    response = export(client)
    assert response.is_streamed
    assert "Content-Length" not in response.headers


def test_ndjson_has_one_event_a_line_then_the_signed_manifest(
    client, clock, two_complaints, public_key
):
    first, second = two_complaints
    response = export(client)
    events = event_records(response)
    for record in events:
        assert set(record) == RECORD_KEYS
    manifest = records(response)[-1]
    body = manifest["manifest"]
    assert set(body) == MANIFEST_KEYS
    assert body["count"] == 5
    assert body["since"] == "1970-01-01T00:00:00.000+00:00"
    assert body["until"] == body["generated_at"] == "2025-06-05T03:04:00.000+00:00"
    assert body["filters"] == {}
    assert body["line_hash"] == events[-1]["line_hash"]
    assert body["public_key"] == public_key
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert signing.verify(public_key, canonical.encode(), manifest["signature"])

    # The events are those the event log shows care, with the same hashes.
    for cid in (first, second):
        log = client.get(f"/v1/complaints/{cid}/events", headers=AUDITOR).get_json()["items"]
        exported = [r for r in events if r["complaint_id"] == cid]
        assert [(r["seq"], r["prev_hash"], r["hash"]) for r in exported] == [
            (e["seq"], e["prev_hash"], e["hash"]) for e in log
        ]
        assert [r["data"] for r in exported] == [e["data"] for e in log]
    assert verified(response.data, public_key) == audit.Finding(
        True, "ok: 5 events, chains and signature verified with the given key"
    )


def test_each_line_hash_chains_the_previous_one_and_the_record(client, two_complaints):
    previous = GENESIS
    for record in event_records(export(client)):
        body = {k: v for k, v in record.items() if k != "line_hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        expected = hashlib.sha256(previous.encode() + canonical.encode()).hexdigest()
        assert record["line_hash"] == expected
        previous = expected


def test_events_come_in_time_then_complaint_then_seq_order(client, two_complaints):
    first, second = two_complaints
    order_seen = [(r["complaint_id"], r["seq"]) for r in event_records(export(client))]
    tied = sorted([(first, 1), (second, 1)])  # opened in the same millisecond
    assert order_seen == [*tied, (first, 2), (second, 2), (first, 3)]
    ats = [r["at"] for r in event_records(export(client))]
    assert ats == sorted(ats)


def test_an_empty_range_is_a_manifest_alone_and_verifies(client, two_complaints, public_key):
    response = export(client, since="2030-01-01T00:00:00Z", until="2030-02-01T00:00:00Z")
    assert records(response) and event_records(response) == []
    body = manifest_of(response)
    assert body["count"] == 0 and body["line_hash"] == GENESIS
    assert body["since"] == "2030-01-01T00:00:00.000+00:00"
    assert body["until"] == "2030-02-01T00:00:00.000+00:00"
    assert verified(response.data, public_key).ok


def test_csv_opens_with_the_csv_module_with_the_documented_columns(
    client, two_complaints, public_key
):
    response = export(client, accept="text/csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    assert reader.fieldnames == documented_csv_columns()
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert reader.fieldnames == list(spec["components"]["schemas"]["AuditRecord"]["properties"])
    *events, last = rows
    assert len(events) == 5
    assert last["type"] == "manifest"
    # The same records as the NDJSON export (the clock stands still, Ed25519 is deterministic).
    ndjson = records(export(client))
    for row, record in zip(events, ndjson[:-1], strict=True):
        assert row["seq"] == str(record["seq"])
        for column in ("actor", "data", "data_hashes"):
            assert json.loads(row[column]) == record[column]
        for column in ("complaint_id", "type", "at", "prev_hash", "hash", "line_hash"):
            assert row[column] == record[column]
    assert json.loads(last["data"]) == ndjson[-1]["manifest"]
    assert last["hash"] == ndjson[-1]["signature"]
    assert verified(text, public_key).ok


def test_csv_keeps_free_text_with_commas_quotes_and_newlines(client, public_key):
    cid = open_complaint(client)
    body = 'Baris satu, "dikutip";\nbaris dua\r\nbaris tiga ✓'
    message(client, cid, BUYER, body)
    text = export(client, accept="text/csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert json.loads(rows[1]["data"])["body"] == body
    assert verified(text, public_key).ok


# --- filters -----------------------------------------------------------------------------------


def test_since_is_inclusive_and_until_exclusive(client, clock, two_complaints, public_key):
    first, second = two_complaints
    response = export(client, since="2025-06-05T03:01:00Z", until="2025-06-05T03:03:00Z")
    assert [(r["complaint_id"], r["seq"]) for r in event_records(response)] == [
        (first, 2),
        (second, 2),
    ]
    body = manifest_of(response)
    assert (body["since"], body["until"]) == (
        "2025-06-05T03:01:00.000+00:00",
        "2025-06-05T03:03:00.000+00:00",
    )
    # An export that starts in the middle of a chain still verifies.
    assert verified(response.data, public_key).ok
    wib = export(client, since="2025-06-05T10:03:00+07:00")  # the same instant in WIB
    assert [(r["complaint_id"], r["seq"]) for r in event_records(wib)] == [(first, 3)]


def test_type_filter_takes_one_or_several_types(client, two_complaints, public_key):
    first, second = two_complaints
    opened = export(client, type="open")
    assert [r["type"] for r in event_records(opened)] == ["open", "open"]
    assert manifest_of(opened)["filters"] == {"types": ["open"]}
    assert verified(opened.data, public_key).ok
    both = export(client, type="open,message")
    assert [r["type"] for r in event_records(both)] == ["open", "open", "message", "message"]
    assert manifest_of(both)["filters"] == {"types": ["open", "message"]}
    # The first's events 1 and 3: its chain has a gap the filter explains.
    assert verified(both.data, public_key).ok


def test_channel_filter_takes_the_complaints_of_one_storefront(client, two_complaints, public_key):
    first, second = two_complaints
    body = complaint_body("SHP-1", order=order("SHP-1", channel="shopee"))
    elsewhere = client.post("/v1/complaints", json=body, headers=BUYER).get_json()["id"]
    shopee = export(client, channel="shopee")
    assert [(r["complaint_id"], r["seq"]) for r in event_records(shopee)] == [(elsewhere, 1)]
    assert manifest_of(shopee)["count"] == 1
    assert manifest_of(shopee)["filters"] == {"channel": "shopee"}
    tokopedia = export(client, channel="tokopedia")
    assert {r["complaint_id"] for r in event_records(tokopedia)} == {first, second}
    assert manifest_of(tokopedia)["count"] == 5
    assert event_records(export(client, channel="lazada")) == []
    assert verified(shopee.data, public_key).ok and verified(tokopedia.data, public_key).ok


def test_complaint_id_filter_takes_one_complaints_events(client, two_complaints, public_key):
    first, _ = two_complaints
    response = export(client, complaint_id=first)
    assert [(r["complaint_id"], r["seq"]) for r in event_records(response)] == [
        (first, 1),
        (first, 2),
        (first, 3),
    ]
    assert manifest_of(response)["filters"] == {"complaint_id": first}
    assert verified(response.data, public_key).ok
    assert event_records(export(client, complaint_id="65f000000000000000000001")) == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-06-01T00:00:00"}, "since"),  # no time zone
        ({"until": "2025-13-01T00:00:00Z"}, "until"),
        ({"since": "1900-01-01T00:00:00Z"}, "since"),
        ({"type": "Open"}, "type"),
        ({"type": "open;drop"}, "type"),
        ({"type": "open,"}, "type"),
        ({"type": ""}, "type"),
        ({"channel": "Tokopedia"}, "channel"),
        ({"channel": "toko pedia"}, "channel"),
        ({"complaint_id": "../etc/passwd"}, "complaint_id"),
        ({"complaint_id": ""}, "complaint_id"),
        ({"colour": "red"}, "colour"),
        ({"since": "2025-06-05T00:00:00Z", "until": "2025-06-04T00:00:00Z"}, "until"),
        ({"since": "2025-06-05T00:00:00Z", "until": "2025-06-05T00:00:00Z"}, "until"),
    ],
)
def test_invalid_query_values_are_422(client, params, field):
    body = assert_problem(export(client, **params), 422)
    assert field in body["errors"], body


# --- masking -----------------------------------------------------------------------------------


@pytest.fixture
def complaint_with_niks(client, clock) -> str:
    """A NIK in the description, a message, a photo's caption and name, a KTP's caption and
    file name, care's review note; then care opens the KTP (an evidence_viewed event)."""
    cid = open_complaint(client, description=f"Kaos robek. NIK saya {NIK}.")
    message(client, cid, BUYER, f"Ini NIK saya: {NIK}, mohon dicek")
    uploaded(client, cid, BUYER, "photo", png(), f"foto-{NIK}.png", caption=f"Foto, NIK:{NIK}")
    ktp = uploaded(
        client, cid, BUYER, "identity_document", png(), f"ktp-budi-{NIK}.png", caption=f"KTP {NIK}"
    )
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 30000}})
    act(client, cid, "escalate", BUYER, {"reason": f"Tidak sepakat ({NIK})."})
    act(client, cid, "assign", CARE)
    note = {"note": f"KTP cocok dengan NIK {NIK}."}
    reviewed = client.post(
        f"/v1/complaints/{cid}/evidence/{ktp['id']}/review", json=note, headers=CARE
    )
    assert reviewed.status_code in (200, 201), reviewed.get_json()
    assert client.get(f"/v1/complaints/{cid}/evidence/{ktp['id']}", headers=CARE).status_code == 200
    return cid


@pytest.mark.parametrize("accept", ["application/x-ndjson", "text/csv"])
def test_no_nik_leaves_unmasked_in_either_format(client, complaint_with_niks, accept, public_key):
    response = export(client, accept=accept)
    assert response.status_code == 200
    raw = response.data
    assert NIK.encode() not in raw
    assert NIK[:12].encode() not in raw
    assert not LONE_16_DIGITS.search(raw.decode())
    assert raw.count(MASKED_NIK.encode()) == 6  # description, message, photo x2, reason, note
    assert b"ktp-budi" not in raw  # the identity document's file name is gone entirely
    assert f"foto-{MASKED_NIK}.png".encode() in raw  # other files keep a masked name
    assert verified(raw, public_key).ok


def test_masked_fields_keep_their_text_and_carry_the_commitment_of_the_original(
    client, complaint_with_niks
):
    events = event_records(export(client, complaint_id=complaint_with_niks))
    stored = {e.seq: e for e in eventstore.events_of(complaint_with_niks)}
    by_type: dict[str, list[dict]] = {}
    for record in events:
        by_type.setdefault(record["type"], []).append(record)
        event = stored[record["seq"]]
        assert record["hash_version"] == 2
        for key, digest in record["data_hashes"].items():
            # The salted commitment, without its salt: hashing the original confirms nothing.
            assert digest == H([event.salts[key], event.data[key]]) != H(event.data[key])
            assert key not in record["salts"]
        shown = set(record["data"]) - set(record["data_hashes"])
        assert record["salts"] == {k: event.salts[k] for k in shown}

    opened = by_type["open"][0]
    assert opened["data"]["description"] == f"Kaos robek. NIK saya {MASKED_NIK}."
    assert set(opened["data_hashes"]) == {"description"}
    assert opened["data_hashes"]["description"] != H(f"Kaos robek. NIK saya {NIK}.")
    said = by_type["message"][0]
    assert said["data"]["body"] == f"Ini NIK saya: {MASKED_NIK}, mohon dicek"
    assert set(said["data_hashes"]) == {"body"}
    escalated = by_type["escalate"][0]
    assert escalated["data"]["reason"] == f"Tidak sepakat ({MASKED_NIK})."

    photo, ktp = by_type["evidence_added"]
    assert photo["data"]["caption"] == f"Foto, NIK:{MASKED_NIK}"
    assert photo["data"]["file"]["filename"] == f"foto-{MASKED_NIK}.png"
    assert set(photo["data_hashes"]) == {"caption", "file"}
    assert ktp["data"]["kind"] == "identity_document"
    assert ktp["data"]["caption"] == IDENTITY_WITHHELD
    assert "filename" not in ktp["data"]["file"]
    assert set(ktp["data"]["file"]) == {"content_type", "size", "sha256"}
    assert ktp["data_hashes"]["caption"] != H(f"KTP {NIK}")
    assert set(ktp["data_hashes"]) == {"caption", "file"}
    reviewed = by_type["evidence_reviewed"][0]
    assert reviewed["data"]["note"] == f"KTP cocok dengan NIK {MASKED_NIK}."
    viewed = by_type["evidence_viewed"][0]
    assert viewed["data"] == {
        "evidence_id": ktp["data"]["evidence_id"],
        "kind": ktp["data"]["kind"],
        "bytes": ktp["data"]["file"]["size"],
    }
    assert viewed["data_hashes"] == {}

    # Unmasked fields carry no hash: the verifier hashes what it sees.
    assert "reason" not in opened["data_hashes"] and "order" not in opened["data_hashes"]


def test_a_masked_export_verifies_by_hand_with_the_documented_formula(client, complaint_with_niks):
    code = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "hash-chain.md").read_text(), re.S)
    namespace: dict = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own documentation, under test
    events = event_records(export(client, complaint_id=complaint_with_niks))
    assert any(e["data_hashes"] for e in events)
    assert namespace["first_broken_link"](events) is None


def _by_hand():
    """The standard-library check of docs/audit.md ("By hand"), run as an auditor would."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "audit.md").read_text(), re.S)
    code = next(block for block in blocks if "def check_export" in block)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own documentation, under test
    return namespace["check_export"]


def test_the_by_hand_check_of_the_docs_passes_an_export_and_names_an_edited_line(
    client, complaint_with_niks, public_key, tmp_path
):
    check_export = _by_hand()
    path = tmp_path / "export.ndjson"
    lines = export(client).get_data(as_text=True).splitlines(keepends=True)
    path.write_text("".join(lines), encoding="utf-8")
    assert check_export(path, public_key) == "ok"
    assert MASKED_NIK in lines[2]
    lines[2] = lines[2].replace(MASKED_NIK, "************0009")
    path.write_text("".join(lines), encoding="utf-8")
    assert check_export(path, public_key) == "broken at line 3"
    path.write_bytes(export(client).data)
    with pytest.raises(InvalidSignature):
        check_export(path, signing.public_key(Ed25519PrivateKey.generate()))


def test_sixteen_digits_are_masked_and_other_numbers_are_not():
    assert mask_text(NIK) == MASKED_NIK
    assert mask_text(f"a{NIK}b") == f"a{MASKED_NIK}b"
    assert mask_text(f"{NIK} dan 3201234567890002") == f"{MASKED_NIK} dan ************0002"
    assert mask_text("3" * 15) == "3" * 15  # a phone number or an order number
    assert mask_text("3" * 17) == "3" * 17
    assert mask_text("Rp 105000, resi JP1234567890") == "Rp 105000, resi JP1234567890"


def test_identifiers_and_digests_are_not_taken_for_a_nik():
    evidence_id = "0123456789012345abcdefab"  # an ObjectId whose first 16 characters are digits
    digest = "abc" + "1234567890123456" + "f" * 45
    event = Event.sealed(
        "65f000000000000000000001",
        1,
        "evidence_viewed",
        {"role": "care", "id": "agent-1"},
        {"evidence_id": evidence_id, "file": {"sha256": digest}, "note": f"NIK {NIK}"},
        datetime(2025, 6, 5, tzinfo=UTC),
        GENESIS,
    )
    record = masked_record(event)
    assert record["data"]["evidence_id"] == evidence_id
    assert record["data"]["file"] == {"sha256": digest}
    assert record["data"]["note"] == f"NIK {MASKED_NIK}"
    assert set(record["data_hashes"]) == {"note"}


# --- verification --------------------------------------------------------------------------------


def test_the_downloaded_export_verifies_with_the_cli(
    client, complaint_with_niks, tmp_path, public_key
):
    for accept, name in (("application/x-ndjson", "e.ndjson"), ("text/csv", "e.csv")):
        path = tmp_path / name
        path.write_bytes(export(client, accept=accept).data)
        result = CliRunner().invoke(main, ["verify", str(path), "--public-key", public_key])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("ok: 9 events")
        unpinned = CliRunner().invoke(main, ["verify", str(path)])
        assert unpinned.exit_code == 0 and "pass --public-key" in unpinned.output


def test_the_cli_names_the_line_an_auditor_edited(
    client, complaint_with_niks, tmp_path, public_key
):
    lines = export(client).get_data(as_text=True).splitlines(keepends=True)
    record = json.loads(lines[1])
    lines[1] = lines[1].replace('"seq":2', '"seq":2 ')  # whitespace only: the same record
    path = tmp_path / "e.ndjson"
    path.write_text("".join(lines))
    assert (
        CliRunner().invoke(main, ["verify", str(path), "--public-key", public_key]).exit_code == 0
    )

    lines[1] = lines[1].replace(MASKED_NIK, "************0002")
    path.write_text("".join(lines))
    result = CliRunner().invoke(main, ["verify", str(path), "--public-key", public_key])
    assert result.exit_code == 1
    where = f"line 2, complaint {record['complaint_id']} seq {record['seq']}"
    assert where in result.output, result.output


def test_a_signature_made_with_another_key_is_refused(client, two_complaints, public_key):
    data = export(client).data
    other = signing.public_key(Ed25519PrivateKey.generate())
    finding = verified(data, other)
    assert not finding.ok and "signature" in finding.message
    assert finding.line == 6
    assert verified(data, None).ok  # the key inside the file: proves nothing, says so


def _resign(lines: list[str], line_hash: str) -> list[str]:
    """The manifest line made to match the records: all a forger without the key can do."""
    manifest = json.loads(lines[-1])
    manifest["manifest"]["line_hash"] = line_hash
    manifest["manifest"]["count"] = len(lines) - 1
    return [*lines[:-1], json.dumps(manifest) + "\n"]


def _rechained(lines: list[str]) -> list[str]:
    """Every record's `line_hash` recomputed after an edit, and the manifest's with them."""
    previous, out = GENESIS, []
    for line in lines[:-1]:
        record = json.loads(line)
        body = {k: v for k, v in record.items() if k != "line_hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        previous = hashlib.sha256(previous.encode() + canonical.encode()).hexdigest()
        out.append(json.dumps({**record, "line_hash": previous}) + "\n")
    return _resign([*out, lines[-1]], previous)


def _edit_data(line: str) -> str:
    record = json.loads(line)
    record["data"]["solution"]["amount"] += 1
    return json.dumps(record) + "\n"


EDITS = {
    # name: (edit of the lines, the line verify names, what it says)
    "a value changed": (
        lambda ls: [*ls[:2], _edit_data(ls[2]), *ls[3:]],
        3,
        "changed, added or removed",
    ),
    "a line removed": (lambda ls: [*ls[:1], *ls[2:]], 2, "changed, added or removed"),
    "two lines swapped": (
        lambda ls: [ls[0], ls[2], ls[1], *ls[3:]],
        2,
        "changed, added or removed",
    ),
    "a line repeated": (lambda ls: [*ls[:2], ls[1], *ls[2:]], 3, "changed, added or removed"),
    "not JSON": (lambda ls: [ls[0], ls[1][:-3] + "\n", *ls[2:]], 2, "not JSON"),
    "not an object": (lambda ls: [ls[0], "[1, 2]\n", *ls[2:]], 2, "not a JSON object"),
    "a float": (
        lambda ls: [*ls[:2], ls[2].replace('"seq":2', '"seq":2.5'), *ls[3:]],
        3,
        "not an event",
    ),
    "the manifest removed": (lambda ls: ls[:-1], None, "no manifest"),
    "a line after the manifest": (lambda ls: [*ls, ls[0]], 7, "records follow the manifest"),
    "the last event removed": (lambda ls: [*ls[:4], ls[5]], 5, "manifest does not match"),
    "removed, rechained and recounted": (
        lambda ls: _rechained([*ls[:4], ls[5]]),
        5,
        "signature is not valid",
    ),
    "an event forged whole": (
        lambda ls: _rechained([*ls[:2], ls[2].replace('"seq":2', '"seq":3'), *ls[3:]]),
        3,
        "does not match its hash",
    ),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_verify_names_the_first_line_that_does_not_hold(client, two_complaints, public_key, edit):
    change, line, says = EDITS[edit]
    lines = export(client).get_data(as_text=True).splitlines(keepends=True)
    assert json.loads(lines[2])["type"] == "propose"
    finding = verified("".join(change(lines)), public_key)
    assert not finding.ok
    assert finding.line == line, finding
    assert says in finding.message, finding


def test_verify_names_the_csv_line_of_an_edited_row(client, public_key):
    cid = open_complaint(client)
    message(client, cid, BUYER, "Baris satu\nbaris dua")
    message(client, cid, BUYER, "Sudah dicek?")
    lines = export(client, accept="text/csv").get_data(as_text=True).split("\r\n")
    # Cells hold JSON, whose strings escape line breaks: one row is one line of the file.
    assert len(lines) == 6 and lines[-1] == "" and "Baris satu\\nbaris dua" in lines[2]
    assert lines[3].startswith(cid) and "Sudah dicek?" in lines[3]
    edited = [*lines[:3], lines[3].replace("dicek", "diCek"), *lines[4:]]
    finding = verified("\r\n".join(edited), public_key)
    assert (finding.ok, finding.line, finding.seq) == (False, 4, 3), finding
    extra = [*lines[:3], lines[3] + ",extra", *lines[4:]]
    finding = verified("\r\n".join(extra), public_key)
    assert (finding.ok, finding.line) == (False, 4) and "cells" in finding.message
    header = ["complaint_id,seq,type", *lines[1:]]
    assert verified("\r\n".join(header), public_key).line == 1
    assert not verified("", public_key).ok
