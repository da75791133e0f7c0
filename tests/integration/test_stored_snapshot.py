"""The tests' "changes nothing stored" check: what the TTL monitor removes is not a change.

The tests' clock stands in 2025, so the idempotency records they write are past their TTL in
real time and the database deletes them whenever its monitor passes (a CI run failed on it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from resolution.store.documents import IdempotencyRecord
from tests.support.snapshots import assert_unchanged, stored


def record(key: str, created_at: datetime) -> dict:
    return {"_id": key, "fingerprint": "f", "status": 201, "created_at": created_at}


@pytest.fixture
def records(db_name):
    collection = IdempotencyRecord._get_collection()
    now = datetime.now(UTC)
    collection.insert_many(
        [record("old", datetime(2025, 6, 5, tzinfo=UTC)), record("new", now - timedelta(hours=1))]
    )
    return collection


def test_a_record_past_its_ttl_may_vanish(records):
    before = stored()
    records.delete_one({"_id": "old"})  # what the TTL monitor does
    assert_unchanged(before)


def test_a_live_record_that_vanishes_is_a_change(records):
    before = stored()
    records.delete_one({"_id": "new"})
    with pytest.raises(AssertionError):
        assert_unchanged(before)


def test_a_new_or_edited_record_is_a_change(records):
    before = stored()
    records.insert_one(record("another", datetime(2025, 6, 5, tzinfo=UTC)))
    with pytest.raises(AssertionError):
        assert_unchanged(before)
    records.delete_one({"_id": "another"})
    records.update_one({"_id": "old"}, {"$set": {"status": 200}})
    with pytest.raises(AssertionError):
        assert_unchanged(before)
