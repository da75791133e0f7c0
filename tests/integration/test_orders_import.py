"""Orders registered in bulk (`resolution orders import`), and an order's change reaching a
webhook receiver."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from resolution.cli import main
from resolution.store import database
from resolution.store.documents import OrderDocument
from resolution.workers import deliverer
from tests.support.bodies import complaint_body
from tests.support.bodies import order as inline_order
from tests.support.orders import registration
from tests.support.parties import BUYER, MARKETPLACE, auth
from tests.support.receiver import Receiver


@pytest.fixture
def context(context):
    return replace(context, webhooks_allow_private=True)  # the receiver is on loopback


def line(order_id: str, **changes) -> str:
    body = registration(inline_order(order_id), "buyer-1")
    body.update(changes)
    return json.dumps({"channel": "tokopedia", "id": order_id, **body})


def test_an_import_writes_the_good_lines_and_names_each_refused_one(tmp_path, mongodb_uri, db_name):
    file = tmp_path / "orders.ndjson"
    lines = [
        line("IMP-1"),
        line("IMP-2", total=1),  # not the sum of its items
        "not json at all",
        line("IMP-3", held_amount=-5),
        "",
        line("IMP-4"),
        json.dumps({"channel": "Tokopedia", "id": "IMP-5"}),
    ]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_JWT_SECRET": "x" * 40,
    }
    try:
        result = CliRunner().invoke(main, ["orders", "import", str(file)], env=env)
        again = CliRunner().invoke(main, ["orders", "import", str(file)], env=env)
    finally:
        database.connect(mongodb_uri, db_name)  # the command disconnects the shared client
    assert result.exit_code == 1, result.output
    assert "2 created, 0 updated, 0 unchanged, 4 refused" in result.output
    for number in (2, 3, 4, 7):
        assert f"line {number}:" in result.output
    assert "is not the sum" in result.output
    stored = sorted(doc.order_id for doc in OrderDocument.objects)
    assert stored == ["IMP-1", "IMP-4"]
    assert "0 created, 0 updated, 2 unchanged, 4 refused" in again.output


def test_an_orders_change_reaches_the_complaints_webhook(client, context):
    receiver = Receiver()
    try:
        market = auth("integration", "market-hooks")
        hooked = client.post("/v1/webhooks", json={"url": receiver.url}, headers=market)
        assert hooked.status_code == 201, hooked.get_json()
        cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).get_json()["id"]
        changed = registration(inline_order("INV-1001"), "buyer-1")
        changed["held_amount"] = 50000
        put = client.put("/v1/orders/tokopedia/INV-1001", json=changed, headers=MARKETPLACE)
        assert put.status_code == 200, put.get_json()
        deliverer.run(context)
        kinds = [json.loads(body)["type"] for _, body in receiver.received]
        assert kinds == ["open", "order_updated"]
        update = json.loads(receiver.received[-1][1])
        assert update["complaint_id"] == cid
        assert update["data"]["changes"]["held_amount"] == {"before": 105000, "after": 50000}
        assert update["complaint"]["order"]["held_amount"] == 50000
    finally:
        receiver.close()
