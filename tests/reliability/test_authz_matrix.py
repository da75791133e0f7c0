"""The authorization matrix: every route × every role × every kind of target, against a table.

The routes come from the app's own route table (`url_map`), so a route added without a row
here fails `test_the_table_names_every_route`. The expected answers are written by hand from
`../shared/docs/lifecycle.md` ("Who acts", "Transitions"), issue 3 ("Who may do what": no token
401; a complaint the caller may not see is 404, exactly like one that does not exist; an
action the caller's role never takes on a complaint it can see is 403), the README's evidence
rules (identity documents and `care_only` uploads: care, auditors and the uploader; the other
party gets 403 on the file), audit (care and auditors; everyone else 403), webhooks
(integration tokens only, and only their own subscriptions: another's is 404; an integration
token anywhere else is 403) and the console (care only: anyone else is sent to sign in).

Where a role may take an action on a complaint it sees, whether it succeeds (200) or is
refused by the state (409) is the machine's business, not access control's: the matrix
predicts it from the complaint's `allowed_actions` for that caller, then checks the answer.

Every answer is scanned for leaks: a refusal (401, 403, 404, a redirect to sign in) carries
no marker of any complaint (ids, order ids, texts, evidence) beyond what the request itself
named, and a 404 for a complaint the caller may not see is the 404 of an unknown id; a 2xx
or 409 carries no marker of a complaint the caller may not see, nor the content of restricted
evidence it may not open. A refusal changes nothing stored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from resolution.config import Config
from resolution.service import Context, anchoring
from resolution.service import webhooks as webhook_service
from resolution.store import database
from resolution.store.documents import ComplaintDocument
from resolution.web.app import create_app
from tests.support.bodies import complaint_body, order, png_file
from tests.support.clock import Clock
from tests.support.orders import registration
from tests.support.parties import SECRET, SIGNING_KEY, auth

ABSENT = "65f0000000000000000000ff"  # well-formed, no such complaint (or evidence, or webhook)
JUNK = "not-an-id"
ROLES = ("buyer", "seller", "care", "auditor", "integration", "none")
HEADERS = {
    "buyer": auth("buyer", "buyer-1"),
    "seller": auth("seller", "seller-1", "shop-1"),
    "care": auth("care", "agent-1"),
    "auditor": auth("auditor", "auditor-1"),
    # The marketplace's back end, for the channel of every complaint here.
    "integration": auth("integration", "market-1", channels=("tokopedia",)),
    "none": {},
}
OTHER_INTEGRATOR = auth("integration", "market-2")
BUYER_2 = auth("buyer", "buyer-2")
SELLER_9 = auth("seller", "seller-9", "shop-9")

# Four complaints, for two buyers at two shops: key -> (buyer, seller, shop).
COMPLAINTS = {
    "A": (HEADERS["buyer"], HEADERS["seller"], "shop-1"),  # both parties are ours
    "B": (HEADERS["buyer"], SELLER_9, "shop-9"),  # our buyer's, at another shop
    "C": (BUYER_2, HEADERS["seller"], "shop-1"),  # our shop's, another buyer's
    "D": (BUYER_2, SELLER_9, "shop-9"),  # neither
}

# --- the table -------------------------------------------------------------------------------
# Who sees a complaint (issue 3: buyer its own, seller its shop's, care and auditors all).
SEES = {
    "buyer": {"A", "B"},
    "seller": {"A", "C"},
    "care": {"A", "B", "C", "D"},
    "auditor": {"A", "B", "C", "D"},
    "integration": {"A", "B", "C", "D"},  # its channel's: it reads them, never acts
    "none": set(),
}
READERS = {"buyer", "seller", "care", "auditor"}  # "Who acts": auditors read-only
MARKET_READERS = READERS | {"integration"}  # the complaint and its events (issue 17)
# Who reads an order (lifecycle.md, "Orders"): its marketplace, its buyer, its shop's sellers.
ORDER_READERS = {
    "integration": {"A", "B", "C", "D"},
    "buyer": {"A", "B"},
    "seller": {"A", "C"},
}
SPEAKERS = {"buyer", "seller", "care"}  # messages and evidence: "the parties (and care)"
# lifecycle.md, "Transitions": who takes each action (in some state).
ACTION_ROLES = {
    "propose": {"buyer", "seller"},
    "accept": {"buyer", "seller"},
    "appeal": {"seller"},
    "escalate": {"buyer", "seller"},
    "withdraw": {"buyer"},
    "assign": {"care"},
    "release": {"care"},
    "reassign": {"care"},
    "request_evidence": {"care"},
    "decide": {"care"},
    "ship_return": {"buyer"},
    "confirm_return": {"seller"},
    "ship_items": {"seller"},
    "confirm_received": {"buyer"},
    "request_review": {"buyer", "seller"},
    "pause_clock": {"care"},
    "resume_clock": {"care"},
}
# The evidence each complaint holds: key -> (uploader side, kind, care_only). The README:
# identity documents and care_only uploads open for care, auditors and the uploader only.
EVIDENCE = {
    "ktp": ("buyer", "identity_document", False),
    "photo": ("buyer", "photo", False),
    "secret": ("seller", "photo", True),
    "tracking": ("seller", "tracking", False),
}


def party(role: str, key: str) -> str | None:
    """Which side of complaint `key` the role speaks for, if any."""
    if role == "buyer" and key in ("A", "B"):
        return "buyer"
    if role == "seller" and key in ("A", "C"):
        return "seller"
    return None


def can_open(role: str, key: str, item: str) -> bool:
    side, kind, care_only = EVIDENCE[item]
    if kind != "identity_document" and not care_only:
        return True
    return role in ("care", "auditor") or party(role, key) == side


@dataclass(frozen=True)
class Target:
    """What a request points at: a complaint (and evidence, webhook, delivery) by key."""

    complaint: str = ""  # A-D, "absent", "junk"
    evidence: str = ""  # ktp/photo/secret/tracking, "absent", or "A:photo" (another's)
    webhook: str = ""  # own, other, absent, junk
    delivery: str = ""  # own, other, absent
    order: str = ""  # the order of complaint A-D, "absent", "junk"
    settlement: str = ""  # own (its channel's), other (another channel's), absent, junk

    def __str__(self) -> str:
        parts = (
            self.complaint,
            self.evidence,
            self.webhook,
            self.delivery,
            self.order,
            self.settlement,
        )
        return "/".join(p for p in parts if p)


COMPLAINT_TARGETS = [Target(k) for k in (*COMPLAINTS, "absent", "junk")]
EVIDENCE_TARGETS = [Target(k, e) for k in COMPLAINTS for e in EVIDENCE] + [
    Target("A", "absent"),
    Target("absent", "A:photo"),
    Target("D", "A:photo"),  # a real evidence id, of another complaint
]
# The short form's evidence: every kind on the complaint both parties share, each kind once
# on another complaint, and the odd ids. The long form runs them all.
SHORT_EVIDENCE = {
    t for t in EVIDENCE_TARGETS if t.complaint in ("A", "absent") or ":" in t.evidence
} | {Target("B", "ktp"), Target("C", "secret"), Target("D", "photo")}
WEBHOOK_TARGETS = [Target(webhook=w) for w in ("own", "other", "absent", "junk")]
DELIVERY_TARGETS = [
    Target(webhook="own", delivery="own"),
    Target(webhook="own", delivery="other"),
    Target(webhook="other", delivery="other"),
    Target(webhook="own", delivery="absent"),
]
ORDER_TARGETS = [Target(order=k) for k in (*COMPLAINTS, "absent", "junk")]
NO_TARGET = [Target()]

OK = "ok"  # the door opened: 2xx, or for an action the machine's 200/409 (see `predict`)


def door(role: str, t: Target, may: set[str]) -> int | str:
    """The API's answer before any rule of the state: 401, 403 or 404, or OK."""
    if role == "none":
        return 401
    if role == "integration" and role not in may:
        return 403  # integration tokens read complaints; anywhere else on them, 403
    if t.complaint not in SEES[role]:
        return 404  # not revealed: the same as a complaint that does not exist
    if role not in may:
        return 403
    return OK


