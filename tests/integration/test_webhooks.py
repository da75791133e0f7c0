"""Webhooks end to end: the API subscribes, actions commit, the deliverer POSTs to a real
HTTP receiver on loopback; signatures are checked with the README's own example."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from resolution.service.sweeper import sweep
from resolution.store.documents import EventDocument, WebhookDelivery
from resolution.web.app import create_app
from resolution.workers import deliverer
from tests.support.bodies import complaint_body
from tests.support.http import act
from tests.support.parties import BUYER, CARE, SELLER, auth
from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
MARKET = auth("integration", "market-1")
OTHER_MARKET = auth("integration", "market-2")


def readme_verify():
    """The verification function the README gives receivers, run as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(def verify\(.*?)```", readme, re.S).group(1)
    namespace: dict = {}
    exec("import hashlib, hmac, time\n" + code, namespace)  # noqa: S102 - our README, under test
    return namespace["verify"]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def context(context):
    return replace(context, webhooks_allow_private=True)


def subscribe(client, url, who=MARKET, **body):
    response = client.post("/v1/webhooks", json={"url": url, **body}, headers=who)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def a_lifecycle(client) -> str:
    cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).get_json()["id"]
    act(client, cid, "propose", SELLER, {"solution": {"kind": "refund", "amount": 30000}})
    message = {"body": "Boleh ditambah?"}
    assert client.post(f"/v1/complaints/{cid}/messages", json=message, headers=BUYER).status_code
    act(client, cid, "escalate", BUYER, {"reason": "Tidak sepakat."})
    act(client, cid, "assign", CARE)
    act(
        client,
        cid,
        "decide",
        CARE,
        {
            "solution": {"kind": "refund", "amount": 45000},
            "reason_code": "other",
            "rationale": "Foto jelas.",
        },
    )
    return cid


def test_every_event_arrives_once_in_order_signed(client, context, receiver):
    sub = subscribe(client, receiver.url)
    assert sub["secret"].startswith("whsec_") and sub["types"] == [] and sub["channel"] is None
    cid = a_lifecycle(client)
    done = deliverer.run(context)
    assert done.delivered == 6 and done.failed == 0
    got = receiver.payloads()
    assert [(p["complaint_id"], p["seq"]) for p in got] == [(cid, n) for n in range(1, 7)]
    types = ["open", "propose", "message", "escalate", "assign", "decide"]
    assert [p["type"] for p in got] == types
    verify = readme_verify()
    for headers, body in receiver.received:
        assert verify(sub["secret"], body, headers["Resolution-Signature"], tolerance=10**10)
        assert headers["Resolution-Delivery"] == json.loads(body)["id"]
        assert headers["Resolution-Event"] == json.loads(body)["type"]
        assert not verify("whsec_wrong", body, headers["Resolution-Signature"], 10**10)
        tampered = body.replace(b'"seq":', b'"seq": ')
        assert not verify(sub["secret"], tampered, headers["Resolution-Signature"], 10**10)
    last = got[-1]
    assert last["type"] == "decide" and last["complaint"]["state"] == "closed"
    assert last["complaint"]["version"] == 6 and last["complaint"]["allowed_actions"] == []
    assert "care_due_at" not in last["complaint"]
    # The complaint as each event left it, not as it is now.
    assert got[0]["complaint"]["state"] == "awaiting_seller" and got[0]["complaint"]["version"] == 1
    # Nothing left to send; a second pass sends nothing again.
    assert deliverer.run(context).delivered == 0 and len(receiver.received) == 6
    assert EventDocument.objects(fanout_at__exists=True).count() == 0


def test_a_failing_receiver_gets_everything_later_in_order(client, context, clock, receiver):
    # Delivered ones are listed at the end: stamped at the real time, the TTL monitor (30 days
    # after `delivered_at`, by the database's clock) cannot take them away mid-test.
    clock.now = datetime.now(UTC)
    subscribe(client, receiver.url)
    cid = a_lifecycle(client)
    receiver.failures = 2
    first = deliverer.run(context)
    assert first.delivered == 0 and first.failed == 1  # the first event failed; the rest wait
    clock.advance(seconds=5)
    figures = client.get("/metrics").get_data(as_text=True)
    assert 'resolution_webhook_deliveries{status="pending"} 6.0' in figures
    assert "resolution_webhook_failing_deliveries 1.0" in figures
    assert "resolution_webhook_oldest_pending_seconds 5.0" in figures
    assert "resolution_webhook_outbox 0.0" in figures
    clock.advance(seconds=30)
    second = deliverer.run(context)
    assert second.failed == 1 and second.delivered == 0
    clock.advance(minutes=5)
    third = deliverer.run(context)
    assert third.delivered == 6
    assert [p["seq"] for p in receiver.payloads()] == list(range(1, 7))
    assert {p["complaint_id"] for p in receiver.payloads()} == {cid}
    listing = client.get(f"/v1/webhooks/{receiver_sub(client)}/deliveries", headers=MARKET)
    items = listing.get_json()["items"]
    assert len(items) == 6 and all(i["status"] == "delivered" for i in items)
    assert max(i["attempts"] for i in items) == 3


def receiver_sub(client) -> str:
    return client.get("/v1/webhooks", headers=MARKET).get_json()["items"][0]["id"]


def test_a_slow_complaint_does_not_hold_up_another(client, context, clock, receiver):
    subscribe(client, receiver.url)
    first = client.post("/v1/complaints", json=complaint_body("INV-1"), headers=BUYER)
    deliverer.run(context)
    receiver.failures = 1
    second = client.post("/v1/complaints", json=complaint_body("INV-2"), headers=BUYER)
    act(
        client,
        first.get_json()["id"],
        "propose",
        SELLER,
        {"solution": {"kind": "refund", "amount": 1000}},
    )
    done = deliverer.run(context)
    assert done.failed == 1 and done.delivered == 1  # one failed; the other complaint went on
    seen = [(p["complaint_id"], p["seq"]) for p in receiver.payloads()]
    assert len(seen) == 2
    clock.advance(minutes=1)
    deliverer.run(context)
    ids = {p["complaint_id"] for p in receiver.payloads()}
    assert ids == {first.get_json()["id"], second.get_json()["id"]}


def test_dead_letters_after_three_days_and_redelivery(client, context, clock, receiver):
    sub = subscribe(client, receiver.url)
    client.post("/v1/complaints", json=complaint_body(), headers=BUYER)
    receiver.failures = 10**6
    deliverer.run(context)
    for _ in range(40):
        clock.advance(hours=6)
        if deliverer.run(context).dead:
            break
    (dead,) = client.get(
        f"/v1/webhooks/{sub['id']}/deliveries?status=dead", headers=MARKET
    ).get_json()["items"]
    assert dead["attempts"] > 5 and dead["last_status_code"] == 503
    assert dead["next_attempt_at"] is None
    receiver.failures = 0
    again = client.post(
        f"/v1/webhooks/{sub['id']}/deliveries/{dead['id']}/redeliver", headers=MARKET
    )
    assert again.status_code == 202 and again.get_json()["status"] == "pending"
    assert deliverer.run(context).delivered == 1
    assert receiver.payloads()[0]["id"] == dead["id"]


def test_filters_and_subscriptions_made_later(client, context, receiver):
    early = client.post("/v1/complaints", json=complaint_body("INV-0"), headers=BUYER)
    assert early.status_code == 201
    subscribe(client, receiver.url, types=["propose"], channel="tokopedia")
    other = Receiver()
    try:
        subscribe(client, other.url, who=OTHER_MARKET, channel="tiktok_shop")
        cid = client.post("/v1/complaints", json=complaint_body("INV-9"), headers=BUYER)
        act(
            client,
            cid.get_json()["id"],
            "propose",
            SELLER,
            {"solution": {"kind": "refund", "amount": 1000}},
        )
        deliverer.run(context)
        assert [p["type"] for p in receiver.payloads()] == ["propose"]
        assert other.received == []
    finally:
        other.close()


def test_rotating_the_secret_keeps_both_valid_for_a_while(client, context, clock, receiver):
    sub = subscribe(client, receiver.url)
    rotated = client.post(f"/v1/webhooks/{sub['id']}/rotate-secret", headers=MARKET)
    assert rotated.status_code == 200
    new = rotated.get_json()
    assert new["secret"] != sub["secret"] and new["previous_secret_expires_at"]
    client.post("/v1/complaints", json=complaint_body("INV-1"), headers=BUYER)
    deliverer.run(context)
    verify = readme_verify()
    headers, body = receiver.received[-1]
    for secret in (sub["secret"], new["secret"]):
        assert verify(secret, body, headers["Resolution-Signature"], tolerance=10**10)
    clock.advance(hours=25)
    client.post("/v1/complaints", json=complaint_body("INV-2"), headers=BUYER)
    deliverer.run(context)
    headers, body = receiver.received[-1]
    assert verify(new["secret"], body, headers["Resolution-Signature"], tolerance=10**10)
    assert not verify(sub["secret"], body, headers["Resolution-Signature"], tolerance=10**10)


def test_who_manages_webhooks(client, receiver):
    assert client.post("/v1/webhooks", json={"url": receiver.url}, headers=BUYER).status_code == 403
    assert client.get("/v1/webhooks", headers=CARE).status_code == 403
    # The marketplace reads complaints (of its channels: none, for a token naming none) ...
    assert client.get("/v1/complaints", headers=MARKET).get_json()["items"] == []
    # ... and acts on none.
    assert client.post("/v1/complaints", json={}, headers=MARKET).status_code == 403
    assert client.get("/v1/webhooks").status_code == 401
    sub = subscribe(client, receiver.url)
    assert "secret" not in client.get(f"/v1/webhooks/{sub['id']}", headers=MARKET).get_json()
    assert client.get(f"/v1/webhooks/{sub['id']}", headers=OTHER_MARKET).status_code == 404
    assert client.delete(f"/v1/webhooks/{sub['id']}", headers=OTHER_MARKET).status_code == 404
    assert client.delete(f"/v1/webhooks/{sub['id']}", headers=MARKET).status_code == 204
    assert client.get("/v1/webhooks", headers=MARKET).get_json()["items"] == []
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://localhost:8080/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "not a url",
    ],
)
def test_private_and_odd_targets_are_refused(config, clock, url):
    # The app as configured in production: no RESOLUTION_WEBHOOK_ALLOW_PRIVATE.
    from resolution.service import Context

    app = create_app(config, context=Context(clock=clock))
    response = app.test_client().post("/v1/webhooks", json={"url": url}, headers=MARKET)
    assert response.status_code == 422, (url, response.get_json())
    assert response.mimetype == "application/problem+json"


def test_a_retried_subscribe_makes_one_subscription(client, receiver):
    key = {**MARKET, "Idempotency-Key": "sub-1"}
    first = client.post("/v1/webhooks", json={"url": receiver.url}, headers=key)
    again = client.post("/v1/webhooks", json={"url": receiver.url}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(client.get("/v1/webhooks", headers=MARKET).get_json()["items"]) == 1
    other = client.post("/v1/webhooks", json={"url": receiver.url + "/x"}, headers=key)
    assert other.status_code == 422


def test_the_readme_receiver_takes_every_change_once(client, context, clock):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(import json\nfrom http.server.*?)```", readme, re.S).group(1)
    namespace: dict = {"verify": readme_verify()}
    exec(code, namespace)  # noqa: S102 - our README, under test
    server = ThreadingHTTPServer(("127.0.0.1", 0), namespace["Hooks"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hooks"
        namespace["SECRET"] = subscribe(client, url)["secret"]
        # The receiver checks freshness against its own clock: deliver at the real time.
        clock.now = datetime.now(UTC)
        cid = a_lifecycle(client)
        assert deliverer.run(context).delivered == 6
        # A redelivery (the receiver's answer got lost) is taken once.
        sub = client.get("/v1/webhooks", headers=MARKET).get_json()["items"][0]["id"]
        first = client.get(f"/v1/webhooks/{sub}/deliveries", headers=MARKET).get_json()["items"][-1]
        client.post(f"/v1/webhooks/{sub}/deliveries/{first['id']}/redeliver", headers=MARKET)
        assert deliverer.run(context).delivered == 1
        assert len(namespace["seen"]) == 6
        # A forged delivery is refused.
        forged = httpx.post(
            url, content=b'{"id": "x"}', headers={"Resolution-Signature": "t=1,v1=00"}
        )
        assert forged.status_code == 401
        assert cid
    finally:
        server.shutdown()
        server.server_close()


def test_the_payment_system_is_told_each_settlement_step(client, context, clock, receiver):
    """Subscribed to the settlement's steps only, the payment system gets the request when the
    decision's review window closes, then each answer and care's retry, in order."""
    steps = ["settlement_requested", "settlement_failed", "settlement_retried"]
    subscribe(client, receiver.url, types=[*steps, "settlement_confirmed"])
    cid = a_lifecycle(client)
    assert deliverer.run(context).delivered == 0  # held for the review window: nothing to pay
    decided = client.get(f"/v1/complaints/{cid}", headers=BUYER).get_json()
    clock.now = datetime.fromisoformat(decided["review_until"])
    assert sweep(context, clock.now)["settlement_requested"] == 1
    assert deliverer.run(context).delivered == 1
    (asked,) = receiver.payloads()
    assert asked["type"] == "settlement_requested"
    settlement = asked["complaint"]["settlement"]
    assert (settlement["to_buyer"], settlement["to_seller"]) == (45000, 60000)
    assert asked["complaint"]["resolution"]["reason_label"]["id"]  # both languages travel

    market = auth("integration", "payments", channels=("tokopedia",))
    sid = settlement["id"]
    failed = client.post(f"/v1/settlements/{sid}/fail", json={"reason": "Ditolak."}, headers=market)
    assert failed.status_code == 200
    assert client.post(f"/v1/settlements/{sid}/retry", json={}, headers=CARE).status_code == 200
    paid = client.post(f"/v1/settlements/{sid}/confirm", json={"reference": "P-1"}, headers=market)
    assert paid.status_code == 200
    assert deliverer.run(context).delivered == 3
    got = receiver.payloads()
    assert [p["type"] for p in got] == [*steps, "settlement_confirmed"]
    assert got[-1]["data"] == {"settlement_id": sid, "attempt": 2, "reference": "P-1"}
    assert got[-1]["complaint"]["settlement"]["status"] == "confirmed"
    assert [p["seq"] for p in got] == sorted(p["seq"] for p in got)
