"""A write's event, projection and states' counters go to the database in one client-wide
`bulkWrite` command (store/eventstore.py, issue #25's stretch): an action costs three round
trips (read, write, commit), fewer than the bare driver's find, insert, update and commit.

The three commands it replaced are still what a MongoDB older than 8.0 gets, so the refusals
that matter (a lost race, a second complaint on one order, the counters under concurrent
writers) are checked both ways; and a server that refuses the command turns the service to the
three commands for good, having written nothing.
"""

from __future__ import annotations

import threading
from collections import Counter

import mongoengine
import pytest
from pymongo import monitoring
from pymongo.errors import InvalidOperation

from resolution import service
from resolution.domain.errors import Conflict, NotAllowed
from resolution.store import database, eventstore
from resolution.store.documents import ComplaintDocument, EventDocument
from schemas.complaints import ACTION_SCHEMAS
from tests.integration.test_counters import (
    BUYER,
    COUNTER,
    SELLER,
    counted,
    real_counts,
    run_writers,
)
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered


class Commands(monitoring.CommandListener):
    """The commands this thread sends while `watching`."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.watching = False
        self.thread = threading.current_thread()

    def started(self, event) -> None:
        if self.watching and threading.current_thread() is self.thread:
            self.sent[event.command_name] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


@pytest.fixture(params=["one command", "three commands"])
def writes(request, monkeypatch) -> str:
    """Both ways of writing: the `bulkWrite` command, and the three commands of a server
    before MongoDB 8.0."""
    monkeypatch.setattr(eventstore, "_ONE_COMMAND", request.param == "one command")
    return request.param


def propose(context, cid: str) -> None:
    body = ACTION_SCHEMAS["propose"]().load(COUNTER)
    service.act(context, SELLER, cid, "propose", body)


def test_an_action_is_a_read_one_write_command_and_the_commit(
    context, monkeypatch, mongodb_uri, db_name
):
    monkeypatch.setattr(eventstore, "_ONE_COMMAND", True)
    listener = Commands()
    # The service's client, again, with the listener on it (documents find it by alias).
    mongoengine.disconnect(database.ALIAS)
    mongoengine.connect(
        db=db_name,
        host=mongodb_uri,
        alias=database.ALIAS,
        tz_aware=True,
        uuidRepresentation="standard",
        event_listeners=[listener],
    )
    try:
        listener.watching = True
        cid = open_registered(context, BUYER, complaint_body("INV-ONE")).complaint.id
        opened = Counter(listener.sent)
        listener.sent.clear()
        propose(context, cid)
        acted = Counter(listener.sent)
    finally:
        listener.watching = False
        database.connect(mongodb_uri, db_name)
    assert acted == {"find": 1, "bulkWrite": 1, "commitTransaction": 1}
    # The order registered first (looked up, inserted, committed), then the opening's one write
    # command: no insert or update of its own (benchmarks/roundtrips.py counts it alone: 4).
    assert opened["bulkWrite"] == 1 and opened["insert"] == 1 and "update" not in opened
    # What it wrote: the two events, the projection at version 2, the counters moved.
    assert EventDocument._get_collection().count_documents({"complaint_id": cid}) == 2
    assert ComplaintDocument._get_collection().find_one({"_id": cid})["version"] == 2
    assert counted() == real_counts()


def test_racing_actions_leave_one_winner_per_version(context, writes):
    cid = open_registered(context, BUYER, complaint_body("INV-RACE")).complaint.id
    outcomes: list[str] = []
    gate = threading.Barrier(4)

    def act() -> None:
        gate.wait()
        try:
            propose(context, cid)
            outcomes.append("won")
        except NotAllowed:  # the winner moved the complaint: proposing again is not allowed
            outcomes.append("refused")

    threads = [threading.Thread(target=act) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "won"]
    seqs = [e["seq"] for e in EventDocument._get_collection().find({"complaint_id": cid})]
    assert sorted(seqs) == [1, 2]
    assert ComplaintDocument._get_collection().find_one({"_id": cid})["version"] == 2
    assert counted() == real_counts()


def test_a_second_complaint_on_an_order_is_refused_and_writes_nothing(context, writes):
    open_registered(context, BUYER, complaint_body("INV-TWICE"))
    events = EventDocument._get_collection().count_documents({})
    with pytest.raises(Conflict):
        open_registered(context, BUYER, complaint_body("INV-TWICE"))
    assert EventDocument._get_collection().count_documents({}) == events
    assert ComplaintDocument._get_collection().count_documents({}) == 1
    assert counted() == real_counts()


def test_counters_equal_a_real_count_after_concurrent_writers_either_way(context, writes):
    run_writers(context, writers=3, each=3)
    assert counted() == real_counts()


def test_a_server_without_the_command_turns_to_three_commands(context, monkeypatch):
    monkeypatch.setattr(eventstore, "_ONE_COMMAND", True)
    client = ComplaintDocument._get_collection().database.client
    refused: list[int] = []

    def before_8(*args, **kwargs):  # what pymongo raises, before sending, to MongoDB 7
        refused.append(1)
        raise InvalidOperation("MongoClient.bulk_write requires MongoDB server version 8.0+.")

    monkeypatch.setattr(type(client), "bulk_write", before_8)
    cid = open_registered(context, BUYER, complaint_body("INV-OLD")).complaint.id
    propose(context, cid)
    assert refused == [1]  # asked once, then never again
    assert eventstore._ONE_COMMAND is False  # noqa: SLF001
    assert ComplaintDocument._get_collection().find_one({"_id": cid})["version"] == 2
    assert counted() == real_counts()