def on_complaint(may: set[str], success: int) -> Callable[[str, Target], int | str]:
    def expect(role: str, t: Target) -> int | str:
        answer = door(role, t, may)
        return success if answer == OK else answer

    return expect


def on_action(action: str) -> Callable[[str, Target], int | str]:
    return lambda role, t: door(role, t, ACTION_ROLES[action])  # OK: 200 or 409, by the state


def on_file(role: str, t: Target) -> int | str:
    answer = door(role, t, READERS)
    if answer != OK:
        return answer
    if t.evidence not in EVIDENCE or EVIDENCE[t.evidence][1] == "tracking":
        return 404  # no such evidence here; a tracking number has no file
    return 200 if can_open(role, t.complaint, t.evidence) else 403


def on_review(role: str, t: Target) -> int | str:
    answer = door(role, t, {"care"})
    if answer != OK:
        return answer
    if t.evidence not in EVIDENCE:
        return 404
    return 409 if t.evidence == "ktp" else 200  # the ktp was reviewed when it was set up


def collection(codes: dict[str, int]) -> Callable[[str, Target], int | str]:
    """Routes without a complaint: the role alone decides (403 for any other token)."""
    return lambda role, t: 401 if role == "none" else codes.get(role, 403)


def on_webhook(success: int) -> Callable[[str, Target], int | str]:
    def expect(role: str, t: Target) -> int | str:
        if role == "none":
            return 401
        if role != "integration":
            return 403
        if t.webhook != "own" or t.delivery not in ("", "own"):
            return 404  # another integrator's subscription does not exist for this one
        return success

    return expect


