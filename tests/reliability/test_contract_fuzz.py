"""Contract fuzzing: schemathesis drives openapi.yaml against the real app and database.

Three runs, all with every schemathesis check on plus one of ours (every 4xx and 5xx is
problem+json):

- each operation's examples and coverage cases (boundaries, each constraint broken in turn),
  once, with the token of a role the operation is for;
- each operation fuzzed (positive and negative data) with each role's token in turn;
- a stateful run that follows the spec's `links`: it opens a complaint, then acts on the one
  that came back (each step with a token of a role that may take it), and subscribes a
  webhook, then reads, rotates and deletes it.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.stateful.state_machine import StepOutput
from schemathesis.specs.openapi.checks import ensure_resource_availability
from schemathesis.specs.openapi.expressions import evaluate

from resolution.config import Config, RateLimits
from resolution.domain.evidence import CONTENT_TYPES, IMAGES
from resolution.service import Context
from resolution.service.sweeper import sweep
from resolution.store import database
from resolution.store.documents import ComplaintDocument
from resolution.web.app import create_app
from resolution.web.auth import issue_token
from tests.support.bodies import png
from tests.support.clock import Clock
from tests.support.gauntlet import LONG, Scale
from tests.support.parties import SECRET, SIGNING_KEY

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
DOCUMENT = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
OPERATIONS = {
    (method.upper(), path): op
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
    if method != "parameters"
}
PROBLEM = "application/problem+json"
SHOP = "shop-1"
ROLES = ("buyer", "seller", "care", "auditor", "integration")
# Hypothesis builds each operation's test at collection, before any fixture exists, so the
# scale is read here, the same way tests/reliability/conftest.py's `scale` fixture reads it.
SCALE = Scale(LONG)
EXAMPLES = SCALE.pick(2, 200)  # fuzzed examples per operation and role
SCENARIOS = SCALE.pick(15, 300)  # stateful runs, each a few linked steps
STEPS = SCALE.pick(6, 12)
# A business rule no JSON schema says (an amount above the order's total, an evidence request
# that is not the current one) answers schema-valid data with 422, and a generated If-Match
# names a version that is not current (412): both are documented for the operations that
# send them, so valid data may meet them too.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"]
FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,  # the same cases on every run: CI failures reproduce
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def bearer(role: str, sub: str | None = None, shop_id: str | None = None) -> dict[str, str]:
    """The Authorization header of a token for `role` (sellers act for `shop_id`)."""
    sub = sub or {"care": "agent-1", "integration": "market-1"}.get(role, f"{role}-1")
    shop = (shop_id or SHOP) if role == "seller" else None
    channels = ("tokopedia",) if role == "integration" else ()
    return {"Authorization": f"Bearer {issue_token(SECRET, role, sub, shop, channels=channels)}"}


TOKENS = {role: bearer(role) for role in ROLES}

# The evidence upload's `file` part names its media types in the spec's `encoding`. A file
# generated as bytes goes out as it is; schemathesis has no serializer for a part of these
# types when negative data makes it something else (a number, an object), so it is sent as
# its text, JSON for a structure: the service must refuse it like any bad file.
FILE_TYPES = ("image/jpeg", "image/png", "image/webp", "video/mp4", "video/quicktime")


@schemathesis.serializer(*FILE_TYPES, "application/pdf")
def _file_part(ctx, value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value, default=str).encode()


def roles_for(method: str, path: str) -> tuple[str, ...]:
    """The roles an operation is for, from the spec: `x-roles`, else its tag and method."""
    op = OPERATIONS[(method.upper(), path)]
    if "x-roles" in op:
        return tuple(op["x-roles"])
    tags = op.get("tags", ())
    if "webhooks" in tags:
        return ("integration",)
    if "orders" in tags:
        return ("integration",) if method.upper() == "PUT" else ("integration", "buyer", "seller")
    if "audit" in tags:
        return ("care", "auditor")
    if op["operationId"] == "review":
        return ("care",)
    if op["operationId"] in ("confirm_settlement", "fail_settlement"):
        return ("integration",)
    if op["operationId"] in ("retry_settlement", "add_note", "withdraw_evidence_request"):
        return ("care",)
    if op["operationId"] in ("list_settlements", "get_settlement"):
        return ("integration", "care", "auditor")
    if op["operationId"] == "shop_stats":
        return ("seller", "care", "auditor", "integration")
    if op["operationId"] == "open_complaint":
        return ("buyer",)
    if method.upper() == "POST":
        return ("buyer", "seller", "care")
    if op["operationId"] in ("list_complaints", "get_complaint", "list_events"):
        return ("buyer", "seller", "care", "auditor", "integration")
    return ("buyer", "seller", "care", "auditor")


@dataclass
class Tally:
    """What the runs did, for the gauntlet's figures."""

    requests: int = 0
    server_errors: int = 0
    operations: set[str] = field(default_factory=set)
    violations: set[tuple[str, str]] = field(default_factory=set)

    def failed(self, label: str, group: FailureGroup) -> None:
        for failure in group.exceptions:
            self.violations.add((label, getattr(failure, "title", type(failure).__name__)))


