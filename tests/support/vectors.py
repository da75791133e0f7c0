"""Writes docs/test-vectors.json from the service's own code: `python -m tests.support.vectors`.

tests/unit/test_vectors.py checks the file with code written from docs/anchoring.md alone
(importing nothing of the service), and that this generator still writes the same file.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from resolution.domain import merkle
from resolution.domain.checkpoints import Checkpoint, key_id
from resolution.domain.events import GENESIS, SALTED, UNSALTED, Event, canonical, sha256
from resolution.service import signing

PATH = Path(__file__).resolve().parents[2] / "docs" / "test-vectors.json"
SEED = bytes(range(32))  # a published, worthless key: never use it for anything else


def build() -> dict:
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    public = signing.public_key(key)
    from datetime import UTC, datetime

    at = datetime(2025, 6, 5, 3, 0, 0, 123000, tzinfo=UTC)
    data = {"body": "Layar retak, NIK 3171234567890001", "amount": 45000}
    event = Event.sealed(
        "6650a1b2c3d4e5f601234567",
        1,
        "message",
        {"role": "buyer", "id": "buyer-1"},
        data,
        at,
        GENESIS,
        scheme=UNSALTED,
    )
    salted = Event.sealed(
        "6650a1b2c3d4e5f601234567",
        2,
        "message",
        {"role": "seller", "id": "seller-1", "shop_id": "shop-1"},
        {"body": "Resi JP1234567890, NIK 3171234567890001", "evidence_ids": []},
        at.replace(second=30),
        event.hash,
        salts={"body": "AAECAwQFBgcICQoLDA0ODw", "evidence_ids": "EBESExQVFhcYGRobHB0eHw"},
    )
    assert salted.hash_version == SALTED
    heads = [(f"6650a1b2c3d4e5f60123456{i}", i + 1, sha256({"n": i})) for i in range(5)]
    leaf_hashes = [merkle.leaf_hash(*h) for h in heads]
    kid = key_id(base64.b64decode(public))
    unsigned = Checkpoint(
        3,
        len(heads),
        sum(h[1] for h in heads),
        "2025-06-05T03:05:00.000+00:00",
        merkle.root(leaf_hashes).hex(),
        sha256("previous"),
        kid,
    )
    checkpoint = replace(unsigned, signature=signing.sign(key, unsigned.body.encode()))
    proofs = []
    for i, head in enumerate(heads):
        proofs.append(
            {
                "complaint_id": head[0],
                "seq": head[1],
                "hash": head[2],
                "index": i,
                "path": [p.hex() for p in merkle.path(leaf_hashes, i)],
                "checkpoint": checkpoint.line,
            }
        )
    good = proofs[2]
    other_key = Ed25519PrivateKey.from_private_bytes(bytes(32 * [7]))
    other_kid = key_id(base64.b64decode(signing.public_key(other_key)))
    foreign = replace(unsigned, key=other_kid)
    foreign = replace(foreign, signature=signing.sign(other_key, foreign.body.encode()))
    sig = checkpoint.signature
    odd_sig = (
        sig[:85]
        + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(sig[85]) ^ 1
        ]
        + "=="
    )
    malformed = [
        (
            "a path hash changed",
            {**good, "path": [good["path"][0][:-1] + "0", *good["path"][1:]]}
            if not good["path"][0].endswith("0")
            else {**good, "path": [good["path"][0][:-1] + "1", *good["path"][1:]]},
        ),
        ("the index of another leaf", {**good, "index": 3}),
        ("an index past the tree", {**good, "index": 5}),
        ("a path hash missing", {**good, "path": good["path"][:-1]}),
        ("a path hash too many", {**good, "path": [*good["path"], good["path"][0]]}),
        ("the seq changed", {**good, "seq": good["seq"] + 1}),
        ("another complaint's id", {**good, "complaint_id": heads[0][0]}),
        (
            "the checkpoint's size changed",
            {**good, "checkpoint": checkpoint.line.replace(" size=5 ", " size=6 ")},
        ),
        (
            "the checkpoint's root changed",
            {**good, "checkpoint": checkpoint.line.replace(checkpoint.root, sha256("x"))},
        ),
        ("signed by an unknown key", {**good, "checkpoint": foreign.line}),
        (
            "a signature not in canonical base64",
            {**good, "checkpoint": checkpoint.body + " sig=" + odd_sig},
        ),
        ("a line without its signature", {**good, "checkpoint": checkpoint.body}),
        ("a line with a trailing space", {**good, "checkpoint": checkpoint.line + " "}),
        (
            "an upper-case root",
            {
                **good,
                "checkpoint": checkpoint.line.replace(checkpoint.root, checkpoint.root.upper()),
            },
        ),
    ]
    return {
        "description": "Test vectors of docs/anchoring.md. Hashes are lower-case hex SHA-256; "
        "keys and signatures base64. The signing key's 32-byte seed is 00 01 02 … 1f: public "
        "test material, never a real key.",
        "event": {
            "input": {**event.as_data(), "at": event.at.isoformat(timespec="milliseconds")},
            "field_hashes": {k: sha256(v) for k, v in event.data.items()},
            "hashed_object_canonical": canonical(
                {
                    "complaint_id": event.complaint_id,
                    "seq": event.seq,
                    "type": event.type,
                    "actor": event.actor,
                    "at": event.at,
                    "data": {k: sha256(v) for k, v in event.data.items()},
                    "prev_hash": event.prev_hash,
                }
            ).decode(),
            "hash": event.hash,
        },
        "event_salted": _salted_vector(salted),
        "merkle": {
            "leaves": [
                {
                    "complaint_id": c,
                    "seq": s,
                    "hash": h,
                    "leaf_bytes": merkle.leaf_bytes(c, s, h).decode(),
                    "leaf_hash": merkle.leaf_hash(c, s, h).hex(),
                }
                for c, s, h in heads
            ],
            "roots_of_first_n": {str(n): merkle.root(leaf_hashes[:n]).hex() for n in range(0, 6)},
            "node_0_1": merkle.node_hash(leaf_hashes[0], leaf_hashes[1]).hex(),
        },
        "checkpoint": {
            "public_key": public,
            "key_id": kid,
            "signed_text": checkpoint.body,
            "hash": checkpoint.hash,
            "signature": checkpoint.signature,
            "line": checkpoint.line,
        },
        "proofs": proofs,
        "malformed_proofs": [{"why": why, "proof": p} for why, p in malformed],
        "malformed_lines": [
            {"why": "no signature", "line": checkpoint.body},
            {"why": "n is zero", "line": checkpoint.line.replace(" n=3 ", " n=0 ")},
            {
                "why": "a time without milliseconds",
                "line": checkpoint.line.replace(".000+00:00", "+00:00"),
            },
            {
                "why": "a field out of order",
                "line": checkpoint.line.replace(
                    f" size=5 events={checkpoint.events}", f" events={checkpoint.events} size=5"
                ),
            },
            {"why": "two spaces", "line": checkpoint.line.replace(" root=", "  root=")},
            {"why": "another prefix", "line": checkpoint.line.replace("/v1", "/v2")},
        ],
    }


def _salted_vector(event: Event) -> dict:
    """docs/hash-chain.md's scheme 2: each field commits as H([salt, value]); a reader not
    shown `body` gets its commitment in `data_hashes`, and neither its value nor its salt."""
    commitments = {k: sha256([event.salts[k], v]) for k, v in event.data.items()}
    masked = event.as_shown({**event.data, "body": "[withheld]"}, {"body": commitments["body"]})
    return {
        "input": {**event.as_data(), "at": event.at.isoformat(timespec="milliseconds")},
        "commitment_inputs": {
            k: canonical([event.salts[k], v]).decode() for k, v in event.data.items()
        },
        "field_commitments": commitments,
        "hashed_object_canonical": canonical(
            {
                "complaint_id": event.complaint_id,
                "seq": event.seq,
                "type": event.type,
                "actor": event.actor,
                "at": event.at,
                "data": commitments,
                "prev_hash": event.prev_hash,
                "hash_version": 2,
            }
        ).decode(),
        "hash": event.hash,
        "as_shown_without_body": {
            **masked,
            "at": event.at.isoformat(timespec="milliseconds"),
        },
        "unsalted_hash_of_body": sha256(event.data["body"]),
    }


if __name__ == "__main__":
    PATH.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {PATH}")