def on_order_read(role: str, t: Target) -> int:
    if role == "none":
        return 401
    return 200 if t.order in ORDER_READERS.get(role, set()) else 404


def on_order_write(role: str, t: Target) -> int:
    if role == "none":
        return 401
    if t.order == "junk":
        return 404  # a path that names no order
    if role != "integration":
        return 403
    return 201 if t.order == "absent" else 200  # registered now, or again as it is


def public(role: str, t: Target) -> int:
    return 200


SETTLEMENT_TARGETS = [Target(settlement=k) for k in ("own", "other", "absent", "junk")]


def on_settlement_read(role: str, t: Target) -> int:
    """Read by the payment system (its channels'), care and auditors; 403 for the parties."""
    if role == "none":
        return 401
    if role in ("buyer", "seller"):
        return 403
    if t.settlement in ("absent", "junk"):
        return 404
    return 200 if role != "integration" or t.settlement == "own" else 404


def on_settlement_step(taker: str, success: int) -> Callable[[str, Target], int]:
    """Answered by the payment system of the channel (confirm, fail) or retried by care; the
    world's settlements are `requested`, so a retry of one is 409."""

    def expect(role: str, t: Target) -> int:
        if role == "none":
            return 401
        if role != taker:
            return 403
        if t.settlement in ("absent", "junk"):
            return 404
        if role == "integration" and t.settlement != "own":
            return 404
        return success

    return expect


def console_page(role: str, t: Target) -> int | str:
    """Care only; anyone else (whatever token it holds) is sent to sign in (302)."""
    if role != "care":
        return 302
    if t.complaint not in COMPLAINTS or (t.evidence and t.evidence not in EVIDENCE):
        return 404
    return 200


def console_file(role: str, t: Target) -> int | str:
    answer = console_page(role, t)
    return 404 if answer == 200 and EVIDENCE[t.evidence][1] == "tracking" else answer


def console_form(role: str, t: Target) -> int | str:
    answer = console_page(role, Target(t.complaint))  # the form is checked before the evidence
    return OK if answer == 200 else answer  # care's own outcomes: tests/api/test_console.py


def console_login(role: str, t: Target) -> int:
    return {"care": 302, "none": 422}.get(role, 403)  # 403: "this token is not a care token"


@dataclass(frozen=True)
class Row:
    expect: Callable[[str, Target], int | str]
    targets: list[Target] = field(default_factory=lambda: NO_TARGET)


