"""Care's listing of every complaint, read in windows of `created_at` (listings.newest_page):
newest first, and its pages never repeat or skip a complaint, while complaints are opened
and changed between pages and during them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import _data
from resolution.domain.actors import Actor, Role
from resolution.domain.errors import Invalid
from resolution.service import Context
from resolution.service import complaints as service
from resolution.store.documents import ComplaintDocument

CARE = Actor(Role.CARE, "agent-1")
NOW = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)


def _store(numbers_and_instants) -> list[tuple[datetime, str]]:
    docs = []
    for n, at in numbers_and_instants:
        doc = _data.complaint(n)
        doc["created_at"] = doc["updated_at"] = at
        docs.append(doc)
    if docs:
        ComplaintDocument._get_collection().insert_many(docs)
    return [(doc["created_at"], doc["_id"]) for doc in docs]


def _ids(complaints) -> list[str]:
    return [c.id for c in complaints]


# Ages in milliseconds before NOW: many at the same instant, some in bursts, some years old.
AGES = st.one_of(
    st.sampled_from([0, 1, 2, 1000]),
    st.integers(0, 10 * 60_000),
    st.integers(0, 3 * 365 * 86_400_000),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ages=st.lists(AGES, max_size=60),
    limits=st.lists(st.integers(1, 7), min_size=1, max_size=30),
    opened_between=st.lists(st.integers(0, 3), max_size=30),
)
def test_pages_hold_each_complaint_once_newest_first(db_name, ages, limits, opened_between):
    ComplaintDocument._get_collection().delete_many({})
    at = [NOW - timedelta(milliseconds=age) for age in ages]
    existing = _store(enumerate(at))
    expected = [id_ for _, id_ in sorted(existing, reverse=True)]
    clock = {"now": NOW}
    ctx = Context(clock=lambda: clock["now"], signing_key=Ed25519PrivateKey.generate())
    seen, cursor, n = [], None, len(ages)
    for page_number in range(200):
        limit = limits[page_number % len(limits)]
        page, cursor = service.list_complaints(ctx, CARE, limit=limit, cursor=cursor)
        assert len(page) <= limit
        assert [(c.created_at, c.id) for c in page] == sorted(
            ((c.created_at, c.id) for c in page), reverse=True
        )
        seen += _ids(page)
        if cursor is None:
            break
        assert len(page) == limit
        # Between pages: new complaints (at the clock's instant, which moves on or not) and
        # changes to old ones.
        opened = opened_between[page_number % len(opened_between)] if opened_between else 0
        clock["now"] += timedelta(milliseconds=page_number % 2)
        _store((n + k, clock["now"]) for k in range(opened))
        n += opened
        ComplaintDocument._get_collection().update_many(
            {}, {"$set": {"updated_at": clock["now"], "state": "closed"}}
        )
    assert len(seen) == len(set(seen)), "a complaint came twice"
    assert [id_ for id_ in seen if id_ in set(expected)] == expected


def test_pages_while_complaints_are_opened_concurrently(db_name):
    _store((n, NOW - timedelta(seconds=7 * n)) for n in range(300))
    expected = [c.id for c in ComplaintDocument.objects.order_by("-created_at", "-_id")]
    ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
    stop = threading.Event()

    def open_more() -> None:
        n = 1000
        while not stop.is_set():
            _store([(n, NOW)])  # opened now: at the front, never in a page already read
            n += 1

    writer = threading.Thread(target=open_more)
    writer.start()
    try:
        seen, cursor = [], None
        while True:
            page, cursor = service.list_complaints(ctx, CARE, limit=13, cursor=cursor)
            seen += _ids(page)
            if cursor is None:
                break
    finally:
        stop.set()
        writer.join()
    assert len(seen) == len(set(seen))
    assert [id_ for id_ in seen if id_ in set(expected)] == expected


@pytest.mark.parametrize(
    "cursor",
    [
        "6b160686b2e91579106c60ae",  # a filtered listing's
        "u1749351600000.6b160686b2e91579106c60ae",  # a change feed's
        "n999999999999999.6b160686b2e91579106c60ae",  # past the year 9999
    ],
)
def test_a_cursor_of_another_listing_or_tampered_is_refused(db_name, cursor):
    ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
    with pytest.raises(Invalid):
        service.list_complaints(ctx, CARE, cursor=cursor)


def test_a_cursor_of_every_complaint_is_refused_by_a_filtered_listing(db_name):
    ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
    with pytest.raises(Invalid):
        service.list_complaints(
            ctx, CARE, state="closed", cursor="n1749351600000.6b160686b2e91579106c60ae"
        )


def test_over_http_a_foreign_cursor_is_a_problem_and_pages_chain(client):
    from tests.support.bodies import complaint_body
    from tests.support.parties import BUYER
    from tests.support.parties import CARE as CARE_HEADERS

    for n in range(3):
        opened = client.post("/v1/complaints", json=complaint_body(f"INV-W{n}"), headers=BUYER)
        assert opened.status_code == 201, opened.get_json()
    first = client.get("/v1/complaints?limit=2", headers=CARE_HEADERS).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"].startswith("n")
    rest = client.get(
        f"/v1/complaints?limit=2&cursor={first['next_cursor']}", headers=CARE_HEADERS
    ).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    for cursor, query in (
        (first["items"][0]["id"], ""),  # a filtered listing's cursor, unfiltered
        (first["next_cursor"], "&state=awaiting_seller"),  # this one's, filtered
        ("n999999999999999." + first["items"][0]["id"], ""),  # no such instant
    ):
        refused = client.get(f"/v1/complaints?cursor={cursor}{query}", headers=CARE_HEADERS)
        # The house's status for bad input in a request: 422 `invalid` (as the feed's cursor).
        assert refused.status_code == 422, refused.get_json()
        assert refused.headers["Content-Type"] == "application/problem+json"
