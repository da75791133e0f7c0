"""Retention: a closed complaint's files are destroyed when their kind's period after the
closing runs out, to the second; open and held complaints keep everything; care sets and
lifts legal holds with a reason."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from resolution.config import Config, ConfigError
from resolution.domain.events import first_broken_link
from resolution.domain.retention import Retention
from resolution.service.sweeper import sweep
from resolution.store import eventstore, files
from tests.support.bodies import png
from tests.support.evidence import download, gridfs_files
from tests.support.http import act, assert_problem, open_complaint, uploaded
from tests.support.parties import AUDITOR, BUYER, CARE, SELLER

DAY = timedelta(days=1)
HOLD = "/v1/complaints/{}/legal-hold"


def closed_with_files(client, clock, order_id="INV-1001") -> tuple[str, dict, dict, datetime]:
    """A complaint with the buyer's KTP and photo, withdrawn (closed): its id, the two
    evidence entries, and when it closed."""
    cid = open_complaint(client, order_id)
    ktp = uploaded(client, cid, BUYER, "identity_document", png(), "ktp.png", caption="KTP")
    photo = uploaded(client, cid, BUYER, "photo", png(), "foto.png")
    clock.advance(hours=1)
    act(client, cid, "withdraw", BUYER)
    closed_at = eventstore.load(cid).closed_at
    assert closed_at == clock.now.replace(microsecond=0)
    return cid, ktp, photo, closed_at


def purged(cid: str) -> list[str]:
    return [e.data["evidence_id"] for e in eventstore.events_of(cid) if e.type == "evidence_purged"]


def test_an_identity_document_goes_30_days_after_the_closing_to_the_second(client, clock, context):
    cid, ktp, photo, closed_at = closed_with_files(client, clock)
    assert sweep(context, closed_at + 30 * DAY - timedelta(seconds=1))["evidence_purged"] == 0
    assert download(client, cid, ktp["id"], BUYER).status_code == 200
    assert sweep(context, closed_at + 30 * DAY)["evidence_purged"] == 1
    assert purged(cid) == [ktp["id"]]
    event = eventstore.events_of(cid)[-1]
    assert event.actor["role"] == "system" and event.data["sha256"] == ktp["file"]["sha256"]
    assert event.data["kind"] == "identity_document"
    assert event.data["retained_until"] == (closed_at + 30 * DAY).isoformat(timespec="milliseconds")
    # Destroyed: its key and its chunks; the entry and its hash stay.
    assert files.key_of(ktp["id"]) is None
    assert all(str(f["_id"]) != ktp["id"] for f in gridfs_files())
    assert_problem(download(client, cid, ktp["id"], CARE), 410)
    listed = {
        e["id"]: e for e in client.get(f"/v1/complaints/{cid}/evidence", headers=CARE).json["items"]
    }
    assert (
        listed[ktp["id"]]["purged_at"]
        and listed[ktp["id"]]["file"]["sha256"] == ktp["file"]["sha256"]
    )
    assert "purged_at" not in listed[photo["id"]]
    assert download(client, cid, photo["id"], BUYER).status_code == 200
    # Other files: 365 days.
    assert sweep(context, closed_at + 365 * DAY - timedelta(seconds=1))["evidence_purged"] == 0
    assert sweep(context, closed_at + 365 * DAY)["evidence_purged"] == 1
    assert purged(cid) == [ktp["id"], photo["id"]]
    assert sweep(context, closed_at + 400 * DAY)["evidence_purged"] == 0  # nothing twice
    assert eventstore.load(cid).retain_from is None  # out of the sweeper's index
    assert first_broken_link(eventstore.events_of(cid)) is None


def test_an_open_complaint_keeps_every_file(client, clock, context):
    cid = open_complaint(client)
    uploaded(client, cid, BUYER, "identity_document", png(), "ktp.png")
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 30000}})
    act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    assert sweep(context, clock.now + 800 * DAY)["evidence_purged"] == 0
    assert purged(cid) == []


def test_a_legal_hold_keeps_everything_until_care_lifts_it(client, clock, context):
    cid, ktp, _, closed_at = closed_with_files(client, clock)
    held = client.post(HOLD.format(cid), json={"reason": "Sengketa di pengadilan."}, headers=CARE)
    assert held.status_code == 200, held.json
    assert held.json["legal_hold"]["reason"] == "Sengketa di pengadilan."
    assert held.json["legal_hold"]["by"] == "agent-1"
    assert "legal_hold" not in client.get(f"/v1/complaints/{cid}", headers=BUYER).json
    assert client.get(f"/v1/complaints/{cid}", headers=AUDITOR).json["legal_hold"]
    assert sweep(context, closed_at + 500 * DAY)["evidence_purged"] == 0
    again = client.post(HOLD.format(cid), json={"reason": "Lagi."}, headers=CARE)
    assert_problem(again, 409)
    lifted = client.post(
        HOLD.format(cid) + "/lift", json={"reason": "Perkara selesai."}, headers=CARE
    )
    assert lifted.status_code == 200 and lifted.json["legal_hold"] is None
    assert_problem(client.post(HOLD.format(cid) + "/lift", json={"reason": "x"}, headers=CARE), 409)
    types = [e.type for e in eventstore.events_of(cid)]
    assert types[-2:] == ["legal_hold_set", "legal_hold_lifted"]
    assert eventstore.events_of(cid)[-1].data == {"reason": "Perkara selesai."}
    # Both periods ran out while it was held: both files go at the next sweep.
    assert sweep(context, closed_at + 500 * DAY)["evidence_purged"] == 2


@pytest.mark.parametrize("who", [BUYER, SELLER, AUDITOR])
def test_only_care_holds_and_a_reason_is_required(client, clock, who):
    cid, *_ = closed_with_files(client, clock)
    assert_problem(client.post(HOLD.format(cid), json={"reason": "x"}, headers=who), 403)
    assert_problem(client.post(HOLD.format(cid), json={}, headers=CARE), 422)
    assert_problem(
        client.post(HOLD.format("65f0000000000000000000ff"), json={"reason": "x"}, headers=CARE),
        404,
    )
    assert eventstore.load(cid).legal_hold is None


def test_racing_sweepers_destroy_and_record_each_file_once(client, clock, context):
    cid, ktp, _, closed_at = closed_with_files(client, clock)
    now = closed_at + 31 * DAY
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda: counts.append(sweep(context, now)["evidence_purged"]))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 1 and purged(cid) == [ktp["id"]]


def test_a_review_reopening_the_complaint_stops_the_clock(client, clock, context):
    """Retention counts from the last closing: a complaint back with care keeps its files."""
    cid = open_complaint(client)
    ktp = uploaded(client, cid, BUYER, "identity_document", png(), "ktp.png")
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 30000}})
    act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    act(client, cid, "assign", CARE)
    decided = {
        "solution": {"kind": "refund", "amount": 20000},
        "reason_code": "damaged",
        "rationale": "Sebagian.",
        "evidence_considered": [ktp["id"]],
    }
    act(client, cid, "decide", CARE, decided)
    closed_at = eventstore.load(cid).closed_at
    assert closed_at is not None
    act(client, cid, "request_review", SELLER, {"reason": "Bukti tidak dilihat."})
    assert eventstore.load(cid).closed_at is None
    assert sweep(context, closed_at + 31 * DAY)["evidence_purged"] == 0


def test_retention_is_configured_per_kind():
    env = {"RESOLUTION_JWT_SECRET": "x" * 40}
    assert Config.from_env(env).retention == Retention()
    config = Config.from_env({**env, "RESOLUTION_RETENTION": "90d, identity_document=7d, video=1h"})
    assert config.retention.of("photo") == 90 * DAY
    assert config.retention.of("identity_document") == 7 * DAY
    assert config.retention.of("video") == timedelta(hours=1)
    assert (
        Config.from_env({**env, "RESOLUTION_RETENTION": "photo=10d"}).retention.of(
            "identity_document"
        )
        == 30 * DAY
    )
    for bad in ("passport=3d", "0d", "photo=soon", "identity_document=-1d"):
        with pytest.raises(ConfigError, match="RESOLUTION_RETENTION"):
            Config.from_env({**env, "RESOLUTION_RETENTION": bad})


def as_before_retention(cid: str) -> None:
    """The projection as written before retention existed: no closing time, no retention."""
    from resolution.store.documents import ComplaintDocument

    ComplaintDocument._get_collection().update_one(
        {"_id": cid}, {"$unset": {"closed_at": "", "retain_from": "", "retained_kinds": ""}}
    )
    assert eventstore.load(cid).closed_at is None


def test_a_complaint_closed_before_retention_existed_is_purged_without_a_rebuild(
    client, clock, context
):
    cid, ktp, photo, closed_at = closed_with_files(client, clock)
    as_before_retention(cid)
    # The first pass fills its closing time from its events (nothing due yet)…
    assert sweep(context, closed_at + DAY)["evidence_purged"] == 0
    stored = eventstore.load(cid)
    assert stored.closed_at == closed_at and stored.retain_from == closed_at
    assert stored.retained_kinds == ["identity_document", "photo"]
    # …counted from the closing itself, to the second, not from the pass.
    assert sweep(context, closed_at + 30 * DAY - timedelta(seconds=1))["evidence_purged"] == 0
    assert sweep(context, closed_at + 30 * DAY)["evidence_purged"] == 1
    assert purged(cid) == [ktp["id"]]
    # A long-closed one is filled and purged in the same pass.
    old, old_ktp, _, old_closed = closed_with_files(client, clock, "INV-2002")
    as_before_retention(old)
    assert sweep(context, old_closed + 31 * DAY)["evidence_purged"] == 1
    assert purged(old) == [old_ktp["id"]]
    assert first_broken_link(eventstore.events_of(old)) is None


def test_the_closing_times_are_filled_a_batch_at_a_time_from_their_index(client, clock, context):
    from resolution.service.retention import fill_closing_times
    from resolution.store.documents import ComplaintDocument

    old = [closed_with_files(client, clock, f"INV-300{n}")[0] for n in range(3)]
    open_one = open_complaint(client, "INV-3009")
    for cid in old:
        as_before_retention(cid)
    assert fill_closing_times(context, limit=2) == 2
    assert sum(eventstore.load(cid).closed_at is None for cid in old) == 1
    assert fill_closing_times(context, limit=2) == 1
    assert fill_closing_times(context, limit=2) == 0
    assert all(eventstore.load(cid).closed_at for cid in old)
    assert eventstore.load(open_one).closed_at is None  # not closed: nothing to fill
    # Read from one index range: only the closed complaints with no closing time.
    as_before_retention(old[0])
    plan = (
        ComplaintDocument._get_collection()
        .find({"state": "closed", "closed_at": None}, {"_id": 1, "version": 1})
        .limit(500)
        .explain()
    )
    assert "closed_since" in str(plan["queryPlanner"]["winningPlan"])
    assert plan["executionStats"]["totalDocsExamined"] == 1


def test_a_write_that_comes_first_wins_over_the_filling(client, clock, context):
    from resolution.domain.projection import replay

    cid, *_ = closed_with_files(client, clock)
    as_before_retention(cid)
    stale = replay(eventstore.events_of(cid), context.deadlines)
    held = client.post(HOLD.format(cid), json={"reason": "Perkara."}, headers=CARE)
    assert held.status_code == 200
    assert not eventstore.fill_retention(stale)  # its version is gone: nothing written
    assert eventstore.load(cid).legal_hold and eventstore.load(cid).retain_from is None
