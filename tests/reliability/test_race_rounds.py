"""Rounds of N clients racing on one complaint: threads on a threaded server, then separate
OS processes on `resolution serve` with several gunicorn workers.

Each round opens a complaint, walks it to a state, and releases N requests at once through a
barrier: conflicting actions, identical actions with one Idempotency-Key, identical actions
without one, proposals naming the same If-Match. Whatever the interleaving, after every round:
each version of the complaint has exactly one winner (a 2xx whose ETag names it and whose event
is the one at that `seq`), `seq` runs 1..n without a gap, the hash chain holds, the stored
projection equals a replay of the events, every refusal is a 409/412 problem+json, and nothing
answers 5xx. A keyed request makes one event at most: the other copies get the first response
replayed byte for byte, or 409 while the first is still running.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from resolution.config import Config, RateLimits
from resolution.domain.events import first_broken_link
from resolution.domain.projection import replay
from resolution.store import database, eventstore
from resolution.web.app import create_app
from tests.support.bodies import complaint_body
from tests.support.gauntlet import acted_at, versions_written
from tests.support.http import PROBLEM
from tests.support.parties import PEOPLE, SECRET, headers_of
from tests.support.servers import Reply, free_port, send

ROOT = Path(__file__).resolve().parents[2]
REFUND = {"kind": "refund", "amount": 45000}
COUNTER = {"kind": "refund", "amount": 30000}


@dataclass(frozen=True)
class Call:
    """One request of a round, in plain values (it crosses process boundaries)."""

    who: str
    action: str  # a lifecycle action, or "message"
    body: dict = field(default_factory=dict)
    key: str | None = None
    if_match: int | None = None

    def path(self, cid: str) -> str:
        if self.action == "message":
            return f"/v1/complaints/{cid}/messages"
        return f"/v1/complaints/{cid}/actions/{self.action}"

    def headers(self) -> dict[str, str]:
        sent = {**headers_of(self.who), "Content-Type": "application/json"}
        if self.key:
            sent["Idempotency-Key"] = self.key
        if self.if_match is not None:
            sent["If-Match"] = f'"{self.if_match}"'
        return sent


def fire(port: int, cid: str, call: Call) -> Reply:
    return send(port, "POST", call.path(cid), call.body, call.headers())


# -- The rounds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    """A way to race: the steps that bring a fresh complaint to a state, then the N calls."""

    name: str
    setup: tuple[Call, ...]
    calls: Callable[[int, int], list[Call]]  # (n, round number) -> the racing calls


def _cycle(n: int, options: list[Call]) -> list[Call]:
    return [options[i % len(options)] for i in range(n)]


PROPOSED = (Call("seller0", "propose", {"solution": COUNTER}),)
ESCALATED = (*PROPOSED, Call("buyer", "escalate", {"reason": "Tidak sepakat."}))
ASSIGNED = (*ESCALATED, Call("care0", "assign"))

ROUNDS = [
    # The seller answers in four ways at once while the buyer withdraws.
    Round(
        "seller_answers",
        (),
        lambda n, r: _cycle(
            n,
            [
                Call("seller0", "accept"),
                Call("seller1", "propose", {"solution": {"kind": "refund", "amount": 20000 + r}}),
                Call("seller2", "appeal", {"reason": "Barang sudah dicek."}),
                Call("buyer", "withdraw"),
                Call("seller3", "propose", {"solution": COUNTER}),
            ],
        ),
    ),
    # The buyer accepts, counters and escalates while the seller escalates.
    Round(
        "accept_or_escalate",
        PROPOSED,
        lambda n, r: _cycle(
            n,
            [
                Call("buyer", "accept"),
                Call("seller1", "escalate", {"reason": "Pembeli diam."}),
                Call("buyer", "escalate", {"reason": "Tidak sepakat."}),
                Call("buyer", "propose", {"solution": {"kind": "refund", "amount": 40000}}),
            ],
        ),
    ),
    # Care agents take the same case at once.
    Round("care_assign", ESCALATED, lambda n, r: [Call(f"care{i}", "assign") for i in range(n)]),
    # The assignee decides in different ways at once; the buyer withdraws.
    Round(
        "care_decide",
        ASSIGNED,
        lambda n, r: _cycle(
            n,
            [
                Call(
                    "care0",
                    "decide",
                    {
                        "solution": {"kind": "refund", "amount": 10000 * (i + 1)},
                        "reason_code": "other",
                        "rationale": "X",
                    },
                )
                for i in range(3)
            ]
            + [Call("buyer", "withdraw")],
        ),
    ),
    # One request sent N times with one key: one event, the rest replays (or 409 in progress).
    Round(
        "same_key",
        (),
        lambda n, r: [Call("seller0", "propose", {"solution": COUNTER}, key=f"k-{r}")] * n,
    ),
    # The same with a message: messages do not conflict, so only the key keeps it to one.
    Round(
        "same_key_message",
        (),
        lambda n, r: [Call("buyer", "message", {"body": "Halo?"}, key=f"m-{r}")] * n,
    ),
    # One request sent N times without a key: one wins, the others are refused.
    Round("same_no_key", (), lambda n, r: [Call("seller0", "propose", {"solution": COUNTER})] * n),
    # Different proposals all naming version 1.
    Round(
        "if_match",
        (),
        lambda n, r: [
            Call(
                "seller0",
                "propose",
                {"solution": {"kind": "refund", "amount": 1000 + i}},
                if_match=1,
            )
            for i in range(n)
        ],
    ),
    # A keyed proposal repeated against a withdrawal and unkeyed messages.
    Round(
        "keyed_against_others",
        (),
        lambda n, r: _cycle(
            n,
            [
                Call("seller0", "propose", {"solution": COUNTER}, key=f"p-{r}"),
                Call("buyer", "withdraw"),
                Call("seller0", "propose", {"solution": COUNTER}, key=f"p-{r}"),
                Call("buyer", "message", {"body": "Saya tunggu."}),
            ],
        ),
    ),
]


@dataclass
class Tally:
    """What the rounds saw, for the gauntlet's table; every count but `rounds` must stay 0."""

    rounds: int = 0
    requests: int = 0
    events_lost: int = 0
    events_duplicated: int = 0
    projection_mismatches: int = 0
    chain_breaks: int = 0
    server_errors: int = 0
    faults: list[str] = field(default_factory=list)

    def fault(self, what: str) -> None:
        self.faults.append(what)

    def report(self, figures, clients: int) -> None:
        figures.add("races", "rounds", self.rounds)
        figures.add("races", "clients", clients)
        for name in (
            "requests",
            "events_lost",
            "events_duplicated",
            "projection_mismatches",
            "chain_breaks",
            "server_errors",
        ):
            figures.add("races", name, getattr(self, name))

    def assert_clean(self) -> None:
        assert self.faults == [], "\n".join(self.faults[:30])
        assert (
            self.events_lost,
            self.events_duplicated,
            self.projection_mismatches,
            self.chain_breaks,
            self.server_errors,
        ) == (0, 0, 0, 0, 0)


