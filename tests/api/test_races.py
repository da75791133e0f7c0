"""Conflicting requests at the same instant, against a real threaded server.

Eight threads wait on a barrier and fire together. Whatever the interleaving, a lost race must
end as a clean refusal (409/412 problem+json), never as a second winner, a gap in `seq`, a
broken chain or a projection that disagrees with its events.
"""

from __future__ import annotations

import ast
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from resolution.domain.actors import Actor, Role
from resolution.domain.events import first_broken_link
from resolution.domain.lifecycle import allowed_actions, machine_for
from resolution.domain.projection import Complaint, replay
from resolution.store import eventstore
from tests.support.bodies import complaint_body
from tests.support.http import PROBLEM
from tests.support.parties import BUYER, SELLER, auth
from tests.support.servers import Reply, Server

pytestmark = pytest.mark.slow

N = 8


def test_building_a_machine_per_request_parses_no_expression(monkeypatch):
    parsed: list[str] = []
    real_parse = ast.parse

    def counting_parse(source, *args, **kwargs):
        parsed.append(source)
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", counting_parse)
    complaint = Complaint(id="6b0000000000000000000001", state="awaiting_buyer")
    with machine_for(complaint):
        pass
    allowed_actions(complaint, Actor(Role.BUYER, "buyer-1"), datetime(2025, 6, 5, tzinfo=UTC))
    # Guards must be plain names: CPython 3.11's `ast` is not thread-safe (see lifecycle.py).
    assert parsed == []


@pytest.fixture
def server(app) -> Iterator[Server]:
    with Server(app) as running:
        yield running


def together(calls: list[Callable[[], Reply]]) -> list[Reply]:
    """Runs every call in its own thread, released at once by a barrier; returns the replies."""
    barrier = threading.Barrier(len(calls))
    replies: list[Reply | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], Reply]) -> None:
        try:
            barrier.wait(timeout=30)
            replies[i] = call()
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "a request never came back"
    assert not errors, errors
    return replies  # type: ignore[return-value]


def open_one(server: Server, order_id: str = "INV-1001", solution: dict | None = None) -> str:
    body = complaint_body(order_id)
    if solution:
        body["requested_solution"] = solution
    reply = server.request("POST", "/v1/complaints", body, BUYER)
    assert reply.status == 201, reply.body
    return reply.body["id"]


def act_on(server: Server, cid: str, action: str, body: dict, headers: dict) -> Reply:
    return server.request("POST", f"/v1/complaints/{cid}/actions/{action}", body, headers)


def assert_consistent(server: Server, cid: str, deadlines) -> list:
    """seq 1..n without a gap, a valid chain, and a projection equal to its replayed events."""
    events = eventstore.events_of(cid)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert first_broken_link(events) is None
    stored = eventstore.load(cid)
    assert stored == replay(events, deadlines)
    shown = server.request("GET", f"/v1/complaints/{cid}", headers=BUYER)
    assert shown.headers["etag"] == f'"{len(events)}"'
    assert shown.body["version"] == len(events) and shown.body["state"] == stored.state
    logged = server.request("GET", f"/v1/complaints/{cid}/events", headers=BUYER).body["items"]
    assert [e["hash"] for e in logged] == [e.hash for e in events]
    return events


def assert_refusals(replies: list[Reply], statuses: set[int]) -> None:
    for reply in replies:
        assert reply.status in statuses, reply
        assert reply.content_type == PROBLEM, reply
        assert reply.body["status"] == reply.status


def sellers(n: int) -> list[dict]:
    """n users of the same shop: each its own seller admin."""
    return [auth("seller", f"seller-admin-{i}", "shop-1") for i in range(n)]


@pytest.mark.parametrize("round_", range(5))
def test_sellers_proposing_at_once_one_wins(server, context, round_):
    cid = open_one(server, f"INV-R{round_}")
    offers = [{"solution": {"kind": "refund", "amount": 10000 + 1000 * i}} for i in range(N)]
    replies = together(
        [
            lambda i=i, h=h: act_on(server, cid, "propose", offers[i], h)
            for i, h in enumerate(sellers(N))
        ]
    )
    counts = Counter(r.status for r in replies)
    assert counts == {200: 1, 409: N - 1}, counts
    assert_refusals([r for r in replies if r.status != 200], {409})
    winner = next(r for r in replies if r.status == 200)
    assert winner.headers["etag"] == '"2"'
    for loser in (r for r in replies if r.status == 409):
        assert loser.body["allowed_actions"] == ["escalate"]  # no second offer: buyer's turn
    events = assert_consistent(server, cid, context.deadlines)
    assert [e.type for e in events] == ["open", "propose"]
    assert events[1].data["solution"] == winner.body["proposal"]["solution"]


