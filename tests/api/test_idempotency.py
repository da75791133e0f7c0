"""Idempotency-Key: a retried POST replays its first response instead of acting twice.

What the store remembers is the first *successful* response (it commits with the event): a
refused request leaves nothing behind, so the same key can be used again once it would succeed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from resolution.domain.events import first_broken_link
from resolution.store import eventstore, idempotency
from tests.support.bodies import complaint_body
from tests.support.http import open_complaint
from tests.support.parties import BUYER, OTHER_BUYER, SELLER, auth
from tests.support.servers import Server

REPLAYED = "Idempotent-Replayed"


def key(value: str, headers: dict) -> dict:
    return {**headers, "Idempotency-Key": value}


def event_count(cid: str) -> int:
    events = eventstore.events_of(cid)
    assert first_broken_link(events) is None
    return len(events)


def assert_replay_of(first, again) -> None:
    assert again.status_code == first.status_code
    assert again.get_json() == first.get_json()
    assert again.headers.get("ETag") == first.headers.get("ETag")
    assert again.headers.get("Location") == first.headers.get("Location")
    assert again.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers


def test_open_retried_with_its_key_replays_the_first_response(client):
    body = complaint_body()
    first = client.post("/v1/complaints", json=body, headers=key("open-1", BUYER))
    assert first.status_code == 201
    again = client.post("/v1/complaints", json=body, headers=key("open-1", BUYER))
    assert_replay_of(first, again)
    assert again.headers["Location"].endswith(first.get_json()["id"])
    assert list(eventstore.all_complaint_ids()) == [first.get_json()["id"]]
    # Without the key the same body is a second complaint on the order: refused.
    assert client.post("/v1/complaints", json=body, headers=BUYER).status_code == 409


def test_action_retried_with_its_key_replays_without_a_second_event(client):
    cid = open_complaint(client)
    offer = {"solution": {"kind": "refund", "amount": 30000}}
    path = f"/v1/complaints/{cid}/actions/propose"
    first = client.post(path, json=offer, headers=key("propose-1", SELLER))
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    again = client.post(path, json=offer, headers=key("propose-1", SELLER))
    assert_replay_of(first, again)
    assert event_count(cid) == 2
    # Replayed even after the complaint moved on: the retry gets what the first request got.
    assert client.post(f"/v1/complaints/{cid}/actions/accept", headers=BUYER).status_code == 200
    later = client.post(path, json=offer, headers=key("propose-1", SELLER))
    assert_replay_of(first, later)
    assert later.get_json()["state"] == "awaiting_buyer"
    assert event_count(cid) == 4  # the accept closed it: and its settlement was requested


def test_message_retried_with_its_key_replays_without_a_second_event(client):
    cid = open_complaint(client)
    path = f"/v1/complaints/{cid}/messages"
    first = client.post(path, json={"body": "Mohon foto."}, headers=key("msg-1", SELLER))
    assert first.status_code == 201
    again = client.post(path, json={"body": "Mohon foto."}, headers=key("msg-1", SELLER))
    assert_replay_of(first, again)
    assert event_count(cid) == 2
    # A replay comes before the If-Match check: the retry of a write that landed still answers.
    stale = client.post(
        path, json={"body": "Mohon foto."}, headers={**key("msg-1", SELLER), "If-Match": '"1"'}
    )
    assert_replay_of(first, stale)
    # A new key is a new message.
    other = client.post(path, json={"body": "Mohon foto."}, headers=key("msg-2", SELLER))
    assert other.status_code == 201 and other.headers["ETag"] == '"3"'


@pytest.mark.parametrize(
    "change",
    ["body", "path", "action"],
)
def test_same_key_with_another_request_is_refused(client, change):
    cid = open_complaint(client)
    path = f"/v1/complaints/{cid}/messages"
    assert client.post(path, json={"body": "satu"}, headers=key("k", BUYER)).status_code == 201
    if change == "body":
        again = client.post(path, json={"body": "dua"}, headers=key("k", BUYER))
    elif change == "path":
        other = open_complaint(client, "INV-2002")
        again = client.post(
            f"/v1/complaints/{other}/messages", json={"body": "satu"}, headers=key("k", BUYER)
        )
    else:
        again = client.post(
            f"/v1/complaints/{cid}/actions/withdraw", json={}, headers=key("k", BUYER)
        )
    assert again.status_code == 422
    assert again.mimetype == "application/problem+json"
    assert "Idempotency-Key" in again.get_json()["errors"]
    assert REPLAYED not in again.headers
    assert event_count(cid) == 2
    assert (
        client.get(f"/v1/complaints/{cid}", headers=BUYER).get_json()["state"] == "awaiting_seller"
    )


def test_same_body_in_another_json_layout_is_the_same_request(client):
    cid = open_complaint(client)
    path = f"/v1/complaints/{cid}/actions/propose"
    offer = {"solution": {"kind": "refund", "amount": 30000}, "note": "separuh"}
    first = client.post(path, json=offer, headers=key("layout", SELLER))
    spaced = json.dumps(
        {"note": "separuh", "solution": {"amount": 30000, "kind": "refund"}}, indent=2
    )
    again = client.post(
        path, data=spaced, content_type="application/json", headers=key("layout", SELLER)
    )
    assert_replay_of(first, again)


def test_keys_belong_to_their_caller(client):
    mine = open_complaint(client)
    theirs_body = complaint_body("INV-9")
    first = client.post("/v1/complaints", json=complaint_body("INV-8"), headers=key("k", BUYER))
    other = client.post("/v1/complaints", json=theirs_body, headers=key("k", OTHER_BUYER))
    assert first.status_code == 201 and other.status_code == 201
    assert REPLAYED not in other.headers
    assert other.get_json()["id"] != first.get_json()["id"]

    # The buyer and the seller of one complaint, and two admins of one shop, each have their own.
    path = f"/v1/complaints/{mine}/messages"
    replies = [
        client.post(path, json={"body": "halo"}, headers=key("same", who))
        for who in (BUYER, SELLER, auth("seller", "seller-2", "shop-1"))
    ]
    assert [r.status_code for r in replies] == [201, 201, 201]
    assert not any(REPLAYED in r.headers for r in replies)
    assert event_count(mine) == 4


def test_a_refused_request_is_not_remembered(client):
    """Only successes are recorded: a 409 under a key leaves the key free for a later success."""
    cid = open_complaint(client)
    # (An exchange: once the first complaint closes, it has settled all the order held.)
    body = complaint_body(
        requested_solution={"kind": "exchange", "items": [{"sku": "TOPI", "qty": 1}]}
    )
    taken = client.post("/v1/complaints", json=body, headers=key("reopen", BUYER))
    assert taken.status_code == 409  # the order has an open complaint

    path = f"/v1/complaints/{cid}/actions/accept"
    refused = client.post(path, json={}, headers=key("accept-1", BUYER))  # the seller's turn
    assert refused.status_code == 409
    assert client.post(path, json={}, headers=key("accept-1", BUYER)).status_code == 409
    assert event_count(cid) == 1

    offer = {"solution": {"kind": "refund", "amount": 30000}}
    assert (
        client.post(f"/v1/complaints/{cid}/actions/propose", json=offer, headers=SELLER).status_code
        == 200
    )
    # Same key, same request, now valid: it runs (no replay of the 409) and is then remembered.
    accepted = client.post(path, json={}, headers=key("accept-1", BUYER))
    assert accepted.status_code == 200 and REPLAYED not in accepted.headers
    assert accepted.get_json()["state"] == "closed"
    assert_replay_of(accepted, client.post(path, json={}, headers=key("accept-1", BUYER)))
    assert event_count(cid) == 4  # open, propose, accept and its settlement's request

    # The refused open did not take its key either: now that the order is free, it opens.
    reopened = client.post("/v1/complaints", json=body, headers=key("reopen", BUYER))
    assert reopened.status_code == 201 and REPLAYED not in reopened.headers
    assert reopened.get_json()["id"] != cid
    assert_replay_of(
        reopened, client.post("/v1/complaints", json=body, headers=key("reopen", BUYER))
    )


def test_invalid_requests_are_not_remembered(client):
    cid = open_complaint(client)
    path = f"/v1/complaints/{cid}/actions/propose"
    bad = client.post(
        path, json={"solution": {"kind": "refund", "amount": 0}}, headers=key("p", SELLER)
    )
    assert bad.status_code == 422
    good = {"solution": {"kind": "refund", "amount": 1000}}
    # The key was not taken by the invalid body: a different (valid) body may use it.
    assert client.post(path, json=good, headers=key("p", SELLER)).status_code == 200


@pytest.mark.parametrize("value", ["", "x" * 256, "tab\there"])
def test_malformed_keys_are_refused(client, value):
    cid = open_complaint(client)
    response = client.post(
        f"/v1/complaints/{cid}/messages", json={"body": "halo"}, headers=key(value, BUYER)
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert event_count(cid) == 1


# --- Concurrent retries, over real sockets ---------------------------------------------------


@pytest.fixture
def server(app) -> Iterator[Server]:
    with Server(app) as running:
        yield running


def together(n: int, call) -> list:
    barrier = threading.Barrier(n)
    replies: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            replies[i] = call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    return replies


def _without_transport(headers: dict) -> dict:
    # X-Request-Id names each request (retries included), not the response replayed.
    skip = {"date", "server", "connection", "x-request-id", REPLAYED.lower()}
    return {k: v for k, v in headers.items() if k.lower() not in skip}


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ["action", "message"])
def test_concurrent_retries_with_one_key_make_one_event(server, client, endpoint):
    cid = open_complaint(client)
    if endpoint == "action":
        path, body, headers = (
            f"/v1/complaints/{cid}/actions/propose",
            {"solution": {"kind": "refund", "amount": 30000}},
            key("retry-1", SELLER),
        )
    else:
        path, body, headers = (
            f"/v1/complaints/{cid}/messages",
            {"body": "Paketnya sudah sampai?"},
            key("retry-1", BUYER),
        )
    replies = together(8, lambda: server.post(path, body, headers))
    first, again = one_first_response(replies, 200 if endpoint == "action" else 201)
    # Once the first is done, every retry replays it.
    status, headers_after, body_after = server.post(path, body, headers)
    assert (status, body_after) == (first[0], first[2]) and headers_after[REPLAYED] == "true"
    assert event_count(cid) == 2


def one_first_response(replies: list, status: int) -> tuple:
    """Of copies of one request sent at once: one first response; the others replay it
    byte for byte, or, while it was still being processed, got 409 with Retry-After."""
    done = [r for r in replies if r[0] == status]
    busy = [r for r in replies if r[0] == 409]
    assert len(done) + len(busy) == len(replies), [(s, b) for s, _, b in replies]
    assert len({json.dumps(b, sort_keys=True) for _, _, b in done}) == 1
    assert len({tuple(sorted(_without_transport(h).items())) for _, h, _ in done}) == 1
    assert [h.get(REPLAYED) for _, h, _ in done].count(None) == 1
    for _, headers, body in busy:
        assert body["type"] == "/problems/in-progress" and headers["Retry-After"] == "1"
    first = next(r for r in done if REPLAYED not in r[1])
    return first, [r for r in done if r is not first]


@pytest.mark.slow
def test_concurrent_retries_of_an_open_with_one_key_make_one_complaint(server):
    """Eight copies of one open at once: one complaint, one event, eight identical 201s.

    The copies that overlap the first one's commit see its complaint on the order before its
    key; they must still get the replay, not a 409 (the deterministic version of this race is
    `test_a_retry_overlapping_the_first_open_replays_it`).
    """
    body = complaint_body("INV-IDEM")
    replies = together(8, lambda: server.post("/v1/complaints", body, key("open-race", BUYER)))
    first, _ = one_first_response(replies, 201)
    cid = first[2]["id"]
    assert list(eventstore.all_complaint_ids()) == [cid]
    assert event_count(cid) == 1
    status, _, again = server.post("/v1/complaints", body, key("open-race", BUYER))
    assert (status, again) == (201, first[2])


def test_a_retry_overlapping_the_first_commit_replays_it(client, monkeypatch):
    """The retry's insert of the key conflicts with the first request's transaction, which
    then commits (a write conflict, not a duplicate key): the retry reads the committed
    record and replays it, rather than answering 409."""
    body = complaint_body()
    first = client.post("/v1/complaints", json=body, headers=key("open-1", BUYER))
    assert first.status_code == 201

    def conflicting(record, session):
        raise idempotency.KeyBusy(record["_id"])

    monkeypatch.setattr(idempotency, "remember", conflicting)
    cid = first.get_json()["id"]
    again = client.post("/v1/complaints", json=body, headers=key("open-1", BUYER))
    assert again.status_code == 201, again.get_json()
    assert_replay_of(first, again)
    act = f"/v1/complaints/{cid}/messages"
    assert client.post(act, json={"body": "x"}, headers=key("m", BUYER)).status_code == 409
