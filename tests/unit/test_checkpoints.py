"""The Merkle tree and the checkpoint line, without a database: RFC 9162's tree shape, proofs
of 10,000 leaves at about log2(n) hashes, and every single-byte change to a line refused."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from resolution.domain import merkle
from resolution.domain.checkpoints import Checkpoint, Malformed, key_id, parse
from resolution.service import anchoring, signing


def rfc_root(nodes):
    """RFC 9162 §2.1.1 as written: split at the largest power of two below n."""
    if not nodes:
        return hashlib.sha256(b"").digest()
    if len(nodes) == 1:
        return nodes[0]
    k = 1
    while k * 2 < len(nodes):
        k *= 2
    return merkle.node_hash(rfc_root(nodes[:k]), rfc_root(nodes[k:]))


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"{i:024x}", i % 7 + 1, f"{i:064x}") for i in range(n)]


@pytest.mark.parametrize("n", [*range(1, 34), 1023, 1024, 1025, 2049, 3000])
def test_the_root_is_rfc_9162s_and_every_leaf_proves(n):
    hashed = leaves(n)
    root = merkle.root(hashed)
    assert root == rfc_root(hashed)
    for i in range(0, n, max(1, n // 40)):
        assert merkle.verify_inclusion(hashed[i], i, n, merkle.path(hashed, i), root)


def test_chunks_of_1024_give_the_same_root_and_paths():
    hashed = leaves(3000)
    chunks = [hashed[i : i + merkle.CHUNK] for i in range(0, 3000, merkle.CHUNK)]
    roots = [merkle.root(c) for c in chunks]
    assert merkle.root(roots) == merkle.root(hashed)
    for i in (0, 1023, 1024, 2047, 2048, 2999):
        chunked = merkle.chunked_path(chunks[i // merkle.CHUNK], roots, i)
        assert chunked == merkle.path(hashed, i)


def test_inclusion_proofs_of_10000_complaints_all_verify_at_about_log2_n_hashes():
    n = 10_000
    hashed = leaves(n)
    root = merkle.root(hashed)
    # Every level once, then each leaf's path read from it: n log n, not n² (path() per leaf).
    levels = [hashed]
    while len(levels[-1]) > 1:
        level = levels[-1]
        up = [merkle.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        levels.append(up + ([level[-1]] if len(level) % 2 else []))
    lengths = []
    for i in range(n):
        proof, index = [], i
        for level in levels[:-1]:
            if index ^ 1 < len(level):
                proof.append(level[index ^ 1])
            index //= 2
        assert merkle.verify_inclusion(hashed[i], i, n, proof, root), i
        lengths.append(len(proof))
    # log2(10,000) = 13.3: at most 14 hashes; fewer for the last leaves (subtrees under 8,192).
    assert max(lengths) == math.ceil(math.log2(n))
    assert math.log2(n) - 1 <= sum(lengths) / n <= math.log2(n) + 1
    # And the paths `path` gives (from a chunk, as the service does) are those.
    for i in (0, 4321, n - 1):
        assert merkle.path(hashed, i) == merkle.chunked_path(
            hashed[i - i % merkle.CHUNK :][: merkle.CHUNK],
            [merkle.root(hashed[j : j + merkle.CHUNK]) for j in range(0, n, merkle.CHUNK)],
            i,
        )


def signed_line() -> tuple[Checkpoint, dict[str, str]]:
    key = Ed25519PrivateKey.generate()
    public = signing.public_key(key)
    kid = key_id(key.public_key().public_bytes_raw())
    body = Checkpoint(7, 3, 12, "2025-06-05T03:00:00.000+00:00", "ab" * 32, "cd" * 32, kid)
    checkpoint = replace(body, signature=signing.sign(key, body.body.encode()))
    return checkpoint, {kid: public}


def test_a_line_parses_back_to_its_checkpoint():
    checkpoint, trusted = signed_line()
    assert parse(checkpoint.line) == checkpoint
    assert anchoring.check_signature(checkpoint, trusted) is None


def test_every_single_byte_change_to_a_checkpoint_line_fails():
    checkpoint, trusted = signed_line()
    line = checkpoint.line.encode()
    for i in range(len(line)):
        for flip in (0x01, 0x20, 0x80):
            edited = bytearray(line)
            edited[i] ^= flip
            try:
                parsed = parse(bytes(edited).decode("utf-8"))
            except (Malformed, UnicodeDecodeError):
                continue
            assert anchoring.check_signature(parsed, trusted) is not None, (i, flip)


def test_malformed_lines_are_named():
    checkpoint, _ = signed_line()
    with pytest.raises(Malformed, match="starts with"):
        parse("hello")
    with pytest.raises(Malformed, match="no root="):
        parse(checkpoint.line.replace(" root=", " rot="))
    with pytest.raises(Malformed, match="one line of text"):
        parse(None)
