"""The complaint listings, each read in windows of its order's instant (listings.window_page):
care's listing of every complaint, a seller's, a marketplace's channel (newest first, by
`created_at`), and the change feed (least recently changed first, by `updated_at`). Their
pages never repeat or skip a complaint while complaints are opened and changed between pages
and during them; a cursor is good for the listing that gave it only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import _data
from resolution.domain.actors import Actor, Role
from resolution.domain.errors import BadCursor
from resolution.service import Context
from resolution.service import complaints as service
from resolution.store.documents import ComplaintDocument

CARE = Actor(Role.CARE, "agent-1")
SELLER = Actor(Role.SELLER, "seller-p", "shop-p")
MARKET = Actor(Role.INTEGRATION, "market-1", channels=frozenset({"tokopedia", "shopee"}))
NOW = datetime(2025, 6, 8, 3, 0, tzinfo=UTC)

# Each listing: who asks, with what filters; the complaints with an even number are the
# listing's (the seller's shop, the channel asked for), the odd ones another shop's, on
# another channel (care sees them all).
LISTINGS = {
    "care": (CARE, {}),
    "seller": (SELLER, {}),
    "channel": (MARKET, {"channel": "tokopedia"}),
    # No index holds both fields: the windows of `by_channel`, the state checked on each.
    "channel, state": (MARKET, {"channel": "tokopedia", "state": "closed"}),
}


def _store(numbers_and_instants, updated=None) -> list[dict]:
    docs = []
    for n, at in numbers_and_instants:
        doc = _data.complaint(n)
        doc["created_at"] = at
        doc["updated_at"] = updated(n) if updated else at
        doc["shop_id"] = "shop-p" if n % 2 == 0 else "shop-q"
        doc["channel"] = "tokopedia" if n % 2 == 0 else "shopee"
        docs.append(doc)
    if docs:
        ComplaintDocument._get_collection().insert_many(docs)
    return docs


def _listed(listing: str, docs: list[dict]) -> list[dict]:
    state = LISTINGS[listing][1].get("state")
    return [
        doc
        for doc in docs
        if (listing == "care" or doc["shop_id"] == "shop-p") and state in (None, doc["state"])
    ]


def _ids(complaints) -> list[str]:
    return [c.id for c in complaints]


def _ctx(clock) -> Context:
    return Context(clock=lambda: clock["now"], signing_key=Ed25519PrivateKey.generate())


# Ages in milliseconds before NOW: many at the same instant, some in bursts, some years old.
AGES = st.one_of(
    st.sampled_from([0, 1, 2, 1000]),
    st.integers(0, 10 * 60_000),
    st.integers(0, 3 * 365 * 86_400_000),
)


@pytest.mark.parametrize("listing", list(LISTINGS))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ages=st.lists(AGES, max_size=60),
    limits=st.lists(st.integers(1, 7), min_size=1, max_size=30),
    opened_between=st.lists(st.integers(0, 3), max_size=30),
)
def test_pages_hold_each_complaint_once_newest_first(
    db_name, listing, ages, limits, opened_between
):
    actor, filters = LISTINGS[listing]
    ComplaintDocument._get_collection().delete_many({})
    existing = _listed(listing, _store(enumerate(NOW - timedelta(milliseconds=a) for a in ages)))
    expected = [doc["_id"] for doc in sorted(existing, key=_created, reverse=True)]
    clock = {"now": NOW}
    ctx = _ctx(clock)
    seen, cursor, n = [], None, len(ages)
    for page_number in range(200):
        limit = limits[page_number % len(limits)]
        page, cursor = service.list_complaints(ctx, actor, limit=limit, cursor=cursor, **filters)
        assert len(page) <= limit
        positions = [(c.created_at, c.id) for c in page]
        assert positions == sorted(positions, reverse=True)
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
    assert [id_ for id_ in seen if id_ in set(expected)] == expected, "one was skipped"
    assert set(seen) <= {doc["_id"] for doc in _listed(listing, _all())}, "not the caller's"


def _created(doc: dict) -> tuple:
    return doc["created_at"], doc["_id"]


def _all() -> list[dict]:
    return list(ComplaintDocument._get_collection().find({}, {"shop_id": 1, "state": 1}))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ages=st.lists(AGES, max_size=60),
    limits=st.lists(st.integers(1, 7), min_size=1, max_size=30),
    changed_between=st.lists(st.lists(st.integers(0, 80), max_size=4), max_size=30),
    since_age=st.one_of(st.just(4 * 365 * 86_400_000), AGES),
)
def test_a_change_feed_shows_each_change_once_in_order(
    db_name, ages, limits, changed_between, since_age
):
    """The feed's pages (a marketplace's channel) hold each complaint's latest change: none
    is skipped, a complaint changed while the pages are read comes again, later, and no
    position comes twice."""
    ComplaintDocument._get_collection().delete_many({})
    _store((n, NOW - timedelta(days=4 * 365)) for n, _ in enumerate(ages))
    for n, age in enumerate(ages):
        _changed(n, NOW - timedelta(milliseconds=age))
    since = NOW - timedelta(milliseconds=since_age)
    clock = {"now": NOW}
    ctx = _ctx(clock)
    seen: list[tuple[datetime, str]] = []
    cursor = None
    for page_number in range(300):
        limit = limits[page_number % len(limits)]
        page, cursor = service.list_complaints(
            ctx, MARKET, channel="tokopedia", updated_since=since, limit=limit, cursor=cursor
        )
        assert len(page) <= limit
        seen += [(c.updated_at, c.id) for c in page]
        if cursor is None:
            break
        assert len(page) == limit
        # Between pages, after the page was read (the clock moves on): some change.
        clock["now"] += timedelta(milliseconds=1 + page_number % 2)
        if changed_between:
            for n in changed_between[page_number % len(changed_between)]:
                if n < len(ages):
                    _changed(n, clock["now"])
    assert seen == sorted(seen) and len(seen) == len(set(seen)), "out of order, or twice"
    latest = {
        (doc["updated_at"], doc["_id"])
        for doc in ComplaintDocument._get_collection().find({"channel": "tokopedia"})
        if doc["updated_at"] >= since
    }
    assert latest <= set(seen), "a change was skipped"
    assert {id_ for _, id_ in seen} <= {id_ for _, id_ in latest}, "another channel's"


def _changed(n: int, at: datetime) -> None:
    ComplaintDocument._get_collection().update_one(
        {"last_hash": f"{n:064x}"}, {"$set": {"updated_at": at}}
    )


@pytest.mark.parametrize("listing", list(LISTINGS))
def test_pages_while_complaints_are_opened_and_changed_concurrently(db_name, listing):
    actor, filters = LISTINGS[listing]
    existing = _listed(listing, _store((n, NOW - timedelta(seconds=7 * n)) for n in range(300)))
    expected = [doc["_id"] for doc in sorted(existing, key=_created, reverse=True)]
    ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
    stop = threading.Event()

    def open_and_change() -> None:
        n = 1000
        collection = ComplaintDocument._get_collection()
        while not stop.is_set():
            _store([(n, NOW)])  # opened now: at the front, never in a page already read
            collection.update_one(
                {"last_hash": f"{n % 300:064x}"}, {"$set": {"updated_at": NOW, "state": "closed"}}
            )
            n += 1

    writer = threading.Thread(target=open_and_change)
    writer.start()
    try:
        seen, cursor = [], None
        while True:
            page, cursor = service.list_complaints(ctx, actor, limit=13, cursor=cursor, **filters)
            seen += _ids(page)
            if cursor is None:
                break
    finally:
        stop.set()
        writer.join()
    assert len(seen) == len(set(seen))
    assert [id_ for id_ in seen if id_ in set(expected)] == expected


def test_a_feed_read_while_complaints_change_concurrently_skips_none(db_name):
    """Changes land while the feed is read, each at a later instant than the one before (the
    clock of the writer moves on): every complaint's latest change is on some page."""
    _store((n, NOW - timedelta(seconds=7 * n)) for n in range(300))
    clock = {"now": NOW}
    ctx = _ctx(clock)
    since = NOW - timedelta(days=1)
    stop = threading.Event()
    lock = threading.Lock()

    def change() -> None:
        n = 0
        while not stop.is_set():
            with lock:
                clock["now"] += timedelta(milliseconds=1)
                at = clock["now"]
            _changed(n % 300, at)
            n += 7

    writer = threading.Thread(target=change)
    writer.start()
    try:
        seen, cursor = [], None
        while True:
            page, cursor = service.list_complaints(
                ctx, MARKET, channel="tokopedia", updated_since=since, limit=13, cursor=cursor
            )
            seen += [(c.updated_at, c.id) for c in page]
            if cursor is None:
                break
    finally:
        stop.set()
        writer.join()
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    latest = {
        (doc["updated_at"], doc["_id"])
        for doc in ComplaintDocument._get_collection().find({"channel": "tokopedia"})
    }
    # Each complaint's change seen last is its latest, or a later one landed after its page.
    last_seen = {id_: at for at, id_ in seen}
    for at, id_ in latest:
        assert id_ in last_seen and last_seen[id_] <= at


