"""Hostile and malformed requests: each one a clear 4xx problem, and none changes stored data.

Every case sends one request against a database that already holds a complaint (opened with an
Idempotency-Key, so all three collections have documents: see `shared`), then checks the
status, that the answer is `application/problem+json` with `type`, `title`, `status` and
`detail` (and `errors` for a 422), and that a snapshot of every collection is the same before
and after. The cases are built with tests/support/hostile.py.

Cases marked `xfail(strict=True)` are real bugs found by these tests: see each `reason`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from resolution.config import Config
from resolution.service import Context
from resolution.store import database
from resolution.store.documents import ComplaintDocument
from resolution.web.app import create_app
from tests.support.bodies import complaint_body
from tests.support.bodies import order as complaint_order
from tests.support.clock import Clock
from tests.support.orders import registration
from tests.support.parties import BUYER, MARKETPLACE, SECRET
from tests.support.snapshots import restore, stored

# --- the stored complaint -------------------------------------------------------------------------
#
# Creating a database per case would cost most of the time budget, and a hostile request must
# not change anything anyway: so each module shares one database, every test compares the whole
# of it before and after, and puts back the baseline when a (buggy) request changed it. The
# database is named after the module: its name is also the key of the callers' rate-limit
# counts, which then stay the module's own (buyer-1 writes at most 82 times in one module, the
# limit being 120 a minute; the four modules together would reach 121).


@pytest.fixture(scope="module")
def shared(mongodb_uri: str, request) -> Iterator[tuple]:
    """One app on one fresh database holding a complaint of buyer-1 at shop-1 and its id, and
    another order of buyer-1's (INV-2002), registered with no complaint.

    The complaint awaits the seller; it was opened with an Idempotency-Key and carries a
    message, so the complaints, events and idempotency collections all hold documents.
    """
    name = f"test_{os.getpid()}_{request.module.__name__}"
    config = Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=name)
    clock = Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))
    app = create_app(config, context=Context(clock=clock, deadlines=config.deadlines))
    client = app.test_client()
    opened = client.post(
        "/v1/complaints", json=complaint_body(), headers={**BUYER, "Idempotency-Key": "open-1"}
    )
    assert opened.status_code == 201, opened.get_data(as_text=True)
    complaint_id = opened.get_json()["id"]
    reply = client.post(
        f"/v1/complaints/{complaint_id}/messages", json={"body": "Ada kabar?"}, headers=BUYER
    )
    assert reply.status_code == 201, reply.get_data(as_text=True)
    # The order the hostile openings name, registered (and no complaint on it yet).
    order = registration(complaint_order("INV-2002"), "buyer-1")
    put = client.put("/v1/orders/tokopedia/INV-2002", json=order, headers=MARKETPLACE)
    assert put.status_code == 201, put.get_data(as_text=True)
    yield client, complaint_id, stored()
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


@pytest.fixture
def client(shared):
    """The shared app's test client; the database is back at its baseline after each test."""
    test_client, _, baseline = shared
    yield test_client
    if stored() != baseline:
        restore(baseline)


@pytest.fixture
def cid(shared) -> str:
    return shared[1]