# (method, endpoint) -> how every role is answered, for which targets.
TABLE: dict[tuple[str, str], Row] = {
    ("GET", "health.healthz"): Row(public),
    ("GET", "health.readyz"): Row(public),
    ("GET", "spec.openapi_yaml"): Row(public),
    ("GET", "spec.openapi_json"): Row(public),
    ("GET", "spec.docs"): Row(public),
    ("GET", "spec.docs_asset"): Row(public),
    ("GET", "metrics.metrics"): Row(public),
    ("GET", "static"): Row(lambda role, t: 404),  # the API has no static files
    ("GET", "complaints.list_complaints"): Row(collection(dict.fromkeys(MARKET_READERS, 200))),
    ("POST", "complaints.open_complaint"): Row(collection({"buyer": 201})),
    ("GET", "complaints.get_complaint"): Row(on_complaint(MARKET_READERS, 200), COMPLAINT_TARGETS),
    ("GET", "complaints.list_events"): Row(on_complaint(MARKET_READERS, 200), COMPLAINT_TARGETS),
    ("GET", "orders.get_order"): Row(on_order_read, ORDER_TARGETS),
    ("PUT", "orders.register"): Row(on_order_write, ORDER_TARGETS),
    ("GET", "report.export"): Row(on_complaint(READERS, 200), COMPLAINT_TARGETS),
    ("POST", "complaints.post_message"): Row(on_complaint(SPEAKERS, 201), COMPLAINT_TARGETS),
    ("POST", "complaints.add_note"): Row(on_complaint({"care"}, 201), COMPLAINT_TARGETS),
    # No request is open on these complaints: for care, an unknown request (404).
    ("POST", "complaints.withdraw_evidence_request"): Row(
        on_complaint({"care"}, 404), COMPLAINT_TARGETS
    ),
    # Care holds any complaint's files; none is held here, so lifting is 409 for care.
    ("POST", "privacy.set_legal_hold"): Row(on_complaint({"care"}, 200), COMPLAINT_TARGETS),
    ("POST", "privacy.lift_legal_hold"): Row(on_complaint({"care"}, 409), COMPLAINT_TARGETS),
    # Erasure is care's; our buyer's complaints here are open: 409, nothing erased.
    ("POST", "privacy.erase_data_subject"): Row(collection({"care": 409})),
    ("GET", "privacy.subject_report"): Row(collection({"care": 200, "auditor": 200})),
    ("GET", "privacy.identity_views"): Row(collection({"care": 200, "auditor": 200})),
    ("GET", "evidence.list_evidence"): Row(on_complaint(READERS, 200), COMPLAINT_TARGETS),
    ("POST", "evidence.add_evidence"): Row(on_complaint(SPEAKERS, 201), COMPLAINT_TARGETS),
    ("GET", "evidence.get_file"): Row(on_file, EVIDENCE_TARGETS),
    ("POST", "evidence.review"): Row(on_review, EVIDENCE_TARGETS),
    ("GET", "audit.events"): Row(collection({"care": 200, "auditor": 200})),
    ("GET", "audit.checkpoints"): Row(collection({"care": 200, "auditor": 200})),
    ("GET", "report.proof"): Row(on_complaint(MARKET_READERS, 200), COMPLAINT_TARGETS),
    ("GET", "webhooks.list_subscriptions"): Row(collection({"integration": 200})),
    ("POST", "webhooks.subscribe"): Row(collection({"integration": 201})),
    ("GET", "webhooks.get_subscription"): Row(on_webhook(200), WEBHOOK_TARGETS),
    ("DELETE", "webhooks.unsubscribe"): Row(on_webhook(204), WEBHOOK_TARGETS),
    ("POST", "webhooks.rotate_secret"): Row(on_webhook(200), WEBHOOK_TARGETS),
    ("GET", "webhooks.list_deliveries"): Row(on_webhook(200), WEBHOOK_TARGETS),
    ("POST", "webhooks.redeliver"): Row(on_webhook(202), DELIVERY_TARGETS),
    ("GET", "console.static"): Row(public),
    ("GET", "console.login"): Row(public),
    ("POST", "console.login"): Row(console_login),
    ("POST", "console.logout"): Row(lambda role, t: 302),
    ("GET", "console.queue"): Row(lambda role, t: 200 if role == "care" else 302),
    ("GET", "console.mine"): Row(lambda role, t: 200 if role == "care" else 302),
    ("GET", "console.case"): Row(console_page, COMPLAINT_TARGETS),
    ("GET", "console.evidence_page"): Row(console_page, EVIDENCE_TARGETS),
    ("GET", "console.evidence_file"): Row(console_file, EVIDENCE_TARGETS),
    ("POST", "console.assign"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.decide"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.message"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.message_draft"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.request_evidence"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.review"): Row(console_form, EVIDENCE_TARGETS),
    ("POST", "console.retry_settlement"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.release"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.note"): Row(console_form, COMPLAINT_TARGETS),
    # Care is sent to the case it took (or back to the queue); anyone else to sign in.
    ("POST", "console.next_case"): Row(lambda role, t: 302),
    ("POST", "console.withdraw_request"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.reassign"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.pause_clock"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.resume_clock"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.legal_hold"): Row(console_form, COMPLAINT_TARGETS),
    ("POST", "console.lift_legal_hold"): Row(console_form, COMPLAINT_TARGETS),
    ("GET", "console.data_subjects"): Row(lambda role, t: 200 if role == "care" else 302),
    # Care's form comes without its fields (422, nothing erased); anyone else: sign in.
    ("POST", "console.erase_data_subject"): Row(lambda role, t: 422 if role == "care" else 302),
    # seller-1 is of shop-1: its figures; another shop's seller would be 403 (test_shop_figures)
    ("GET", "shops.shop_stats"): Row(
        collection({"seller": 200, "care": 200, "auditor": 200, "integration": 200})
    ),
    ("GET", "settlements.list_settlements"): Row(
        collection({"care": 200, "auditor": 200, "integration": 200})
    ),
    ("GET", "settlements.get_settlement"): Row(on_settlement_read, SETTLEMENT_TARGETS),
    ("POST", "settlements.confirm_settlement"): Row(
        on_settlement_step("integration", 200), SETTLEMENT_TARGETS
    ),
    ("POST", "settlements.fail_settlement"): Row(
        on_settlement_step("integration", 200), SETTLEMENT_TARGETS
    ),
    ("POST", "settlements.retry_settlement"): Row(
        on_settlement_step("care", 409), SETTLEMENT_TARGETS
    ),
}
for _action in ACTION_ROLES:
    TABLE[("POST", f"complaints.action_{_action}")] = Row(on_action(_action), COMPLAINT_TARGETS)

# --- the world the matrix runs in --------------------------------------------------------------


@dataclass
class World:
    app: object
    ctx: Context
    ids: dict[str, str]  # complaint key -> id
    evidence: dict[tuple[str, str], str]  # (complaint key, item) -> evidence id
    webhooks: dict[str, str]  # own/other -> subscription id
    deliveries: dict[str, str]  # own/other -> delivery id
    markers: dict[str, set[str]]  # complaint key -> strings that belong to it
    settlements: dict[str, str]  # own/other -> the id of a requested settlement
    restricted: dict[tuple[str, str], set[str]]  # (key, item) -> its hidden content
    baseline: dict[str, list[dict]] = field(default_factory=dict)
    allowed: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    csrf: dict[str, tuple[object, str]] = field(default_factory=dict)  # role -> (client, token)


# What a request can change (GridFS too: but no case here uploads a file).
CHANGEABLE = ("complaints", "events", "idempotency", "webhooks", "webhook_deliveries", "orders")


def snapshot() -> dict[str, list[dict]]:
    db = ComplaintDocument._get_db()
    return {name: list(db[name].find({}, sort=[("_id", 1)])) for name in CHANGEABLE}


def restore(baseline: dict[str, list[dict]]) -> None:
    """Back to the baseline: events only ever grow; the rest is small enough to rewrite."""
    db = ComplaintDocument._get_db()
    db["events"].delete_many({"_id": {"$nin": [e["_id"] for e in baseline["events"]]}})
    for name in CHANGEABLE:
        if name != "events":
            db[name].delete_many({})
            if baseline[name]:
                db[name].insert_many(baseline[name])


def fingerprint(endpoint: str) -> tuple:
    """Cheap: every change to a complaint is an event; webhooks are counted when at stake."""
    db = ComplaintDocument._get_db()
    if endpoint.startswith("orders."):
        return (db["events"].count_documents({}), db["orders"].count_documents({}))
    if not endpoint.startswith("webhooks."):
        return (db["events"].count_documents({}),)
    return (
        db["events"].count_documents({}),
        db["webhooks"].count_documents({}),
        db["webhook_deliveries"].count_documents({"status": "pending"}),
    )


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


CSRF = re.compile(r'name="(?:[\w-]*-)?csrf_token" type="hidden" value="([^"]+)"')


def _build(mongodb_uri: str) -> Iterator[World]:
    name = f"test_{os.getpid()}_authz_matrix"
    config = Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=name)
    if "rate_limits" in {f.name for f in dataclasses.fields(Config)}:
        # Thousands of writes from six callers in a minute: rate limits are not under test.
        from resolution.config import RateLimits

        config = dataclasses.replace(config, rate_limits=RateLimits(writes=None, uploads=None))
    clock = Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))
    ctx = Context(
        clock=clock,
        deadlines=config.deadlines,
        signing_key=SIGNING_KEY,
        webhooks_allow_private=True,
    )
    app = create_app(config, context=ctx)
    c = app.test_client()
    webhooks = {
        "own": _ok(
            c.post(
                "/v1/webhooks",
                json={"url": "http://127.0.0.1:9/own-hook"},
                headers=HEADERS["integration"],
            ),
            201,
        )["id"],
        "other": _ok(
            c.post(
                "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook-2"}, headers=OTHER_INTEGRATOR
            ),
            201,
        )["id"],
    }
    ids, evidence, markers, restricted = {}, {}, {}, {}
    for key, (buyer, seller, shop) in COMPLAINTS.items():
        order_id = order_id_of(key)
        body = complaint_body(
            order_id,
            order=order(order_id, shop_id=shop),
            description=f"Deskripsi rahasia {key}-desc-5512",
        )
        cid = _ok(c.post("/v1/complaints", json=body, headers=buyer), 201)["id"]
        ids[key] = cid
        markers[key] = {cid, order_id, f"{key}-desc-5512"}
        base = f"/v1/complaints/{cid}"
        for item, (side, kind, care_only) in EVIDENCE.items():
            who = buyer if side == "buyer" else seller
            caption, filename = f"{item}-{key}-caption-88", f"{item}-{key}-file-88.png"
            if kind == "tracking":
                sent = c.post(
                    f"{base}/evidence",
                    json={"kind": "tracking", "courier": "JNE", "tracking_number": f"TRK{key}991"},
                    headers=who,
                )
                content = {f"TRK{key}991"}
            else:
                form = {"kind": kind, "caption": caption, "file": (png_file("red", 8), filename)}
                if care_only:
                    form["care_only"] = "true"
                sent = c.post(
                    f"{base}/evidence", data=form, headers=who, content_type="multipart/form-data"
                )
                content = {caption, filename}
            eid = _ok(sent, 201)["id"]
            evidence[(key, item)] = eid
            markers[key] |= {eid} | content
            restricted[(key, item)] = (
                content if (kind == "identity_document" or care_only) else set()
            )
        note = f"ktp-{key}-note-88"
        reviewed = c.post(
            f"{base}/evidence/{evidence[(key, 'ktp')]}/review",
            json={"note": note},
            headers=HEADERS["care"],
        )
        _ok(reviewed)
        restricted[(key, "ktp")].add(note)
        markers[key].add(note)
    # A in mediation (agent-1), B awaiting the buyer, C awaiting the seller, D awaiting care.
    offer = {"solution": {"kind": "refund", "amount": 30000}}
    for key, steps in {
        "A": [("propose", "seller", offer), ("escalate", "buyer", {"reason": "Tidak setuju."})],
        "B": [("propose", "seller", offer)],
        "D": [
            ("appeal", "seller", {"reason": "Paket utuh."}),
            ("escalate", "buyer", {"reason": "x"}),
        ],
    }.items():
        buyer, seller, _ = COMPLAINTS[key]
        for action, side, body in steps:
            who = buyer if side == "buyer" else seller
            _ok(c.post(f"/v1/complaints/{ids[key]}/actions/{action}", json=body, headers=who))
    _ok(c.post(f"/v1/complaints/{ids['A']}/actions/assign", json={}, headers=HEADERS["care"]))
    assert webhook_service.fan_out(ctx) > 0
    anchoring.make(ctx)  # every complaint in a checkpoint: its proof is there to be refused
    db = ComplaintDocument._get_db()
    deliveries = {
        side: db["webhook_deliveries"].find_one({"subscription_id": webhooks[side]})["_id"]
        for side in ("own", "other")
    }
    # Two withdrawn complaints, on this integration's channel and on another: their
    # settlements are requested (buyer-1's orders at shop-1, outside the four above).
    settlements = {}
    for side, channel in (("own", "tokopedia"), ("other", "tiktok_shop")):
        withdrawn = complaint_body(f"INV-S-{side}", order=order(f"INV-S-{side}", channel=channel))
        cid = _ok(c.post("/v1/complaints", json=withdrawn, headers=HEADERS["buyer"]), 201)["id"]
        closed = c.post(f"/v1/complaints/{cid}/actions/withdraw", json={}, headers=HEADERS["buyer"])
        settlements[side] = _ok(closed)["settlement"]["id"]
    world = World(app, ctx, ids, evidence, webhooks, deliveries, markers, settlements, restricted)
    for role in READERS:
        for key in SEES[role]:
            shown = c.get(f"/v1/complaints/{ids[key]}", headers=HEADERS[role]).get_json()
            world.allowed[(role, key)] = shown["allowed_actions"]
    world.baseline = snapshot()
    yield world
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


