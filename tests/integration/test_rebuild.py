"""The complaint documents are a projection: rebuilt from the events alone, they come out equal.

Complaints are taken into many states through the service layer (the same functions the API
calls), the complaints collection is snapshotted, rebuilt in place, then dropped and rebuilt
from nothing, and the `resolution rebuild` command does the same. A stored event edited behind
the service's back breaks the hash chain where it was edited.
"""

from __future__ import annotations

from collections import Counter

import pytest
from click.testing import CliRunner

from resolution import service
from resolution.cli import main
from resolution.domain.actors import Actor, Role
from resolution.domain.events import EPOCH, Event, chain_hash, first_broken_link
from resolution.domain.projection import replay
from resolution.service.sweeper import sweep
from resolution.store import database, eventstore
from resolution.store.documents import ComplaintDocument, EventDocument, ensure_indexes
from schemas.complaints import ACTION_SCHEMAS, MessageSchema
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered
from tests.support.parties import SECRET

ACTORS = {
    "buyer": Actor(Role.BUYER, "buyer-1"),
    "seller": Actor(Role.SELLER, "seller-1", "shop-1"),
    "care": Actor(Role.CARE, "agent-1"),
    "care2": Actor(Role.CARE, "agent-2"),
}

REFUND = {"kind": "refund", "amount": 45000}
COUNTER = {"kind": "refund", "amount": 30000}
RETURN_REFUND = {"kind": "return_refund", "amount": 105000}
EXCHANGE = {"kind": "exchange", "items": [{"sku": "KAOS-M", "qty": 1}]}
SEND_REMAINING = {"kind": "send_remaining", "items": [{"sku": "TOPI", "qty": 1}]}
RETURN_SLIP = {"courier": "JNE", "tracking_number": "JNE-000123"}
RESI = {"courier": "SiCepat", "tracking_number": "SCP-998877"}

ESCALATED = [
    ("seller", "propose", {"solution": COUNTER, "note": "Setengah."}),
    ("buyer", "escalate", {"reason": "Tidak sepakat."}),
]
ASSIGNED = [*ESCALATED, ("care", "assign", {})]
DECIDED = [
    *ASSIGNED,
    ("care", "decide", {"solution": REFUND, "reason_code": "other", "rationale": "Barang robek."}),
]
REVIEWED = [*DECIDED, ("seller", "request_review", {"reason": "Video tidak jelas."})]

