"""Webhook subscriptions and deliveries: request bodies, queries and responses."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from resolution.domain.commands import EVENT_TYPES
from resolution.domain.webhooks import STATUSES as DELIVERY_STATUSES

from .common import CHANNEL_PATTERN, Instant


class SubscribeSchema(Schema):
    # http(s), a host, no user:password@ and no #fragment (the service checks the host too).
    url = fields.String(
        required=True,
        validate=[
            validate.Length(min=8, max=2000),
            validate.Regexp(
                r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@]+([/?][^#]*)?\Z",
                error="an http:// or https:// URL, without user:password@ or #fragment",
            ),
        ],
    )
    types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        validate=validate.Length(max=len(EVENT_TYPES)),
    )
    channel = fields.String(
        validate=validate.Regexp(CHANNEL_PATTERN, error="lower-case letters, digits, _")
    )


class SubscriptionSchema(Schema):
    """A subscription as its integrator sees it (the secret only once, at creation)."""

    id = fields.String()
    url = fields.String()
    types = fields.List(fields.String())
    channel = fields.String(allow_none=True)
    created_at = Instant()
    secret = fields.String()
    previous_secret_expires_at = Instant(allow_none=True)


class ListDeliveriesQuery(Schema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    # Any text: the service tells a cursor of these pages from any other (400 `bad-cursor`).
    cursor = fields.String(validate=validate.Length(min=1, max=200))


class DeliverySchema(Schema):
    id = fields.String()
    complaint_id = fields.String()
    seq = fields.Integer()
    type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_response = fields.String(allow_none=True)
    next_attempt_at = Instant(allow_none=True)
    created_at = Instant()
    delivered_at = Instant(allow_none=True)