@pytest.fixture(scope="module")
def world(mongodb_uri: str) -> Iterator[World]:
    yield from _build(mongodb_uri)


# --- requests ----------------------------------------------------------------------------------

BODIES = {
    "propose": {"solution": {"kind": "refund", "amount": 40000}, "note": "Sebagian."},
    "accept": {},
    "appeal": {"reason": "Paket diterima utuh."},
    "escalate": {"reason": "Kami tidak sepakat."},
    "withdraw": {},
    "assign": {},
    "release": {"reason": "Cuti."},
    "reassign": {"agent_id": "agent-2"},
    "pause_clock": {"reason": "Menunggu investigasi kurir."},
    "resume_clock": {},
    "request_evidence": {"party": "buyer", "what": "Video unboxing."},
    "decide": {
        "solution": {"kind": "refund", "amount": 45000},
        "reason_code": "other",
        "rationale": "Barang rusak.",
    },
    "ship_return": {"courier": "JNE", "tracking_number": "JNE-000123"},
    "confirm_return": {},
    "ship_items": {"courier": "SiCepat", "tracking_number": "SCP-998877"},
    "confirm_received": {},
    "request_review": {"reason": "Agen tidak melihat video saya."},
}


def resolve(world: World, t: Target) -> dict[str, str]:
    """The path values of a target."""
    values = {}
    if t.complaint:
        values["cid"] = {"absent": ABSENT, "junk": JUNK}.get(t.complaint) or world.ids[t.complaint]
    if t.evidence:
        if ":" in t.evidence:
            key, item = t.evidence.split(":")
            values["eid"] = world.evidence[(key, item)]
        elif t.evidence == "absent":
            values["eid"] = ABSENT
        else:
            values["eid"] = world.evidence[(t.complaint, t.evidence)]
    if t.webhook:
        values["wid"] = {"absent": ABSENT, "junk": JUNK}.get(t.webhook) or world.webhooks[t.webhook]
    if t.delivery:
        values["did"] = world.deliveries.get(t.delivery, ABSENT)
    if t.settlement:
        values["sid"] = {"absent": ABSENT, "junk": JUNK}.get(t.settlement) or world.settlements[
            t.settlement
        ]
    if t.order:
        values["channel"] = "tokopedia"
        values["order_id"] = {"absent": "INV-ABSENT-1", "junk": "junk order"}.get(
            t.order
        ) or order_id_of(t.order)
    return values


