"""The deliverer's claim (store.webhooks.due_heads): the pending deliveries that may go now,
each the earliest pending one of its (subscription, complaint) and not leased, the longest due
first; read in windows of `next_attempt_at` from a kept floor, so a claim reads about what it
claims however long the backlog of pending deliveries (issue #25)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import _plans
from resolution.domain.webhooks import PENDING
from resolution.service import Context
from resolution.store import database
from resolution.store import webhooks as store
from resolution.store.documents import WebhookDelivery

NOW = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)

# (subscription, complaint, seq, seconds from now to its next attempt, leased, delivered)
deliveries = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2"]),
        st.sampled_from(["c1", "c2", "c3", "c4"]),
        st.integers(1, 4),
        st.integers(-400 * 86_400, 3_600),
        st.booleans(),
        st.booleans(),
    ),
    max_size=30,
    unique_by=lambda d: (d[0], d[1], d[2]),
)


@pytest.fixture
def recorded(mongodb_uri, db_name) -> None:
    """This test's database, on a client made after the plans' recorder was registered
    (pymongo attaches listeners to new clients only)."""
    _plans.recorder()
    database.connect(mongodb_uri, db_name)


def _queued(rows) -> list[dict]:
    docs = [
        {
            "_id": str(ObjectId()),
            "subscription_id": sub,
            "complaint_id": complaint,
            "seq": seq,
            "status": "delivered" if delivered else PENDING,
            "next_attempt_at": None if delivered else NOW + timedelta(seconds=offset),
            "lease_until": NOW + timedelta(minutes=1) if leased else None,
            "created_at": NOW - timedelta(days=1),
        }
        for sub, complaint, seq, offset, leased, delivered in rows
    ]
    if docs:
        WebhookDelivery._get_collection().insert_many(docs)
    return docs


def _expected(docs: list[dict]) -> list[str]:
    """What the claim may take: each complaint's earliest pending, due, not leased."""
    pending = [d for d in docs if d["status"] == PENDING]
    heads = [
        d
        for d in pending
        if not any(
            o["subscription_id"] == d["subscription_id"]
            and o["complaint_id"] == d["complaint_id"]
            and o["seq"] < d["seq"]
            for o in pending
        )
    ]
    free = [h for h in heads if h["next_attempt_at"] <= NOW and h["lease_until"] is None]
    return [h["_id"] for h in sorted(free, key=lambda h: (h["next_attempt_at"], h["_id"]))]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=deliveries, limit=st.integers(1, 8))
def test_the_claim_finds_each_complaints_head_that_may_go_the_longest_due_first(
    db_name, rows, limit
):
    WebhookDelivery._get_collection().delete_many({})
    docs = _queued(rows)
    expected = _expected(docs)
    # Twice, the second from the floor the first kept.
    for _ in range(2):
        heads = store.due_heads(NOW, limit)
        assert [h["head"] for h in heads] == expected[:limit]


def test_a_claim_reads_about_what_it_claims_however_long_the_backlog(recorded):
    # 3,000 pending deliveries due over a month, one per complaint: a claim of 5 reads a few
    # windows' worth (each found checked for an earlier one of its complaint: one read).
    _queued(
        [("s1", f"c{n}", 1, -(n * 900), False, False) for n in range(3_000)]
        + [("s1", f"c{n}", 2, -(n * 900), False, False) for n in range(0, 3_000, 3)]
    )
    store.due_heads(NOW, 5)  # keeps the floor
    query = _plans.Query("claim", lambda c, s: store.due_heads(NOW, 5), ("_id_", "due", "queue"))
    ctx = Context(clock=lambda: NOW, signing_key=None)  # type: ignore[arg-type]
    plans = _plans.plans(ctx, query, None)
    windows = [p for p in plans if p.command.collection == "webhook_deliveries"]
    assert {p.index for p in windows} == {"due", "queue"}
    examined = sum(p.docs_examined for p in windows)
    assert examined <= 60, [(p.index, p.docs_examined, p.command.repeats) for p in windows]


def test_a_dense_backlog_is_read_in_windows_as_narrow_as_the_last_claim_found(recorded):
    # 3,000 pending deliveries all due in the last five minutes (a receiver back after an
    # outage): the first claim, with no floor yet, reads them all once; it keeps the floor
    # and the width that held a claim's worth, so the next claims read about a claim.
    rows = [("s1", f"c{n}", 1, 0, False, False) for n in range(3_000)]
    docs = _queued(rows)
    queue = WebhookDelivery._get_collection()
    for n, doc in enumerate(docs):  # 100 ms apart, the oldest five minutes ago
        due = NOW - timedelta(milliseconds=100 * (3_000 - n))
        queue.update_one({"_id": doc["_id"]}, {"$set": {"next_attempt_at": due}})
    store.due_heads(NOW, 10)
    query = _plans.Query("claim", lambda c, s: store.due_heads(NOW, 10), ("_id_", "due", "queue"))
    ctx = Context(clock=lambda: NOW, signing_key=None)  # type: ignore[arg-type]
    windows = [
        p for p in _plans.plans(ctx, query, None) if p.command.collection == "webhook_deliveries"
    ]
    assert sum(p.docs_examined for p in windows if p.index == "due") <= 40
