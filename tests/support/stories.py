"""Builders for the domain's unit tests: actors, an order, a fixed clock, and complaint stories.

A story opens a complaint and takes steps through the same public functions a request would
call (`commands.open_complaint`, `commands.act`, `commands.message`, then `projection.apply`).
Steps name their actor by key (`"buyer"`, `"seller"`, `"agent1"`, `"agent2"`, `"auditor"`,
`"system"`) so that parametrize tables stay short and readable. tests/unit/conftest.py offers
them as fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from resolution.domain import commands, projection
from resolution.domain.actors import SYSTEM, Actor, Role
from resolution.domain.deadlines import Deadlines
from resolution.domain.events import Event
from resolution.domain.projection import Complaint

COMPLAINT_ID = "65f000000000000000000001"
NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # 09:00 WIB, a Monday morning in Jakarta

ACTORS: dict[str, Actor] = {
    "buyer": Actor(Role.BUYER, "b1"),
    "seller": Actor(Role.SELLER, "s1", shop_id="shop1"),
    "agent1": Actor(Role.CARE, "agent1"),
    "agent2": Actor(Role.CARE, "agent2"),
    "auditor": Actor(Role.AUDITOR, "auditor1"),
    "system": SYSTEM,
}

# A valid request for each action: what a step uses when it gives none.
DEFAULT_REQUESTS: dict[str, dict] = {
    "propose": {"solution": {"kind": "refund", "amount": 50000}, "note": "half back"},
    "accept": {},
    "appeal": {"reason": "The parcel was delivered intact, see the courier photo."},
    "escalate": {"reason": "We cannot agree."},
    "withdraw": {},
    "assign": {},
    "release": {"reason": "On leave from tomorrow."},
    "reassign": {"agent_id": "agent3"},
    "request_evidence": {"party": "buyer", "what": "An unboxing video."},
    "decide": {
        "solution": {"kind": "refund", "amount": 105000},
        "reason_code": "other",
        "rationale": "Item missing.",
    },
    "ship_return": {"courier": "JNE", "tracking_number": "JNE-0001"},
    "confirm_return": {},
    "ship_items": {"courier": "SiCepat", "tracking_number": "SCP-0002"},
    "confirm_received": {},
    "request_review": {"reason": "The agent did not look at my video."},
    "pause_clock": {"reason": "Waiting for the courier's investigation of the lost parcel."},
    "resume_clock": {},
    "auto_escalate": {},
    "auto_close": {},
    "auto_complete": {},
    "open": {},  # not an action on an existing complaint: refused before it is read
}

# (actor key, action, request or None for the default, minutes after the previous step)
Step = tuple[str, str, Mapping | None, float]


def make_order(**changes: object) -> dict:
    """The order a complaint is about, as the marketplace registered it: two t-shirts and a
    cap, 105,000 rupiah in all, paid, delivered, all of it still held."""
    order = {
        "id": "ord-1",
        "buyer_id": "b1",
        "shop_id": "shop1",
        "channel": "tokopedia",
        "total": 105000,
        "items": [
            {"sku": "TEE-BLK-M", "name": "Kaos hitam M", "qty": 2, "price": 50000},
            {"sku": "CAP-01", "name": "Topi", "qty": 1, "price": 5000},
        ],
        "payment": {
            "method": "transfer",
            "status": "paid",
            "paid_at": datetime(2025, 2, 27, 5, 30, tzinfo=UTC),
        },
        "shipment": {"delivered_at": datetime(2025, 3, 1, 8, 0, tzinfo=UTC)},
        "completed_at": None,
        "held_amount": 105000,
    }
    order.update(changes)
    return order


def open_request(solution: Mapping | None = None, **changes: object) -> dict:
    """What a buyer sends to open a complaint; a partial refund unless `solution` says otherwise."""
    request = {
        "order": make_order(),
        "reason": "incomplete",
        "description": "Only one t-shirt was in the parcel.",
        "requested_solution": dict(solution or {"kind": "refund", "amount": 50000}),
    }
    request.update(changes)
    return request


def actor(who: str | Actor) -> Actor:
    return who if isinstance(who, Actor) else ACTORS[who]


@dataclass(frozen=True)
class Story:
    """A complaint and every event recorded for it so far; taking a step gives a new story."""

    complaint: Complaint
    events: tuple[Event, ...] = ()
    deadlines: Deadlines = field(default_factory=Deadlines)

    @property
    def last_at(self) -> datetime:
        return self.events[-1].at

    def record(self, event: Event) -> Story:
        """A new story with `event` appended and applied (the story itself is not changed)."""
        # As the unit of work records it: with the deadlines it starts written in.
        (event,) = projection.stamped(self.complaint, [event], self.deadlines)
        complaint = projection.apply(self.complaint, event, self.deadlines)
        return Story(complaint, (*self.events, event), self.deadlines)

    def act(
        self,
        who: str | Actor,
        action: str,
        request: Mapping | None = None,
        minutes_later: float = 1,
        *,
        at: datetime | None = None,
    ) -> Story:
        """Take `action` `minutes_later` after the last event (or `at`), or raise its refusal."""
        at = at or self.last_at + timedelta(minutes=minutes_later)
        request = dict(DEFAULT_REQUESTS[action]) if request is None else request
        event = commands.act(self.complaint, actor(who), action, request, at, self.deadlines)
        return self.record(event)

    def message(
        self, who: str | Actor, body: str = "Ada kabar?", minutes_later: float = 1
    ) -> Story:
        at = self.last_at + timedelta(minutes=minutes_later)
        return self.record(commands.message(self.complaint, actor(who), body, at))


def open_story(
    solution: Mapping | None = None,
    *,
    at: datetime = NOW,
    deadlines: Deadlines | None = None,
    request: Mapping | None = None,
) -> Story:
    """A complaint the buyer has just opened."""
    deadlines = deadlines or Deadlines()
    event = commands.open_complaint(
        COMPLAINT_ID, ACTORS["buyer"], request or open_request(solution), at
    )
    (event,) = projection.stamped(None, [event], deadlines)
    return Story(projection.apply(None, event, deadlines), (event,), deadlines)


# Named paths to every state (and to the closed outcomes), through real commands only.
REFUND = {"kind": "refund", "amount": 50000}
RETURN_REFUND = {"kind": "return_refund", "amount": 105000}
EXCHANGE = {"kind": "exchange", "items": [{"sku": "TEE-BLK-M", "qty": 1}]}
SEND_REMAINING = {"kind": "send_remaining", "items": [{"sku": "TEE-BLK-M", "qty": 1}]}
INACTIVE = 72 * 60 + 1  # minutes: one minute past the default inactivity period

_ESCALATED: list[Step] = [("seller", "propose", None, 60), ("buyer", "escalate", None, 60)]
_ASSIGNED = [*_ESCALATED, ("agent1", "assign", None, 30)]
_DECIDED = [*_ASSIGNED, ("agent1", "decide", None, 120)]
_REVIEWED = [*_DECIDED, ("buyer", "request_review", None, 60)]
_RETURNING = [("seller", "accept", None, 60)]
_SHIPPING = [("seller", "accept", None, 60), ("seller", "ship_items", None, 300)]

PATHS: dict[str, tuple[dict, list[Step]]] = {
    "awaiting_seller": (REFUND, []),
    "awaiting_seller_answered": (
        REFUND,
        [
            ("seller", "propose", None, 60),
            ("buyer", "propose", {"solution": {"kind": "refund", "amount": 70000}}, 60),
        ],
    ),
    "awaiting_buyer": (REFUND, [("seller", "propose", None, 60)]),
    "appealed": (REFUND, [("seller", "appeal", None, 60)]),
    "awaiting_care": (REFUND, _ESCALATED),
    "in_mediation": (REFUND, _ASSIGNED),
    "in_mediation_evidence": (REFUND, [*_ASSIGNED, ("agent1", "request_evidence", None, 10)]),
    "awaiting_return": (RETURN_REFUND, _RETURNING),
    "return_shipped": (RETURN_REFUND, [*_RETURNING, ("buyer", "ship_return", None, 600)]),
    "exchange_return_shipped": (EXCHANGE, [*_RETURNING, ("buyer", "ship_return", None, 600)]),
    "awaiting_shipment": (SEND_REMAINING, _SHIPPING[:1]),
    "shipment_sent": (SEND_REMAINING, _SHIPPING),
    "awaiting_care_review": (REFUND, _REVIEWED),
    "closed_agreed": (REFUND, [("seller", "accept", None, 60)]),
    "closed_decided": (REFUND, _DECIDED),
    "closed_after_review": (
        REFUND,
        [*_REVIEWED, ("agent2", "assign", None, 30), ("agent2", "decide", None, 60)],
    ),
    "closed_withdrawn": (REFUND, [("buyer", "withdraw", None, 5)]),
    "closed_fulfilled": (SEND_REMAINING, [*_SHIPPING, ("buyer", "confirm_received", None, 2880)]),
    "closed_return_not_shipped": (
        RETURN_REFUND,
        [*_RETURNING, ("system", "auto_close", None, INACTIVE)],
    ),
}


def take(story: Story, steps: Sequence[Step]) -> Story:
    for who, action, request, minutes_later in steps:
        if action == "message":
            story = story.message(who, request or "Ada kabar?", minutes_later)
        else:
            story = story.act(who, action, request, minutes_later)
    return story


def run_steps(
    steps: Sequence[Step],
    solution: Mapping | None = None,
    *,
    deadlines: Deadlines | None = None,
) -> tuple[Complaint, list[Event]]:
    """Open a complaint with `solution` requested, take `steps`, return the complaint and events.

    A step is `(actor, action, request, minutes_later)`; `request` None takes the action's
    default request, and the action `"message"` posts a message whose body is `request`.
    """
    story = take(open_story(solution, deadlines=deadlines), steps)
    return story.complaint, list(story.events)
