"""The states' counters (store/counters.py) equal a real count of the complaints in each state:
after concurrent writers opening and moving complaints, after a recount racing those writers,
in a database made before the counters (recounted once at connect, by one process), and after
`resolution rebuild`. Care overdue is read from its index, at most the cap plus one.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from resolution import service
from resolution.domain.actors import Actor, Role
from resolution.domain.events import EPOCH
from resolution.domain.webhooks import STATUSES
from resolution.service import webhooks as service_webhooks
from resolution.store import counters, database, listings
from resolution.store import webhooks as webhook_store
from resolution.store.documents import (
    ComplaintDocument,
    CounterDocument,
    EventDocument,
    WebhookDelivery,
)
from schemas.complaints import ACTION_SCHEMAS
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered

BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")
COUNTER = {"solution": {"kind": "refund", "amount": 30000}, "note": "Setengah."}
# Each writer's complaint: open (awaiting_seller), propose (awaiting_buyer), escalate
# (awaiting_care); every second one is withdrawn instead of escalated (closed).
STEPS = [("seller", "propose", COUNTER), ("buyer", "escalate", {"reason": "Tidak sepakat."})]


def real_counts() -> dict[str, int]:
    complaints = ComplaintDocument._get_collection()
    return {state: complaints.count_documents({"state": state}) for state in counters.STATES}


def counted() -> dict[str, int]:
    return counters.complaints_by_state(counters.STATES)


def story(context, n: int) -> None:
    actors = {"buyer": BUYER, "seller": SELLER}
    cid = open_registered(context, BUYER, complaint_body(f"INV-C{n}")).complaint.id
    steps = STEPS if n % 2 else [*STEPS[:1], ("buyer", "withdraw", {"reason": "Sudah."})]
    for who, action, body in steps:
        service.act(context, actors[who], cid, action, ACTION_SCHEMAS[action]().load(body))


def run_writers(context, writers: int, each: int, also=None, first: int = 0) -> None:
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for i in range(each):
                story(context, first + w * 1000 + i)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    if also is not None:
        threads.append(threading.Thread(target=also))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_counters_equal_a_real_count_after_concurrent_writers(context):
    run_writers(context, writers=4, each=4)
    real = real_counts()
    assert sum(real.values()) == 16
    assert real["awaiting_care"] == 8 and real["closed"] == 8
    assert counted() == real
    # The reader reads the stripes, states × stripes at most, however many complaints.
    stripes = CounterDocument._get_collection().count_documents({"_id": {"$regex": "^complaints:"}})
    assert stripes <= len(counters.STATES) * counters.STRIPES


def test_a_recount_racing_writers_leaves_the_counters_exact(context):
    run_writers(context, writers=1, each=2)  # something to count from the start

    def recount_while_writing() -> None:
        for _ in range(3):
            counters.recount()

    run_writers(context, writers=3, each=3, also=recount_while_writing, first=10000)
    assert counted() == real_counts()


def test_a_database_made_before_the_counters_is_recounted_once(context, mongodb_uri, db_name):
    run_writers(context, writers=1, each=3)
    real = real_counts()
    # As a database written before this version: no counters, no marker.
    CounterDocument._get_collection().delete_many({})
    assert counted() == dict.fromkeys(counters.STATES, 0)
    database.connect(mongodb_uri, db_name)  # every process's start
    assert counted() == real
    assert counters.ensure_counted() is False  # counted: the next start does nothing
    # Another process counting (claimed just now): this one does not count as well.
    collection = CounterDocument._get_collection()
    collection.delete_many({})
    collection.insert_one(
        {"_id": counters.MARKER, "claimed_at": datetime.now(UTC), "counted_at": None}
    )
    assert counters.ensure_counted() is False
    # A claim left by a process that died counting is taken over.
    later = datetime.now(UTC) + counters.CLAIM_TIMEOUT + timedelta(seconds=1)
    assert counters.ensure_counted(later) is True
    assert counted() == real


def test_rebuild_recounts(context):
    run_writers(context, writers=1, each=2)
    real = real_counts()
    # A counter gone wrong (written behind the service's back): a rebuild sets it right.
    CounterDocument._get_collection().update_one(
        {"_id": "complaints:closed:0"}, {"$inc": {"n": 5}}, upsert=True
    )
    assert counted() != real
    service.rebuild_all(context)
    assert counted() == real


def test_care_overdue_reads_at_most_the_cap_plus_one(context):
    now = context.clock()
    complaints = ComplaintDocument._get_collection()
    complaints.insert_many(
        [
            {"_id": f"c{n}", "state": "awaiting_care", "care_due_at": now - timedelta(hours=n + 1)}
            for n in range(7)
        ]
        + [{"_id": "later", "state": "in_mediation", "care_due_at": now + timedelta(hours=1)}]
        + [{"_id": "none", "state": "closed", "care_due_at": None}]
    )
    assert listings.care_overdue(now) == 7
    assert listings.care_overdue(now, cap=5) == 6  # "more than 5"
    assert listings.care_overdue(EPOCH + timedelta(days=1)) == 0
    # The floor kept by the first read (the oldest overdue) misses none after it moved on:
    # the oldest leaves care, and one due earlier than the floor arrives.
    complaints.update_one({"_id": "c6"}, {"$set": {"care_due_at": None}})
    complaints.insert_one(
        {"_id": "early", "state": "awaiting_care", "care_due_at": now - timedelta(days=30)}
    )
    assert listings.care_overdue(now) == 7


@pytest.mark.parametrize("states", [("closed", "awaiting_seller")])
def test_figures_name_every_state_asked_for(context, states):
    assert counters.complaints_by_state(states) == {"closed": 0, "awaiting_seller": 0}


def delivery(n: int, now: datetime) -> dict:
    return {
        "_id": f"d{n}",
        "subscription_id": "sub-1",
        "complaint_id": f"c{n}",
        "seq": 1,
        "type": "open",
        "payload": {},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "created_at": now - timedelta(seconds=n),
        "delivered_at": None,
    }


def real_deliveries() -> dict[str, int]:
    queue = WebhookDelivery._get_collection()
    return {status: queue.count_documents({"status": status}) for status in STATUSES}


def test_delivery_counters_follow_concurrent_deliverers_and_redelivery(context):
    now = context.clock()
    webhook_store.add_subscription({"_id": "sub-1", "owner": "integrator-1"}, None)
    for n in range(24):
        webhook_store.add_delivery(delivery(n, now))

    def deliver(first: int) -> None:
        for n in range(first, 24, 4):  # a third failed (still pending), a third dead
            leased = webhook_store.lease(f"d{n}", None, now + timedelta(minutes=1))
            status = ("pending", "delivered", "dead")[n % 3]
            fields = {"status": status, "attempts": 1, "lease_until": None}
            webhook_store.update_delivery(f"d{n}", leased["lease_until"], fields)

    threads = [threading.Thread(target=deliver, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures = webhook_store.queue_figures(now)
    assert figures["by_status"] == real_deliveries() == {"pending": 8, "delivered": 8, "dead": 8}
    assert figures["failing"] == 8
    assert figures["oldest_pending_created_at"].replace(tzinfo=UTC) == now - timedelta(seconds=21)

    # A dead one delivered again: it leaves the dead count; "delivered" is a running total.
    redo = Actor(Role.INTEGRATION, "integrator-1")
    service_webhooks.redeliver(context, redo, "sub-1", "d2")
    webhook_store.update_delivery("d2", None, {"status": "delivered", "lease_until": None})
    webhook_store.update_delivery("d0", None, {"lease_until": None, "attempts": 2})  # failed again
    figures = webhook_store.queue_figures(now)
    assert figures["by_status"] == {"pending": 8, "delivered": 9, "dead": 7}
    assert real_deliveries()["dead"] == 7


def test_pending_and_outbox_figures_stop_at_the_cap(context, monkeypatch):
    now = context.clock()
    webhook_store.add_subscription({"_id": "sub-1", "owner": "integrator-1"}, None)
    for n in range(7):
        webhook_store.add_delivery(delivery(n, now))
    monkeypatch.setattr(counters, "CAP", 5)
    figures = webhook_store.queue_figures(now)
    assert figures["by_status"]["pending"] == 6  # more than 5
    # The oldest pending is the oldest of all, not of those counted (read oldest first).
    assert figures["oldest_pending_created_at"].replace(tzinfo=UTC) == now - timedelta(seconds=6)
    marks = [
        {"_id": f"e{n}", "complaint_id": f"c{n}", "seq": 1, "fanout_at": now - timedelta(hours=n)}
        for n in range(7)
    ]
    EventDocument._get_collection().insert_many(marks)
    assert webhook_store.queue_figures(now)["outbox"] == 6


def test_the_recount_command(context, mongodb_uri, db_name):
    from click.testing import CliRunner

    from resolution.cli import main
    from tests.support.parties import SECRET

    run_writers(context, writers=1, each=2)
    real = real_counts()
    CounterDocument._get_collection().update_one(
        {"_id": "complaints:closed:3"}, {"$inc": {"n": 2}}, upsert=True
    )
    env = {
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_JWT_SECRET": SECRET,
    }
    try:
        result = CliRunner().invoke(main, ["recount"], env=env, catch_exceptions=False)
    finally:
        database.connect(mongodb_uri, db_name)  # the command disconnects the shared client
    assert result.exit_code == 0, result.output
    assert f"Recounted 2 complaints in {len(counters.STATES)} states." in result.output
    assert counted() == real
