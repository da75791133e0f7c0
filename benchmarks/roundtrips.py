"""Database round trips per request type, counted with pymongo's command monitoring.

Run: `.venv/bin/python benchmarks/roundtrips.py` (starts a throw-away embedded database).
Round trips, not seconds: they are stable on a shared machine and they are what an action
costs on the embedded database (see ../shared/docs/library-notes.md).
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

from pymongo import monitoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resolution.api import create_app  # noqa: E402
from resolution.api.auth import issue_token  # noqa: E402
from resolution.config import Config  # noqa: E402
from resolution.store.embedded import EmbeddedServer  # noqa: E402

SECRET = "benchmark-secret-of-at-least-32-bytes"


class Counting(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands[event.command_name] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def main() -> None:
    listener = Counting()
    monitoring.register(listener)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(tmp, in_memory=True) as server:
        app = create_app(Config(jwt_secret=SECRET, mongodb_uri=server.uri, db_name="bench"))
        client = app.test_client()

        def bearer(role, sub, shop=None):
            return {"Authorization": f"Bearer {issue_token(SECRET, role, sub, shop)}"}

        buyer, seller = bearer("buyer", "b1"), bearer("seller", "s1", "shop-1")
        order = {
            "id": "INV-1",
            "shop_id": "shop-1",
            "channel": "tokopedia",
            "total": 100000,
            "items": [{"sku": "A", "name": "A", "qty": 1, "price": 100000}],
            "paid_at": "2025-06-01T10:00:00+07:00",
        }
        body = {
            "order": order,
            "reason": "damaged",
            "description": "rusak",
            "requested_solution": {"kind": "refund", "amount": 100000},
        }
        propose = {"solution": {"kind": "refund", "amount": 50000}}
        steps = [
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
            ("get complaint", "get", "/v1/complaints/{cid}", buyer, None, {}),
            ("list complaints", "get", "/v1/complaints?limit=20", seller, None, {}),
            ("event log", "get", "/v1/complaints/{cid}/events", buyer, None, {}),
        ]
        cid = None
        print(f"{'request':28} {'round trips':>11}  commands")
        for name, method, path, auth, payload, headers in steps:
            listener.commands.clear()
            response = getattr(client, method)(
                path.format(cid=cid), json=payload, headers={**auth, **headers}
            )
            assert response.status_code < 300, (name, response.status_code, response.json)
            cid = cid or response.json["id"]
            total = sum(listener.commands.values())
            detail = ", ".join(f"{k}×{v}" for k, v in sorted(listener.commands.items()))
            print(f"{name:28} {total:>11}  {detail}")


if __name__ == "__main__":
    main()