def prepare(port: int, round_: Round, number: int, tag: str) -> tuple[str, int]:
    """Opens a complaint on a fresh order and walks it through the round's setup."""
    opened = send(
        port,
        "POST",
        "/v1/complaints",
        complaint_body(f"INV-{tag}-{number}"),
        {**headers_of("buyer"), "Content-Type": "application/json"},
    )
    assert opened.status == 201, opened
    cid = opened.body["id"]
    for step in round_.setup:
        done = fire(port, cid, step)
        assert done.status in (200, 201), (step, done)
    return cid, 1 + len(round_.setup)


def check_round(
    tally: Tally,
    label: str,
    cid: str,
    start: int,
    calls: list[Call],
    replies: list[Reply],
    deadlines,
) -> None:
    """Every invariant of a round, counted into `tally` (and described in its faults)."""
    tally.rounds += 1
    tally.requests += len(replies)
    events = eventstore.events_of(cid)
    by_seq = {e.seq: e for e in events}
    for call, reply in zip(calls, replies, strict=True):
        if reply.status >= 500 or reply.status == 0:
            tally.server_errors += 1
            tally.fault(f"{label}: {call.action} by {call.who} answered {reply}")
        elif reply.status >= 400:
            allowed = {409, 412}
            body = reply.body
            if (
                reply.status not in allowed
                or reply.content_type != PROBLEM
                or body.get("status") != reply.status
            ):
                tally.fault(f"{label}: refusal not a 409/412 problem: {call} {reply}")
    # Winners: 2xx that were not replays. One per version, each the event at that seq.
    winners = [(c, r) for c, r in zip(calls, replies, strict=True) if 200 <= r.status < 300]
    fresh = [(c, r) for c, r in winners if not r.replayed]
    versions = Counter(r.version for _, r in fresh)
    for version, count in versions.items():
        if count > 1:
            tally.events_duplicated += count - 1
            tally.fault(f"{label}: {count} winners claim version {version}")
    for call, reply in fresh:
        event = acted_at(by_seq, reply.version)
        role, sub, _ = PEOPLE[call.who]
        if event is None or event.type != call.action or event.actor["id"] != sub:
            tally.events_lost += 1
            tally.fault(f"{label}: the 2xx {call} v{reply.version} is not event {event}")
    claimed = {seq for _, r in fresh for seq in versions_written(by_seq, r.version)}
    added = [e for e in events if e.seq > start]
    unclaimed = [e for e in added if e.seq not in claimed]
    if unclaimed:
        tally.events_duplicated += len(unclaimed)
        tally.fault(f"{label}: events nobody was answered for: {[e.type for e in unclaimed]}")
    # Keyed copies: one fresh answer at most, every other 2xx is its replay, byte for byte.
    for key in {c.key for c in calls if c.key}:
        copies = [(c, r) for c, r in winners if c.key == key]
        first = [r for _, r in copies if not r.replayed]
        if len(first) > 1:
            tally.fault(f"{label}: key {key} made {len(first)} events")
        for _, reply in copies:
            if (
                reply.replayed
                and first
                and (reply.status, reply.raw)
                != (
                    first[0].status,
                    first[0].raw,
                )
            ):
                tally.fault(f"{label}: replay of {key} differs: {reply.raw!r} vs {first[0].raw!r}")
            if reply.replayed and not first:
                # The first answer went to nobody in this round: impossible, one of them ran it.
                tally.fault(f"{label}: replay of {key} without a first answer")
    seqs = [e.seq for e in events]
    if seqs != list(range(1, len(events) + 1)):
        tally.events_lost += 1
        tally.fault(f"{label}: seq {seqs}")
    if first_broken_link(events) is not None:
        tally.chain_breaks += 1
        tally.fault(f"{label}: chain broken at {first_broken_link(events)}")
    if eventstore.load(cid) != replay(events, deadlines):
        tally.projection_mismatches += 1
        tally.fault(f"{label}: projection differs from its rebuild")