def order_id_of(key: str) -> str:
    return f"INV-{key}-7701"


def path_of(rule: str, values: dict[str, str]) -> str:
    path = rule.replace("<path:filename>", "console.css" if "console" in rule else "x.css")
    path = path.replace("<shop_id>", "shop-1")  # the shop of seller-1
    path = path.replace("<int:request_id>", "7")  # an evidence request no complaint here has
    path = path.replace("<subject_id>", "buyer:buyer-1")  # our buyer: complaints still open
    path = path.replace("/docs/<name>", "/docs/swagger-ui.css")
    for name, value in values.items():
        path = path.replace(f"<{name}>", value)
    assert "<" not in path, path
    return path


def console_client(world: World, role: str):
    """A browser that tried to sign in with this role's token (only care's is taken)."""
    if role not in world.csrf:
        client = world.app.test_client()
        page = client.get("/console/login")
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        bearer = HEADERS[role].get("Authorization", "").removeprefix("Bearer ")
        if bearer:
            client.post("/console/login", data={"csrf_token": token, "token": bearer})
            page = client.get("/console/login")
            token = CSRF.search(page.get_data(as_text=True)).group(1)
        world.csrf[role] = (client, token)
    return world.csrf[role]


def send(world: World, method: str, endpoint: str, path: str, role: str):
    headers = dict(HEADERS[role])
    if endpoint.startswith("console."):
        client, token = console_client(world, role)
        if method == "GET":
            return client.get(path, headers=headers)
        if role != "care":
            # Refused (302) clears the session, and its CSRF secret with it: a browser of
            # this role takes a fresh form token from the sign-in page before each post.
            page = client.get("/console/login")
            token = CSRF.search(page.get_data(as_text=True)).group(1)
        data = {"csrf_token": token, "version": "1"}
        if endpoint == "console.login":
            login = world.app.test_client()  # a fresh browser, not signed in
            page = login.get("/console/login")
            data = {"csrf_token": CSRF.search(page.get_data(as_text=True)).group(1)}
            data["token"] = headers.get("Authorization", "").removeprefix("Bearer ")
            return login.post(path, data=data)
        if endpoint == "console.logout":
            fresh = world.csrf.pop(role)[0]  # signs out: the next case signs in again
            return fresh.post(path, data=data, headers=headers)
        return client.post(path, data=data, headers=headers)
    client = world.app.test_client()
    action = endpoint.removeprefix("complaints.action_")
    if method == "GET" and endpoint == "privacy.identity_views":
        return client.get(path, query_string={"viewer": "agent-1"}, headers=headers)
    if method == "GET":
        return client.get(path, headers=headers)
    if method == "DELETE":
        return client.delete(path, headers=headers)
    if method == "PUT":  # an order, as it was registered (for the absent one: buyer-1's)
        key = next((k for k in COMPLAINTS if order_id_of(k) in path), "A")
        buyer = "buyer-1" if COMPLAINTS[key][0] is HEADERS["buyer"] else "buyer-2"
        listed = order(order_id_of(key), shop_id=COMPLAINTS[key][2])
        return client.put(path, json=registration(listed, buyer), headers=headers)
    if endpoint == "complaints.open_complaint":
        body = complaint_body("INV-NEW-1", order=order("INV-NEW-1"))
    elif endpoint == "complaints.post_message":
        body = {"body": "Ada kabar?"}
    elif endpoint == "complaints.withdraw_evidence_request":
        body = {"reason": "Tidak perlu lagi."}
    elif endpoint in (
        "privacy.set_legal_hold",
        "privacy.lift_legal_hold",
        "privacy.erase_data_subject",
    ):
        body = {"reason": "Perkara di pengadilan."}
    elif endpoint == "complaints.add_note":
        body = {"body": "Catatan tim care."}
    elif endpoint == "evidence.add_evidence":
        body = {"kind": "tracking", "courier": "JNE", "tracking_number": "JNE-55501"}
    elif endpoint == "evidence.review":
        body = {"note": "Sudah dilihat."}
    elif endpoint == "webhooks.subscribe":
        body = {"url": "http://127.0.0.1:9/new-hook"}
    elif endpoint == "settlements.confirm_settlement":
        body = {"reference": "PAY-1"}
    elif endpoint == "settlements.fail_settlement":
        body = {"reason": "Ditolak bank."}
    elif action == "decide":  # the evidence considered: all of this complaint's
        key = next((k for k, cid in world.ids.items() if cid in path), None)
        considered = [eid for (k, _), eid in world.evidence.items() if k == key]
        body = {**BODIES["decide"], "evidence_considered": considered}
    elif action in BODIES:
        body = BODIES[action]
    else:
        body = {}
    return client.post(path, json=body, headers=headers)


