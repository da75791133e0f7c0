"""Every query the service makes, run through the service's own functions, then explained.

`QUERIES` names each use (a listing per role, the sweeper's reads, the audit export …) with
the function that makes it: the service's function itself, called as a request would call it.
`plans` runs each under pymongo's command monitoring, keeps the read commands it sent (find,
aggregate, count, distinct, findAndModify; see READS on writes) with how many documents each
one handed back, and
explains each captured command as sent (`executionStats`): which index, documents and keys
examined. A change in the service's query shows up here without editing this file.

Used by `benchmarks/query_plans.py` (a table at 10,000 and 100,000 complaints) and by
`tests/integration/test_query_plans.py` (fails when a query stops using its index).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from pymongo import monitoring

from benchmarks._data import (
    BIG_SHOP,
    CHANNELS,
    INTEGRATOR,
    NOW,
    START,
    SUBSCRIPTION,
    buyer_of,
    channel_of,
)
from resolution.domain.actors import Actor, Role
from resolution.observability import STATES
from resolution.service import Context, audit, queue, sweeper, webhooks
from resolution.service import complaints as service
from resolution.service import settlements as settlement_service
from resolution.store import counters, eventstore, files, idempotency, listings
from resolution.store import erasure as subject_store
from resolution.store import orders as order_store
from resolution.store import webhooks as webhook_store
from resolution.store.documents import ComplaintDocument

# Updates and deletes are not explained: SecantusDB explains every one as a collection scan,
# even by `_id` alone, while its update path finds by `_id` in constant time (update_one on
# {_id, version}: 1.9 ms at 1,000 and at 30,000 complaints). findAndModify is explained: it
# does scan (6 ms at 1,000, 120 to 360 ms at 30,000, with or without other fields than _id).
READS = ("find", "aggregate", "count", "distinct", "findAndModify")
# Keys of a sent command that are about the session or the wire, not the query.
_WIRE = {
    "lsid",
    "$db",
    "$clusterTime",
    "$readPreference",
    "txnNumber",
    "startTransaction",
    "autocommit",
    "readConcern",
    "writeConcern",
}


@dataclass
class Command:
    """One read command as the service sent it, and what came back."""

    name: str
    collection: str
    body: dict
    returned: int = 0
    repeats: int = 1
    seconds: float | None = None
    joined: int = 0  # documents its `$lookup` stages joined in (an aggregate's)
    lookup: bool = False  # the find a `$lookup` of an aggregate amounts to (`lookups`)
    # The bodies of the commands of the same shape folded into this one (`captured`), in the
    # order sent: each is explained too (a listing's windows differ in their values only).
    more: list[dict] = field(default_factory=list)

    @property
    def counts(self) -> bool:
        """pymongo's `count_documents`: an aggregate ending in a count."""
        pipeline = self.body.get("pipeline") or [{}]
        return self.name == "aggregate" and pipeline[-1] == {"$group": {"_id": 1, "n": {"$sum": 1}}}

    @property
    def label(self) -> str:
        name = "$lookup" if self.lookup else self.name
        return ("count" if self.counts else name) + (
            f" ×{self.repeats}" if self.repeats > 1 else ""
        )

    @property
    def shape(self) -> tuple:
        """Commands that differ only in their values (a findAndModify per claimed delivery)."""
        return (self.name, self.collection, _keys(self.body))


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _keys(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_keys(v) for v in value[:1])
    return None