def _cursor_of(actor, **filters) -> str:
    ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
    _, cursor = service.list_complaints(ctx, actor, limit=1, **filters)
    assert cursor is not None
    return cursor


def test_a_cursor_is_good_for_its_own_listing_only(db_name):
    _store((n, NOW - timedelta(seconds=n)) for n in range(6))
    ComplaintDocument._get_collection().update_many(
        {}, {"$set": {"care_due_at": NOW - timedelta(hours=1)}}
    )
    ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
    everyone = _cursor_of(CARE)
    page, _ = service.list_complaints(ctx, CARE, limit=1, cursor=everyone)
    assert len(page) == 1
    since = NOW - timedelta(days=1)
    foreign = {
        "another filter": (everyone, CARE, {"state": "closed"}),
        "another caller": (_cursor_of(SELLER), Actor(Role.SELLER, "s", "shop-q"), {}),
        "a feed's, without updated_since": (
            _cursor_of(MARKET, updated_since=since),
            MARKET,
            {},
        ),
        "a listing's, in a feed": (_cursor_of(MARKET), MARKET, {"updated_since": since}),
        "overdue's, in the listing": (_cursor_of(CARE, overdue=True), CARE, {}),
        "edited": (everyone.replace(everyone[1], str((int(everyone[1]) + 1) % 10), 1), CARE, {}),
        "a bare id (the older form)": (everyone.split(".")[1], CARE, {}),
        "no check": (everyone.rpartition(".")[0], CARE, {}),
        "past the year 9999": ("n999999999999999.6b160686b2e91579106c60ae.000000000000", CARE, {}),
        "too long": ("n1." + "a" * 300 + ".000000000000", CARE, {}),
    }
    for why, (cursor, actor, filters) in foreign.items():
        with pytest.raises(BadCursor):
            service.list_complaints(ctx, actor, cursor=cursor, **filters)
            pytest.fail(why)


