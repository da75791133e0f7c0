"""A deliverer killed (SIGKILL) mid-batch, then restarted: every event arrives, in order per
complaint, none missing; a repeat only ever carries the same delivery id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from resolution import service
from resolution.domain.actors import Actor, Role
from resolution.service import webhooks
from tests.support.bodies import complaint_body
from tests.support.orders import open_registered
from tests.support.parties import SECRET
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BUYER = Actor(Role.BUYER, "buyer-1")
SELLER = Actor(Role.SELLER, "seller-1", "shop-1")
MARKET = Actor(Role.INTEGRATION, "market-1")
COMPLAINTS = 20


def _deliverer(config) -> subprocess.Popen:
    env = {
        **os.environ,
        "MONGODB_URI": config.mongodb_uri,
        "RESOLUTION_DB_NAME": config.db_name,
        "RESOLUTION_JWT_SECRET": SECRET,
        "RESOLUTION_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    command = [sys.executable, "-m", "resolution", "deliver", "--loop", "--interval", "0.1"]
    return subprocess.Popen(
        [*command, "--lease", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_killed_deliverer_loses_nothing(context, config):
    context = replace(context, webhooks_allow_private=True)
    receiver = Receiver()
    receiver.delay = 0.02  # slow enough to be killed in the middle
    try:
        webhooks.subscribe(context, MARKET, {"url": receiver.url})
        expected = set()
        for n in range(COMPLAINTS):
            opened = open_registered(context, BUYER, complaint_body(f"INV-{n}"))
            cid = opened.complaint.id
            offer = {"solution": {"kind": "refund", "amount": 1000}}
            service.act(context, SELLER, cid, "propose", offer)
            service.post_message(context, BUYER, cid, "Belum cukup.")
            expected |= {(cid, 1), (cid, 2), (cid, 3)}

        first = _deliverer(config)
        deadline = time.monotonic() + 60
        while len(receiver.received) < 10 and time.monotonic() < deadline:
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait()
        got_before = len(receiver.received)
        assert 0 < got_before < len(expected), "the kill must land mid-batch"

        second = _deliverer(config)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if {(p["complaint_id"], p["seq"]) for p in receiver.payloads()} >= expected:
                    break
                time.sleep(0.05)
        finally:
            second.terminate()
            second.wait(timeout=10)

        payloads = receiver.payloads()
        assert {(p["complaint_id"], p["seq"]) for p in payloads} == expected
        by_event = defaultdict(set)
        for p in payloads:
            by_event[(p["complaint_id"], p["seq"])].add(p["id"])
        assert all(len(ids) == 1 for ids in by_event.values()), "a repeat keeps its id"
        # In order per complaint (a repeat may come again, never before its predecessor).
        seen = defaultdict(int)
        for p in payloads:
            assert p["seq"] <= seen[p["complaint_id"]] + 1, p
            seen[p["complaint_id"]] = max(seen[p["complaint_id"]], p["seq"])
    finally:
        receiver.close()