class Recorder(monitoring.CommandListener):
    """Keeps the read commands sent while `recording` (registered once, for every client)."""

    def __init__(self) -> None:
        self.recording: list[Command] | None = None
        self._by_request: dict[int, Command] = {}
        self._by_cursor: dict[int, Command] = {}
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording is None:
            return
        if event.command_name == "getMore":  # more of a cursor: counts for its command
            with self._lock:
                command = self._by_cursor.get(event.command["getMore"])
                if command is not None:
                    self._by_request[event.request_id] = command
            return
        if event.command_name not in READS:
            return
        body = {k: v for k, v in event.command.items() if k not in _WIRE}
        command = Command(event.command_name, str(event.command[event.command_name]), body)
        with self._lock:
            self.recording.append(command)
            self._by_request[event.request_id] = command

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        reply = event.reply
        with self._lock:
            command = self._by_request.pop(event.request_id, None)
            if command is None:
                return
            cursor = reply.get("cursor")
            if cursor is not None and cursor.get("id"):
                self._by_cursor[cursor["id"]] = command
        if cursor is not None:
            batch = cursor.get("firstBatch", cursor.get("nextBatch", []))
            if command.counts and batch:  # count_documents: one {"n": …}
                command.returned += batch[0].get("n", 0)
            elif not command.counts:
                command.returned += len(batch)
                for stage in _lookup_stages(command.body):
                    command.joined += sum(len(doc.get(stage["as"]) or ()) for doc in batch)
        elif "values" in reply:
            command.returned += len(reply["values"])
        elif "n" in reply and command.name == "count":
            command.returned += reply["n"]  # documents counted
        elif "value" in reply:
            command.returned += 1 if reply["value"] else 0

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        with self._lock:
            self._by_request.pop(event.request_id, None)

    @contextmanager
    def record(self) -> Iterator[list[Command]]:
        commands: list[Command] = []
        self.recording = commands
        try:
            yield commands
        finally:
            self.recording = None
            self._by_cursor.clear()


_recorder: Recorder | None = None


def recorder() -> Recorder:
    """The one listener. pymongo attaches listeners to clients made after registering them:
    call this before `database.connect`."""
    global _recorder
    if _recorder is None:
        _recorder = Recorder()
        monitoring.register(_recorder)
    return _recorder


# --- the queries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """Ids to ask about, taken from the generated data (`_data`)."""

    complaint_id: str  # complaint 8: awaiting the seller, three events (the last a reading)
    order_id: str
    channel: str
    buyer: str

    @classmethod
    def find(cls) -> Sample:
        doc = ComplaintDocument._get_collection().find_one({"order.id": "INV-8"})
        return cls(doc["_id"], "INV-8", channel_of(8), buyer_of(8))


@dataclass(frozen=True)
class Query:
    """A use of the database by the service, and what its plan should be."""

    name: str
    run: Callable[[Context, Sample], Any]
    # Commands it is expected to send, each with the index it must use ("_id_" for point
    # reads by id, None for a read of a whole, small collection), in the order sent.
    indexes: tuple[str | tuple[str, ...] | None, ...]
    # Why it is allowed to read more documents than it returns, when it is.
    scans: str | None = None
    # A known fault, in words, with the fix: the test expects it to fail until fixed.
    known: str | None = None
    # Why SecantusDB's explain says COLLSCAN where its executor reads the index (timed).
    unexplained: str | None = None
    # Bounded by its page: it examines at most about twice what it returns, plus a little
    # (`examines_what_it_returns`), however many complaints there are (issue #25).
    bounded: bool = False


SWEPT = 100  # what the sweeper handles of each kind in a pass (benchmarks/scale.py's)
BUYER = Actor(Role.BUYER, "")  # the id is the sample's
SELLER = Actor(Role.SELLER, "seller-big", BIG_SHOP)
CARE = Actor(Role.CARE, "agent-1")
AUDITOR = Actor(Role.AUDITOR, "auditor-1")
INTEGRATION = Actor(Role.INTEGRATION, INTEGRATOR)
HOUR = (NOW - timedelta(hours=2), NOW - timedelta(hours=1))  # 120 complaints open
# A marketplace reading its change feed since its last poll, an hour ago.
FEED_SINCE = NOW - timedelta(hours=1)


def _market(s: Sample) -> Actor:
    return replace(INTEGRATION, channels=frozenset({s.channel}))


def _markets(s: Sample) -> Actor:
    """A marketplace with two channels (the sample's and another), asking for neither."""
    other = next(channel for channel in CHANNELS if channel != s.channel)
    return replace(INTEGRATION, channels=frozenset({s.channel, other}))


def _buyer(s: Sample) -> Actor:
    return replace(BUYER, id=s.buyer)


def _first(records) -> None:
    next(iter(records))  # the first record: the query is sent, the rest is streamed later