# name: (requested solution, steps, state expected at the end)
STORIES: dict[str, tuple[dict, list[tuple[str, str, dict]], str]] = {
    "awaiting_seller": (REFUND, [], "awaiting_seller"),
    "awaiting_seller_chatting": (
        REFUND,
        [("buyer", "message", {"body": "Halo?"}), ("seller", "message", {"body": "Dicek."})],
        "awaiting_seller",
    ),
    "awaiting_buyer": (REFUND, [ESCALATED[0]], "awaiting_buyer"),
    "counter_countered": (
        REFUND,
        [ESCALATED[0], ("buyer", "propose", {"solution": {"kind": "refund", "amount": 40000}})],
        "awaiting_seller",
    ),
    "appealed": (REFUND, [("seller", "appeal", {"reason": "Dikirim utuh."})], "appealed"),
    "awaiting_care": (REFUND, ESCALATED, "awaiting_care"),
    "in_mediation": (REFUND, ASSIGNED, "in_mediation"),
    "evidence_pending": (
        REFUND,
        [*ASSIGNED, ("care", "request_evidence", {"party": "seller", "what": "Resi."})],
        "in_mediation",
    ),
    "evidence_answered": (
        REFUND,
        [
            *ASSIGNED,
            ("care", "request_evidence", {"party": "buyer", "what": "Video unboxing."}),
            ("buyer", "message", {"body": "Ini videonya."}),
        ],
        "in_mediation",
    ),
    "awaiting_return": (RETURN_REFUND, [("seller", "accept", {})], "awaiting_return"),
    "return_shipped": (
        RETURN_REFUND,
        [("seller", "accept", {}), ("buyer", "ship_return", RETURN_SLIP)],
        "return_shipped",
    ),
    "exchange_awaiting_shipment": (
        EXCHANGE,
        [
            ("seller", "accept", {}),
            ("buyer", "ship_return", RETURN_SLIP),
            ("seller", "confirm_return", {}),
        ],
        "awaiting_shipment",
    ),
    "shipment_sent": (
        SEND_REMAINING,
        [("seller", "accept", {}), ("seller", "ship_items", RESI)],
        "shipment_sent",
    ),
    "closed_agreed": (REFUND, [("seller", "accept", {})], "closed"),
    "closed_withdrawn": (REFUND, [("buyer", "withdraw", {"reason": "Sudah beres."})], "closed"),
    "closed_decided": (REFUND, DECIDED, "closed"),
    "under_review": (REFUND, REVIEWED, "awaiting_care"),
    "closed_after_review": (
        REFUND,
        [
            *REVIEWED,
            ("care2", "assign", {}),
            (
                "care2",
                "decide",
                {
                    "solution": {"kind": "release_to_seller"},
                    "reason_code": "other",
                    "rationale": "Utuh.",
                },
            ),
        ],
        "closed",
    ),
    "decided_return": (
        REFUND,
        [
            *ASSIGNED,
            (
                "care",
                "decide",
                {"solution": RETURN_REFUND, "reason_code": "other", "rationale": "Kembalikan."},
            ),
        ],
        "awaiting_return",
    ),
    "closed_fulfilled": (
        SEND_REMAINING,
        [
            ("seller", "accept", {}),
            ("seller", "ship_items", RESI),
            ("buyer", "confirm_received", {}),
        ],
        "closed",
    ),
    "escalated_after_shipment": (
        SEND_REMAINING,
        [
            ("seller", "accept", {}),
            ("seller", "ship_items", RESI),
            ("buyer", "escalate", {"reason": "Tidak sampai."}),
        ],
        "awaiting_care",
    ),
}

# Left silent past the inactivity period, then moved by the sweeper (the `system` actor).
SWEPT: dict[str, tuple[dict, list[tuple[str, str, dict]], str]] = {
    "auto_escalated": (REFUND, [ESCALATED[0]], "awaiting_care"),
    "auto_closed": (RETURN_REFUND, [("seller", "accept", {})], "closed"),
    "auto_completed": (
        SEND_REMAINING,
        [("seller", "accept", {}), ("seller", "ship_items", RESI)],
        "closed",
    ),
}


def tell(context, clock, order_id: str, solution: dict, steps) -> str:
    """Opens a complaint and takes `steps` through the service layer, an hour apart."""
    request = complaint_body(order_id, requested_solution=solution)
    cid = open_registered(context, ACTORS["buyer"], request).complaint.id
    for who, action, body in steps:
        clock.advance(hours=1, minutes=7)
        if action == "message":
            text = MessageSchema().load(body)["body"]
            service.post_message(context, ACTORS[who], cid, text)
        else:
            loaded = ACTION_SCHEMAS[action]().load(body)
            service.act(context, ACTORS[who], cid, action, loaded)
    return cid


@pytest.fixture
def complaints(context, clock) -> dict[str, str]:
    """One complaint per story (name -> id), the swept ones first."""
    ids = {
        name: tell(context, clock, f"INV-S{n}", solution, steps)
        for n, (name, (solution, steps, _)) in enumerate(SWEPT.items())
    }
    clock.advance(hours=73)
    assert sweep(context) == Counter(auto_escalate=1, auto_close=1, auto_complete=1)
    for n, (name, (solution, steps, _)) in enumerate(STORIES.items()):
        ids[name] = tell(context, clock, f"INV-{n}", solution, steps)
    for name, (_, _, state) in {**SWEPT, **STORIES}.items():
        assert eventstore.load(ids[name]).state == state, name
    return ids


@pytest.fixture
def story(context, clock):
    """`story(name)`: just that one complaint (for tests that need no others)."""
    return lambda name: tell(context, clock, "INV-T", *STORIES[name][:2])


def snapshot() -> list[dict]:
    return list(ComplaintDocument._get_collection().find().sort("_id", 1))


