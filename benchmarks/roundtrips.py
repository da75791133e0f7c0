"""Database round trips per request type, counted with pymongo's command monitoring.

Run: `.venv/bin/python benchmarks/roundtrips.py` (starts a throw-away embedded database). Round
trips, not seconds: they are stable on a shared machine and they are what an action costs on the
embedded database (see ../shared/docs/library-notes.md). Requests: the complaint writes (open,
actions, a message; the accept closes it and requests its settlement), the payment system's
settlement listing and answer, a shop's figures, the reads (complaint, listing, event log,
evidence list), the audit export of one complaint (its whole body read), the webhook
subscription, listing and deliveries, and the care console's queue page (signed in as an agent).
Twice: with the rate limits off (the service's own work), then with the default limits on
(judged in the process, store/limits.py: a write costs none, except the process's first after
a quiet spell, which reads the shared counts once; the sharing thread's own commands, off the
request's path, are not counted).
"""

from __future__ import annotations

import re
import sys
import tempfile
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import monitoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resolution.config import Config, RateLimits  # noqa: E402
from resolution.store.embedded import EmbeddedServer  # noqa: E402
from resolution.web.app import create_app  # noqa: E402
from resolution.web.auth import issue_token  # noqa: E402

SECRET = "benchmark-secret-of-at-least-32-bytes"
SIGNING_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # base64 of a 32-byte seed: a test key