def _second_page(ctx: Context, actor: Actor, **kwargs) -> None:
    _, cursor = service.list_complaints(ctx, actor, **kwargs)
    service.list_complaints(ctx, actor, cursor=cursor, **kwargs)


def _settlements_second_page(ctx: Context, actor: Actor, **kwargs) -> None:
    _, cursor = settlement_service.list_settlements(ctx, actor, **kwargs)
    settlement_service.list_settlements(ctx, actor, cursor=cursor, **kwargs)


def _claim_and_record(ctx: Context) -> None:
    for delivery in webhooks.claim_due(ctx, limit=5):
        webhooks.record_attempt(ctx, delivery, 200, None)


# The service never sends findAndModify (find_one_and_update/_replace): it scans the
# collection on SecantusDB whatever explain says (14 ms a call at 1,000 complaints, 176 ms at
# 10,000, 1.4 s at 30,000 even with hint('_id_')), while replace_one/update_one with the
# condition in the filter stays at 4 to 6 ms (matched_count says who won; find_one by _id
# after, if the document is needed).

QUERIES: tuple[Query, ...] = (
    Query(
        "list complaints: buyer",
        lambda c, s: service.list_complaints(c, _buyer(s)),
        ("by_buyer",),
        bounded=True,
    ),
    Query(
        "list complaints: buyer, state",
        lambda c, s: service.list_complaints(c, _buyer(s), state="awaiting_seller"),
        ("by_buyer_state",),
        bounded=True,
    ),
    # Every listing but a buyer's reads windows of its order's instant, as many as its page
    # needs (listings.window_page): the windows of a page, and of the next, are one shape.
    Query(
        "list complaints: seller",
        lambda c, s: service.list_complaints(c, SELLER),
        ("by_shop",),
        bounded=True,
    ),
    Query(
        "list complaints: seller, next page",
        lambda c, s: _second_page(c, SELLER),
        ("by_shop",),
        bounded=True,
    ),
    Query(
        "list complaints: marketplace, its channel",
        lambda c, s: service.list_complaints(c, _market(s), channel=s.channel),
        ("by_channel",),
        bounded=True,
    ),
    Query(
        "list complaints: marketplace, its channel, next page",
        lambda c, s: _second_page(c, _market(s), channel=s.channel),
        ("by_channel",),
        bounded=True,
    ),
    Query(
        "list complaints: marketplace of two channels (a page of each, merged)",
        lambda c, s: service.list_complaints(c, _markets(s)),
        ("by_channel",),
        bounded=True,
    ),
    # The payment system's settlements, newest first: windows of the ids' seconds
    # (listings.newest_by_id), on the status's index, or the channel's and status's.
    Query(
        "settlements: paid, newest first (payment system)",
        lambda c, s: settlement_service.list_settlements(c, _market(s), status="confirmed"),
        ("channel_settlements",),
        bounded=True,
    ),
    Query(
        "settlements: paid, next page",
        lambda c, s: _settlements_second_page(c, _market(s), status="confirmed"),
        ("channel_settlements",),
        bounded=True,
    ),
    Query(
        "settlements: asked to pay, not answered (care)",
        lambda c, s: settlement_service.list_settlements(c, CARE, status="requested"),
        ("settlements",),
        bounded=True,
    ),
    Query(
        "list complaints: marketplace, one order (its few complaints, one read)",
        lambda c, s: service.list_complaints(c, _market(s), order_id=s.order_id),
        ("by_order",),
        bounded=True,
    ),
    Query(
        "list complaints: marketplace, change feed",
        lambda c, s: service.list_complaints(
            c, _market(s), channel=s.channel, updated_since=FEED_SINCE
        ),
        ("channel_feed",),
        bounded=True,
    ),
    Query(
        "list complaints: marketplace, change feed since 60 days ago",
        lambda c, s: service.list_complaints(c, _market(s), channel=s.channel, updated_since=START),
        ("channel_feed",),
        scans="the first window after a stretch with no change reads what a span as long as "
        "that stretch holds (window_page): the whole channel when the data is younger than that",
    ),
    Query(
        "list complaints: marketplace, change feed, next page",
        lambda c, s: _second_page(c, _market(s), channel=s.channel, updated_since=FEED_SINCE),
        ("channel_feed",),
        bounded=True,
    ),
    Query(
        "orders: the registered order (opening, registry)",
        lambda c, s: order_store.load(s.channel, s.order_id),
        ("_id_",),
        bounded=True,
    ),
    Query(
        "orders: the complaints on an order (refund cap, order_updated)",
        lambda c, s: order_store.complaints_on(s.channel, s.order_id),
        ("by_order",),
        bounded=True,
    ),
    Query(
        "list complaints: seller, state",
        lambda c, s: service.list_complaints(c, SELLER, state="awaiting_seller"),
        ("by_shop_state",),
        bounded=True,
    ),
    Query(
        "list complaints: care",
        lambda c, s: service.list_complaints(c, CARE),
        ("newest",),  # windows of `created_at`, as many as the page needs (window_page)
        bounded=True,
    ),
    Query(
        "list complaints: care, next page",
        lambda c, s: _second_page(c, CARE),
        ("newest",),
        bounded=True,
    ),
    Query(
        "list complaints: care, state",
        lambda c, s: service.list_complaints(c, CARE, state="awaiting_seller"),
        ("by_state",),
        bounded=True,
    ),
    Query(
        "list complaints: care, state, next page",
        lambda c, s: _second_page(c, CARE, state="awaiting_seller"),
        ("by_state",),
        bounded=True,
    ),
    Query(
        "audit: the identity documents one agent opened in a time range",
        lambda c, s: subject_store.identity_views("agent-1", START, NOW, None, 1000),
        ("by_actor",),
    ),
    Query(
        "data subjects: the complaints a person wrote in (erasure, report)",
        lambda c, s: subject_store.complaints_of("buyer", s.buyer),
        ("by_actor",),
    ),
    Query(
        "retention: closed complaints keeping a kind of file past its period (sweeper)",
        lambda c, s: listings.retained_since("identity_document", NOW, SWEPT),
        ("_id_", "retention"),  # the floor, then windows of `retain_from` (_oldest_first)
        bounded=True,
    ),
    Query(
        "retention: complaints closed before retention existed (sweeper)",
        lambda c, s: listings.closed_without_closing_time(500),
        ("closed_since",),
    ),
    Query(
        "list complaints: overdue (care SLA)",
        lambda c, s: service.list_complaints(c, AUDITOR, overdue=True),
        ("care_due",),
        bounded=True,
    ),
    Query(
        "list complaints: overdue (care SLA), next page",
        lambda c, s: _second_page(c, AUDITOR, overdue=True),
        ("care_due",),
        bounded=True,
    ),
    Query(
        "action (a message): load",
        lambda c, s: service.post_message(c, _buyer(s), s.complaint_id, "Halo?"),
        ("_id_",),
        bounded=True,
    ),
    Query(
        "get complaint (and evidence list)",
        lambda c, s: service.get_complaint(c, _buyer(s), s.complaint_id),
        ("_id_",),
        bounded=True,
    ),
    Query(
        "events of a complaint (one aggregate: the complaint, its events by $lookup)",
        lambda c, s: service.list_events(c, _buyer(s), s.complaint_id),
        ("_id_", "complaint_seq"),
        bounded=True,
    ),
    Query(
        "events of a complaint: next page",
        lambda c, s: service.list_events(c, _buyer(s), s.complaint_id, after=1, limit=1),
        ("_id_", "complaint_seq"),
        bounded=True,
    ),
    Query(
        "last evidence reading (video seek)",
        lambda c, s: eventstore.last_event(
            s.complaint_id,
            "evidence_viewed",
            {"actor.role": "care", "actor.id": "agent-2", "data.evidence_id": f"{8:024x}"},
        ),
        ("complaint_seq",),
        unexplained="`complaint_id` rides `complaint_seq`, the other fields are checked on "
        "the complaint's events: 3 ms at 10,000 complaints (a scan of the events takes 340)",
    ),
    Query(
        "open_complaint_on (one open per order)",
        lambda c, s: eventstore.open_complaint_on(s.channel, s.order_id),
        ("one_open_complaint_per_order",),
        bounded=True,
    ),
    Query(
        "idempotency key",
        lambda c, s: idempotency.remembered("0" * 64),
        ("_id_",),
        bounded=True,
    ),
    Query(
        "sweeper: due",
        lambda c, s: sweeper.due_complaints(NOW, SWEPT),
        ("_id_", "due"),  # the floor, then windows of `due_at`, each state (_oldest_first)
        bounded=True,
    ),
    Query(
        "sweeper: paused clocks passed",
        lambda c, s: listings.paused_until_passed(NOW, SWEPT),
        ("_id_", "paused"),
        bounded=True,
    ),
    Query(
        "sweeper: reminders",
        lambda c, s: sweeper.due_reminders(NOW, SWEPT),
        ("_id_", "remind"),
        bounded=True,
    ),
    Query(
        "audit export: one hour",
        lambda c, s: _first(audit.export_records(c, AUDITOR, audit.ExportQuery(*HOUR))),
        ("checkpoint_time", "by_time"),  # the checkpoint it ends at (none here), the events
        bounded=True,
    ),
    Query(
        "audit export: count (progress bar)",
        lambda c, s: audit.count_events(audit.ExportQuery(*HOUR), HOUR[1]),
        ("by_time",),
        bounded=True,
    ),
    Query(
        "audit export: one complaint",
        lambda c, s: _first(
            audit.export_records(c, AUDITOR, audit.ExportQuery(complaint_id=s.complaint_id))
        ),
        ("checkpoint_time", "complaint_seq"),
        unexplained="`complaint_id` (the filter's first clause) rides `complaint_seq`, `at` is "
        "checked on the complaint's events: 4 ms at 10,000 complaints (it was 1,274 with a hint)",
    ),
    Query(
        "audit export: one channel, one hour",
        lambda c, s: _first(
            audit.export_records(c, AUDITOR, audit.ExportQuery(*HOUR, channel="shopee"))
        ),
        ("checkpoint_time", "by_time", "_id_"),
        bounded=True,
    ),
    # The queue: its floor, windows of `escalated_at` per state (ids and the fields its
    # filters check, up to the count's cap: listings.care_queue_page), the page by id.
    Query(
        "console queue",
        lambda c, s: queue.care_queue(c, CARE),
        ("_id_", "care_queue", "_id_"),
        bounded=True,
    ),
    Query(
        "console queue: in mediation, mine",
        lambda c, s: queue.care_queue(c, CARE, state="in_mediation", assigned_to=CARE.id),
        # The agent's floor, windows of `escalated_at` of its cases, then the page by id.
        ("_id_", "agent_queue", "_id_"),
        bounded=True,
    ),
    Query(
        "console queue: overdue, page 3",
        lambda c, s: queue.care_queue(c, CARE, overdue=True, page=3),
        ("_id_", "care_queue", "_id_"),
        bounded=True,
    ),
    Query(
        "console: my cases",
        lambda c, s: queue.my_cases(c, CARE),
        ("_id_", "by_agent"),  # the floor, then windows of `care_due_at`
        bounded=True,
    ),
    Query(
        "console: take the next case (the most urgent nobody took)",
        lambda c, s: listings.most_urgent_unassigned(20),
        ("_id_", "care_due"),  # the floor, then windows of `care_due_at`
        bounded=True,
    ),
    Query(
        "webhooks: subscriptions",
        lambda c, s: webhooks.subscriptions(c, INTEGRATION),
        ("by_owner",),
        bounded=True,
    ),
    Query(
        "webhooks: deliveries",
        lambda c, s: webhooks.deliveries(c, INTEGRATION, SUBSCRIPTION),
        (("_id_", "by_owner"), "by_subscription"),  # its subscription; windows per status
        bounded=True,
    ),
    Query(
        "webhooks: dead deliveries",
        lambda c, s: webhooks.deliveries(c, INTEGRATION, SUBSCRIPTION, status="dead"),
        (("_id_", "by_owner"), "by_subscription"),
        bounded=True,
    ),
    Query(
        "webhooks: claim due, record (deliverer)",
        lambda c, s: _claim_and_record(replace(c, clock=lambda: NOW)),
        # The floor; windows of `next_attempt_at`; for each found, a pending one before it
        # in its complaint (none: it is the head); then each lease and record by `_id`.
        ("_id_", "due", "queue", "_id_"),
        bounded=True,
    ),
    Query(
        "webhooks: fan-out (deliverer)",
        lambda c, s: webhooks.fan_out(c, limit=5),
        ("_id_", "fanout", None, "complaint_seq"),  # the floor, windows of the mark, ...
        scans="all subscriptions (a handful) are read for each fan-out",
        bounded=True,
    ),
    Query(
        "webhooks: queue figures (metrics)",
        lambda c, s: webhook_store.queue_figures(NOW),
        # The counters (a small collection); the subscriptions (a handful); the two floors
        # (pending, outbox); windows of the pending ones, 1,001 at most; windows of the
        # outbox's marks, 1,001 at most.
        (None, None, "_id_", "by_subscription", "fanout"),
        bounded=True,
    ),
    Query(
        "metrics: complaints by state, care overdue",
        lambda c, s: (counters.complaints_by_state(STATES), listings.care_overdue(NOW)),
        # The counters' stripes (a small collection); the floor, then windows of overdue ids,
        # 1,001 at most.
        (None, "_id_", "care_due"),
        bounded=True,
    ),
    Query(
        "evidence: orphan files (sweeper)",
        lambda c, s: files.unrecorded_before(NOW),
        ("unrecorded_by_age",),  # one range per value of `recorded` (False, then None)
        bounded=True,
    ),
    Query(
        "evidence: files stored before encryption (encrypt-files)",
        lambda c, s: files.plaintext_after(None, 100),
        ("by_encryption",),
    ),
)