def together(calls: list[Callable[[], Reply]]) -> list[Reply]:
    """Runs every call in its own thread, released at once by a barrier."""
    barrier = threading.Barrier(len(calls))
    replies: list[Reply | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], Reply]) -> None:
        try:
            barrier.wait(timeout=30)
            replies[i] = call()
        except BaseException as error:  # reported in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)
    assert not any(t.is_alive() for t in threads), "a request never came back"
    assert not errors, errors
    return replies  # type: ignore[return-value]


# -- Threads on one threaded server -------------------------------------------------------------


@pytest.fixture
def unlimited_app(config, context):
    """The app without per-caller rate limits: a round is a few callers writing fast."""
    return create_app(replace(config, rate_limits=RateLimits(None, None)), context=context)


@pytest.fixture
def served(unlimited_app) -> Iterator[int]:
    app = unlimited_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_rounds_of_racing_threads_leave_one_winner_per_version(served, context, scale, figures):
    n = scale.pick(6, 8)
    rounds = scale.pick(27, 360)
    tally = Tally()
    for number in range(rounds):
        round_ = ROUNDS[number % len(ROUNDS)]
        cid, start = prepare(served, round_, number, "T")
        calls = round_.calls(n, number)
        replies = together([lambda c=c, cid=cid: fire(served, cid, c) for c in calls])
        check_round(tally, f"{round_.name}#{number}", cid, start, calls, replies, context.deadlines)
    tally.report(figures, n)
    tally.assert_clean()


# -- Separate processes on `resolution serve` ---------------------------------------------------


def client_process(index: int, port: int, orders, answers, barrier) -> None:
    """One racing client in its own process: waits at the barrier, fires, reports."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while (job := orders.get()) is not None:
        cid, call = job
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            answers.put((index, None))
            continue
        answers.put((index, fire(port, cid, call)))


@pytest.fixture
def service(tmp_path) -> Iterator[tuple[int, str, Config]]:
    """`resolution serve` with four sync workers on a data dir of its own."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env["RESOLUTION_JWT_SECRET"] = SECRET
    env["RESOLUTION_RATE_LIMIT_WRITES"] = "off"
    data_dir = tmp_path / "db"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "resolution", "serve", "--port", str(port)]
            + ["--workers", "4", "--data-dir", str(data_dir)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while send(port, "GET", "/readyz").status != 200:
                assert process.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "not ready in 60 s"
                time.sleep(0.2)
            uri = json.loads((data_dir / "server.json").read_text())["uri"]
            config = Config.from_env(env, mongodb_uri=uri)
            database.connect(uri, config.db_name)
            try:
                yield port, uri, config
            finally:
                database.disconnect()
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    assert "Traceback" not in log_path.read_text(), log_path.read_text()[-5000:]


def test_rounds_of_racing_processes_leave_one_winner_per_version(service, scale, figures):
    port, _, config = service
    n = scale.pick(4, 6)
    rounds = scale.pick(9, 90)
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(n)
    answers = spawn.Queue()
    inboxes = [spawn.Queue() for _ in range(n)]
    clients = [
        spawn.Process(target=client_process, args=(i, port, inbox, answers, barrier), daemon=True)
        for i, inbox in enumerate(inboxes)
    ]
    for client in clients:
        client.start()
    tally = Tally()
    try:
        for number in range(rounds):
            round_ = ROUNDS[number % len(ROUNDS)]
            cid, start = prepare(port, round_, number, "P")
            calls = round_.calls(n, number)
            for inbox, call in zip(inboxes, calls, strict=True):
                inbox.put((cid, call))
            replies: list[Reply | None] = [None] * n
            for _ in calls:
                index, reply = answers.get(timeout=180)
                replies[index] = reply
            assert None not in replies, "a client process never reached the barrier"
            label = f"{round_.name}#{number}"
            check_round(tally, label, cid, start, calls, replies, config.deadlines)
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for client in clients:
            client.join(timeout=30)
            if client.is_alive():
                client.kill()
                client.join()
        for q in (answers, *inboxes):
            q.close()
            q.join_thread()
    tally.report(figures, n)
    tally.assert_clean()
