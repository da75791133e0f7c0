"""Schemas of settlements: the payment system's answers, care's retry, the listing, and how
a settlement is shown."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from resolution.domain.settlements import STATUSES

from .common import CHANNEL_PATTERN, OBJECT_ID_PATTERN, text


class ConfirmSettlementSchema(Schema):
    """The money moved: the payment system's own reference for the transfer."""

    reference = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[\x21-\x7e]{1,100}\Z", error="1 to 100 printable characters, no spaces"
        ),
    )


class FailSettlementSchema(Schema):
    """The money could not move, and why (shown to care with the retry button)."""

    reason = text(500, required=True)


class RetrySettlementSchema(Schema):
    note = text(500)


class ListSettlementsQuery(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String(
        validate=validate.Regexp(CHANNEL_PATTERN, error="lower-case letters, digits, _")
    )
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(
        validate=validate.Regexp(OBJECT_ID_PATTERN, error="not a cursor from a page")
    )


# A settlement keeps its times as the events recorded them (ISO 8601, UTC, milliseconds).
Moment = fields.String


class SettlementAttemptSchema(Schema):
    number = fields.Integer()
    requested_at = Moment()
    answered_at = Moment()
    result = fields.String()
    reference = fields.String()
    reason = fields.String()


class OrderReferenceOutSchema(Schema):
    channel = fields.String()
    id = fields.String()


class SettlementSchema(Schema):
    """A settlement as the payment system, care and auditors read it."""

    id = fields.String()
    complaint_id = fields.String()
    order = fields.Nested(OrderReferenceOutSchema)
    buyer_id = fields.String()
    shop_id = fields.String()
    outcome = fields.String()
    held = fields.Integer()
    to_buyer = fields.Integer()
    to_seller = fields.Integer()
    status = fields.String()
    release_at = Moment(allow_none=True)
    reference = fields.String(allow_none=True)
    attempts = fields.List(fields.Nested(SettlementAttemptSchema))
    created_at = Moment()
    updated_at = Moment()
