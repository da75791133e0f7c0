"""Tampering: change any single byte of any stored event, and the chain check names that event.

Complaints are built through the API; then, for an event, a field and a byte position drawn
by hypothesis, one byte of the field's BSON value is changed through the driver (a string's
UTF-8, an int32/int64's little-endian bytes, a datetime's milliseconds, a bool's byte), the
checks run, and the value is put back. The checks:

- `first_broken_link` (`resolution/domain/events.py`) over the complaint's stored events;
- every stored chain checked the same way (what an auditor holding everything would run);
- an audit export of all events, verified by `service.audit.verify` (what `resolution
  verify` runs).

Which event must be named (`docs/hash-chain.md`, "Checking a chain": sorted by `seq`, the
first event failing "seq = previous + 1", "prev_hash = the previous hash" or "hash = the
formula" is the first broken link):

- A change to `type`, `actor`, `at`, `data` (any depth), `hash` or `prev_hash` of event k
  names k: k's own hash no longer matches (its `hash`, or the content the formula covers,
  `prev_hash` included), and nothing before k changed. (k+1's `prev_hash` no longer matching
  a changed `hash` of k comes after.)
- `seq` and `complaint_id` are where an event is found, not only what it says: a change moves
  the event out of its place, which the chain sees as the removal of k (named at the event
  that now stands in its place, k+1, as for a deleted event: `docs/audit.md`) and, if it
  comes up elsewhere in the order, as an event whose own hash fails (named). The check must
  name the changed event or its successor, and nothing else.

Not drawn, with the reason: `_id` (the document's identity, not part of the event: a change is
a deletion and an insertion) and `fanout_at` (the webhook outbox mark, never hashed:
`eventstore.FANOUT`). Changes the driver cannot store are skipped with `assume`: invalid UTF-8
(BSON strings are UTF-8), a bool byte other than 0 or 1, a datetime outside years 1-9999, and a
`seq` that the unique (complaint_id, seq) index refuses.
"""

from __future__ import annotations

import dataclasses
import io
import os
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pymongo.errors import DuplicateKeyError

from resolution.config import Config
from resolution.domain.actors import Actor, Role
from resolution.domain.events import first_broken_link
from resolution.service import Context, anchoring, audit, check_chains
from resolution.store import database, eventstore
from resolution.store.documents import CheckpointDocument, ComplaintDocument
from resolution.web.app import create_app
from tests.support.bodies import complaint_body, png_file
from tests.support.clock import Clock
from tests.support.parties import BUYER, CARE, SECRET, SELLER, SIGNING_KEY

NOT_THE_EVENT = {"_id", eventstore.FANOUT}
LOCATORS = {"seq", "complaint_id"}
MIN_MS, MAX_MS = -62135596800000, 253402300799999  # 0001-01-01 .. 9999-12-31T23:59:59.999


class TickingClock(Clock):
    """Each reading one minute later: events get distinct times, as in real life."""

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@dataclasses.dataclass
class World:
    ctx: Context
    ids: list[str]


@pytest.fixture(scope="module")
def world(mongodb_uri: str) -> Iterator[World]:
    name = f"test_{os.getpid()}_tampering"
    config = Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=name)
    if "rate_limits" in {f.name for f in dataclasses.fields(Config)}:
        from resolution.config import RateLimits

        config = dataclasses.replace(config, rate_limits=RateLimits(writes=None, uploads=None))
    clock = TickingClock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))
    ctx = Context(clock=clock, deadlines=config.deadlines, signing_key=SIGNING_KEY)
    client = create_app(config, context=ctx).test_client()

    def ok(response, status=200):
        assert response.status_code == status, response.get_data(as_text=True)[:400]
        return response.get_json()

    cid = ok(client.post("/v1/complaints", json=complaint_body("INV-T1"), headers=BUYER), 201)["id"]
    base = f"/v1/complaints/{cid}"
    ok(
        client.post(f"{base}/messages", json={"body": "Halo, layar retak ✓ — café"}, headers=BUYER),
        201,
    )
    tracking = {"kind": "tracking", "courier": "J&T", "tracking_number": "JP1234567890"}
    ok(client.post(f"{base}/evidence", json=tracking, headers=SELLER), 201)
    offer = {"solution": {"kind": "refund", "amount": 30000}, "note": "Potongan"}
    ok(client.post(f"{base}/actions/propose", json=offer, headers=SELLER))
    photo = {"kind": "photo", "caption": "Foto layar", "file": (png_file("blue", 8), "layar.png")}
    ok(
        client.post(
            f"{base}/evidence", data=photo, headers=BUYER, content_type="multipart/form-data"
        ),
        201,
    )
    ok(client.post(f"{base}/actions/escalate", json={"reason": "Tidak sepakat."}, headers=BUYER))
    ok(client.post(f"{base}/actions/assign", json={}, headers=CARE))
    ask = {"party": "buyer", "what": "Video unboxing."}
    ok(client.post(f"{base}/actions/request_evidence", json=ask, headers=CARE))
    other = ok(client.post("/v1/complaints", json=complaint_body("INV-T2"), headers=BUYER), 201)[
        "id"
    ]
    ok(client.post(f"/v1/complaints/{other}/messages", json={"body": "Kedua"}, headers=BUYER), 201)
    yield World(ctx, [cid, other])
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


