"""`resolution serve` killed with SIGKILL under a write load, again and again.

Client threads open complaints, act and write messages, each request carrying a marker of its
own (in a note, a reason, a message, a description) and an Idempotency-Key, and each outcome is
written down: a 2xx with its body, a refusal, or no answer. At a random moment one of three
things dies: the whole process group (gunicorn's master, its workers and the embedded
database), one gunicorn worker, or the database alone. Then, once the service is back:

- every request answered 2xx is in the log, at the version its ETag named, exactly once;
- a request refused (4xx, 503) left nothing;
- a request that got no answer is wholly there or wholly absent: sent again with its key, it is
  replayed (same version) if its event is there, and runs afresh (or is refused) if not;
- every complaint's `seq` runs 1..n, its chain holds and its projection equals its rebuild;
- no order has two complaints open;
- while the database is down the API answers 503 problem+json (`/readyz` too), never 500, and
  `serve` starts the database again by itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from resolution.config import Config
from resolution.domain.events import first_broken_link
from resolution.domain.projection import replay
from resolution.store import database, eventstore
from resolution.store.documents import ComplaintDocument
from tests.support.bodies import complaint_body
from tests.support.gauntlet import acted_at
from tests.support.http import PROBLEM
from tests.support.parties import SECRET, headers_of
from tests.support.servers import Reply, free_port, send

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 12  # few orders, so opens collide and the one-open-complaint rule is exercised
KINDS = ("service", "worker", "db")
# More workers than client threads: while the database is down every busy sync worker waits
# for it (server selection), and /readyz needs a free one to say 503.
WORKERS = 4


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


class Service:
    """`resolution serve` on a data dir that outlives it; its log goes to a file."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.data_dir = tmp_path / "db"
        self.log_path = tmp_path / "serve.log"
        self.env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
        self.env["RESOLUTION_JWT_SECRET"] = SECRET
        # The load is a few callers writing fast: keep the limiter running, never refusing.
        self.env["RESOLUTION_RATE_LIMIT_WRITES"] = "100000/minute"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "resolution", "serve", "--port", str(self.port)]
                + ["--workers", str(WORKERS), "--data-dir", str(self.data_dir)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: master, workers, database
            )
        self.wait_ready(60)

    def wait_ready(self, seconds: float) -> float:
        """Seconds until /readyz said 200; fails with the log's tail if it never does."""
        began = time.monotonic()
        while send(self.port, "GET", "/readyz").status != 200:
            assert self.process.poll() is None, f"serve exited:\n{self.tail()}"
            assert time.monotonic() - began < seconds, f"not ready in {seconds} s:\n{self.tail()}"
            time.sleep(0.1)
        return time.monotonic() - began

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    @property
    def uri(self) -> str:
        return json.loads((self.data_dir / "server.json").read_text())["uri"]

    @property
    def db_pid(self) -> int:
        return json.loads((self.data_dir / "server.json").read_text())["pid"]

    def workers(self) -> list[int]:
        master = self.process.pid
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes().split(b"\0")
                if int(stat[1]) == master and stat[0] != "Z" and b"serve" in command:
                    found.append(int(entry.name))
        return found

    def kill_group(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Sent:
    """One write request and what came of it (`reply.status` 0: no answer)."""

    marker: str
    kind: str  # "open", "message" or a lifecycle action
    who: str
    path: str
    body: dict
    key: str
    cid: str | None
    reply: Reply | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {
            **headers_of(self.who),
            "Content-Type": "application/json",
            "Idempotency-Key": self.key,
        }

    def send(self, port: int) -> Reply:
        return send(port, "POST", self.path, self.body, self.headers)


def _request(kind: str, cid: str | None, order: str, rng: random.Random) -> Sent:
    marker = f"m-{uuid.uuid4().hex[:16]}"
    if kind == "open":
        body = complaint_body(order, description=f"Rusak {marker}")
        return Sent(marker, kind, "buyer", "/v1/complaints", body, marker, None)
    who, body = {
        "message": (rng.choice(["buyer", "seller0"]), {"body": marker}),
        "propose": (
            "seller0",
            {"solution": {"kind": "refund", "amount": rng.randint(1, 45) * 1000}, "note": marker},
        ),
        "accept": ("buyer", {}),
        "escalate": ("buyer", {"reason": marker}),
        "withdraw": ("buyer", {"reason": marker}),
    }[kind]
    segment = "messages" if kind == "message" else f"actions/{kind}"
    return Sent(marker, kind, who, f"/v1/complaints/{cid}/{segment}", body, marker, cid)


ACTIONS = ["message"] * 4 + ["propose"] * 3 + ["accept", "escalate", "withdraw"]


class Load:
    """Client threads writing until told to stop; every request is kept in `sent`."""

    def __init__(self, port: int, threads: int, seed: int) -> None:
        self.port = port
        self.sent: list[Sent] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(random.Random(seed * 100 + i),))
            for i in range(threads)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=150)
        assert not any(t.is_alive() for t in self._threads), "a client never came back"

    def _run(self, rng: random.Random) -> None:
        cid = None
        while not self.stop.is_set():
            order = f"INV-C{rng.randrange(ORDERS)}"
            sent = _request("open" if cid is None else rng.choice(ACTIONS), cid, order, rng)
            with self._lock:
                self.sent.append(sent)
            sent.reply = reply = sent.send(self.port)
            if reply.status == 0 or reply.status == 503:
                time.sleep(0.05)  # the service is down: do not spin
                continue
            if reply.content_type != "application/json" and reply.content_type != PROBLEM:
                continue
            body = reply.body
            if sent.kind == "open":
                cid = body.get("id") if reply.status == 201 else body.get("complaint_id")
            elif reply.status == 200 and body.get("state") == "closed":
                cid = None
            elif reply.status == 409 and body.get("allowed_actions") == []:
                cid = None


