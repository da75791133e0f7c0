"""A webhook's deliveries page (store.webhooks.deliveries_page): newest first by creation,
read in windows of `created_at`, each delivery once across pages while deliveries are queued
between them; a cursor that is not one of the subscription's deliveries is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import _data
from resolution.domain.actors import Actor, Role
from resolution.domain.errors import BadCursor, NotFound
from resolution.service import Context, webhooks
from resolution.store.documents import WebhookDelivery, WebhookSubscription
from tests.support.parties import MARKETPLACE

NOW = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)
OWNER = Actor(Role.INTEGRATION, _data.INTEGRATOR)
OTHER_SUBSCRIPTION = "5f0000000000000000000002"


def _ctx(now: datetime = NOW) -> Context:
    return Context(clock=lambda: now, signing_key=Ed25519PrivateKey.generate())


def _subscriptions() -> None:
    for id_, owner in ((_data.SUBSCRIPTION, _data.INTEGRATOR), (OTHER_SUBSCRIPTION, "other")):
        WebhookSubscription._get_collection().insert_one(
            {"_id": id_, "owner": owner, "url": "https://x.example/h", "types": [], "secrets": []}
        )


def _queue(ages_ms: list[int], first: int, subscription: str = _data.SUBSCRIPTION) -> list[dict]:
    docs = []
    for k, age in enumerate(ages_ms):
        n = first + k
        doc = _data.delivery(n, str(ObjectId()), NOW - timedelta(milliseconds=age))
        doc |= {"subscription_id": subscription, "status": ("delivered", "pending", "dead")[n % 3]}
        docs.append(doc)
    if docs:
        WebhookDelivery._get_collection().insert_many(docs)
    return docs


AGES = st.one_of(
    st.sampled_from([0, 1, 1000]),
    st.integers(0, 600_000),
    st.integers(0, 90 * 86_400_000),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ages=st.lists(AGES, max_size=60),
    limits=st.lists(st.integers(1, 9), min_size=1, max_size=10),
    status=st.sampled_from([None, "delivered", "pending", "dead"]),
    queued_between=st.lists(st.integers(0, 3), max_size=10),
)
def test_pages_hold_each_delivery_once_newest_first(db_name, ages, limits, status, queued_between):
    WebhookDelivery._get_collection().delete_many({})
    WebhookSubscription._get_collection().delete_many({})
    _subscriptions()
    docs = _queue(ages, 0)
    _queue([0, 5, 10], 500, OTHER_SUBSCRIPTION)  # another subscription's: never shown
    wanted = [d for d in docs if status in (None, d["status"])]
    expected = [d["_id"] for d in sorted(wanted, key=lambda d: (d["created_at"], d["_id"]))]
    expected.reverse()
    seen, cursor, made = [], None, len(ages)
    for number in range(200):
        limit = limits[number % len(limits)]
        page, cursor = webhooks.deliveries(
            _ctx(), OWNER, _data.SUBSCRIPTION, status=status, limit=limit, cursor=cursor
        )
        assert all("payload" not in d for d in page)
        seen += [d["_id"] for d in page]
        if cursor is None:
            break
        assert len(page) == limit
        # Queued since the first page: newer than every cursor, so on no later page.
        more = queued_between[number % len(queued_between)] if queued_between else 0
        _queue([0] * more, 1000 + made)
        made += more
    assert seen == expected


def test_a_cursor_not_of_this_subscription_is_refused(db_name):
    _subscriptions()
    _queue([1, 2, 3], 0)
    theirs = _queue([1], 10, OTHER_SUBSCRIPTION)[0]["_id"]
    for cursor in (theirs, "0" * 24):
        with pytest.raises(BadCursor):
            webhooks.deliveries(_ctx(), OWNER, _data.SUBSCRIPTION, cursor=cursor)
    with pytest.raises(NotFound):  # not the caller's subscription: as before
        webhooks.deliveries(_ctx(), OWNER, OTHER_SUBSCRIPTION)


def test_the_api_answers_a_foreign_cursor_with_a_400_bad_cursor(client):
    _subscriptions()  # the first is market-1's: MARKETPLACE's token
    theirs = _queue([1], 10, OTHER_SUBSCRIPTION)[0]["_id"]
    url = f"/v1/webhooks/{_data.SUBSCRIPTION}/deliveries?cursor={theirs}"
    answer = client.get(url, headers=MARKETPLACE)
    assert answer.status_code == 400, answer.get_json()
    assert answer.content_type == "application/problem+json"
    assert answer.get_json()["type"] == "/problems/bad-cursor"
