"""Several API workers, two sweepers and the deliverer on one database, under a racing load:
afterwards no event is lost or doubled, every chain holds, every projection equals its
rebuild, and every event reached the webhook subscriber, in order per complaint."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from resolution.domain.deadlines import Deadlines, parse_duration
from resolution.domain.events import first_broken_link
from resolution.domain.projection import replay
from resolution.store import database, eventstore
from resolution.store.documents import ComplaintDocument, EventDocument, WebhookDelivery
from tests.support.bodies import complaint_body
from tests.support.orders import by_reference
from tests.support.parties import SECRET, token
from tests.support.receiver import Receiver
from tests.support.servers import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
INACTIVITY = "4s"  # short, so the sweepers move complaints while the load runs
COMPLAINTS = 24


def _start(arguments: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "resolution", *arguments],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_workers_sweepers_and_deliverer_together_lose_nothing(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "db"
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env |= {
        "RESOLUTION_JWT_SECRET": SECRET,
        "RESOLUTION_INACTIVITY_PERIOD": INACTIVITY,
        "RESOLUTION_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    log = (tmp_path / "processes.log").open("wb")
    receiver = Receiver()
    processes = [
        _start(
            ["serve", "--port", str(port), "--workers", "3", "--sweep-interval", "1"]
            + ["--deliver-interval", "0.2", "--data-dir", str(data_dir)],
            env,
            log,
        )
    ]
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert processes[0].poll() is None, (tmp_path / "processes.log").read_text()
                assert time.monotonic() < deadline, "not ready in 60 s"
                time.sleep(0.2)
            # A second sweeper, as a second copy of the service would run, on the same database.
            processes.append(
                _start(
                    ["sweep", "--loop", "--interval", "1", "--data-dir", str(data_dir)], env, log
                )
            )
            market = {"Authorization": f"Bearer {token('integration', 'market-1')}"}
            assert client.post("/v1/webhooks", json={"url": receiver.url}, headers=market)
            answered = run_load(base)
            time.sleep(6)  # past the inactivity period: the sweepers move what went quiet

            uri = json.loads((data_dir / "server.json").read_text())["uri"]
            database.connect(uri, "resolution")
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    waiting = (
                        EventDocument.objects(fanout_at__exists=True).count()
                        + WebhookDelivery.objects(status="pending").count()
                    )
                    if waiting == 0:
                        break
                    time.sleep(0.5)
                check_invariants(answered, receiver)
            finally:
                database.disconnect()
    finally:
        for process in reversed(processes):
            _stop(process)
        receiver.close()
        log.close()


def run_load(base: str) -> dict[str, set[int]]:
    """Opens complaints and sends conflicting and repeated actions to each from many threads.

    Returns, per complaint, the versions (`ETag`s) of the writes that were answered 2xx.
    """
    buyer = {"Authorization": f"Bearer {token('buyer', 'buyer-1')}"}
    seller = {"Authorization": f"Bearer {token('seller', 'seller-1', 'shop-1')}"}
    answered: dict[str, set[int]] = defaultdict(set)

    def one(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, timeout=30) as client:

            def over(method, path, body, headers):
                return client.request(method, path, json=body, headers=headers).status_code, None

            # The marketplace registers the order first; the buyer names it.
            body = by_reference("POST", "/v1/complaints", complaint_body(f"INV-{n}"), buyer, over)
            key = {**buyer, "Idempotency-Key": f"open-{n}"}
            opened = [client.post("/v1/complaints", json=body, headers=key)]
            opened.append(client.post("/v1/complaints", json=body, headers=key))
            assert all(r.status_code == 201 for r in opened), [r.text for r in opened]
            cid = opened[0].json()["id"]
            answered[cid].add(1)
            offer = {"solution": {"kind": "refund", "amount": rng.randint(1000, 45000)}}
            path = f"/v1/complaints/{cid}"
            with ThreadPoolExecutor(4) as race:
                attempts = [
                    race.submit(client.post, f"{path}/actions/propose", json=offer, headers=seller),
                    race.submit(client.post, f"{path}/actions/propose", json=offer, headers=seller),
                    race.submit(
                        client.post, f"{path}/messages", json={"body": "Halo"}, headers=buyer
                    ),
                    race.submit(
                        client.post,
                        f"{path}/actions/appeal",
                        json={"reason": "Tidak"},
                        headers=seller,
                    ),
                ]
                results = [a.result() for a in attempts]
            for result in results:
                assert result.status_code < 500, result.text
                if result.status_code < 300:
                    answered[cid].add(int(result.headers["ETag"].strip('"')))
            if rng.random() < 0.5:
                accepted = client.post(f"{path}/actions/accept", headers=buyer)
                assert accepted.status_code < 500, accepted.text
                if accepted.status_code == 200:
                    answered[cid].add(int(accepted.headers["ETag"].strip('"')))

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(one, n) for n in range(COMPLAINTS)]:
            future.result()
    return answered


def check_invariants(answered: dict[str, set[int]], receiver: Receiver) -> None:
    deadlines = Deadlines(inactivity=parse_duration(INACTIVITY))
    assert ComplaintDocument.objects.count() == COMPLAINTS  # the retried opens made one each
    delivered = defaultdict(list)
    for payload in receiver.payloads():
        delivered[payload["complaint_id"]].append(payload["seq"])
    moved = 0
    for cid, versions in answered.items():
        events = eventstore.events_of(cid)
        seqs = [e.seq for e in events]
        assert seqs == list(range(1, len(events) + 1)), (cid, seqs)  # no gap, no double
        assert versions <= set(seqs), (cid, versions, seqs)  # every 2xx is in the log
        assert first_broken_link(events) is None
        assert eventstore.load(cid) == replay(events, deadlines)
        moved += sum(e.actor["role"] == "system" for e in events)
        # Each event reached the subscriber, in order (a repeat may follow, never precede).
        got = delivered[cid]
        assert sorted(set(got)) == seqs, (cid, got, seqs)
        for i, seq in enumerate(got):
            assert seq <= max(got[:i], default=0) + 1, (cid, got)  # never ahead of a gap
    assert moved > 0, "the sweepers should have moved complaints that went quiet"