TALLY = Tally()


class Traffic:
    """WSGI middleware counting what reaches the app, the checks' own probes included."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        TALLY.requests += 1

        def start(status, headers, exc_info=None):
            if status[:1] == "5":
                TALLY.server_errors += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def problem_json(ctx, response, case) -> bool | None:
    """Every 4xx and 5xx is RFC 9457 problem+json, its `status` the response's status."""
    if response.status_code < 400:
        return None
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    assert media == PROBLEM, f"{response.status_code} came as {media!r}, not {PROBLEM}"
    body = response.json()
    assert isinstance(body, dict), "a problem is a JSON object"
    assert body.get("status") == response.status_code, f"problem `status` {body.get('status')}"
    return True


@pytest.fixture(scope="module")
def fuzz_app(mongodb_uri: str) -> Iterator:
    """The real app on databases of its own for this module, dropped at the end."""
    name = f"fuzz_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    # Rate limits are the subject of tests of their own; here they would only turn a long
    # run's writes into 429s (and each counted write costs two more round trips).
    no_limits = RateLimits(writes=None, uploads=None, database=f"{name}_limits")
    config = Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=name, rate_limits=no_limits)
    context = Context(
        clock=Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC)),
        deadlines=config.deadlines,
        signing_key=SIGNING_KEY,
        webhooks_allow_private=True,  # generated webhook hosts are not looked up in DNS
    )
    app = create_app(config, context=context)
    app.wsgi_app = Traffic(app.wsgi_app)
    yield app
    database.connect(mongodb_uri, name)  # again: another module's test may have disconnected
    client = ComplaintDocument._get_db().client
    client.drop_database(name)
    client.drop_database(no_limits.database)
    database.disconnect()


@pytest.fixture(scope="module", autouse=True)
def report(fuzz_app, figures) -> Iterator[None]:
    yield
    figures.add("contract", "operations", len(TALLY.operations))
    figures.add("contract", "requests", TALLY.requests)
    figures.add("contract", "server_errors", TALLY.server_errors)
    figures.add("contract", "spec_violations", len(TALLY.violations))


@pytest.fixture(scope="module", params=ROLES)
def role(request) -> str:
    return request.param


def exercise(case, headers: dict[str, str], app) -> None:
    """Sends the case to the app with `headers` and runs every check on the answer."""
    case.operation.schema.app = app  # the checks' own probes (ignored_auth) go there too
    TALLY.operations.add(case.operation.label)
    # A generated cursor is never one a page gave, and the service tells (400 `bad-cursor`,
    # documented): a valid case starts from the first page. (Invalid ones keep theirs.)
    valid = case.meta is None or not case.meta.generation.mode.is_negative
    if valid and isinstance(case.query, dict):
        case.query.pop("cursor", None)
    try:
        case.call_and_validate(headers=headers, additional_checks=[problem_json], app=app)
    except FailureGroup as group:
        TALLY.failed(case.operation.label, group)
        raise


def load_schema():
    """openapi.yaml as schemathesis sees it (parsed once: it is large for pure-Python YAML)."""
    schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))
    # The token is each role's own (ignored_auth probes without it and with a bad one): a
    # case that "drops" Authorization would get it back and read as accepted negative data.
    schema.config.generation.update(with_security_parameters=False)
    schema.config.checks.positive_data_acceptance.expected_statuses = POSITIVE_STATUSES
    return schema


def _schema(*phases: str):
    schema = load_schema()
    schema.config.phases.update(phases=list(phases))
    return schema


ORDER = {
    "buyer_id": "buyer-1",
    "shop_id": SHOP,
    "items": [{"sku": "SKU-0", "name": "Barang", "qty": 1, "price": 100}],
    "total": 100,
    "payment": {"method": "transfer", "status": "paid", "paid_at": None},
    "held_amount": 100,
}