# --- plans ----------------------------------------------------------------------------------


@dataclass
class Plan:
    """One captured command, explained."""

    query: str
    command: Command
    index: str  # the index the winning plan reads, "COLLSCAN", or "IDHACK"
    stages: str  # the winning plan's stages, outermost first
    docs_examined: int
    keys_examined: int
    explained_returned: int


def explain(db, command: Command) -> dict:
    return db.command({"explain": command.body, "verbosity": "executionStats"})


def _walk(stage: dict | None) -> Iterator[dict]:
    while stage:
        yield stage
        stage = stage.get("inputStage") or (stage.get("inputStages") or [None])[0]


def winning_plan(explained: dict) -> dict:
    planner = explained.get("queryPlanner")
    if planner is None:  # an aggregate explained stage by stage
        planner = explained["stages"][0]["$cursor"]["queryPlanner"]
    return planner["winningPlan"]


def plan_of(query: str, command: Command, explained: dict) -> Plan:
    stages = list(_walk(winning_plan(explained)))
    names = [s.get("indexName") for s in stages if s.get("indexName")]
    kinds = [s.get("stage", "?") for s in stages]
    index = names[0] if names else ("COLLSCAN" if "COLLSCAN" in kinds else kinds[-1])
    stats = explained.get("executionStats") or {}
    return Plan(
        query,
        command,
        index,
        " < ".join(kinds),
        int(stats.get("totalDocsExamined", 0)),
        int(stats.get("totalKeysExamined", 0)),
        int(stats.get("nReturned", 0)),
    )