def test_over_http_a_foreign_cursor_is_a_400_problem_and_pages_chain(client):
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
        (first["items"][0]["id"], ""),  # a bare id: the older form of a filtered listing's
        (first["next_cursor"], "&state=awaiting_seller"),  # this one's, filtered
        ("n999999999999999." + first["items"][0]["id"], ""),  # no such instant, no check
        ("%00%ff", ""),  # not a cursor at all
    ):
        refused = client.get(f"/v1/complaints?cursor={cursor}{query}", headers=CARE_HEADERS)
        assert refused.status_code == 400, refused.get_json()
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.get_json()["type"] == "/problems/bad-cursor"


def test_a_database_with_the_older_listing_indexes_gets_the_new_ones_at_start(db_name):
    """An index declared again with other keys (`by_shop` gained `created_at`) is rebuilt,
    and a retired one (`shop_opened`) dropped, when the service starts: creating an index
    under a name that other keys hold is refused."""
    from resolution.store.documents import ensure_indexes

    complaints = ComplaintDocument._get_collection()
    _store((n, NOW - timedelta(seconds=n)) for n in range(4))
    complaints.drop_index("by_shop")
    complaints.create_index([("shop_id", 1), ("_id", -1)], name="by_shop")
    complaints.create_index([("shop_id", 1), ("created_at", 1)], name="shop_opened")
    ensure_indexes()
    ensure_indexes()  # and again: nothing left to change
    indexes = complaints.index_information()
    assert "shop_opened" not in indexes
    assert [key for key, _ in indexes["by_shop"]["key"]] == ["shop_id", "created_at", "_id"]
    assert complaints.count_documents({"shop_id": "shop-p"}) == 2


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_complaints_on_the_edges_of_the_first_windows_are_listed_once(db_name, limit):
    """Windows are [low, high): a complaint at a window's very edge is read by one of the two
    windows next to it, backwards (the listing) and forwards (the feed)."""
    minute = 60_000
    edges = [0, 10 * minute, 50 * minute, 210 * minute]  # the first windows' edges, empty after
    ages = sorted({max(0, e + d) for e in edges for d in (-1, 0, 1)})
    docs = _store((n, NOW - timedelta(milliseconds=age)) for n, age in enumerate(ages))
    ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
    seen, cursor = [], None
    while True:
        page, cursor = service.list_complaints(ctx, CARE, limit=limit, cursor=cursor)
        seen += _ids(page)
        if cursor is None:
            break
    assert seen == [doc["_id"] for doc in sorted(docs, key=_created, reverse=True)]
    # The feed, forwards from the oldest: its windows' edges are the same spans from `since`.
    since = NOW - timedelta(hours=4)
    for doc in docs:
        offset = NOW - doc["created_at"]  # an edge's, or next to one
        ComplaintDocument._get_collection().update_one(
            {"_id": doc["_id"]}, {"$set": {"updated_at": since + offset, "channel": "tokopedia"}}
        )
    seen, cursor = [], None
    while True:
        page, cursor = service.list_complaints(
            ctx, MARKET, updated_since=since, limit=limit, cursor=cursor
        )
        seen += _ids(page)
        if cursor is None:
            break
    assert sorted(seen) == sorted(doc["_id"] for doc in docs) and len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("actor", "filters"),
    [
        (SELLER, {"updated_since": NOW - timedelta(days=1)}),  # no index: one read, as before
        (CARE, {"updated_since": NOW - timedelta(days=1)}),
        (CARE, {"channel": "tokopedia", "state": "closed"}),  # windows of `by_channel`
        (SELLER, {"channel": "tokopedia"}),  # windows of `by_shop`
        (CARE, {"overdue": True, "state": "in_mediation"}),  # windows of `care_due`
        (MARKET, {"order_id": "INV-4"}),  # an order's few: one read of `by_order`
        (Actor(Role.BUYER, "buyer-1"), {}),  # a buyer's few: one read of `by_buyer`
    ],
)
def test_a_listing_no_index_fully_serves_pages_all_it_matches(db_name, actor, filters):
    docs = _store((n, NOW - timedelta(minutes=7 * n)) for n in range(120))
    ComplaintDocument._get_collection().update_many(
        {}, {"$set": {"care_due_at": NOW - timedelta(minutes=1)}}
    )
    stored = {doc["_id"]: doc for doc in ComplaintDocument._get_collection().find({})}
    ctx = Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())
    seen, cursor = [], None
    while True:
        page, cursor = service.list_complaints(ctx, actor, limit=3, cursor=cursor, **filters)
        seen += _ids(page)
        if cursor is None:
            break

    def wanted(doc: dict) -> bool:
        if actor is SELLER and doc["shop_id"] != "shop-p":
            return False
        if actor.role is Role.BUYER and doc["buyer_id"] != actor.id:
            return False
        if "order_id" in filters and doc["order"]["id"] != filters["order_id"]:
            return False
        return all(doc[f] == v for f, v in filters.items() if f in ("channel", "state"))

    key = "updated_at" if "updated_since" in filters else "created_at"
    if filters.get("overdue"):
        key = "care_due_at"
    expected = sorted(
        (doc for doc in stored.values() if wanted(doc)),
        key=lambda doc: (doc[key], doc["_id"]),
        reverse="updated_since" not in filters,
    )
    assert len(docs) == 120 and expected
    assert seen == [doc["_id"] for doc in expected]