def fit(case, app, order_id: str | None = None) -> None:
    """Makes a valid generated case one the service can take: schema-valid data that breaks a
    rule no schema says would only ever meet its documented 4xx, and the walks would never get
    past the opening. Invalid cases are never given to this."""
    body = case.body
    # A generated If-Match names a random version (412 nearly always): valid steps act on the
    # complaint as it is. A generated Idempotency-Key is a short string drawn again and again:
    # the same caller's key with another body is a documented 422. Each valid write is new.
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)  # never one a page gave (as in `exercise`)
    if case.headers:
        case.headers.pop("If-Match", None)
        if "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if isinstance(body, dict) and isinstance(body.get("file"), (bytes, str)):
        # The service reads a file's type from its bytes, and random bytes are no image: no
        # schema can say "a real JPEG", so a valid upload would meet a 415 for its content.
        # Valid cases send a real PNG, under a kind that takes one.
        body["file"] = png()
        if "image/png" not in CONTENT_TYPES.get(body.get("kind"), IMAGES):
            body["kind"] = "photo"
        return
    if not isinstance(body, dict):
        return
    # Random valid-looking solutions almost never fit their order (amount at most its total,
    # items from it): settle for one that does, so complaints open and move.
    if isinstance(body.get("solution"), dict):
        body["solution"] = {"kind": "refund", "amount": 1}
    if isinstance(body.get("evidence_considered"), list):
        body["evidence_considered"] = []  # random ids are never this complaint's evidence
    if not isinstance(body.get("order"), dict):
        return
    # An opening names an order the marketplace registered: register the one it names (on
    # the channel the fuzzing's marketplace acts for, for its buyer).
    order_id = order_id or str(body["order"].get("id") or "INV-FUZZ")
    body["order"] = {"channel": "tokopedia", "id": order_id}
    body["requested_solution"] = {"kind": "refund", "amount": 1}
    registered = app.test_client().put(
        f"/v1/orders/tokopedia/{order_id}", json=ORDER, headers=TOKENS["integration"]
    )
    assert registered.status_code in (200, 201, 404), registered.get_data()[:300]


covered = _schema("examples", "coverage")
fuzzed = _schema("fuzzing")


@covered.parametrize()
@FUZZ_SETTINGS
def test_operation_coverage(case, fuzz_app):
    """The spec's examples and schemathesis's coverage cases, as a role the operation is for."""
    exercise(case, TOKENS[roles_for(case.operation.method, case.operation.path)[0]], fuzz_app)


@fuzzed.parametrize()
@settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
def test_operation_as_each_role(case, role, fuzz_app):
    """Generated requests, valid and not, with each role's token."""
    exercise(case, TOKENS[role], fuzz_app)


def test_linked_operations(fuzz_app):
    """Opens complaints and subscriptions, then follows the links to act on what came back."""
    schema = load_schema()
    schema.app = fuzz_app

    class Workflow(schema.as_state_machine()):
        def setup(self) -> None:
            # Each scenario starts from an empty database: what a step may draw depends on
            # earlier answers (a listing's items), and Hypothesis insists that the same choices
            # lead to the same draws. Emptied, not dropped: the indexes stay.
            data = ComplaintDocument._get_db()
            for collection in data.list_collection_names():
                data[collection].delete_many({})
            self.shops: dict[str, str] = {}  # complaint id -> its shop, for the seller's token
            self.tracking: set[str] = set()  # evidence ids without a file
            # Whose token each step carries, counted from the scenario's start: Hypothesis
            # replays a scenario to shrink it, and a count kept across scenarios gave the
            # replay other roles, other answers and other links ("inconsistent data").
            self.turns = itertools.count()

        def before_call(self, case) -> None:
            if case.meta is not None and not case.meta.generation.mode.is_negative:
                fit(case, fuzz_app)

        def get_call_kwargs(self, case) -> dict:
            if (
                OPERATIONS[(case.operation.method.upper(), case.operation.path)].get("security")
                == []
            ):
                return {"app": fuzz_app}
            roles = roles_for(case.operation.method, case.operation.path)
            who = roles[next(self.turns) % len(roles)]
            shop = self.shops.get((case.path_parameters or {}).get("id", ""), SHOP)
            return {"app": fuzz_app, "headers": bearer(who, shop_id=shop)}

        def after_call(self, response, case) -> None:
            super().after_call(response, case)
            TALLY.operations.add(case.operation.label)

            if response.status_code != 201:
                return
            body = response.json()
            if case.operation.definition.raw.get("operationId") == "open_complaint":
                self.shops[body["id"]] = body["shop_id"]
            elif body.get("kind") == "tracking":
                self.tracking.add(body["id"])

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            excluded = []
            if (case.path_parameters or {}).get("evidence_id") in self.tracking:
                # A tracking number has no file: its download is a documented 404, though
                # the link from adding the evidence leads there.
                excluded.append(ensure_resource_availability)
            try:
                case.validate_response(
                    response,
                    additional_checks=[problem_json, *(additional_checks or [])],
                    excluded_checks=excluded,
                    headers=kwargs.get("headers"),
                    transport_kwargs=kwargs,
                    recorder=self.recorder,
                )
            except FailureGroup as group:
                TALLY.failed(case.operation.label, group)
                raise

    Workflow.run(
        settings=settings(
            FUZZ_SETTINGS,
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
        )
    )