def _lookup_stages(body: dict) -> list[dict]:
    return [stage["$lookup"] for stage in body.get("pipeline") or () if "$lookup" in stage]


def lookups(command: Command) -> list[Command]:
    """The finds that an aggregate's `$lookup` stages amount to, so they are explained too.

    SecantusDB's and MongoDB's `explain` of an aggregate show the outer collection's plan only.
    A `$lookup` on `localField` = `_id` after `{$match: {_id: value}}`, whose own pipeline is
    `$match`, `$sort`, `$limit` and `$project` stages, is the find of `{foreignField: value,
    …match}` with that sort, limit and projection on the `from` collection: the read each
    server makes for it.
    """
    pipeline = command.body.get("pipeline") or []
    first = pipeline[0].get("$match", {}) if pipeline else {}
    derived = []
    for stage in _lookup_stages(command.body):
        if stage.get("localField") != "_id" or "_id" not in first:
            raise ValueError(f"a $lookup this module cannot explain: {stage}")
        find: dict[str, Any] = {
            "find": stage["from"],
            "filter": {stage["foreignField"]: first["_id"]},
        }
        for inner in stage.get("pipeline", ()):
            (operator, value), *rest = inner.items()
            if rest or operator not in ("$match", "$sort", "$limit", "$project"):
                raise ValueError(f"a $lookup stage this module cannot explain: {inner}")
            if operator == "$match":
                find["filter"].update(value)
            else:
                find[{"$project": "projection"}.get(operator, operator[1:])] = value
        derived.append(Command("find", stage["from"], find, returned=command.joined, lookup=True))
    return derived