# --- the checks --------------------------------------------------------------------------------


def forbidden_markers(world: World, role: str) -> set[str]:
    """What `role` may never be shown: complaints it cannot see, evidence it cannot open."""
    if role == "none":
        return set().union(*world.markers.values())
    if role == "integration":
        # An integrator (a marketplace back end) sees every channel's complaints in its
        # deliveries (README, webhooks), but never restricted evidence's content.
        return set().union(*world.restricted.values()) | other_integrator_markers(world)
    hidden: set[str] = set()
    for key in COMPLAINTS:
        if key not in SEES[role]:
            hidden |= world.markers[key]
        else:
            for item in EVIDENCE:
                if not can_open(role, key, item):
                    hidden |= world.restricted[(key, item)]
    return hidden


def other_integrator_markers(world: World) -> set[str]:
    return {world.webhooks["other"], world.deliveries["other"], "hook-2"}


@dataclass
class Tally:
    cases: int = 0
    wrong: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)


def predict(world: World, endpoint: str, role: str, t: Target, expected: int | str) -> set[int]:
    if expected != OK:
        return {expected}
    if endpoint.startswith("complaints.action_"):
        action = endpoint.removeprefix("complaints.action_")
        return {200} if action in world.allowed[(role, t.complaint)] else {409}
    return {200, 302, 409, 422}  # console forms, for care


