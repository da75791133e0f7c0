"""Checkpoints and proofs over HTTP: who may list checkpoints, who may get a complaint's proof,
and that the proof a party keeps checks offline, against the checkpoint's signed line; every
answer checked against openapi.yaml on the wire."""

from __future__ import annotations

import json

import pytest
import yaml

from resolution.service import anchoring, signing
from tests.support.bodies import complaint_body
from tests.support.parties import (
    AUDITOR,
    BUYER,
    CARE,
    MARKETPLACE,
    OTHER_BUYER,
    SELLER,
    SIGNING_KEY,
)
from tests.support.spec import SPEC_PATH
from tests.support.wire import Wire

PROOF = "/v1/complaints/{id}/proof"
CHECKPOINTS = "/v1/audit/checkpoints"
PUBLIC = signing.public_key(SIGNING_KEY)


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def wire(client, spec) -> Wire:
    return Wire(client, spec)


@pytest.fixture
def opened(client) -> list[str]:
    ids = []
    for n in range(3):
        made = client.post("/v1/complaints", json=complaint_body(f"INV-P{n}"), headers=BUYER)
        assert made.status_code == 201
        ids.append(made.get_json()["id"])
    return ids


def test_a_party_gets_a_proof_that_checks_offline(wire, context, opened, client):
    assert wire("get", PROOF, id=opened[0], headers=BUYER).status_code == 409  # none yet
    anchoring.make(context)
    for who in (BUYER, SELLER, CARE, AUDITOR, MARKETPLACE):
        got = wire("get", PROOF, id=opened[0], headers=who)
        assert got.status_code == 200, got.get_json()
    proof = got.get_json()
    assert proof["current"] is True and proof["seq"] == 1
    trusted = anchoring.trusted_keys([PUBLIC])
    assert anchoring.verify_proof(proof, trusted, opened[0]) is None
    assert "for complaint" in anchoring.verify_proof(proof, trusted, opened[1])
    # The complaint moves on: the proof is still of the checkpoint's head, not current.
    sent = client.post(f"/v1/complaints/{opened[0]}/messages", json={"body": "Halo"}, headers=BUYER)
    assert sent.status_code == 201
    later = wire("get", PROOF, id=opened[0], headers=BUYER).get_json()
    assert later["current"] is False and later["seq"] == 1


def test_a_proof_is_for_those_who_may_see_the_complaint(wire, context, opened):
    anchoring.make(context)
    assert wire("get", PROOF, id=opened[0], headers=OTHER_BUYER).status_code == 404
    assert wire("get", PROOF, id="0" * 24, headers=BUYER).status_code == 404
    assert wire("get", PROOF, id="not-an-id", headers=BUYER).status_code == 404
    assert wire("get", PROOF, id=opened[0]).status_code == 401


def test_a_complaint_newer_than_the_latest_checkpoint_is_told_so(wire, context, opened, client):
    anchoring.make(context)
    made = client.post("/v1/complaints", json=complaint_body("INV-LATE"), headers=BUYER)
    late = wire("get", PROOF, id=made.get_json()["id"], headers=BUYER)
    assert late.status_code == 409
    assert "will cover it" in late.get_json()["detail"]


def test_checkpoints_are_listed_for_auditors_and_care(wire, context, opened):
    for _ in range(3):
        anchoring.make(context)
    for who in (BUYER, SELLER, MARKETPLACE):
        assert wire("get", CHECKPOINTS, headers=who).status_code == 403
    page = wire("get", CHECKPOINTS, headers=AUDITOR, query={"limit": 2}).get_json()
    assert [c["n"] for c in page["items"]] == [3, 2] and page["next_before"] == 2
    rest = wire("get", CHECKPOINTS, headers=CARE, query={"before": 2}).get_json()
    assert [c["n"] for c in rest["items"]] == [1] and rest["next_before"] is None
    assert page["keys"][0]["public_key"] == PUBLIC
    line = page["items"][0]["line"]
    assert "\n" not in line and line.startswith("resolution-checkpoint/v1 n=3 size=3 ")
    assert wire("get", CHECKPOINTS, headers=AUDITOR, query={"limit": 0}).status_code == 422


def test_every_single_byte_change_to_a_proof_fails(wire, context, opened):
    anchoring.make(context)
    got = wire("get", PROOF, id=opened[1], headers=BUYER).get_json()
    # What the proof proves with (the key is pinned, `current` is for the reader).
    proof = {k: v for k, v in got.items() if k in anchoring.PROOF_FIELDS}
    trusted = anchoring.trusted_keys([PUBLIC])
    text = json.dumps(proof, sort_keys=True)
    assert anchoring.verify_proof(json.loads(text), trusted) is None
    changed = 0
    for i in range(len(text)):
        for replacement in {chr(ord(text[i]) ^ 1), "0" if text[i] != "0" else "1"}:
            edited = text[:i] + replacement + text[i + 1 :]
            try:
                candidate = json.loads(edited)
            except ValueError:
                continue  # not JSON: refused before any check
            if candidate == proof:
                continue  # the same proof (a change in JSON's syntax only)
            changed += 1
            assert anchoring.verify_proof(candidate, trusted) is not None, (i, edited)
    assert changed > 500


def test_the_printable_record_carries_the_proof_and_the_checkpoint_line(client, context, opened):
    page = client.get(f"/v1/complaints/{opened[0]}/export?lang=en", headers=BUYER)
    assert page.status_code == 200
    assert "No signed checkpoint covers this complaint yet" in page.get_data(as_text=True)
    made = anchoring.make(context)
    text = client.get(f"/v1/complaints/{opened[0]}/export?lang=en", headers=BUYER).get_data(
        as_text=True
    )
    assert made.line in text
    import html
    import re

    kept = json.loads(html.unescape(re.search(r"<pre[^>]*>(.*?)</pre>", text, re.S).group(1)))
    trusted = anchoring.trusted_keys([PUBLIC])
    assert anchoring.verify_proof(kept, trusted, opened[0]) is None
    indonesian = client.get(f"/v1/complaints/{opened[0]}/export", headers=BUYER)
    assert "Simpan baris checkpoint" in indonesian.get_data(as_text=True)