def captured(ctx: Context, query: Query, sample: Sample) -> list[Command]:
    """The read commands `query` sends, identical ones folded into one with a count; the
    first command carries how long the whole use took (`seconds`)."""
    with recorder().record() as commands:
        started = time.perf_counter()
        query.run(ctx, sample)
        seconds = time.perf_counter() - started
    if commands:
        commands[0].seconds = seconds
    folded: dict[tuple, Command] = {}
    for command in commands:
        if command.shape in folded:
            folded[command.shape].repeats += 1
            folded[command.shape].more.append(command.body)
            folded[command.shape].returned += command.returned
            folded[command.shape].joined += command.joined
        else:
            folded[command.shape] = command
    return [each for command in folded.values() for each in (command, *lookups(command))]


def plans(ctx: Context, query: Query, sample: Sample) -> list[Plan]:
    """Each command sent, explained; one folded from several (`repeats`) is explained for
    every one of them, its documents and keys examined and matched summed."""
    db = ComplaintDocument._get_db()
    result = []
    for command in captured(ctx, query, sample):
        plan = plan_of(query.name, command, explain(db, command))
        for body in command.more:
            again = plan_of(query.name, command, explain(db, replace(command, body=body)))
            plan.docs_examined += again.docs_examined
            plan.keys_examined += again.keys_examined
            plan.explained_returned += again.explained_returned
        result.append(plan)
    return result


