"""Actions per second through the real server, against the bare driver doing the same writes.

Run: `.venv/bin/python benchmarks/bench_actions.py [--workers 1,2,4] [--concurrency 8]
[--duration 12] [--warmup 3] [--threads 1]` (about 2.5 minutes with the defaults;
`--duration 60` for steadier figures).

For each worker count, `resolution serve --workers N` runs as a child process with its
embedded database in a temporary data dir, as in production. This process is the load: threads
on loopback, each with its own keep-alive `httpx` client, each taking complaints through the
lifecycle one request after another, alternating two paths:
- agreed: open → propose (seller) → accept (buyer): 3 actions;
- decided: open → propose → escalate (buyer) → assign (care) → decide (care): 5 actions.
Every POST is one action (an event appended); `open` counts.

Then, on the same database server and with the same number of threads, the bare driver does
exactly the database work of those actions and nothing else (no HTTP, no Flask, no domain):
- open: in a transaction, insert event (with its outbox mark), insert projection (the unique
  index `one_open_complaint_per_order` is the one-open-per-order check: no read before);
- any other action: in a transaction, read the projection, insert event (with its outbox
  mark), replace the projection on condition of its version (`eventstore.append`);
with documents of the shapes and sizes the service writes (made once by the domain itself),
into a database with the service's indexes. That is the physical limit of this database on
this box; `service / bare` says how much of it the service keeps.

Figures, not asserts: the machine is shared, so run it twice before believing a difference.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resolution.web.auth import issue_token  # noqa: E402

SECRET = "benchmark-secret-of-at-least-32-bytes"
REFUND = {"kind": "refund", "amount": 45000}
COUNTER = {"kind": "refund", "amount": 30000}
# (role, action, body) after `open`; the two paths alternate.
PATHS = {
    "agreed": [
        ("seller", "propose", {"solution": COUNTER, "note": "Setengah."}),
        ("buyer", "accept", None),
    ],
    "decided": [
        ("seller", "propose", {"solution": COUNTER, "note": "Setengah."}),
        ("buyer", "escalate", {"reason": "Tidak sepakat."}),
        ("care", "assign", {}),
        (
            "care",
            "decide",
            {"solution": REFUND, "reason_code": "other", "rationale": "Foto jelas."},
        ),
    ],
}


def order(buyer_id: str, shop_id: str) -> dict:
    """An order as the marketplace registers it (`PUT /v1/orders/tokopedia/{id}`)."""
    return {
        "buyer_id": buyer_id,
        "shop_id": shop_id,
        "total": 105000,
        "items": [
            {"sku": "KAOS-M", "name": "Kaos polos M", "qty": 2, "price": 45000},
            {"sku": "TOPI", "name": "Topi", "qty": 1, "price": 15000},
        ],
        "payment": {"method": "transfer", "status": "paid"},
        "held_amount": 105000,
    }


def open_body(order_id: str) -> dict:
    return {
        "order": {"channel": "tokopedia", "id": order_id},
        "reason": "damaged",
        "description": "Kaosnya robek di jahitan.",
        "requested_solution": REFUND,
    }


# --- what was measured ---------------------------------------------------------------------


@dataclass
class Tally:
    """Latencies of the actions completed inside the measuring window, and failures."""

    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, latency: float) -> None:
        with self.lock:
            self.latencies.append(latency)

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures[what] = self.failures.get(what, 0) + 1


@dataclass
class Window:
    """The measuring window: actions done before `start` (warm-up) or after `end` don't count."""

    start: float
    end: float

    def counts(self, done: float) -> bool:
        return self.start <= done <= self.end

    def over(self) -> bool:
        return time.perf_counter() > self.end


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(tally: Tally, window: Window) -> dict:
    lat = tally.latencies
    return {
        "actions": len(lat),
        "rate": len(lat) / (window.end - window.start),
        "p50": percentile(lat, 50) * 1000,
        "p95": percentile(lat, 95) * 1000,
        "p99": percentile(lat, 99) * 1000,
        "mean": (statistics.fmean(lat) * 1000) if lat else float("nan"),
        "failures": dict(tally.failures),
    }


