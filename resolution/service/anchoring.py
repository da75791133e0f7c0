"""Checkpoints: make and sign them, prove a complaint's head in one, verify the log of them.

`make` reads every complaint's head, builds the Merkle tree a chunk at a time (memory holds
one chunk and the chunks' roots), signs the root with the service's key, and stores it after
the latest: of two racing makers one wins the number, the other reads it and tries again.
`verify_log` replays every checkpoint against its predecessor and every head any of them
committed to against the events in the database now. `docs/anchoring.md` says why and how.
"""

from __future__ import annotations

import base64
import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..domain import merkle
from ..domain.actors import Actor
from ..domain.checkpoints import (
    Break,
    Checkpoint,
    Head,
    Malformed,
    against_events,
    chained,
    compare,
    key_id,
    parse,
)
from ..domain.errors import Conflict, Forbidden, Invalid
from ..domain.events import GENESIS, iso
from ..store import checkpoints as store
from ..store import eventstore
from . import signing
from .complaints import get_complaint
from .unit_of_work import Context

INTERVAL = timedelta(minutes=5)  # the sweeper's default: how old the latest may grow


@dataclass(frozen=True)
class Stored:
    """A checkpoint as stored: its line's fields, and where its leaves are."""

    checkpoint: Checkpoint
    chunks: list[str] = field(default_factory=list)
    firsts: list[str] = field(default_factory=list)


def _stored(doc: Mapping[str, Any]) -> Stored:
    checkpoint = Checkpoint(
        doc["_id"],
        doc["size"],
        doc["events"],
        doc["time"],
        doc["root"],
        doc["prev"],
        doc["key"],
        doc["signature"],
    )
    return Stored(checkpoint, list(doc.get("chunks", [])), list(doc.get("firsts", [])))


def _key_of(ctx: Context) -> tuple[str, str]:
    if ctx.signing_key is None:
        raise RuntimeError("checkpoints need the signing key (Context.signing_key)")
    public = signing.public_key(ctx.signing_key)
    return key_id(base64.b64decode(public)), public


# --- making ---------------------------------------------------------------------------------


def make(ctx: Context) -> Checkpoint:
    """Signs and stores a checkpoint of every complaint's head now, after the latest one."""
    key, public = _key_of(ctx)
    for _ in range(5):
        before = store.latest()
        previous = _stored(before).checkpoint if before else None
        roots, firsts, size, events = _chunks()
        # The time is taken after the heads are read: every head's event is at or before it.
        unsigned = Checkpoint(
            n=previous.n + 1 if previous else 1,
            size=size,
            events=events,
            time=iso(ctx.clock()),
            root=merkle.root([bytes.fromhex(r) for r in roots]).hex(),
            prev=previous.hash if previous else GENESIS,
            key=key,
        )
        checkpoint = replace(
            unsigned, signature=signing.sign(ctx.signing_key, unsigned.body.encode())
        )
        store.record_key(key, public, checkpoint.time)
        try:
            store.insert(_doc(checkpoint, roots, firsts))
        except store.CheckpointTaken:
            continue  # another maker took the number: build again after theirs
        return checkpoint
    raise Conflict("Other processes kept making checkpoints; try again.")


def _chunks() -> tuple[list[str], list[str], int, int]:
    """Every complaint's head, stored a chunk at a time: (chunk roots, each chunk's first
    complaint id, how many heads, their `seq`s added up: the events committed to)."""
    roots: list[str] = []
    firsts: list[str] = []
    size = events = 0
    batch: list[list[Any]] = []
    for complaint_id, seq, digest in store.heads():
        batch.append([complaint_id, seq, digest])
        size, events = size + 1, events + seq
        if len(batch) == merkle.CHUNK:
            _flush(batch, roots, firsts)
            batch = []
    if batch:
        _flush(batch, roots, firsts)
    return roots, firsts, size, events


def _flush(batch: list[list[Any]], roots: list[str], firsts: list[str]) -> None:
    digest = merkle.root([merkle.leaf_hash(*leaf) for leaf in batch]).hex()
    store.save_chunks([(digest, batch)])
    roots.append(digest)
    firsts.append(batch[0][0])


