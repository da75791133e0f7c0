"""Checkpoints: signed Merkle roots over every complaint's head, chained one to the next.

A checkpoint is one line of text (what an outside witness keeps):

    resolution-checkpoint/v1 n=<n> size=<leaves> events=<Σ seq> time=<instant> root=<hex>
    prev=<hex> key=<key id> sig=<base64>

(on one line, single spaces). The signature is Ed25519 over the UTF-8 bytes of the line up to,
not including, " sig="; the checkpoint's hash, which the next one names as `prev`, is SHA-256
of those same bytes. `docs/anchoring.md` gives the layouts, `docs/test-vectors.json` examples.

What one checkpoint says of another (`compare`), and of the events in the database now
(`against_events`), is decided here: deleted, truncated, rewritten, or fine.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .events import GENESIS, Event, first_broken_link

PREFIX = "resolution-checkpoint/v1"
_HEX64 = r"[0-9a-f]{64}"
LINE = re.compile(
    rf"{re.escape(PREFIX)} n=(?P<n>[1-9][0-9]{{0,17}}) size=(?P<size>0|[1-9][0-9]{{0,17}})"
    r" events=(?P<events>0|[1-9][0-9]{0,17})"
    r" time=(?P<time>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+00:00)"
    rf" root=(?P<root>{_HEX64}) prev=(?P<prev>{_HEX64}) key=(?P<key>[0-9a-f]{{16}})"
    r" sig=(?P<sig>[A-Za-z0-9+/]{86}==)"
)


class Malformed(ValueError):
    """A checkpoint line or proof that is not one: the message says which part."""


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint, as its line states it."""

    n: int
    size: int
    events: int
    time: str  # the instant as `events.iso` writes it
    root: str
    prev: str
    key: str
    signature: str = ""

    @property
    def body(self) -> str:
        """What is signed and hashed: the line without its signature."""
        return (
            f"{PREFIX} n={self.n} size={self.size} events={self.events} time={self.time}"
            f" root={self.root} prev={self.prev} key={self.key}"
        )

    @property
    def line(self) -> str:
        return f"{self.body} sig={self.signature}"

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()


def parse(line: object) -> Checkpoint:
    """The checkpoint a line states, or `Malformed` saying what is wrong with it."""
    if not isinstance(line, str):
        raise Malformed("a checkpoint is one line of text")
    text = line.strip("\r\n")
    if not text.startswith(PREFIX + " "):
        raise Malformed(f"a checkpoint line starts with {PREFIX!r}")
    found = LINE.fullmatch(text)
    if not found:
        fields = ("n", "size", "events", "time", "root", "prev", "key", "sig")
        for name in fields:
            if f" {name}=" not in text:
                raise Malformed(f"the checkpoint line has no {name}=")
        raise Malformed("the checkpoint line's fields are not in the documented form")
    g = found.groupdict()
    # One spelling per signature: base64 leaves 4 bits of the last character unused, and a
    # line whose signature decodes the same but reads otherwise is another line.
    if base64.b64encode(base64.b64decode(g["sig"])).decode() != g["sig"]:
        raise Malformed("the checkpoint's signature is not canonical base64")
    return Checkpoint(
        int(g["n"]),
        int(g["size"]),
        int(g["events"]),
        g["time"],
        g["root"],
        g["prev"],
        g["key"],
        g["sig"],
    )


def key_id(public_key_raw: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of its 32 raw public bytes."""
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


@dataclass(frozen=True)
class Break:
    """Something a later checkpoint, or the database, says happened to a complaint's history."""

    what: str  # deleted, truncated, rewritten, forked, checkpoint
    complaint_id: str | None
    detail: str

    def __str__(self) -> str:
        who = f"complaint {self.complaint_id}: " if self.complaint_id else ""
        return f"{who}{self.what}: {self.detail}"


Head = tuple[str, int, str]  # (complaint_id, seq, hash)


def compare(
    earlier: Checkpoint, a: Iterable[Head], later: Checkpoint, b: Iterable[Head]
) -> Iterator:
    """Breaks between two checkpoints' heads (each sorted by complaint id): a complaint of the
    earlier one missing from the later (deleted), behind it (truncated), or at the same `seq`
    with another hash (rewritten). Heads that moved on are yielded as ("moved", old, new) for
    the caller to check against the events (ancestry needs them)."""
    where = f"checkpoint {earlier.n} → {later.n}"
    later_iter = iter(b)
    current = next(later_iter, None)
    for cid, seq, digest in a:
        while current is not None and current[0] < cid:
            current = next(later_iter, None)
        if current is None or current[0] != cid:
            yield Break("deleted", cid, f"in checkpoint {earlier.n}, absent from {later.n}")
            continue
        _, seq2, digest2 = current
        if seq2 < seq:
            detail = f"{where}: seq {seq} then {seq2}"
            yield Break("truncated", cid, detail)
        elif seq2 == seq and digest2 != digest:
            yield Break("rewritten", cid, f"{where}: seq {seq} changed its hash")
        elif seq2 > seq:
            yield ("moved", (cid, seq, digest), (cid, seq2, digest2))


def against_events(
    complaint_id: str, committed: Sequence[tuple[int, int, str]], events: Sequence[Event]
) -> Break | None:
    """What the complaint's events now say of the heads checkpoints committed to it.

    `committed`: (checkpoint n, seq, hash), each a head some checkpoint signed. Every one must
    be an event of the stored chain, and the chain must hold from seq 1 to its end.
    """
    if not events:
        n = committed[-1][0]
        return Break("deleted", complaint_id, f"in checkpoint {n}, no events in the database")
    broken = first_broken_link(list(events))
    last = events[-1].seq
    by_seq = {e.seq: e.hash for e in events}
    for n, seq, digest in committed:
        if seq > last and (broken is None or broken > last):
            detail = f"checkpoint {n} commits to seq {seq}, the database ends at seq {last}"
            return Break("truncated", complaint_id, detail)
        if by_seq.get(seq) != digest:
            detail = f"event {seq} no longer has the hash checkpoint {n} commits to"
            return Break("rewritten", complaint_id, detail)
    if broken is not None:
        return Break("rewritten", complaint_id, f"the chain breaks at seq {broken}")
    return None


def chained(checkpoints: Sequence[Checkpoint]) -> Iterator[Break]:
    """Breaks in the chain of checkpoints themselves: a number skipped, a `prev` that does
    not name its predecessor (a checkpoint replaced, or two that fork from one)."""
    for before, after in zip(checkpoints, checkpoints[1:], strict=False):
        if after.n != before.n + 1:
            yield Break("checkpoint", None, f"checkpoints {before.n + 1}..{after.n - 1} missing")
        elif after.prev != before.hash:
            detail = (
                f"checkpoint {after.n} does not follow checkpoint {before.n} (replaced or forked)"
            )
            yield Break("checkpoint", None, detail)


def first_prev_ok(checkpoint: Checkpoint) -> bool:
    """Checkpoint 1 follows nothing: its `prev` is 64 zeros."""
    return checkpoint.n != 1 or checkpoint.prev == GENESIS