def test_every_state_is_covered(complaints):
    states = {eventstore.load(cid).state for cid in complaints.values()}
    assert states == {
        "awaiting_seller",
        "awaiting_buyer",
        "appealed",
        "awaiting_care",
        "in_mediation",
        "awaiting_return",
        "return_shipped",
        "awaiting_shipment",
        "shipment_sent",
        "closed",
    }
    outcomes = {eventstore.load(cid).outcome for cid in complaints.values()} - {None}
    assert outcomes == {"agreed", "decided", "withdrawn", "return_not_shipped", "fulfilled"}


def test_each_projection_equals_the_replay_of_its_events(complaints, context):
    for name, cid in complaints.items():
        events = eventstore.events_of(cid)
        assert first_broken_link(events) is None, name
        assert eventstore.load(cid) == replay(events, context.deadlines), name


def test_rebuild_in_place_changes_nothing(complaints, context):
    live = snapshot()
    assert len(live) == len(complaints)
    assert service.rebuild_all(context) == len(complaints)
    assert snapshot() == live


def test_rebuild_from_events_alone_after_dropping_the_complaints(complaints, context):
    live = snapshot()
    ComplaintDocument._get_collection().drop()
    assert snapshot() == []
    assert service.rebuild_all(context) == len(complaints)
    assert snapshot() == live
    # The rebuilt projections still satisfy every index, including one open complaint per order.
    ensure_indexes()
    request = complaint_body("INV-0")
    with pytest.raises(service.complaints.Conflict):
        open_registered(context, ACTORS["buyer"], request)


def test_rebuild_repairs_a_damaged_projection(complaints, context):
    live = snapshot()
    collection = ComplaintDocument._get_collection()
    collection.update_one(
        {"_id": complaints["awaiting_buyer"]}, {"$set": {"state": "closed", "version": 99}}
    )
    collection.delete_one({"_id": complaints["closed_decided"]})
    assert service.rebuild_all(context) == len(complaints)
    assert snapshot() == live


def test_rebuild_command_prints_the_count(complaints, mongodb_uri, db_name):
    live = snapshot()
    ComplaintDocument._get_collection().drop()
    env = {
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_JWT_SECRET": SECRET,
        "RESOLUTION_INACTIVITY_PERIOD": "72h",
        "RESOLUTION_CARE_SLA": "24h",
    }
    try:
        result = CliRunner().invoke(main, ["rebuild"], env=env, catch_exceptions=False)
    finally:
        database.connect(mongodb_uri, db_name)  # the command disconnects the shared client
    assert result.exit_code == 0, result.output
    assert f"Rebuilt {len(complaints)} complaints from their events." in result.output
    assert snapshot() == live


def test_an_empty_store_rebuilds_nothing(context):
    assert service.rebuild_all(context) == 0
    assert snapshot() == []


# --- Tampering ------------------------------------------------------------------------------


def _events():
    return EventDocument._get_collection()


@pytest.mark.parametrize(
    ("name", "seq", "change"),
    [
        ("closed_decided", 5, {"$set": {"data.solution.amount": 105000}}),
        ("closed_decided", 5, {"$set": {"data.rationale": "Sesuai bukti."}}),
        ("awaiting_buyer", 2, {"$set": {"actor.id": "seller-2"}}),
        ("awaiting_buyer", 1, {"$set": {"data.order.total": 999999}}),
        ("closed_agreed", 2, {"$set": {"type": "withdraw"}}),
        ("awaiting_seller_chatting", 3, {"$set": {"data.body": "Saya tidak pernah bilang ini."}}),
        ("awaiting_seller_chatting", 2, {"$unset": {"data.body": ""}}),
        ("shipment_sent", 3, {"$set": {"data.tracking_number": "SCP-000000"}}),
    ],
)
def test_an_edited_event_is_detected_where_it_was_edited(story, name, seq, change):
    cid = story(name)
    assert first_broken_link(eventstore.events_of(cid)) is None
    assert _events().update_one({"complaint_id": cid, "seq": seq}, change).modified_count == 1
    assert first_broken_link(eventstore.events_of(cid)) == seq


def test_an_edited_time_is_detected(story):
    cid = story("closed_decided")
    stored = _events().find_one({"complaint_id": cid, "seq": 4})
    _events().update_one({"_id": stored["_id"]}, {"$set": {"at": stored["at"].replace(year=2024)}})
    assert first_broken_link(eventstore.events_of(cid)) == 4