def uses_index(plan: Plan, expected: str | tuple[str, ...] | None) -> bool:
    """The plan reads `expected` (or one of them); None: a whole collection, any plan."""
    if expected is None:
        return True
    names = (expected,) if isinstance(expected, str) else expected
    if "_id_" in names:
        names = (*names, "IDHACK", "EXPRESS_IXSCAN", "CLUSTERED_IXSCAN")
    return plan.index in names


# Small collections, where a scan costs nothing: a handful of subscriptions.
SMALL = ("webhooks",)


def scans_anyway(plan: Plan) -> bool:
    """A command SecantusDB runs as a scan whatever its plan says (timed): findAndModify
    outside the small collections (see READS), and any command with a `hint`, which it answers
    by walking the whole hinted index and decoding every document in it while `explain`
    reports only the matching keys (store/documents.py: a fan-out, 4.7 s at 10,000 complaints
    with hints, 51 ms without)."""
    if "hint" in plan.command.body:
        return True
    return plan.command.name == "findAndModify" and plan.command.collection not in SMALL


def explained_blind(query: Query, plan: Plan, expected: str | tuple[str, ...] | None) -> bool:
    """The command is one SecantusDB's explain cannot see: a filter of which one clause rides
    an index (`query.unexplained`). Its executor reads that index; its explain, a model of the
    planner without that path, reports a collection scan. Blind only while it says COLLSCAN:
    once it names the expected index, the note must go."""
    return bool(query.unexplained) and plan.index == "COLLSCAN" and expected is not None


def selective(plan: Plan, slack: int = 2) -> bool:
    """The index finds the matching documents and (almost) no others: documents examined
    close to what the server found matching (its `nReturned`, which SecantusDB counts
    before any limit)."""
    return plan.docs_examined <= plan.explained_returned + slack * plan.command.repeats


def examines_what_it_returns(plan: Plan, slack: int = 5) -> bool:
    """Documents examined no more than twice those handed back, plus a little."""
    return plan.docs_examined <= 2 * plan.command.returned + slack * plan.command.repeats