class Counting(monitoring.CommandListener):
    """The commands sent by the requests' thread (listeners run in the thread that sends)."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.thread = threading.current_thread()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if threading.current_thread() is self.thread:
            self.commands[event.command_name] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def main() -> None:
    listener = Counting()
    monitoring.register(listener)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        print("The service's own round trips (rate limits off), then with the default limits on:")
        counts(listener, server.uri, "bench_off", RateLimits(writes=None, uploads=None))
        print()
        counts(listener, server.uri, "bench_on", RateLimits())


def counts(listener: Counting, uri: str, db_name: str, limits: RateLimits) -> None:
    """Every request of the walk-through once, and the database commands each one sent."""
    config = Config(
        jwt_secret=SECRET,
        mongodb_uri=uri,
        db_name=db_name,
        signing_key=SIGNING_KEY,
        webhooks_allow_private=True,
        rate_limits=limits,
    )
    app = create_app(config)
    client = app.test_client()

    def bearer(role, sub, shop=None, channels=()):
        token = issue_token(SECRET, role, sub, shop, channels=channels)
        return {"Authorization": f"Bearer {token}"}

    buyer, seller = bearer("buyer", "b1"), bearer("seller", "s1", "shop-1")
    auditor = bearer("auditor", "a1")
    integration = bearer("integration", "market-1", channels=("tokopedia",))
    hook = {"url": "http://127.0.0.1:9/hooks"}
    paid = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    registered = {
        "buyer_id": "b1",
        "shop_id": "shop-1",
        "total": 100000,
        "items": [{"sku": "A", "name": "A", "qty": 1, "price": 100000}],
        "payment": {"method": "transfer", "status": "paid", "paid_at": paid},
        "held_amount": 100000,
    }
    order = {"channel": "tokopedia", "id": "INV-1"}
    body = {
        "order": order,
        "reason": "damaged",
        "description": "rusak",
        "requested_solution": {"kind": "refund", "amount": 100000},
    }
    propose = {"solution": {"kind": "refund", "amount": 50000}}
    steps = [
        ("register order", "put", "/v1/orders/tokopedia/INV-1", integration, registered, {}),
        ("register again (same)", "put", "/v1/orders/tokopedia/INV-1", integration, registered, {}),
        ("register order 2", "put", "/v1/orders/tokopedia/INV-2", integration, registered, {}),
        ("open complaint", "post", "/v1/complaints", buyer, body, {}),
        (
            "open (Idempotency-Key)",
            "post",
            "/v1/complaints",
            buyer,
            {**body, "order": {**order, "id": "INV-2"}},
            {"Idempotency-Key": "k1"},
        ),
        ("propose", "post", "/v1/complaints/{cid}/actions/propose", seller, propose, {}),
        ("message", "post", "/v1/complaints/{cid}/messages", buyer, {"body": "ok"}, {}),
        (
            "accept (If-Match)",
            "post",
            "/v1/complaints/{cid}/actions/accept",
            buyer,
            None,
            {"If-Match": '"3"'},
        ),
        (
            "order changed (open complaint)",
            "put",
            "/v1/orders/tokopedia/INV-2",
            integration,
            {**registered, "held_amount": 0},
            {},
        ),
        (
            "settlements to pay",
            "get",
            "/v1/settlements?status=requested",
            integration,
            None,
            {},
        ),
        (
            "confirm settlement",
            "post",
            "/v1/settlements/{sid}/confirm",
            integration,
            {"reference": "PAY-1"},
            {},
        ),
        (
            "confirm again (same)",
            "post",
            "/v1/settlements/{sid}/confirm",
            integration,
            {"reference": "PAY-1"},
            {},
        ),
        ("shop figures", "get", "/v1/shops/shop-1/stats", seller, None, {}),
        ("get complaint", "get", "/v1/complaints/{cid}", buyer, None, {}),
        ("list complaints", "get", "/v1/complaints?limit=20", seller, None, {}),
        (
            "change feed (marketplace)",
            "get",
            "/v1/complaints?updated_since=2025-01-01T00:00:00Z&limit=20",
            integration,
            None,
            {},
        ),
        ("get order", "get", "/v1/orders/tokopedia/INV-1", buyer, None, {}),
        ("event log", "get", "/v1/complaints/{cid}/events", buyer, None, {}),
        ("evidence list", "get", "/v1/complaints/{cid}/evidence", buyer, None, {}),
        (
            "audit export (one complaint)",
            "get",
            "/v1/audit/events?complaint_id={cid}",
            auditor,
            None,
            {},
        ),
        ("subscribe webhook", "post", "/v1/webhooks", integration, hook, {}),
        ("webhook listing", "get", "/v1/webhooks", integration, None, {}),
        ("webhook deliveries", "get", "/v1/webhooks/{wid}/deliveries", integration, None, {}),
    ]
    ids: dict[str, str] = {}
    limited = "on" if limits.enabled else "off"
    print(f"{'request (limits ' + limited + ')':28} {'round trips':>11}  commands")
    for name, method, path, auth, payload, headers in steps:
        listener.commands.clear()
        response = getattr(client, method)(
            path.format(**ids), json=payload, headers={**auth, **headers}
        )
        response.get_data()  # a streamed body (the export) reads the database as it goes
        assert response.status_code < 300, (name, response.status_code, response.text)
        if path.endswith("/v1/complaints"):
            ids.setdefault("cid", response.json["id"])
        if name == "accept (If-Match)":
            ids["sid"] = response.json["settlement"]["id"]
        if name == "subscribe webhook":
            ids["wid"] = response.json["id"]
        show(name, listener)
    # The console's queue, as a signed-in agent sees it.
    page = client.get("/console/login")
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    care_token = issue_token(SECRET, "care", "agent-1")
    signed_in = client.post(
        "/console/login", data={"csrf_token": csrf.group(1), "token": care_token}
    )
    assert signed_in.status_code in (302, 303), signed_in.status_code
    listener.commands.clear()
    queue = client.get("/console/")
    assert queue.status_code == 200, queue.status_code
    show("console queue", listener)


def show(name: str, listener: Counting) -> None:
    total = sum(listener.commands.values())
    detail = ", ".join(f"{k}×{v}" for k, v in sorted(listener.commands.items()))
    print(f"{name:28} {total:>11}  {detail}")


if __name__ == "__main__":
    main()
