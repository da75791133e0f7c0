"""Complaint ids do not grow with time, so a sharded `events` collection spreads new writes
(docs/operations.md, "sharding"); ids made before, which are ObjectIds, keep working."""

from __future__ import annotations

from collections import Counter

from bson import ObjectId

from resolution.store import eventstore
from tests.support.http import open_complaint
from tests.support.parties import BUYER, SELLER

SHARDS = 4  # ranges of the first hex digit: 0-3, 4-7, 8-b, c-f, as the plan pre-splits them


def _shard(complaint_id: str) -> int:
    return int(complaint_id[0], 16) * SHARDS // 16


def test_new_complaint_ids_spread_evenly_over_pre_split_ranges():
    ids = [eventstore.new_complaint_id() for _ in range(4000)]
    assert all(len(i) == 24 and int(i, 16) >= 0 for i in ids)
    assert ObjectId.is_valid(ids[0])  # the shape of the ids made before
    per_shard = Counter(_shard(i) for i in ids)
    # 1,000 expected each; 850 and 1,150 are more than 5.5 standard deviations away.
    assert all(850 < per_shard[s] < 1150 for s in range(SHARDS)), per_shard
    # ObjectIds made in one instant all fall in one range: every write on one shard.
    assert len({_shard(str(ObjectId())) for _ in range(100)}) == 1


def test_complaints_opened_one_after_another_do_not_get_growing_ids(client, clock):
    ids = []
    for n in range(12):
        ids.append(open_complaint(client, f"INV-{n}"))
        clock.advance(minutes=1)
    # Twelve random ids in creation order by chance: once in 12! (479,001,600).
    assert ids != sorted(ids)
    listed = client.get("/v1/complaints?limit=20", headers=BUYER).get_json()["items"]
    assert [c["id"] for c in listed] == ids[::-1]  # newest first, by opening time


def test_a_complaint_with_an_id_made_before_keeps_working(client, clock, monkeypatch):
    monkeypatch.setattr(eventstore, "new_complaint_id", lambda: str(ObjectId()))
    old = open_complaint(client, "INV-OLD")
    monkeypatch.undo()
    clock.advance(minutes=1)
    new = open_complaint(client, "INV-NEW")
    assert old != new
    for cid in (old, new):
        said = {"body": "Barang sudah kami cek."}
        posted = client.post(f"/v1/complaints/{cid}/messages", json=said, headers=SELLER)
        assert posted.status_code == 201, posted.get_json()
    assert client.get(f"/v1/complaints/{old}", headers=BUYER).get_json()["version"] == 2
    listed = client.get("/v1/complaints", headers=BUYER).get_json()["items"]
    assert [c["id"] for c in listed] == [new, old]
