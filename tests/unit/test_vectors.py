"""docs/test-vectors.json checked with code written from docs/anchoring.md alone: nothing
here imports the service (only the standard library and `cryptography` for Ed25519), so a
mistake shared by the service and its own tests cannot hide here."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "docs" / "test-vectors.json").read_text(encoding="utf-8"))
LINE = re.compile(
    r"resolution-checkpoint/v1 n=([1-9][0-9]*) size=(0|[1-9][0-9]*) events=(0|[1-9][0-9]*)"
    r" time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+00:00"
    r" root=([0-9a-f]{64}) prev=[0-9a-f]{64} key=([0-9a-f]{16}) sig=([A-Za-z0-9+/]{86}==)"
)


def canonical(v) -> bytes:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def H(v) -> str:
    return hashlib.sha256(canonical(v)).hexdigest()


def leaf(cid: str, seq: int, digest: str) -> bytes:
    return hashlib.sha256(
        b"\x00" + canonical({"complaint_id": cid, "hash": digest, "seq": seq})
    ).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return node(mth(d[:k]), mth(d[k:]))


def checked_line(line, keys: dict[str, str]):
    """(size, root) of a line whose form and signature hold, else None."""
    if not isinstance(line, str):
        return None
    m = LINE.fullmatch(line)
    if not m:
        return None
    signed, sig = line.rsplit(" sig=", 1)
    raw = base64.b64decode(sig)
    if base64.b64encode(raw).decode() != sig or m.group(5) not in keys:
        return None
    public = base64.b64decode(keys[m.group(5)])
    if hashlib.sha256(public).hexdigest()[:16] != m.group(5):
        return None
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(raw, signed.encode())
    except InvalidSignature:
        return None
    return int(m.group(2)), bytes.fromhex(m.group(4))


def proof_holds(p, keys) -> bool:
    wanted = {"complaint_id", "seq", "hash", "index", "path", "checkpoint"}
    if not isinstance(p, dict) or not wanted <= set(p) <= wanted | {"public_key", "current"}:
        return False
    found = checked_line(p["checkpoint"], keys)
    if found is None:
        return False
    size, root = found
    index, path = p["index"], p["path"]
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
        return False
    if not isinstance(p["seq"], int) or not re.fullmatch(r"[0-9a-f]{64}", p["hash"]):
        return False
    if not all(isinstance(x, str) and re.fullmatch(r"[0-9a-f]{64}", x) for x in path):
        return False
    fn, sn, r = index, size - 1, leaf(p["complaint_id"], p["seq"], p["hash"])
    for x in map(bytes.fromhex, path):
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(x, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, x)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def test_the_event_hash_and_its_field_commitments():
    v = VECTORS["event"]
    e = v["input"]
    fields = {k: H(value) for k, value in e["data"].items()}
    assert fields == v["field_hashes"]
    hashed = {
        "complaint_id": e["complaint_id"],
        "seq": e["seq"],
        "type": e["type"],
        "actor": e["actor"],
        "at": e["at"],
        "data": fields,
        "prev_hash": e["prev_hash"],
    }
    assert canonical(hashed).decode() == v["hashed_object_canonical"]
    assert H(hashed) == v["hash"] == e["hash"]


def salted_event_hash(e) -> str:
    """docs/hash-chain.md, scheme 2, as a reader of the API or an export checks it."""
    given = e.get("data_hashes") or {}
    fields = {k: given.get(k) or H([e["salts"][k], v]) for k, v in e["data"].items()}
    return H(
        {
            "complaint_id": e["complaint_id"],
            "seq": e["seq"],
            "type": e["type"],
            "actor": e["actor"],
            "at": e["at"],
            "data": fields,
            "prev_hash": e["prev_hash"],
            "hash_version": 2,
        }
    )


def test_the_salted_event_hash_and_its_commitments():
    v = VECTORS["event_salted"]
    e = v["input"]
    assert e["hash_version"] == 2 and e["prev_hash"] == VECTORS["event"]["hash"]
    for key, value in e["data"].items():
        assert canonical([e["salts"][key], value]).decode() == v["commitment_inputs"][key]
        assert H([e["salts"][key], value]) == v["field_commitments"][key]
        assert len(base64.urlsafe_b64decode(e["salts"][key] + "==")) == 16
    hashed = json.loads(v["hashed_object_canonical"])
    assert hashed["data"] == v["field_commitments"] and hashed["hash_version"] == 2
    assert H(hashed) == v["hash"] == e["hash"] == salted_event_hash(e)
    shown = v["as_shown_without_body"]
    # A reader not shown `body` gets neither it nor its salt, and still checks the hash.
    assert "body" not in shown["salts"] and shown["data"]["body"] != e["data"]["body"]
    assert salted_event_hash(shown) == e["hash"]
    # Hashing the true value, as the unsalted scheme would, confirms nothing.
    assert shown["data_hashes"]["body"] != H(e["data"]["body"]) == v["unsalted_hash_of_body"]


def test_leaves_nodes_and_roots():
    v = VECTORS["merkle"]
    hashes = []
    for item in v["leaves"]:
        cid, seq, digest = item["complaint_id"], item["seq"], item["hash"]
        body = canonical({"complaint_id": cid, "hash": digest, "seq": seq})
        assert body.decode() == item["leaf_bytes"]
        hashes.append(leaf(cid, seq, digest))
        assert hashes[-1].hex() == item["leaf_hash"]
    assert node(hashes[0], hashes[1]).hex() == v["node_0_1"]
    for n, root in v["roots_of_first_n"].items():
        assert mth(hashes[: int(n)]).hex() == root


def test_the_checkpoint_line_its_hash_and_signature():
    v = VECTORS["checkpoint"]
    keys = {v["key_id"]: v["public_key"]}
    assert hashlib.sha256(base64.b64decode(v["public_key"])).hexdigest()[:16] == v["key_id"]
    assert v["line"] == f"{v['signed_text']} sig={v['signature']}"
    assert hashlib.sha256(v["signed_text"].encode()).hexdigest() == v["hash"]
    leaves = [leaf(x["complaint_id"], x["seq"], x["hash"]) for x in VECTORS["merkle"]["leaves"]]
    assert checked_line(v["line"], keys) == (len(leaves), mth(leaves))
    for bad in VECTORS["malformed_lines"]:
        assert checked_line(bad["line"], keys) is None, bad["why"]


def test_every_proof_holds_and_every_malformed_one_is_rejected():
    keys = {VECTORS["checkpoint"]["key_id"]: VECTORS["checkpoint"]["public_key"]}
    for p in VECTORS["proofs"]:
        assert proof_holds(p, keys)
    for bad in VECTORS["malformed_proofs"]:
        assert not proof_holds(bad["proof"], keys), bad["why"]


def test_the_generator_still_writes_this_file(tmp_path):
    """The service's code (tests/support/vectors.py) gives the same vectors: the page, the
    file and the service agree."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from tests.support.vectors import build;"
            "print(json.dumps(build(), indent=2, ensure_ascii=False))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == VECTORS