@dataclass
class Tally:
    kills: Counter = field(default_factory=Counter)
    acknowledged: int = 0
    events_lost: int = 0
    half_written: int = 0
    projection_mismatches: int = 0
    server_errors: int = 0
    unanswered: int = 0
    faults: list[str] = field(default_factory=list)

    def fault(self, what: str) -> None:
        self.faults.append(what)

    def report(self, figures) -> None:
        figures.add("crashes", "kills", sum(self.kills.values()))
        for kind in KINDS:
            figures.add("crashes", f"{kind}_kills", self.kills[kind])
        for name in (
            "acknowledged",
            "events_lost",
            "half_written",
            "projection_mismatches",
            "server_errors",
        ):
            figures.add("crashes", name, getattr(self, name))


def _events_by_marker(cids: set[str]) -> tuple[dict[str, list], dict[str, list]]:
    """Every event of these complaints, by marker and by complaint."""
    by_marker: dict[str, list] = defaultdict(list)
    by_cid: dict[str, list] = {}
    for cid in cids:
        events = eventstore.events_of(cid)
        by_cid[cid] = events
        for event in events:
            data = event.data
            text = " ".join(str(data.get(k, "")) for k in ("body", "note", "reason", "description"))
            for word in text.split():
                if word.startswith("m-"):
                    by_marker[word].append(event)
    return by_marker, by_cid


def check(service: Service, sent: list[Sent], tally: Tally, deadlines, label: str) -> None:
    """Every invariant of the module docstring, counted into `tally`."""
    database.connect(service.uri, "resolution")
    try:
        cids = set(eventstore.all_complaint_ids())
        by_marker, by_cid = _events_by_marker(cids)
        retry: list[Sent] = []
        for request in sent:
            reply = request.reply
            found = by_marker.get(request.marker, [])
            if request.kind == "accept":  # no text to carry a marker: the only accept there is
                found = [e for e in by_cid.get(request.cid, []) if e.type == "accept"]
            if len(found) > 1 and request.kind != "accept":
                tally.half_written += 1
                tally.fault(f"{label}: {request.kind} {request.marker} is in the log twice")
            if reply is None or reply.status == 0:
                tally.unanswered += 1
                retry.append(request)
                continue
            if reply.status >= 500 and reply.status != 503:
                tally.server_errors += 1
                tally.fault(f"{label}: {request.kind} answered {reply.status}: {reply.raw[:300]}")
            if 200 <= reply.status < 300:
                tally.acknowledged += 1
                version = reply.version
                cid = reply.body.get("id") if request.kind == "open" else request.cid
                acted = acted_at({e.seq: e for e in by_cid.get(cid, [])}, version)
                if request.kind == "accept":
                    ok = acted is not None and acted.type == "accept"
                else:
                    ok = acted is not None and request.marker in by_marker and acted in found
                if not ok:
                    tally.events_lost += 1
                    tally.fault(f"{label}: acknowledged {request.kind} v{version} not in {cid}")
            elif request.kind != "accept" and found:
                tally.half_written += 1
                tally.fault(
                    f"{label}: {request.kind} refused with {reply.status} is in the log: "
                    f"{reply.raw[:200]}"
                )
        for cid, events in by_cid.items():
            if [e.seq for e in events] != list(range(1, len(events) + 1)):
                tally.events_lost += 1
                tally.fault(f"{label}: {cid} seq {[e.seq for e in events]}")
            if first_broken_link(events) is not None:
                tally.projection_mismatches += 1
                tally.fault(f"{label}: {cid} chain broken")
            if eventstore.load(cid) != replay(events, deadlines):
                tally.projection_mismatches += 1
                tally.fault(f"{label}: {cid} projection differs from its rebuild")
        if ComplaintDocument.objects.count() != len(cids):
            tally.half_written += 1
            tally.fault(f"{label}: projections without events, or events without one")
        open_per_order = Counter(
            c["order"]["id"]
            for c in ComplaintDocument._get_collection().find({"active": True}, {"order.id": 1})
        )
        if any(n > 1 for n in open_per_order.values()):
            tally.fault(f"{label}: two open complaints on one order: {open_per_order}")
        # Unanswered requests, sent again with their key: the replay tells what the store kept.
        for request in retry:
            again = request.send(service.port)
            found = by_marker.get(request.marker, [])
            if request.kind == "accept":
                found = [e for e in by_cid.get(request.cid, []) if e.type == "accept"]
            if again.status >= 500:
                tally.server_errors += 1
                tally.fault(f"{label}: retry of {request.kind} answered {again.status}")
            elif found and request.kind != "accept":
                replayed = again.replayed and 200 <= again.status < 300
                events_of_cid = {e.seq: e for e in by_cid.get(found[0].complaint_id, [])}
                if not replayed or acted_at(events_of_cid, again.version) != found[0]:
                    tally.half_written += 1
                    tally.fault(
                        f"{label}: {request.kind} {request.marker} is in the log but its key "
                        f"answered {again.status} {again.raw[:200]}"
                    )
            elif not found and again.replayed:
                tally.half_written += 1
                tally.fault(f"{label}: {request.kind} has a remembered answer but no event")
            request.reply = again  # checked again, as an answered request, next time
        # The retries wrote: their complaints must still be whole.
        for cid in {r.cid for r in retry if r.cid}:
            events = eventstore.events_of(cid)
            if eventstore.load(cid) != replay(events, deadlines):
                tally.projection_mismatches += 1
                tally.fault(f"{label}: {cid} projection differs after the retries")
    finally:
        database.disconnect()