# --- one byte of a BSON value ------------------------------------------------------------------


def leaves(value, path: str = "") -> Iterator[tuple[str, object]]:
    """(dotted path, value) of every scalar with bytes in a stored event document."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if not path and key in NOT_THE_EVENT:
                continue
            yield from leaves(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for number, inner in enumerate(value):
            yield from leaves(inner, f"{path}.{number}")
    elif isinstance(value, str | bool | int | datetime) and value != "":
        yield path, value


def bson_bytes(value) -> bytes:
    if isinstance(value, bool):
        return bytes([value])
    if isinstance(value, int):
        return struct.pack("<i" if -(2**31) <= value < 2**31 else "<q", value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return struct.pack("<q", int(aware.timestamp() * 1000))
    return value.encode("utf-8")


def from_bytes(old, raw: bytes):
    """The value those bytes are, or None when BSON cannot hold them (skipped)."""
    if isinstance(old, bool):
        return bool(raw[0]) if raw[0] in (0, 1) else None
    if isinstance(old, int):
        return struct.unpack("<i" if len(raw) == 4 else "<q", raw)[0]
    if isinstance(old, datetime):
        ms = struct.unpack("<q", raw)[0]
        if not MIN_MS <= ms <= MAX_MS:
            return None
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- the checks --------------------------------------------------------------------------------


def chains() -> dict[str, int | None]:
    """Every stored complaint chain's first broken link (by `seq`), checked as documented."""
    docs = eventstore.EventDocument._get_collection().find().sort([("complaint_id", 1), ("seq", 1)])
    grouped: dict[str, list] = {}
    for doc in docs:
        grouped.setdefault(doc["complaint_id"], []).append(eventstore.event_from_mongo(doc))
    return {cid: first_broken_link(events) for cid, events in grouped.items()}


def export_finding(ctx: Context) -> audit.Finding:
    reader = Actor(Role.AUDITOR, "auditor-1")
    text = "".join(audit.as_ndjson(audit.export_records(ctx, reader, audit.ExportQuery())))
    return audit.verify(io.StringIO(text))


def test_any_changed_byte_of_any_event_is_named(world, scale, figures):
    events = eventstore.EventDocument._get_collection()
    stored = list(
        events.find({"complaint_id": {"$in": world.ids}}).sort([("complaint_id", 1), ("seq", 1)])
    )
    assert all(v is None for v in chains().values()) and export_finding(world.ctx).ok
    tally = {"bytes_changed": 0, "misnamed": 0, "out_of_export": 0}
    misnamed: list[str] = []

    @settings(
        max_examples=scale.pick(60, 600),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(st.data())
    def one_byte(data):
        doc = data.draw(st.sampled_from(stored), label="event")
        path, old = data.draw(st.sampled_from(list(leaves(doc))), label="field")
        raw = bson_bytes(old)
        position = data.draw(st.integers(0, len(raw) - 1), label="byte")
        byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]), label="value")
        new = from_bytes(old, raw[:position] + bytes([byte]) + raw[position + 1 :])
        assume(new is not None)  # not storable through the driver (see the module's docstring)
        try:
            events.update_one({"_id": doc["_id"]}, {"$set": {path: new}})
        except DuplicateKeyError:
            assume(False)  # the unique (complaint_id, seq) index refuses this seq
        try:
            tally["bytes_changed"] += 1
            where = f"{doc['complaint_id']} seq {doc['seq']} {path}: {old!r} -> {new!r}"
            problems, moved = check(world, doc, path, new)
            tally["out_of_export"] += bool(moved and not problems)
            if problems:
                tally["misnamed"] += 1
                misnamed.append(f"{where}: {problems}")
        finally:
            events.update_one({"_id": doc["_id"]}, {"$set": {path: old}})

    one_byte()
    assert all(v is None for v in chains().values()) and export_finding(world.ctx).ok
    figures.add("tampering", "bytes_changed", tally["bytes_changed"])
    figures.add("tampering", "misnamed", tally["misnamed"])
    figures.add("tampering", "out_of_export", tally["out_of_export"])
    assert not misnamed, "\n".join(misnamed[:20])


