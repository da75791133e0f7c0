"""The settlements' listing (store.settlements.page on listings.newest_by_id): the newest
settlement first, read in windows of the seconds its id (an ObjectId's hex) was made. Across
pages every settlement of the filter comes once, in order, whatever the gaps between them
(seconds or years), for one channel, several, or all; a page reads about what it returns; a
cursor that is not a settlement's id is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import _data, _plans
from resolution.domain.actors import Actor, Role
from resolution.domain.errors import BadCursor
from resolution.service import Context
from resolution.service import settlements as service
from resolution.store import database
from resolution.store.documents import ComplaintDocument

CHANNELS = ("tokopedia", "shopee", "tiktok")
CARE = Actor(Role.CARE, "agent-1")
NOW = datetime.now(UTC)


@pytest.fixture
def recorded(mongodb_uri, db_name) -> None:
    """This test's database, on a client made after the plans' recorder was registered
    (pymongo attaches listeners to new clients only)."""
    _plans.recorder()
    database.connect(mongodb_uri, db_name)


def _ctx() -> Context:
    return Context(clock=lambda: NOW, signing_key=Ed25519PrivateKey.generate())


def _settled(ages_s: list[int], statuses: list[bool]) -> list[dict]:
    """Complaints closed `ages_s` seconds ago (each with its settlement made then), one channel
    each in turn, paid or still asked (`statuses`)."""
    docs = []
    for n, age in enumerate(ages_s):
        doc = _data.complaint(22 * n + 2)  # a closed one
        made = (NOW - timedelta(seconds=age)).replace(microsecond=0)
        settlement = _data.settlement(n, made)
        settlement["status"] = "confirmed" if statuses[n % len(statuses)] else "requested"
        doc.update(channel=CHANNELS[n % len(CHANNELS)], settlement=settlement)
        docs.append(doc)
    if docs:
        ComplaintDocument._get_collection().insert_many(docs)
    return docs


def _all_pages(actor: Actor, limit: int, **filters) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        page, cursor = service.list_settlements(
            _ctx(), actor, cursor=cursor, limit=limit, **filters
        )
        seen += [c.settlement["id"] for c in page]
        if cursor is None:
            return seen
    raise AssertionError("the pages never end")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ages=st.lists(
        st.one_of(
            st.integers(0, 3_600),  # the last hour
            st.integers(0, 400 * 86_400),  # the last year and more
            st.integers(0, 40 * 365 * 86_400),  # decades back
        ),
        min_size=0,
        max_size=40,
    ),
    statuses=st.lists(st.booleans(), min_size=1, max_size=5),
    limit=st.integers(1, 7),
    channels=st.sampled_from([(), ("shopee",), ("shopee", "tiktok"), CHANNELS]),
    status=st.sampled_from([None, "confirmed", "requested"]),
)
def test_every_settlement_comes_once_newest_first(db_name, ages, statuses, limit, channels, status):
    ComplaintDocument._get_collection().delete_many({})
    docs = _settled(ages, statuses)
    actor = Actor(Role.INTEGRATION, "market-1", channels=frozenset(channels)) if channels else CARE
    expected = sorted(
        (
            d["settlement"]["id"]
            for d in docs
            if (not channels or d["channel"] in channels)
            and (status is None or d["settlement"]["status"] == status)
        ),
        reverse=True,
    )
    assert _all_pages(actor, limit, status=status) == expected


def test_a_page_reads_about_what_it_returns(recorded):
    # 5,000 settlements, one every ten minutes (five weeks): a page of 20 examines about a
    # page, not the 5,000 of its status (each window's read explained by the server).
    _settled(list(range(0, 5_000 * 600, 600)), [True])
    query = _plans.Query(
        "settlements",
        lambda c, s: service.list_settlements(c, CARE, status="confirmed", limit=20),
        ("settlements",),
    )
    plans = _plans.plans(_ctx(), query, None)
    assert plans and all(_plans.uses_index(p, "settlements") for p in plans)
    assert sum(p.docs_examined for p in plans) <= 2 * 21 + 5


@pytest.mark.parametrize("cursor", ["zzz", "6b164a61" + "0" * 15, "G" * 24, "x" * 200])
def test_a_cursor_that_is_not_a_settlement_id_is_refused(db_name, cursor):
    with pytest.raises(BadCursor):
        service.list_settlements(_ctx(), CARE, cursor=cursor)