def _probe_while_down(service: Service, tally: Tally, cid: str | None, label: str) -> None:
    """What the API answers from the moment its database is killed until /readyz says 200
    again: 503 problem+json (and at least one 503 from /readyz), never 500.
    """
    paths = [("GET", "/readyz", None), ("GET", "/v1/complaints", None)]
    if cid:
        paths += [
            ("GET", f"/v1/complaints/{cid}", None),
            ("POST", f"/v1/complaints/{cid}/messages", {"body": "Halo?"}),
        ]
    headers = {**headers_of("buyer"), "Content-Type": "application/json"}
    not_ready = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for method, path, body in paths:
            reply = send(service.port, method, path, body, headers)
            if reply.status == 503:
                if reply.content_type != PROBLEM or reply.body.get("status") != 503:
                    tally.fault(f"{label}: {method} {path} answered 503 but not problem+json")
                not_ready += path == "/readyz"
            elif reply.status >= 500 or reply.status == 0:
                tally.server_errors += 1
                tally.fault(f"{label}: {method} {path} with the database down answered {reply}")
            elif path == "/readyz" and reply.status == 200:
                if not_ready == 0:
                    tally.fault(f"{label}: /readyz never said 503 while the database was down")
                return
    tally.fault(f"{label}: /readyz did not come back to 200 in 60 s")


@pytest.mark.parametrize(
    "kinds",
    [
        pytest.param(("service", "worker"), id="service-and-worker"),
        pytest.param(("db",), id="database"),
    ],
)
def test_kills_under_a_write_load_lose_nothing_and_leave_nothing_half_done(
    tmp_path, scale, figures, kinds
):
    kills = scale.pick(len(kinds), 12 * len(kinds))
    threads = scale.pick(3, 3)
    rng = random.Random(int(os.environ.get("GAUNTLET_SEED", "9")))
    service = Service(tmp_path)
    deadlines = Config.from_env(service.env).deadlines
    tally = Tally()
    everything: list[Sent] = []
    service.start()
    try:
        for number in range(kills):
            kind = kinds[number % len(kinds)]
            label = f"kill {number + 1} ({kind})"
            with Load(service.port, threads, seed=number) as load:
                time.sleep(rng.uniform(0.4, 1.6))
                if kind == "service":
                    service.kill_group()
                    load.stop.set()
                    time.sleep(0.2)
                    service.start()
                elif kind == "worker":
                    workers = service.workers()
                    assert workers, f"no gunicorn worker found:\n{service.tail()}"
                    os.kill(rng.choice(workers), signal.SIGKILL)
                    time.sleep(0.5)
                else:
                    os.kill(service.db_pid, signal.SIGKILL)
                    cid = next(
                        (s.cid for s in reversed(load.sent) if s.cid), None
                    )  # a complaint the probes can name
                    _probe_while_down(service, tally, cid, label)  # serve restarts it
                    time.sleep(0.5)  # the load goes on against the new one
            tally.kills[kind] += 1
            assert service.process.poll() is None, f"{label}: serve died:\n{service.tail()}"
            everything += load.sent
            check(service, load.sent, tally, deadlines, label)
        # Last, everything once more: what was answered before a later kill is still there.
        again = Tally()
        check(service, everything, again, deadlines, "after all kills")
        tally.faults += again.faults
        tally.events_lost += again.events_lost
        tally.half_written += again.half_written
        tally.projection_mismatches += again.projection_mismatches
        tally.server_errors += again.server_errors
    finally:
        service.stop()
        tally.report(figures)
    log = service.log_path.read_text(errors="replace")
    assert '"status": 500' not in log, log[-5000:]
    assert tally.faults == [], "\n".join(tally.faults[:30])
    assert (tally.events_lost, tally.half_written, tally.projection_mismatches) == (0, 0, 0)
    assert tally.server_errors == 0
    assert tally.acknowledged > kills * 5, "the load wrote almost nothing"