def _doc(checkpoint: Checkpoint, roots: list[str], firsts: list[str]) -> dict[str, Any]:
    return {
        "_id": checkpoint.n,
        "size": checkpoint.size,
        "events": checkpoint.events,
        "time": checkpoint.time,
        "root": checkpoint.root,
        "prev": checkpoint.prev,
        "key": checkpoint.key,
        "signature": checkpoint.signature,
        "chunks": roots,
        "firsts": firsts,
    }


def due(now: datetime, interval: timedelta = INTERVAL) -> bool:
    """True when the latest checkpoint is `interval` old or there is none."""
    doc = store.latest()
    if doc is None:
        return True
    return datetime.fromisoformat(doc["time"]) + interval <= now


# --- reading --------------------------------------------------------------------------------


def check_can_list(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("Checkpoints are listed for auditors and the care team.")


def latest() -> Checkpoint | None:
    doc = store.latest()
    return _stored(doc).checkpoint if doc else None


def listing(actor: Actor, before: int | None, limit: int) -> list[Checkpoint]:
    """The newest checkpoints (numbered below `before`), newest first."""
    check_can_list(actor)
    return [_stored(doc).checkpoint for doc in store.page(before, limit)]


def key_history() -> list[dict[str, str]]:
    """Every key that signed a checkpoint: its id, public key, first and last use."""
    return [
        {
            "key": d["_id"],
            "public_key": d["public_key"],
            "first_used": d["first_used"],
            "last_used": d["last_used"],
        }
        for d in store.keys()
    ]


class NotCovered(Conflict):
    """No checkpoint commits to the complaint yet."""


def proof(ctx: Context, actor: Actor, complaint_id: str) -> dict[str, Any]:
    """The inclusion proof of the complaint's head in the latest checkpoint, for anyone who
    may see the complaint (404 for others, as for the complaint)."""
    complaint = get_complaint(ctx, actor, complaint_id)
    doc = store.latest()
    if doc is None:
        raise NotCovered(
            "No checkpoint has been made yet: the sweeper makes one every few minutes."
        )
    stored = _stored(doc)
    checkpoint = stored.checkpoint
    place = bisect.bisect_right(stored.firsts, complaint_id) - 1
    leaves = store.chunk(stored.chunks[place]) if place >= 0 else None
    index = next((i for i, leaf in enumerate(leaves or []) if leaf[0] == complaint_id), None)
    if leaves is None or index is None:
        raise NotCovered(
            f"The latest checkpoint ({checkpoint.n}, {checkpoint.time}) was made before this "
            "complaint: the next one, within a few minutes, will cover it."
        )
    _, seq, digest = leaves[index]
    hashes = [merkle.leaf_hash(*leaf) for leaf in leaves]
    roots = [bytes.fromhex(r) for r in stored.chunks]
    audit_path = merkle.chunked_path(hashes, roots, place * merkle.CHUNK + index)
    public = next((k["public_key"] for k in key_history() if k["key"] == checkpoint.key), None)
    return {
        "complaint_id": complaint_id,
        "seq": seq,
        "hash": digest,
        "index": place * merkle.CHUNK + index,
        "path": [p.hex() for p in audit_path],
        "checkpoint": checkpoint.line,
        "public_key": public,
        "current": complaint.version == seq and complaint.last_hash == digest,
    }


# --- checking a proof or a line ---------------------------------------------------------------


def check_signature(checkpoint: Checkpoint, trusted: Mapping[str, str]) -> str | None:
    """Why the checkpoint's signature does not hold with the trusted keys (id → public)."""
    try:
        parse(checkpoint.line)  # its fields in their one documented spelling
    except Malformed as error:
        return f"checkpoint {checkpoint.n}: {error}"
    public = trusted.get(checkpoint.key)
    if public is None:
        return f"checkpoint {checkpoint.n} is signed by an unknown key {checkpoint.key}"
    if key_id(base64.b64decode(public)) != checkpoint.key:
        return f"key {checkpoint.key} is listed with a public key that is not its own"
    if not signing.verify(public, checkpoint.body.encode(), checkpoint.signature):
        return f"checkpoint {checkpoint.n}'s signature does not verify with key {checkpoint.key}"
    return None


def trusted_keys(given: Sequence[str]) -> dict[str, str]:
    """Key id → public key, for the keys given (base64); `Invalid` naming one that is not."""
    found = {}
    for public in given:
        try:
            raw = base64.b64decode(public, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise Invalid(f"{public!r} is not a public key (base64 of 32 bytes)")
        found[key_id(raw)] = public
    return found


# What a proof proves with; `public_key` and `current` ride along for the reader, unchecked
# (the key is pinned by the verifier, never taken from the proof).
PROOF_FIELDS = frozenset({"complaint_id", "seq", "hash", "index", "path", "checkpoint"})


def verify_proof(
    proof: object,
    trusted: Mapping[str, str],
    complaint_id: str | None = None,
    *,
    signature: bool = True,
) -> str | None:
    """Why a proof does not hold (signed by an unknown key, for another complaint, not the
    checkpoint's leaf …), or None when it proves the head is in the signed checkpoint."""
    if not isinstance(proof, Mapping):
        return "a proof is a JSON object"
    unknown = sorted(set(proof) - PROOF_FIELDS - {"public_key", "current"})
    if unknown:
        return f"the proof has fields no proof has: {', '.join(map(str, unknown))}"
    missing = sorted(PROOF_FIELDS - set(proof))
    if missing:
        return f"the proof lacks {', '.join(missing)}"
    try:
        checkpoint = parse(proof.get("checkpoint"))
    except Malformed as error:
        return f"the proof's checkpoint: {error}"
    cid, seq, digest = proof.get("complaint_id"), proof.get("seq"), proof.get("hash")
    index, audit_path = proof.get("index"), proof.get("path")
    if not isinstance(cid, str) or not cid:
        return "the proof names no complaint (complaint_id)"
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return "the proof's seq is not a positive integer"
    if not isinstance(digest, str) or not _is_hex64(digest):
        return "the proof's hash is not 64 lower-case hex digits"
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return "the proof's index is not a non-negative integer"
    if not isinstance(audit_path, list) or not all(
        isinstance(p, str) and _is_hex64(p) for p in audit_path
    ):
        return "the proof's path is not a list of 64-hex-digit hashes"
    bad = check_signature(checkpoint, trusted) if signature else None
    if bad:
        return bad
    if complaint_id is not None and cid != complaint_id:
        return f"the proof is for complaint {cid}, not {complaint_id}"
    leaf = merkle.leaf_hash(cid, seq, digest)
    hashes = [bytes.fromhex(p) for p in audit_path]
    if not merkle.verify_inclusion(
        leaf, index, checkpoint.size, hashes, bytes.fromhex(checkpoint.root)
    ):
        return f"the path does not lead from this head to checkpoint {checkpoint.n}'s root"
    return None


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


# --- verifying the log ----------------------------------------------------------------------


@dataclass
class LogReport:
    """What `verify_log` found: the checkpoints checked and every break, named."""

    checked: list[int] = field(default_factory=list)
    complaints: int = 0
    breaks: list[Break] = field(default_factory=list)


def _leaves(stored: Stored, breaks: list[Break]) -> list[Head] | None:
    """The checkpoint's leaves, each chunk checked against its root and the whole against the
    signed root; None (and a break) when the stored leaves are not what was signed."""
    c = stored.checkpoint
    found: list[Head] = []
    for number, root in enumerate(stored.chunks):
        leaves = store.chunk(root)
        if leaves is None:
            breaks.append(Break("checkpoint", None, f"checkpoint {c.n}: chunk {number} is missing"))
            return None
        try:
            heads = [(str(a), int(b), str(h)) for a, b, h in leaves]
            ok = merkle.root([merkle.leaf_hash(*h) for h in heads]).hex() == root
        except (TypeError, ValueError):
            ok = False
        if not ok:
            detail = f"checkpoint {c.n}: chunk {number} does not match its root"
            breaks.append(Break("checkpoint", None, detail))
            return None
        found.extend(heads)
    roots = [bytes.fromhex(r) for r in stored.chunks]
    if merkle.root(roots).hex() != c.root:
        detail = f"checkpoint {c.n}: the stored heads do not match its signed root"
        breaks.append(Break("checkpoint", None, detail))
        return None
    for before, after in zip(found, found[1:], strict=False):
        if not before[0] < after[0]:
            detail = f"checkpoint {c.n}: heads out of order at complaint {after[0]}"
            breaks.append(Break("checkpoint", None, detail))
            return None
    if len(found) != c.size or sum(h[1] for h in found) != c.events:
        detail = f"checkpoint {c.n}: its size or event count does not match its heads"
        breaks.append(Break("checkpoint", None, detail))
        return None
    return found


def verify_log(
    trusted: Mapping[str, str], first: int | None = None, last: int | None = None
) -> LogReport:
    """Every checkpoint from `first` to `last` (default: all) is signed by a trusted key and
    follows its predecessor; each extends the one before; and the events in the database now
    extend every head any of them committed to."""
    report = LogReport()
    newest = store.latest()
    if newest is None:
        report.breaks.append(Break("checkpoint", None, "there is no checkpoint yet"))
        return report
    last = newest["_id"] if last is None else last
    first = 1 if first is None else first
    if first > last:
        raise Invalid(f"--from {first} is after --to {last}")
    docs = store.between(first, last)
    found_numbers = [d["_id"] for d in docs]
    for wanted in (first, last):
        if wanted not in found_numbers:
            report.breaks.append(Break("checkpoint", None, f"checkpoint {wanted} is missing"))
    if not docs:
        return report
    stored = [_stored(d) for d in docs]
    checkpoints = [s.checkpoint for s in stored]
    report.checked = [c.n for c in checkpoints]
    for c in checkpoints:
        bad = check_signature(c, trusted)
        if bad:
            report.breaks.append(Break("checkpoint", None, bad))
    if checkpoints[0].n == 1 and checkpoints[0].prev != GENESIS:
        report.breaks.append(Break("checkpoint", None, "checkpoint 1 names a predecessor"))
    if first > 1:
        before = store.get(first - 1)
        if before is not None and _stored(before).checkpoint.hash != checkpoints[0].prev:
            detail = f"checkpoint {first} does not follow checkpoint {first - 1}"
            report.breaks.append(Break("checkpoint", None, detail))
    report.breaks.extend(chained(checkpoints))

    # Every head any checkpoint committed to, per complaint (checked against the events below).
    committed: dict[str, list[tuple[int, int, str]]] = {}
    previous: tuple[Stored, list[Head]] | None = None
    for s in stored:
        leaves = _leaves(s, report.breaks)
        if leaves is None:
            continue
        if previous is None:
            for cid, seq, digest in leaves:
                committed.setdefault(cid, []).append((s.checkpoint.n, seq, digest))
        elif previous[0].chunks != s.chunks:
            for found in _between(previous[0].checkpoint, previous[1], s.checkpoint, leaves):
                if isinstance(found, Break):
                    report.breaks.append(found)
                else:
                    cid, seq, digest = found
                    committed.setdefault(cid, []).append((s.checkpoint.n, seq, digest))
        previous = (s, leaves)
    report.complaints = len(committed)
    report.breaks.extend(_against_database(committed))
    return report


def _between(earlier: Checkpoint, a: list[Head], later: Checkpoint, b: list[Head]) -> Iterator:
    """Breaks from `a` to `b`, and the heads of `b` that are new (moved on, or new complaints)."""
    known = {h[0] for h in a}
    for found in compare(earlier, a, later, b):
        if isinstance(found, Break):
            yield found
        else:
            yield found[2]
    for head in b:
        if head[0] not in known:
            yield head


def _against_database(committed: dict[str, list[tuple[int, int, str]]]) -> Iterator[Break]:
    """Each complaint's committed heads against its events now, one pass over the events."""
    seen = set()
    for events in eventstore.complaint_logs():
        cid = events[0].complaint_id
        heads = committed.get(cid)
        if heads is None:
            continue
        seen.add(cid)
        found = against_events(cid, heads, events)
        if found:
            yield found
    for cid in sorted(set(committed) - seen):
        yield against_events(cid, committed[cid], [])


def check_newest() -> list[Break]:
    """The newest checkpoint against the one before it, and each head that moved on against
    its events (the sweeper's check after each checkpoint: cheap, one read per moved head)."""
    newest = store.latest()
    if newest is None or newest["_id"] == 1:
        return []
    before = store.get(newest["_id"] - 1)
    breaks: list[Break] = []
    if before is None:
        return [Break("checkpoint", None, f"checkpoint {newest['_id'] - 1} is missing")]
    a, b = _stored(before), _stored(newest)
    breaks.extend(chained([a.checkpoint, b.checkpoint]))
    if a.chunks == b.chunks:
        return breaks
    old, new = _leaves(a, breaks), _leaves(b, breaks)
    if old is None or new is None:
        return breaks
    for found in compare(a.checkpoint, old, b.checkpoint, new):
        if isinstance(found, Break):
            breaks.append(found)
            continue
        _, (cid, seq, digest), (_, seq2, digest2) = found
        events = eventstore.events_of(cid, upto=seq2)
        committed = [(a.checkpoint.n, seq, digest), (b.checkpoint.n, seq2, digest2)]
        problem = against_events(cid, committed, events)
        if problem:
            breaks.append(problem)
    return breaks


# --- anchoring exports ------------------------------------------------------------------------


def for_export(until: datetime) -> Checkpoint | None:
    """The checkpoint an export ends at: the latest made at or before `until` (None when
    there is none). An export never makes one: a read of the log writes nothing."""
    doc = store.latest_by(iso(until))
    return _stored(doc).checkpoint if doc else None


def heads_with_paths(checkpoint: Checkpoint, wanted, only: str | None = None) -> Iterator[list]:
    """`[complaint_id, seq, hash, index, path]` of each head of the checkpoint `wanted(id)`
    admits, in leaf order: what an export's manifest carries so its verifier needs only it.
    `only`: one complaint, so only its chunk is read."""
    doc = store.get(checkpoint.n)
    if doc is None:
        return
    stored = _stored(doc)
    roots = [bytes.fromhex(r) for r in stored.chunks]
    top = merkle.levels(roots)
    numbers = range(len(stored.chunks))
    if only is not None:
        place = bisect.bisect_right(stored.firsts, only) - 1
        numbers = range(place, place + 1) if place >= 0 else range(0)
    for number in numbers:
        root = stored.chunks[number]
        leaves = store.chunk(root) or []
        picked = [(i, leaf) for i, leaf in enumerate(leaves) if wanted(leaf[0])]
        if not picked:
            continue
        tree = merkle.levels([merkle.leaf_hash(*leaf) for leaf in leaves])
        above = merkle.path_in(top, number)
        for i, (cid, seq, digest) in picked:
            audit_path = merkle.path_in(tree, i) + above
            yield [cid, seq, digest, number * merkle.CHUNK + i, [p.hex() for p in audit_path]]


def head_fault(checkpoint: Checkpoint, head: object) -> str | None:
    """Why a manifest's head is not one the checkpoint commits to (None when it is)."""
    if not (isinstance(head, list) and len(head) == 5):
        return "a head is [complaint_id, seq, hash, index, path]"
    cid, seq, digest, index, audit_path = head
    why = verify_proof(
        {
            "complaint_id": cid,
            "seq": seq,
            "hash": digest,
            "index": index,
            "path": audit_path,
            "checkpoint": checkpoint.line,
        },
        {checkpoint.key: "unchecked"},  # the line's signature is checked once, by the caller
        signature=False,
    )
    return why
