"""The sweeper reminds a silent turn-holder 24 hours before its deadline, once per deadline."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from datetime import timedelta

from click.testing import CliRunner

from resolution import service
from resolution.cli import main
from resolution.domain.actors import Actor, Role
from resolution.domain.events import first_broken_link, iso
from resolution.domain.projection import replay
from resolution.service import audit
from resolution.service.sweeper import due_reminders, sweep
from resolution.store import eventstore
from resolution.store.documents import ComplaintDocument
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered
from tests.support.parties import SECRET

BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")
CARE = Actor(Role.CARE, "agent-1")
REMINDED = {"deadline_approaching": 1}


def _open(context, order_id="INV-1"):
    return open_registered(context, BUYER, complaint_body(order_id)).complaint


def _reminders(complaint_id: str) -> list:
    return [e for e in eventstore.events_of(complaint_id) if e.type == "deadline_approaching"]


def test_the_turn_holder_is_reminded_24_hours_before_its_deadline_and_not_before(context):
    complaint = _open(context)
    remind_at = complaint.due_at - timedelta(hours=24)
    assert complaint.remind_at == remind_at
    assert sweep(context, remind_at - timedelta(minutes=1)) == {}
    assert sweep(context, remind_at + timedelta(minutes=1)) == REMINDED
    (event,) = _reminders(complaint.id)
    assert event.actor["role"] == "system"
    assert event.data == {"party": "seller", "due_at": iso(complaint.due_at)}
    assert event.at == remind_at + timedelta(minutes=1)
    stored = eventstore.load(complaint.id)
    assert stored.state == "awaiting_seller"
    assert stored.due_at == complaint.due_at  # nobody's activity: the deadline stays
    assert stored.remind_at is None
    assert first_broken_link(eventstore.events_of(complaint.id)) is None


def test_each_deadline_is_reminded_once_and_the_next_turn_again(context, clock):
    complaint = _open(context)
    later = complaint.remind_at + timedelta(hours=1)
    assert sweep(context, later) == REMINDED
    assert sweep(context, later + timedelta(hours=1)) == {}
    assert sweep(context, complaint.due_at - timedelta(minutes=1)) == {}
    clock.now = later + timedelta(hours=2)
    service.post_message(context, BUYER, complaint.id, "Halo?")  # not the turn-holder's
    assert sweep(context, complaint.due_at - timedelta(seconds=1)) == {}
    assert len(_reminders(complaint.id)) == 1

    answered = service.act(
        context, SELLER, complaint.id, "propose", {"solution": {"kind": "refund", "amount": 30000}}
    ).complaint
    assert answered.turn == "buyer"
    assert sweep(context, answered.remind_at - timedelta(minutes=1)) == {}
    assert sweep(context, answered.remind_at + timedelta(minutes=1)) == REMINDED
    parties = [e.data["party"] for e in _reminders(complaint.id)]
    assert parties == ["seller", "buyer"]


def test_the_turn_holders_own_message_gets_its_new_deadline_reminded(context, clock):
    complaint = _open(context)
    clock.now = complaint.remind_at + timedelta(hours=1)
    assert sweep(context) == REMINDED
    clock.advance(hours=2)
    spoke = service.post_message(context, SELLER, complaint.id, "Sedang dicek.").complaint
    assert spoke.due_at == clock.now + timedelta(hours=72)
    assert sweep(context, spoke.remind_at - timedelta(minutes=1)) == {}
    assert sweep(context, spoke.remind_at + timedelta(minutes=1)) == REMINDED
    assert [e.data["due_at"] for e in _reminders(complaint.id)] == [
        iso(complaint.due_at),
        iso(spoke.due_at),
    ]


def test_no_reminder_for_closed_complaints_nor_while_care_holds_the_turn(context, clock):
    closed = _open(context, "INV-C")
    service.act(context, SELLER, closed.id, "accept", {})
    withdrawn = _open(context, "INV-W")
    service.act(context, BUYER, withdrawn.id, "withdraw", {})
    queued = _open(context, "INV-Q")
    service.act(context, SELLER, queued.id, "appeal", {"reason": "Dikirim utuh."})
    service.act(context, SELLER, queued.id, "escalate", {"reason": "Tidak sepakat."})
    mediated = _open(context, "INV-M")
    service.act(context, SELLER, mediated.id, "appeal", {"reason": "Dikirim utuh."})
    service.act(context, BUYER, mediated.id, "escalate", {"reason": "Tolong."})
    service.act(context, CARE, mediated.id, "assign", {})
    ids = [closed.id, withdrawn.id, queued.id, mediated.id]
    assert {eventstore.load(i).state for i in ids} == {"closed", "awaiting_care", "in_mediation"}

    for hours in (49, 60, 71):
        assert sweep(context, clock.now + timedelta(hours=hours)) == {}
    assert all(_reminders(i) == [] for i in ids)


def test_the_party_asked_for_evidence_is_reminded_of_its_due_time(context, clock):
    complaint = _open(context)
    service.act(context, SELLER, complaint.id, "appeal", {"reason": "Dikirim utuh."})
    service.act(context, BUYER, complaint.id, "escalate", {"reason": "Tolong."})
    service.act(context, CARE, complaint.id, "assign", {})
    asked = service.act(
        context, CARE, complaint.id, "request_evidence", {"party": "buyer", "what": "Video."}
    ).complaint
    assert (asked.turn, asked.due_at) == ("buyer", clock.now + timedelta(hours=72))
    assert sweep(context, asked.remind_at + timedelta(minutes=1)) == REMINDED
    (event,) = _reminders(complaint.id)
    assert event.data == {"party": "buyer", "due_at": asked.evidence_request["due_at"]}
    assert eventstore.load(complaint.id).state == "in_mediation"


def test_a_pass_after_the_deadline_moves_the_complaint_and_reminds_nobody(context):
    complaint = _open(context)  # the sweeper never ran during the reminder's window
    assert sweep(context, complaint.due_at + timedelta(minutes=1)) == {"auto_escalate": 1}
    assert _reminders(complaint.id) == []


def test_two_sweepers_racing_remind_each_turn_holder_exactly_once(context, clock):
    ids = [_open(context, f"INV-{n}").id for n in range(6)]
    at = clock.now + timedelta(hours=50)
    barrier = threading.Barrier(2)
    results: list[Counter] = []

    def run():
        barrier.wait()
        results.append(sweep(context, at))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results, Counter()) == {"deadline_approaching": 6}
    for complaint_id in ids:
        events = eventstore.events_of(complaint_id)
        assert [e.type for e in events] == ["open", "deadline_approaching"]
        assert first_broken_link(events) is None


def test_the_reminder_query_finds_only_the_complaints_it_reminds(context, clock):
    """Its index: tests/integration/test_query_plans.py ("sweeper: reminders")."""
    for n in range(5):
        _open(context, f"INV-A{n}")
    clock.advance(hours=30)
    for n in range(7):
        _open(context, f"INV-B{n}")
    at = clock.now + timedelta(hours=20)  # the first five are due a reminder, the rest not
    assert len(due_reminders(at)) == 5
    assert sweep(context, at) == {"deadline_approaching": 5}
    assert due_reminders(at) == []


def test_reminded_projections_rebuild_from_their_events(context, clock):
    ids = [_open(context, f"INV-{n}").id for n in range(3)]
    service.act(context, SELLER, ids[1], "propose", {"solution": {"kind": "refund", "amount": 1}})
    clock.advance(hours=49)
    assert sweep(context) == {"deadline_approaching": 3}
    service.post_message(context, SELLER, ids[0], "Sebentar.")  # re-arms its reminder
    live = list(ComplaintDocument._get_collection().find().sort("_id", 1))
    assert {doc["remind_at"] is None for doc in live} == {True, False}
    for complaint_id in ids:
        events = eventstore.events_of(complaint_id)
        assert eventstore.load(complaint_id) == replay(events, context.deadlines)
    ComplaintDocument._get_collection().drop()
    assert service.rebuild_all(context) == 3
    assert list(ComplaintDocument._get_collection().find().sort("_id", 1)) == live


def test_reminders_go_into_audit_exports_that_verify(context, clock):
    complaint = _open(context)
    sweep(context, complaint.remind_at + timedelta(minutes=1))
    clock.now = complaint.remind_at + timedelta(hours=1)
    auditor = Actor(Role.AUDITOR, "auditor-1")
    for types in ((), ("deadline_approaching",)):
        query = audit.ExportQuery(types=types)
        text = "".join(audit.as_ndjson(audit.export_records(context, auditor, query)))
        records = [json.loads(line) for line in text.splitlines()]
        assert records[-2]["type"] == "deadline_approaching"
        assert records[-2]["data"] == {"party": "seller", "due_at": iso(complaint.due_at)}
        assert audit.verify(io.StringIO(text, newline="")).ok, types


def test_cli_sweep_prints_the_reminders(context, config, monkeypatch):
    complaint = _open(context)
    monkeypatch.setenv("MONGODB_URI", config.mongodb_uri)
    monkeypatch.setenv("RESOLUTION_DB_NAME", config.db_name)
    monkeypatch.setenv("RESOLUTION_JWT_SECRET", SECRET)
    at = (complaint.remind_at + timedelta(minutes=1)).isoformat()
    result = CliRunner().invoke(main, ["sweep", "--now", at])
    assert result.exit_code == 0, result.output
    assert "Moved 0 complaints; reminded 1 of a deadline (deadline_approaching)" in result.output
    result = CliRunner().invoke(main, ["sweep", "--now", at])
    assert "Moved 0 complaints; reminded 0 of a deadline" in result.output
