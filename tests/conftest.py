"""Shared fixtures: one embedded database server per test session, a fresh database per test.

Tests talk to the real server over TCP, never to an in-process fake. With MONGODB_URI set,
they run against that server instead.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from resolution.config import Config
from resolution.service import Context
from resolution.store import database
from resolution.store.embedded import EmbeddedServer
from resolution.web.app import create_app
from resolution.web.auth import issue_token

SECRET = "test-secret-of-at-least-32-bytes-long"
_db_numbers = itertools.count()


class Clock:
    """A clock the test moves by hand: no test sleeps to wait for a deadline."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory) -> Iterator[str]:
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    with EmbeddedServer(tmp_path_factory.mktemp("db"), in_memory=True) as server:
        yield server.uri


@pytest.fixture
def db_name(mongodb_uri: str) -> Iterator[str]:
    """A fresh database for this test, dropped afterwards."""
    name = f"test_{os.getpid()}_{next(_db_numbers)}"
    database.connect(mongodb_uri, name)
    yield name
    from resolution.store.documents import ComplaintDocument

    database.connect(mongodb_uri, name)  # again: a CLI command under test may have disconnected
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))


@pytest.fixture
def config(mongodb_uri: str, db_name: str) -> Config:
    return Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=db_name)


SIGNING_KEY = Ed25519PrivateKey.generate()  # a throw-away key: tests sign their exports


@pytest.fixture
def context(config: Config, clock: Clock) -> Context:
    return Context(clock=clock, deadlines=config.deadlines, signing_key=SIGNING_KEY)


@pytest.fixture
def app(config: Config, context: Context):
    return create_app(config, context=context)


@pytest.fixture
def client(app):
    return app.test_client()


def token(role: str, sub: str, shop_id: str | None = None) -> str:
    return issue_token(SECRET, role, sub, shop_id)


def auth(role: str, sub: str, shop_id: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, sub, shop_id)}"}


BUYER = auth("buyer", "buyer-1")
OTHER_BUYER = auth("buyer", "buyer-2")
SELLER = auth("seller", "seller-1", "shop-1")
OTHER_SELLER = auth("seller", "seller-9", "shop-9")
CARE = auth("care", "agent-1")
CARE_2 = auth("care", "agent-2")
AUDITOR = auth("auditor", "auditor-1")


def order(order_id: str = "INV-1001", **overrides) -> dict:
    return {
        "id": order_id,
        "shop_id": "shop-1",
        "channel": "tokopedia",
        "total": 105000,
        "items": [
            {"sku": "KAOS-M", "name": "Kaos polos M", "qty": 2, "price": 45000},
            {"sku": "TOPI", "name": "Topi", "qty": 1, "price": 15000},
        ],
        "paid_at": "2025-06-01T08:00:00+07:00",
        **overrides,
    }


def complaint_body(order_id: str = "INV-1001", **overrides) -> dict:
    return {
        "order": order(order_id),
        "reason": "damaged",
        "description": "Kaosnya robek di jahitan.",
        "requested_solution": {"kind": "refund", "amount": 45000},
        **overrides,
    }


# --- what is stored, for "a refused request changes nothing" ----------------------------------


def stored(names: tuple[str, ...] | None = None) -> dict[str, list[dict]]:
    """Every document of each collection (all but `system.*` unless named), in `_id` order."""
    from resolution.store.documents import ComplaintDocument

    db = ComplaintDocument._get_db()
    if names is None:
        names = tuple(n for n in sorted(db.list_collection_names()) if not n.startswith("system."))
    return {name: list(db[name].find({}, sort=[("_id", 1)])) for name in names}


def _expired(db, name: str) -> Callable[[dict], bool]:
    """Whether the database's TTL monitor may delete this document of `name` now."""
    limits = [
        (spec["key"][0][0], timedelta(seconds=spec["expireAfterSeconds"]))
        for spec in db[name].index_information().values()
        if "expireAfterSeconds" in spec
    ]
    now = datetime.now(UTC)

    def expired(doc: dict) -> bool:
        for field, ttl in limits:
            at = doc.get(field)
            if isinstance(at, datetime) and at.replace(tzinfo=at.tzinfo or UTC) + ttl < now:
                return True
        return False

    return expired


def assert_unchanged(before: dict[str, list[dict]]) -> None:
    """What is stored now is `before`, but for documents the TTL monitor removed meanwhile.

    The tests' clock stands in 2025, so every idempotency record (and delivered webhook) they
    write is already past its TTL in real time: the database's monitor (once a minute, on
    MongoDB and on SecantusDB alike) may delete it between two snapshots. Such a removal is
    the database's doing; anything else that differs is the request's.
    """
    from resolution.store.documents import ComplaintDocument

    db = ComplaintDocument._get_db()
    after = stored(tuple(before))
    for name, docs in before.items():
        left = {doc["_id"] for doc in after[name]}
        expired = _expired(db, name)
        before = {**before, name: [d for d in docs if d["_id"] in left or not expired(d)]}
    assert after == before


def restore(baseline: dict[str, list[dict]]) -> None:
    """Put every collection of `baseline` back as it was (a module-shared database's reset)."""
    from resolution.store.documents import ComplaintDocument

    db = ComplaintDocument._get_db()
    for name in db.list_collection_names():
        if not name.startswith("system."):
            db[name].delete_many({})
            if baseline.get(name):
                db[name].insert_many(baseline[name])


def png(color: str = "black", side: int = 4) -> bytes:
    """A small, real PNG: the service reads a file's type from its bytes."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (side, side), color).save(out, "PNG")
    return out.getvalue()