def check(world: World, doc: dict, path: str, new) -> tuple[list[str], list[str]]:
    """What the checks named that they should not have (empty: each named the changed event),
    and, apart, what the export's verify could not name because the change took the event out
    of the export (its `at` moved past the export's end; the database's chains name it:
    `test_a_last_event_moved_past_the_export_window_is_named_by_the_database_check`)."""
    cid, seq = doc["complaint_id"], doc["seq"]
    field_name = path.split(".")[0]
    if field_name == "seq":
        here = {(cid, new), (cid, seq + 1)}  # the event where it now stands, or its successor
    elif field_name == "complaint_id":
        here = {(new, seq), (cid, seq + 1)}
    else:
        here = {(cid, seq)}
    problems, moved = [], []
    own = first_broken_link(eventstore.events_of(cid))
    if field_name != "complaint_id" and (cid, own) not in here:
        said = f"first_broken_link named {own}"
        # events_of reads seq > 0: a last event whose seq became <= 0 is not read at all.
        hidden_tail = field_name == "seq" and new <= 0 and own is None
        (moved if hidden_tail else problems).append(said)
    named = {(c, s) for c, s in chains().items() if s is not None}
    if not named or not named <= here:
        problems.append(f"the chains named {sorted(named, key=str)}")
    finding = export_finding(world.ctx)
    if finding.ok or (finding.complaint_id, finding.seq) not in here:
        said = f"the export's verify named {finding.complaint_id} seq {finding.seq}"
        out_of_export = field_name == "at" and new > world.ctx.clock.now
        (moved if out_of_export else problems).append(said)
    return problems, moved


def test_an_event_moved_later_in_time_is_named_by_the_export_check(world):
    """Moved later, it stands out of its place in the export's (at, complaint_id, seq) order:
    its successor seems to miss it, but the finding is the event whose own hash fails."""
    events = eventstore.EventDocument._get_collection()
    cid = world.ids[0]
    doc = events.find_one({"complaint_id": cid, "seq": 4})
    last = events.find_one({"complaint_id": cid}, sort=[("seq", -1)])
    later = last["at"] + timedelta(milliseconds=1)  # after its successors, inside the window
    assert later.replace(tzinfo=UTC) <= world.ctx.clock.now and last["seq"] > 4
    events.update_one({"_id": doc["_id"]}, {"$set": {"at": later}})
    try:
        finding = export_finding(world.ctx)
    finally:
        events.update_one({"_id": doc["_id"]}, {"$set": {"at": doc["at"]}})
    assert (finding.ok, finding.complaint_id, finding.seq) == (False, cid, 4), finding.message
    assert finding.message == "the event does not match its hash"


def test_a_last_event_moved_past_the_export_window_is_named_by_both_checks(world):
    """Outside the window, the export does not hold it; but the export ends at a checkpoint
    that commits to the complaint's head, so its verify names the complaint cut short at that
    event (issue 22; before, the file verified). The chain check of the database (`resolution
    check-chains`) names it too."""
    events = eventstore.EventDocument._get_collection()
    cid = world.ids[0]
    last = events.find_one({"complaint_id": cid}, sort=[("seq", -1)])
    anchoring.make(world.ctx)  # the export ends at it (removed after: the world is shared)
    events.update_one({"_id": last["_id"]}, {"$set": {"at": last["at"] + timedelta(days=400)}})
    try:
        exported = export_finding(world.ctx)
        named = dict(check_chains())
    finally:
        events.update_one({"_id": last["_id"]}, {"$set": {"at": last["at"]}})
        CheckpointDocument._get_collection().delete_many({})
    assert not exported.ok and "(cut off)" in exported.message
    assert (exported.complaint_id, exported.seq) == (cid, last["seq"])
    assert named[cid] == last["seq"]
    assert all(seq is None for other, seq in named.items() if other != cid)


def test_a_last_event_whose_seq_went_below_one_is_still_named(world):
    events = eventstore.EventDocument._get_collection()
    cid = world.ids[1]
    last = events.find_one({"complaint_id": cid}, sort=[("seq", -1)])
    events.update_one({"_id": last["_id"]}, {"$set": {"seq": 0}})
    try:
        named = first_broken_link(eventstore.events_of(cid))
    finally:
        events.update_one({"_id": last["_id"]}, {"$set": {"seq": last["seq"]}})
    assert named == 0