def run_threads(count: int, loop) -> None:
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- the service over HTTP ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`resolution serve --workers N` on a fresh data dir, stopped with SIGTERM."""

    def __init__(self, workers: int, threads: int, data_dir: Path, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
        env["RESOLUTION_JWT_SECRET"] = SECRET
        # One token per role makes every write: not abuse, a load (the limiter's one round
        # trip a write is counted in benchmarks/roundtrips.py).
        env["RESOLUTION_RATE_LIMIT_WRITES"] = env["RESOLUTION_RATE_LIMIT_UPLOADS"] = "off"
        command = [sys.executable, "-m", "resolution", "serve", "--port", str(self.port)]
        command += ["--workers", str(workers), "--threads", str(threads)]
        command += ["--data-dir", str(data_dir)]
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.process.returncode}")
                try:
                    if client.get(self.base + "/readyz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise RuntimeError(f"the server was not ready in {timeout} s")

    @property
    def database_uri(self) -> str:
        return json.loads((self.data_dir / "server.json").read_text())["uri"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def http_load(base: str, concurrency: int, warmup: float, duration: float) -> dict:
    started = time.perf_counter()
    window = Window(started + warmup, started + warmup + duration)
    tally = Tally()
    run_id = uuid.uuid4().hex[:8]

    def loop(n: int) -> None:
        shop = f"shop-{n}"
        bearer = {
            "buyer": issue_token(SECRET, "buyer", f"buyer-{n}"),
            "seller": issue_token(SECRET, "seller", f"seller-{n}", shop),
            "care": issue_token(SECRET, "care", f"agent-{n}"),
            "market": issue_token(SECRET, "integration", f"market-{n}", channels=("tokopedia",)),
        }
        headers = {role: {"Authorization": f"Bearer {t}"} for role, t in bearer.items()}
        with httpx.Client(base_url=base, timeout=60) as client:
            number = 0
            while not window.over():
                number += 1
                path = "agreed" if number % 2 else "decided"
                order_id = f"BENCH-{run_id}-{n}-{number}"
                begun = time.perf_counter()
                registered = client.put(
                    f"/v1/orders/tokopedia/{order_id}",
                    json=order(f"buyer-{n}", shop),
                    headers=headers["market"],
                )
                if not _count(tally, window, "register", registered, begun):
                    continue
                begun = time.perf_counter()
                opened = client.post(
                    "/v1/complaints", json=open_body(order_id), headers=headers["buyer"]
                )
                if not _count(tally, window, "open", opened, begun):
                    continue
                cid = opened.json()["id"]
                for role, action, body in PATHS[path]:
                    begun = time.perf_counter()
                    response = client.post(
                        f"/v1/complaints/{cid}/actions/{action}", json=body, headers=headers[role]
                    )
                    if not _count(tally, window, action, response, begun):
                        break

    run_threads(concurrency, loop)
    return summary(tally, window)


def _count(tally: Tally, window: Window, action: str, response, begun: float) -> bool:
    done = time.perf_counter()
    if response.status_code >= 300:
        tally.fail(f"{action} {response.status_code}")
        return False
    if window.counts(done):
        tally.add(done - begun)
    return True


# --- the bare driver ------------------------------------------------------------------------


def template_documents() -> dict[str, list[tuple[dict, dict]]]:
    """(event, projection) documents of each path, as the service writes them.

    Made once by the domain (the same commands and fold as the service), so sizes and fields
    are the real ones; the bare driver only renames them per complaint.
    """
    from resolution.domain import commands
    from resolution.domain.actors import Actor, Role
    from resolution.domain.deadlines import Deadlines
    from resolution.domain.projection import apply
    from resolution.store.eventstore import complaint_to_mongo, event_to_mongo

    deadlines = Deadlines()
    actors = {
        "buyer": Actor(Role.BUYER, "buyer-0"),
        "seller": Actor(Role.SELLER, "seller-0", "shop-0"),
        "care": Actor(Role.CARE, "agent-0"),
    }
    now = datetime.now(UTC)
    templates = {}
    for name, steps in PATHS.items():
        registered = {**order("buyer-0", "shop-0"), "channel": "tokopedia", "id": "TEMPLATE"}
        event = commands.open_complaint(
            "0" * 24, actors["buyer"], {**open_body("TEMPLATE"), "order": registered}, now
        )
        complaint = apply(None, event, deadlines)
        docs = [(event_to_mongo(event), complaint_to_mongo(complaint))]
        for role, action, body in steps:
            event = commands.act(complaint, actors[role], action, body or {}, now, deadlines)
            complaint = apply(complaint, event, deadlines)
            docs.append((event_to_mongo(event), complaint_to_mongo(complaint)))
        templates[name] = docs
    return templates


def bare_load(uri: str, concurrency: int, warmup: float, duration: float) -> dict:
    import pymongo

    from resolution.store import database
    from resolution.store.documents import ComplaintDocument, EventDocument, OrderDocument
    from resolution.store.eventstore import FANOUT

    db_name = "bench_bare_" + uuid.uuid4().hex[:6]
    database.connect(uri, db_name)  # the service's indexes, on a database of its own
    database.disconnect()
    client = pymongo.MongoClient(uri, tz_aware=True, uuidRepresentation="standard")
    db = client[db_name]
    complaints = db[ComplaintDocument._meta["collection"]]
    events = db[EventDocument._meta["collection"]]
    orders = db[OrderDocument._meta["collection"]]
    templates = template_documents()
    started = time.perf_counter()
    window = Window(started + warmup, started + warmup + duration)
    tally = Tally()

    def one_action(cid: str, order_id: str, event: dict, doc: dict) -> None:
        event = {**event, "complaint_id": cid}
        doc = {**doc, "_id": cid, "order": {**doc["order"], "id": order_id}}
        seq = event["seq"]

        def work(session) -> None:
            if seq > 1:
                complaints.find_one({"_id": cid}, session=session)
            else:  # the opening reads the registered order, and what its complaints refunded
                orders.find_one({"_id": f"tokopedia/{order_id}"}, session=session)
                list(
                    complaints.find({"channel": "tokopedia", "order.id": order_id}, session=session)
                )
            events.insert_one({**event, FANOUT: event["at"]}, session=session)
            if seq == 1:
                complaints.insert_one(doc, session=session)
            else:
                found = complaints.replace_one(
                    {"_id": cid, "version": seq - 1}, doc, session=session
                )
                assert found.matched_count == 1

        with client.start_session() as session:
            session.with_transaction(work)

    def register(order_id: str) -> None:
        def work(session) -> None:  # as the registry: read, then write the first version
            orders.find_one({"_id": f"tokopedia/{order_id}"}, session=session)
            orders.insert_one({"_id": f"tokopedia/{order_id}", **order_doc}, session=session)

        with client.start_session() as session:
            session.with_transaction(work)

    order_doc = {**order("buyer-0", "shop-0"), "version": 1}

    def loop(n: int) -> None:
        number = 0
        while not window.over():
            number += 1
            path = "agreed" if number % 2 else "decided"
            cid, order_id = uuid.uuid4().hex[:24], f"BARE-{n}-{number}"
            begun = time.perf_counter()
            try:
                register(order_id)
            except Exception as error:  # noqa: BLE001 - counted, shown in the table
                tally.fail(type(error).__name__)
                continue
            done = time.perf_counter()
            if window.counts(done):
                tally.add(done - begun)
            for event, doc in templates[path]:
                begun = time.perf_counter()
                try:
                    one_action(cid, order_id, event, doc)
                except Exception as error:  # noqa: BLE001 - counted, shown in the table
                    tally.fail(type(error).__name__)
                    break
                done = time.perf_counter()
                if window.counts(done):
                    tally.add(done - begun)

    try:
        run_threads(concurrency, loop)
    finally:
        client.drop_database(db_name)
        client.close()
    return summary(tally, window)


# --- the table ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="gunicorn worker counts, e.g. 1,2,4")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (over 1: gthread workers)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="load threads (and bare)")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds measured, each")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not counted, each")
    parser.add_argument("--keep-log", action="store_true", help="print the servers' log path")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]

    print(
        f"{args.concurrency} load threads, {args.warmup:.0f} s warm-up + {args.duration:.0f} s "
        f"measured per row; {args.threads} thread(s) per worker; cpus: {os.cpu_count()}"
    )
    header = (
        f"{'workers':>7} {'what':>7} {'actions':>8} {'actions/s':>9} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'service/bare':>12}  failures"
    )
    print(header)
    tmp = Path(tempfile.mkdtemp(prefix="bench-actions-"))
    rows = []
    try:
        for count in workers:
            server = Server(count, args.threads, tmp / f"db-{count}", tmp / "serve.log")
            try:
                server.wait_ready()
                service = http_load(server.base, args.concurrency, args.warmup, args.duration)
                bare = bare_load(server.database_uri, args.concurrency, args.warmup, args.duration)
            finally:
                server.stop()
            ratio = service["rate"] / bare["rate"] if bare["rate"] else float("nan")
            rows.append((count, service, bare, ratio))
            for what, row in (("service", service), ("bare", bare)):
                shown = f"{ratio:>12.2f}" if what == "service" else f"{'':>12}"
                failures = ", ".join(f"{k}×{v}" for k, v in sorted(row["failures"].items()))
                print(
                    f"{count:>7} {what:>7} {row['actions']:>8} {row['rate']:>9.1f} "
                    f"{row['p50']:>7.1f} {row['p95']:>7.1f} {row['p99']:>7.1f} {shown}  "
                    f"{failures or '-'}",
                    flush=True,
                )
    finally:
        if args.keep_log:
            print(f"server log: {tmp / 'serve.log'}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