def check(world: World, method: str, endpoint: str, rule: str, role: str, t: Target, tally: Tally):
    expected = TABLE[(method, endpoint)].expect(role, t)
    wanted = predict(world, endpoint, role, t, expected)
    before = fingerprint(endpoint)
    path = path_of(rule, resolve(world, t))
    response = send(world, method, endpoint, path, role)
    tally.cases += 1
    where = f"{method} {endpoint} as {role} on {t or '-'}"
    body = response.get_data()  # bytes: files are scanned too
    response.close()  # a file sent from disk (static) or GridFS is closed now
    status = response.status_code
    if status not in wanted:
        tally.wrong.append(f"{where}: {status}, expected {sorted(wanted)}: {body[:160]!r}")
    asked = set(resolve(world, t).values())
    refused = status in (302, 400, 401, 403, 404) and not (role == "care" and status == 302)
    if refused:
        everything = set().union(*world.markers.values()) | other_integrator_markers(world)
        shown = [m for m in everything - asked if m.encode() in body]
        if status == 302 and endpoint.startswith("console."):
            assert response.headers["Location"].startswith("/console/login"), where
        if fingerprint(endpoint) != before:
            tally.leaks.append(f"{where}: a refused request changed stored data")
    else:
        hidden = forbidden_markers(world, role)
        shown = [m for m in hidden - asked if m.encode() in body]
    if shown:
        tally.leaks.append(f"{where} ({status}) shows {sorted(shown)[:4]}")
    hidden_complaint = t.complaint in COMPLAINTS and t.complaint not in SEES[role]
    if status == 404 and hidden_complaint and not endpoint.startswith("console."):
        # Not revealed: exactly the answer for a complaint that does not exist.
        absent = send(world, method, endpoint, path.replace(world.ids[t.complaint], ABSENT), role)
        same = body.decode().replace(world.ids[t.complaint], ABSENT)
        if absent.status_code != 404 or json.loads(same) != absent.get_json():
            tally.leaks.append(f"{where}: its 404 differs from an unknown complaint's")
    if endpoint == "orders.get_order" and status == 404 and t.order in COMPLAINTS:
        # Someone else's order is, to this caller, an order that does not exist.
        mine = order_id_of(t.order)
        absent = send(world, method, endpoint, path.replace(mine, "INV-ABSENT-1"), role)
        same = body.decode().replace(mine, "INV-ABSENT-1")
        if absent.status_code != 404 or json.loads(same) != absent.get_json():
            tally.leaks.append(f"{where}: its 404 differs from an unknown order's")
    if fingerprint(endpoint) != before or (200 <= status < 300 and method != "GET"):
        restore(world.baseline)


def routes(app) -> dict[tuple[str, str], str]:
    """(method, endpoint) -> rule, for every route the app serves."""
    found = {}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found[(method, rule.endpoint)] = rule.rule
    return found


def test_the_table_names_every_route(world):
    served = routes(world.app)
    assert set(served) == set(TABLE), (
        f"routes without a row: {sorted(set(served) - set(TABLE))}; "
        f"rows without a route: {sorted(set(TABLE) - set(served))}"
    )


@pytest.mark.parametrize(("method", "endpoint"), sorted(TABLE), ids=lambda v: v)
def test_every_role_gets_the_answer_the_table_gives(world, scale, figures, method, endpoint):
    rule = routes(world.app)[(method, endpoint)]
    tally = Tally()
    targets = TABLE[(method, endpoint)].targets
    if not scale.long and targets is EVIDENCE_TARGETS:
        targets = [t for t in targets if t in SHORT_EVIDENCE]
    rounds = scale.pick(1, 2)  # the long form asks twice: the second time, nothing may differ
    for _ in range(rounds):
        for role in ROLES:
            for target in targets:
                check(world, method, endpoint, rule, role, target, tally)
    figures.add("authorization", "cases", tally.cases)
    figures.add("authorization", "leaks", len(tally.leaks))
    figures.add("authorization", "wrong_status", len(tally.wrong))
    assert not tally.wrong and not tally.leaks, "\n".join(tally.wrong + tally.leaks)
