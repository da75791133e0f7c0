"""Orders as the marketplace registers them: what a valid order is, when its buyer may still
complain about it, what a change to it tells an open complaint, and how much it can still pay
back.

An order is a plain mapping (as registered, as snapshotted into a complaint's `open` event):
`channel`, `id`, `buyer_id`, `shop_id`, `items` [{sku, name, qty, price}], `total`, `payment`
{method, status, paid_at}, `shipment` {courier, tracking_number, shipped_at, delivered_at} or
None, `completed_at`, `invoice_url`, `held_amount`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import Invalid

PAYMENT_METHODS = ("transfer", "ewallet", "card", "cod", "paylater", "other")
PAYMENT_STATUSES = ("paid", "unpaid", "cod_pending", "cod_collected", "refunded", "cancelled")
# What of an order, when it changes, a complaint not closed is told of (`order_updated`).
WATCHED = ("payment", "shipment", "held_amount")
# Who a complaint is between: never changed under a complaint.
PARTIES = ("buyer_id", "shop_id")
# Clocks disagree a little: a time this far in the future is still taken as now.
SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Window:
    """How long after delivery (or, never delivered, after payment) a buyer may complain."""

    after_delivery: timedelta = timedelta(days=7)
    undelivered: timedelta = timedelta(days=30)


DEFAULT_WINDOW = Window()


@dataclass(frozen=True)
class Windows:
    """The complaint window of each channel: `default` unless the channel has its own."""

    default: Window = field(default_factory=Window)
    per_channel: Mapping[str, Window] = field(default_factory=dict)

    def of(self, channel: str) -> Window:
        return self.per_channel.get(channel, self.default)


def _instant(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def check(order: Mapping[str, Any], now: datetime) -> None:
    """Refuses (`Invalid`, naming the fields) an order whose figures or times cannot be true."""
    errors: dict[str, list[str]] = {}
    items = order["items"]
    skus = [item["sku"] for item in items]
    repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
    if repeated:
        errors["items"] = [f"each sku once: {', '.join(repeated)} repeated"]
    added = sum(item["qty"] * item["price"] for item in items)
    if order["total"] != added:
        errors["total"] = [f"{order['total']} is not the sum of the items' qty × price ({added})"]
    if order["held_amount"] > order["total"]:
        errors["held_amount"] = [f"{order['held_amount']} is more than the total {order['total']}"]
    times = {
        "payment.paid_at": (order.get("payment") or {}).get("paid_at"),
        "shipment.shipped_at": (order.get("shipment") or {}).get("shipped_at"),
        "shipment.delivered_at": (order.get("shipment") or {}).get("delivered_at"),
        "completed_at": order.get("completed_at"),
    }
    for name, value in times.items():
        moment = _instant(value)
        if moment is not None and moment > now + SKEW:
            errors[name] = [f"in the future (now is {now.isoformat()})"]
    if errors:
        raise Invalid("The order does not add up: see `errors`.", errors)


def window_closes_at(order: Mapping[str, Any], window: Window) -> datetime | None:
    """When the buyer's time to complain about `order` ends (None: it has not started).

    `window.after_delivery` after delivery; never delivered, `window.undelivered` after
    payment (or after shipping, an order not paid ahead, such as cash on delivery, or after
    it was registered, when neither); and never later than the order's completion.
    """
    shipment = order.get("shipment") or {}
    delivered = _instant(shipment.get("delivered_at"))
    if delivered is not None:
        closes = delivered + window.after_delivery
    else:
        started = (
            _instant((order.get("payment") or {}).get("paid_at"))
            or _instant(shipment.get("shipped_at"))
            or _instant(order.get("registered_at"))
        )
        closes = started + window.undelivered if started is not None else None
    completed = _instant(order.get("completed_at"))
    if completed is not None and (closes is None or completed < closes):
        closes = completed
    return closes


def cancelled_before_shipping(order: Mapping[str, Any]) -> bool:
    """The order was cancelled and never left the shop: nothing to complain about."""
    shipment = order.get("shipment") or {}
    return order["payment"]["status"] == "cancelled" and not shipment.get("shipped_at")


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What of `WATCHED` a new version of an order changed: {field: {before, after}}."""
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in WATCHED
        if before.get(name) != after.get(name)
    }


def parties_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Which of the order's parties (buyer, shop) a new version names differently."""
    return [name for name in PARTIES if before.get(name) != after.get(name)]
