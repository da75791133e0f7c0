"""The Merkle tree of checkpoints (RFC 9162 §2.1): leaves, nodes, roots and inclusion proofs.

A leaf is one complaint's head `(complaint_id, seq, hash)`; its bytes are the canonical JSON
of those three fields. leaf hash = SHA-256(0x00 || leaf bytes), node = SHA-256(0x01 || left ||
right), the tree over n leaves splits at the largest power of two below n. Byte layouts and
test vectors: `docs/anchoring.md`, `docs/test-vectors.json`.

Checkpoints store their leaves in chunks of `CHUNK` (a power of two): each chunk is a whole
subtree, so the root is the tree over the chunks' roots, and a proof is the path inside one
chunk followed by the path among the chunks (`chunked_path`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from .events import canonical

CHUNK = 1024
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_bytes(complaint_id: str, seq: int, hash: str) -> bytes:
    """What a leaf commits to: the canonical JSON of the complaint's head."""
    return canonical({"complaint_id": complaint_id, "seq": seq, "hash": hash})


def leaf_hash(complaint_id: str, seq: int, hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_bytes(complaint_id, seq, hash)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(nodes: Sequence[bytes]) -> bytes:
    """The root over `nodes` (leaf hashes, or the roots of whole aligned subtrees).

    Pairing level by level and carrying an odd last node up unchanged is the same tree as
    RFC 9162's split at the largest power of two.
    """
    if not nodes:
        return EMPTY_ROOT
    level = list(nodes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def path(nodes: Sequence[bytes], index: int) -> list[bytes]:
    """The inclusion path of `nodes[index]`, from its sibling up to the root's children."""
    if not 0 <= index < len(nodes):
        raise IndexError(f"leaf {index} of a tree of {len(nodes)}")
    found: list[bytes] = []
    level = list(nodes)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            found.append(level[sibling])
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level, index = paired, index // 2
    return found


def levels(nodes: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first: paths of many leaves read from it (`path_in`)."""
    found = [list(nodes)]
    while len(found[-1]) > 1:
        level = found[-1]
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        found.append(paired + ([level[-1]] if len(level) % 2 else []))
    return found


def path_in(tree: list[list[bytes]], index: int) -> list[bytes]:
    """The inclusion path of leaf `index` from the tree's `levels`."""
    found = []
    for level in tree[:-1]:
        if index ^ 1 < len(level):
            found.append(level[index ^ 1])
        index //= 2
    return found


def chunked_path(chunk_leaves: Sequence[bytes], chunk_roots: Sequence[bytes], index: int) -> list:
    """The path of leaf `index` of the whole tree, from its chunk's leaves and every chunk root."""
    return path(chunk_leaves, index % CHUNK) + path(chunk_roots, index // CHUNK)


def verify_inclusion(
    leaf: bytes, index: int, size: int, audit_path: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: True when `audit_path` proves `leaf` is leaf `index` of `size`."""
    if not (isinstance(index, int) and isinstance(size, int) and 0 <= index < size):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in audit_path:
        if sn == 0 or len(p) != 32:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root
