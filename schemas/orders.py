"""Schemas of orders: what the marketplace registers, how an order is shown, and how a buyer
names one."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from resolution.domain.orders import PAYMENT_METHODS, PAYMENT_STATUSES

from .common import CHANNEL_PATTERN, MAX_RUPIAH, Instant, JsonInteger, identifier, money, text


class OrderItemSchema(Schema):
    sku = identifier(required=True)
    name = text(200, required=True)
    qty = JsonInteger(required=True, validate=validate.Range(min=1, max=10_000))
    price = JsonInteger(required=True, validate=validate.Range(min=0, max=MAX_RUPIAH))


class PaymentSchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))
    status = fields.String(required=True, validate=validate.OneOf(PAYMENT_STATUSES))
    paid_at = Instant(allow_none=True)


class OrderShipmentSchema(Schema):
    courier = text(100, allow_none=True)
    tracking_number = identifier(allow_none=True)
    shipped_at = Instant(allow_none=True)
    delivered_at = Instant(allow_none=True)


def held_money(**kwargs) -> fields.Integer:
    """Whole rupiah, zero or more (an order may hold nothing)."""
    return JsonInteger(validate=validate.Range(min=0, max=MAX_RUPIAH), **kwargs)


class RegisterOrderSchema(Schema):
    """`PUT /v1/orders/{channel}/{order_id}`: the order as the marketplace's order system has it."""

    buyer_id = identifier(required=True)
    shop_id = identifier(required=True)
    items = fields.List(
        fields.Nested(OrderItemSchema), required=True, validate=validate.Length(min=1, max=100)
    )
    total = money(required=True)
    payment = fields.Nested(PaymentSchema, required=True)
    shipment = fields.Nested(OrderShipmentSchema, allow_none=True)
    completed_at = Instant(allow_none=True)
    invoice_url = fields.String(
        allow_none=True,
        validate=[
            validate.Length(max=2000),
            validate.Regexp(r"^https?://[^\s]+\Z", error="an http(s) URL"),
        ],
    )
    held_amount = held_money(required=True)


class OrderSchema(RegisterOrderSchema):
    """An order as the registry shows it."""

    channel = fields.String()
    id = fields.String()
    version = fields.Integer()
    registered_at = Instant()
    updated_at = Instant()


class OrderReferenceSchema(Schema):
    """How a buyer names the order a complaint is about."""

    channel = fields.String(
        required=True,
        validate=validate.Regexp(CHANNEL_PATTERN, error="lower-case letters, digits, _"),
    )
    id = identifier(required=True)
