"""Schemas of complaints: opening one, the actions on it, listing, and how it is shown."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from resolution.domain.decisions import REASON_CODES
from resolution.domain.lifecycle import Lifecycle
from resolution.domain.solutions import Kind

from .common import (
    CHANNEL_PATTERN,
    OBJECT_ID_PATTERN,
    Instant,
    JsonInteger,
    identifier,
    money,
    text,
)
from .orders import OrderReferenceSchema

REASONS = (
    "not_received",
    "damaged",
    "wrong_item",
    "incomplete",
    "not_as_described",
    "counterfeit",
    "other",
)
STATES = tuple(s.id for s in Lifecycle.states if s.id != "new")


class SolutionItemSchema(Schema):
    sku = identifier(required=True)
    qty = JsonInteger(required=True, validate=validate.Range(min=1, max=10_000))


class SolutionSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([str(k) for k in Kind]))
    amount = money()
    items = fields.List(fields.Nested(SolutionItemSchema), validate=validate.Length(min=1, max=100))


class OpenComplaintSchema(Schema):
    order = fields.Nested(OrderReferenceSchema, required=True)
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    description = text(5000, required=True)
    requested_solution = fields.Nested(SolutionSchema, required=True)
    # Each sku once: the domain's rule (commands.open_complaint), not repeated here.


class ProposeSchema(Schema):
    solution = fields.Nested(SolutionSchema, required=True)
    note = text(2000)


class EmptySchema(Schema):
    """Actions that need nothing but the complaint's state."""


class ReasonSchema(Schema):
    reason = text(2000, required=True)


class OptionalReasonSchema(Schema):
    reason = text(2000)


class AssignSchema(Schema):
    agent_id = identifier()


class ReassignSchema(Schema):
    agent_id = identifier(required=True)


class RequestEvidenceSchema(Schema):
    party = fields.String(required=True, validate=validate.OneOf(["buyer", "seller"]))
    what = text(2000, required=True)
    due_at = Instant()


class DecideSchema(Schema):
    solution = fields.Nested(SolutionSchema, required=True)
    reason_code = fields.String(required=True, validate=validate.OneOf(list(REASON_CODES)))
    rationale = text(5000, required=True)
    # Which of this complaint's evidence the decision weighed (the domain checks they are
    # this complaint's, and that there is one when it has any).
    evidence_considered = fields.List(
        fields.String(validate=validate.Regexp(OBJECT_ID_PATTERN, error="not an evidence id")),
        validate=validate.Length(max=100),
        load_default=list,
    )


class ShipmentSchema(Schema):
    courier = text(64, required=True)
    tracking_number = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9\-]{4,40}\Z", error="4 to 40 letters, digits or -"),
    )


class PauseClockSchema(Schema):
    reason = text(2000, required=True)
    until = Instant()  # default: as long as the policy allows (14 days)


ACTION_SCHEMAS: dict[str, type[Schema]] = {
    "propose": ProposeSchema,
    "accept": EmptySchema,
    "appeal": ReasonSchema,
    "escalate": ReasonSchema,
    "withdraw": OptionalReasonSchema,
    "assign": AssignSchema,
    "release": ReasonSchema,
    "reassign": ReassignSchema,
    "request_evidence": RequestEvidenceSchema,
    "decide": DecideSchema,
    "ship_return": ShipmentSchema,
    "confirm_return": EmptySchema,
    "ship_items": ShipmentSchema,
    "confirm_received": EmptySchema,
    "request_review": ReasonSchema,
    "pause_clock": PauseClockSchema,
    "resume_clock": OptionalReasonSchema,
}


class MessageSchema(Schema):
    body = text(5000, required=True)
    evidence_ids = fields.List(
        fields.String(validate=validate.Regexp(OBJECT_ID_PATTERN, error="not an evidence id")),
        validate=validate.Length(max=20),
    )
    answers = JsonInteger(validate=validate.Range(min=1, max=10**9))
    # Care only: to one party, privately (a party sending `to` is refused by the domain).
    to = fields.String(validate=validate.OneOf(["buyer", "seller"]))


class NoteSchema(Schema):
    body = text(5000, required=True)


class ListComplaintsQuery(Schema):
    state = fields.String(validate=validate.OneOf(STATES))
    overdue = fields.Boolean(load_default=False)
    order_id = identifier()
    channel = fields.String(
        validate=validate.Regexp(CHANNEL_PATTERN, error="lower-case letters, digits, _")
    )
    shop_id = identifier()
    updated_since = Instant()
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    # Any text: the service tells a cursor of this listing from any other (400 `bad-cursor`).
    cursor = fields.String()


class ListEventsQuery(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=100))
    cursor = fields.String(
        validate=validate.Regexp(r"^[0-9]{1,9}\Z", error="not a cursor from a page")
    )


class ActorSchema(Schema):
    role = fields.String()
    id = fields.String()
    shop_id = fields.String()


class SkippedDaySchema(Schema):
    date = fields.String()
    name = fields.String()


class DeadlineSchema(Schema):
    """Why a party's deadline falls where it does (`policy.Rules.deadline`)."""

    # Stored as the canonical ISO text already (`events.iso`).
    due_at = fields.String()
    rule = fields.String()
    started_at = fields.String()
    skipped = fields.List(fields.Nested(SkippedDaySchema))
    paused_for = fields.String()
    calendar = fields.String()
    working_hours = fields.String(allow_none=True)


class PausedSchema(Schema):
    at = fields.String()
    until = fields.String()
    reason = fields.String()
    by = fields.String()


class ComplaintSchema(Schema):
    """A complaint as the API shows it, with what this caller may do next."""

    id = fields.String()
    channel = fields.String()
    order = fields.Dict()
    buyer_id = fields.String()
    shop_id = fields.String()
    reason = fields.String()
    description = fields.String()
    state = fields.String()
    outcome = fields.String(allow_none=True)
    version = fields.Integer()
    turn = fields.String(allow_none=True)
    due_at = Instant(allow_none=True)
    deadline = fields.Nested(DeadlineSchema, allow_none=True)
    paused = fields.Nested(PausedSchema, allow_none=True)
    proposal = fields.Dict(allow_none=True)
    resolution = fields.Dict(allow_none=True)
    appeal = fields.Dict(allow_none=True)
    assigned_to = fields.String(allow_none=True)
    evidence_request = fields.Dict(allow_none=True)
    evidence_requests = fields.List(fields.Dict())
    return_shipment = fields.Dict(allow_none=True)
    shipment = fields.Dict(allow_none=True)
    settlement = fields.Dict(allow_none=True)
    escalated_at = Instant(allow_none=True)
    decided_at = Instant(allow_none=True)
    review_until = Instant(allow_none=True)
    care_reply_due_at = Instant(allow_none=True)
    care_due_at = Instant(allow_none=True)
    care_overdue = fields.Boolean()
    legal_hold = fields.Dict(allow_none=True)
    created_at = Instant()
    updated_at = Instant()
    allowed_actions = fields.List(fields.String())


class EventSchema(Schema):
    complaint_id = fields.String()
    seq = fields.Integer()
    type = fields.String()
    actor = fields.Nested(ActorSchema)
    data = fields.Dict()
    data_hashes = fields.Dict()
    salts = fields.Dict()
    hash_version = fields.Integer()
    at = Instant()
    prev_hash = fields.String()
    hash = fields.String()