def test_a_deleted_event_is_detected(story):
    cid = story("return_shipped")
    _events().delete_one({"complaint_id": cid, "seq": 2})
    assert first_broken_link(eventstore.events_of(cid)) == 3
    _events().delete_one({"complaint_id": cid, "seq": 3})  # the last one: only the head knows
    assert first_broken_link(eventstore.events_of(cid)) is None
    assert eventstore.load(cid).version == 3  # ... and the projection still names it


def test_a_resealed_event_breaks_the_next_link(story):
    """Re-hashing an edited event makes it verify alone; its successor's prev_hash betrays it."""
    cid = story("closed_decided")
    doc = _events().find_one({"complaint_id": cid, "seq": 3})
    event = eventstore.event_from_mongo(doc)
    data = {**event.data, "reason": "Penjual setuju."}
    salted = (None, event.salts, event.hash_version)
    digest = chain_hash(cid, 3, event.type, event.actor, data, event.at, event.prev_hash, *salted)
    _events().update_one({"_id": doc["_id"]}, {"$set": {"data": data, "hash": digest}})
    events = eventstore.events_of(cid)
    assert events[2].verify()
    assert first_broken_link(events) == 4


def test_a_rewritten_stream_verifies_but_no_longer_ends_at_the_projections_head(story):
    """Whoever can write the database can re-hash a whole stream (docs: tamper-evident only);
    the projection's `last_hash` is then the one thing left that disagrees."""
    cid = story("awaiting_buyer")
    events = eventstore.events_of(cid)
    forged: list[Event] = []
    prev = events[0].prev_hash
    for event in events:
        data = dict(event.data)
        if event.type == "propose":
            data["solution"] = {"kind": "refund", "amount": 1000}
        sealed = Event.sealed(cid, event.seq, event.type, event.actor, data, event.at, prev)
        forged.append(sealed)
        prev = sealed.hash
    for event in forged:
        _events().update_one(
            {"complaint_id": cid, "seq": event.seq},
            {
                "$set": {
                    "data": dict(event.data),
                    "salts": dict(event.salts),
                    "prev_hash": event.prev_hash,
                    "hash": event.hash,
                }
            },
        )
    rewritten = eventstore.events_of(cid)
    assert first_broken_link(rewritten) is None
    assert rewritten[-1].hash != eventstore.load(cid).last_hash


def test_check_chains_names_each_broken_chain_and_exits_1(complaints, mongodb_uri, db_name):
    env = {
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_JWT_SECRET": SECRET,
    }

    def check():
        try:
            return CliRunner().invoke(main, ["check-chains"], env=env, catch_exceptions=False)
        finally:
            database.connect(mongodb_uri, db_name)  # the command disconnects the shared client

    whole = check()
    assert whole.exit_code == 0, whole.output
    assert f"ok: {len(complaints)} complaints' chains verified." in whole.output
    victim = next(iter(complaints.values()))
    events = EventDocument._get_collection()
    events.update_one({"complaint_id": victim, "seq": 2}, {"$set": {"at": EPOCH}})
    broken = check()
    assert broken.exit_code == 1
    assert f"{victim}: the chain breaks at seq 2" in broken.output
    assert f"1 of {len(complaints)} complaints' chains are broken." in broken.output


def test_commands_that_sign_no_token_need_no_jwt_secret(complaints, mongodb_uri, db_name):
    env = {"MONGODB_URI": mongodb_uri, "RESOLUTION_DB_NAME": db_name}
    try:
        for command in (["check-chains"], ["rebuild"], ["sweep", "--now", "2025-06-05T10:00:00Z"]):
            result = CliRunner().invoke(main, command, env=env)
            assert result.exit_code == 0, (command, result.output)
        tokens = CliRunner().invoke(main, ["token", "--role", "care", "--sub", "a"], env=env)
        assert tokens.exit_code == 1 and "RESOLUTION_JWT_SECRET" in tokens.output
    finally:
        database.connect(mongodb_uri, db_name)  # the commands disconnect the shared client