def test_accept_and_escalate_at_once_one_wins(server, context):
    cid = open_one(server)
    assert (
        act_on(
            server, cid, "propose", {"solution": {"kind": "refund", "amount": 30000}}, SELLER
        ).status
        == 200
    )
    calls = [lambda: act_on(server, cid, "accept", {}, BUYER) for _ in range(N // 2)]
    calls += [
        lambda: act_on(server, cid, "escalate", {"reason": "Tidak setuju."}, BUYER)
        for _ in range(N // 2)
    ]
    replies = together(calls)
    winners = [(i, r) for i, r in enumerate(replies) if r.status == 200]
    assert len(winners) == 1, [r.status for r in replies]
    assert_refusals([r for r in replies if r.status != 200], {409})
    events = assert_consistent(server, cid, context.deadlines)
    index, winner = winners[0]
    expected = "accept" if index < N // 2 else "escalate"
    # An accept closes it: its settlement's request follows in the same write.
    after = ["settlement_requested"] if expected == "accept" else []
    assert [e.type for e in events[2:]] == [expected, *after]
    assert winner.body["state"] == ("closed" if expected == "accept" else "awaiting_care")


def test_messages_without_if_match_all_land_with_distinct_versions(server, context):
    cid = open_one(server)
    parties = [BUYER, SELLER] * (N // 2)
    replies = together(
        [
            lambda i=i, h=h: server.request(
                "POST", f"/v1/complaints/{cid}/messages", {"body": f"pesan {i}"}, h
            )
            for i, h in enumerate(parties)
        ]
    )
    assert [r.status for r in replies] == [201] * N, [r.body for r in replies]
    versions = sorted(int(r.headers["etag"].strip('"')) for r in replies)
    assert versions == list(range(2, N + 2))
    assert sorted(r.body["seq"] for r in replies) == versions
    events = assert_consistent(server, cid, context.deadlines)
    assert sorted(e.data["body"] for e in events[1:]) == sorted(f"pesan {i}" for i in range(N))


def test_proposals_with_the_same_if_match_one_wins(server, context):
    cid = open_one(server)
    replies = together(
        [
            lambda i=i, h=h: act_on(
                server,
                cid,
                "propose",
                {"solution": {"kind": "refund", "amount": 20000 + i}},
                {**h, "If-Match": '"1"'},
            )
            for i, h in enumerate(sellers(N))
        ]
    )
    counts = Counter(r.status for r in replies)
    assert counts[200] == 1 and counts[200] + counts[412] + counts[409] == N, counts
    assert_refusals([r for r in replies if r.status != 200], {409, 412})
    for reply in replies:
        if reply.status == 412:
            assert reply.body["version"] == 2
    events = assert_consistent(server, cid, context.deadlines)
    assert len(events) == 2


def test_opening_on_one_order_at_once_one_wins_and_losers_name_it(server, context):
    body = complaint_body("INV-RACE")
    replies = together(
        [lambda: server.request("POST", "/v1/complaints", body, BUYER) for _ in range(N)]
    )
    counts = Counter(r.status for r in replies)
    assert counts == {201: 1, 409: N - 1}, [(r.status, r.body) for r in replies]
    winner = next(r for r in replies if r.status == 201)
    cid = winner.body["id"]
    losers = [r for r in replies if r.status == 409]
    assert_refusals(losers, {409})
    assert {r.body.get("complaint_id") for r in losers} == {cid}, [r.body for r in losers]
    assert winner.headers["location"].endswith(f"/v1/complaints/{cid}")
    assert list(eventstore.all_complaint_ids()) == [cid]  # no orphan events of a loser
    assert_consistent(server, cid, context.deadlines)
