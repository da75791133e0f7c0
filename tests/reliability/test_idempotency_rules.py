"""Idempotency-Key as Stripe and the IETF draft have it, over real sockets and the real database.

Keys belong to their caller and are kept a day (a TTL index); a retry gets the first response
byte for byte; a retry while the first is still running gets 409 with Retry-After; the same key
with another body gets 422; and a burst of identical POSTs makes exactly one event.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from resolution.config import RateLimits
from resolution.domain.events import first_broken_link
from resolution.service import Idempotency
from resolution.store import eventstore, idempotency
from resolution.store.documents import IdempotencyRecord
from resolution.web.auth import actor_from_header
from tests.support.bodies import complaint_body
from tests.support.orders import by_reference
from tests.support.parties import BUYER, OTHER_BUYER, SELLER
from tests.support.servers import Server, transport

TRANSPORT = {"date", "server", "connection", "x-request-id", "idempotent-replayed"}


def post(port: int, path: str, body: dict, headers: dict) -> tuple[int, dict, bytes]:
    """A POST; the reply's status, headers (lower-cased) and body as bytes (an opening's
    inline order registered first, as the marketplace would)."""
    body = by_reference("POST", path, body, headers, transport(port))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(
            "POST", path, json.dumps(body), {**headers, "Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def keyed(value: str, headers: dict) -> dict:
    return {**headers, "Idempotency-Key": value}


@pytest.fixture
def config(config):
    """Without rate limits: the bursts here are the same request again, not abuse (the limits
    have their own tests in test_abuse.py)."""
    return dataclasses.replace(config, rate_limits=RateLimits(writes=None, uploads=None))


@pytest.fixture
def server(app):
    with Server(app) as running:
        yield running


def opened(port: int, order_id: str) -> str:
    status, _, body = post(port, "/v1/complaints", complaint_body(order_id), BUYER)
    assert status == 201, body
    return json.loads(body)["id"]


def events(cid: str) -> list:
    found = eventstore.events_of(cid)
    assert first_broken_link(found) is None
    assert [e.seq for e in found] == list(range(1, len(found) + 1))
    return found


def test_keys_are_kept_at_least_a_day_by_a_ttl_index(app):
    indexes = IdempotencyRecord._get_collection().index_information()
    ttl = [i for i in indexes.values() if "expireAfterSeconds" in i]
    assert ttl and ttl[0]["key"] == [("created_at", 1)]
    assert ttl[0]["expireAfterSeconds"] >= 24 * 3600


def test_a_key_belongs_to_its_caller(server):
    first = post(server.port, "/v1/complaints", complaint_body("INV-A"), keyed("k", BUYER))
    other = post(server.port, "/v1/complaints", complaint_body("INV-B"), keyed("k", OTHER_BUYER))
    assert first[0] == other[0] == 201
    assert json.loads(first[2])["id"] != json.loads(other[2])["id"]
    assert "idempotent-replayed" not in other[1]


def test_a_replay_is_the_first_response_byte_for_byte(server):
    cid = opened(server.port, "INV-R")
    path = f"/v1/complaints/{cid}/actions/propose"
    body = {"solution": {"kind": "refund", "amount": 30000}}
    first = post(server.port, path, body, keyed("p-1", SELLER))
    # The complaint moves on; the retry still gets the first answer, not today's.
    assert post(server.port, f"/v1/complaints/{cid}/messages", {"body": "?"}, BUYER)[0] == 201
    again = post(server.port, path, body, keyed("p-1", SELLER))
    assert first[0] == again[0] == 200
    assert again[2] == first[2]
    drop = TRANSPORT
    assert {k: v for k, v in again[1].items() if k not in drop} == {
        k: v for k, v in first[1].items() if k not in drop
    }
    assert again[1]["idempotent-replayed"] == "true"
    assert len(events(cid)) == 3


def test_the_same_key_with_another_body_is_refused(server):
    cid = opened(server.port, "INV-X")
    path = f"/v1/complaints/{cid}/messages"
    assert post(server.port, path, {"body": "satu"}, keyed("m", BUYER))[0] == 201
    status, headers, body = post(server.port, path, {"body": "dua"}, keyed("m", BUYER))
    assert status == 422 and headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in json.loads(body)["errors"]
    assert len(events(cid)) == 2


def test_a_retry_while_the_first_is_in_flight_gets_409_then_the_answer(server, app):
    """The first request is held inside its transaction (its key's record written, nothing
    committed): a retry is told to wait; once the first gives up, the retry goes through."""
    cid = opened(server.port, "INV-F")
    path = f"/v1/complaints/{cid}/messages"
    body, headers = {"body": "Halo"}, keyed("inflight", BUYER)
    policy = app.config["RESOLUTION_TOKENS"]
    actor = actor_from_header(BUYER["Authorization"], policy)
    record_id = Idempotency("inflight", "", lambda r: (0, {}, {})).record_id(actor)
    client = IdempotencyRecord._get_collection().database.client
    with client.start_session() as session:
        session.start_transaction()
        record = {"_id": record_id, "fingerprint": "x", "status": 201, "body": {}, "headers": {}}
        idempotency.remember({**record, "created_at": None}, session)
        status, reply_headers, reply = post(server.port, path, body, headers)
        assert status == 409, reply
        assert json.loads(reply)["type"] == "/problems/in-progress"
        assert reply_headers["retry-after"] == "1"
        assert len(events(cid)) == 1  # nothing written by the refused retry
        session.abort_transaction()
    status, _, reply = post(server.port, path, body, headers)
    assert status == 201, reply
    assert len(events(cid)) == 2


@pytest.mark.parametrize("kind", ["open", "message"])
def test_a_burst_of_identical_posts_makes_one_event(server, scale, figures, kind):
    """Many copies of one POST at once (a client retrying in a loop, a proxy repeating):
    exactly one event; every 2xx is the same response; the rest were told to retry (409)."""
    copies = scale.pick(200, 1000)
    if kind == "open":
        path, body, headers = "/v1/complaints", complaint_body("INV-BURST"), keyed("b", BUYER)
    else:
        cid = opened(server.port, "INV-BURST")
        path, body, headers = f"/v1/complaints/{cid}/messages", {"body": "?"}, keyed("b", BUYER)
    start = threading.Barrier(50)

    def one(i: int):
        if i < 50:  # the first fifty, one on each of the pool's threads, leave together
            start.wait(timeout=30)
        return post(server.port, path, body, headers)

    with ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(one, range(copies)))
    statuses = Counter(status for status, _, _ in replies)
    assert set(statuses) <= {200, 201, 409}, statuses
    done = [r for r in replies if r[0] in (200, 201)]
    assert done and len({r[2] for r in done}) == 1
    assert sum("idempotent-replayed" not in h for _, h, _ in done) == 1
    for status, _, reply in replies:
        if status == 409:
            assert json.loads(reply)["type"] == "/problems/in-progress", reply
    created = json.loads(done[0][2])
    cid = created["id"] if kind == "open" else cid
    assert len(events(cid)) == (1 if kind == "open" else 2)
    assert list(eventstore.all_complaint_ids()) == [cid]
    figures.add("idempotency", "requests", copies)
    figures.add("idempotency", "bursts", 1)
    figures.add("idempotency", "in_progress_409", statuses[409])
    figures.add("idempotency", "extra_events", 0)