# --- walks: from the opening to the settlement, along the spec's links ------------------------
#
# The stateful run above picks each next link at random among some twenty: it acts on a fresh
# complaint, but four links in a row down one lifecycle path (escalate, assign, decide, then
# the payment system's answer) are never drawn. Each walk here names that path; every request
# on it is still generated from the spec, reached through a link of the previous answer (its
# parameters read by the link's own runtime expression), and its answer is checked by every
# check. The walk must reach its end: each step answers 2xx.

SWEEP = "the review window passes and the sweeper runs"
WALKS = {
    "agreed, then paid": (
        ("open_complaint", "buyer"),
        ("action_propose", "seller"),
        ("action_accept", "buyer"),
        ("confirm_settlement", "integration"),
        ("get_settlement", "auditor"),
    ),
    "decided by care, held for review, then paid": (
        ("open_complaint", "buyer"),
        ("action_propose", "seller"),
        ("action_escalate", "buyer"),
        ("action_assign", "care"),
        ("action_decide", "care"),
        SWEEP,
        ("confirm_settlement", "integration"),
        ("get_complaint", "seller"),
    ),
    "agreed, payment failed, retried by care, then paid": (
        ("open_complaint", "buyer"),
        ("action_propose", "seller"),
        ("action_accept", "buyer"),
        ("fail_settlement", "integration"),
        ("retry_settlement", "care"),
        ("confirm_settlement", "integration"),
        ("get_complaint", "buyer"),
    ),
    "decided, then reviewed at the seller's request": (
        ("open_complaint", "buyer"),
        ("action_propose", "seller"),
        ("action_escalate", "seller"),
        ("action_assign", "care"),
        ("add_note", "care"),
        ("action_decide", "care"),
        ("action_request_review", "seller"),
        ("list_events", "auditor"),
    ),
}
WALK_EXAMPLES = SCALE.pick(3, 40)
_walk_orders = itertools.count()


def link_to(operation, status: int, target: str) -> dict:
    """The link of `operation`'s `status` answer that leads to `target` (the spec must say how
    a client gets there), with $refs followed."""
    raw = operation.definition.raw["responses"][str(status)]
    while "$ref" in raw:
        raw = DOCUMENT["components"]["responses"][raw["$ref"].rsplit("/", 1)[1]]
    links = [link for link in raw.get("links", {}).values() if link["operationId"] == target]
    assert links, f"{operation.label} {status} has no link to {target}"
    return links[0]


@pytest.mark.parametrize("walk", list(WALKS))
def test_links_lead_from_the_opening_to_the_settlement(walk, fuzz_app):

    schema = load_schema()
    schema.app = fuzz_app
    context = fuzz_app.extensions["resolution.context"]

    @given(data=st.data())
    @settings(FUZZ_SETTINGS, max_examples=WALK_EXAMPLES)
    def walk_once(data):
        start = context.clock.now
        previous: StepOutput | None = None
        shop = SHOP
        try:
            for step in WALKS[walk]:
                if step == SWEEP:
                    complaint = previous.response.json()
                    due = datetime.fromisoformat(complaint["review_until"])
                    context.clock.now = max(context.clock.now, due)
                    sweep(context)
                    continue
                target, role = step
                operation = schema.find_operation_by_id(target)
                parameters = {}
                if previous is not None:
                    link = link_to(previous.case.operation, previous.response.status_code, target)
                    parameters = {
                        name: evaluate(expression, previous)
                        for name, expression in link["parameters"].items()
                    }
                case = data.draw(operation.as_strategy(path_parameters=parameters))
                fit(case, fuzz_app, order_id=f"INV-WALK-{next(_walk_orders)}")
                if target == "action_assign" and isinstance(case.body, dict):
                    case.body.pop("agent_id", None)  # the agent who decides next is agent-1
                headers = bearer(role, shop_id=shop)
                response = case.call(app=fuzz_app, headers=headers)
                TALLY.operations.add(case.operation.label)
                try:
                    case.validate_response(
                        response, additional_checks=[problem_json], headers=headers
                    )
                except FailureGroup as group:
                    TALLY.failed(case.operation.label, group)
                    raise
                assert 200 <= response.status_code < 300, (
                    f"{walk}: {target} as {role} answered {response.status_code}: "
                    f"{response.text[:400]}"
                )
                if target == "open_complaint":
                    shop = response.json()["shop_id"]
                previous = StepOutput(response, case)
        finally:
            context.clock.now = start  # the other runs' orders and complaints keep their time

    walk_once()
