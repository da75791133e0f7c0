"""Orders come from the marketplace. Most tests describe the order a complaint is about
inline, as the marketplace's order system has it (`bodies.order`); the transports here
(`MarketplaceClient` over Flask, `by_reference` for raw HTTP) register such an order as the
marketplace would, `PUT /v1/orders/{channel}/{id}` with an integration token for its channel,
when it is not registered yet, and send the buyer's opening with the order named by reference.

An order that cannot be registered (a test of a malformed one) goes as the test wrote it, and
the API refuses it as it would. Tests of the registry itself use its API directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
from flask.testing import FlaskClient

from resolution.web.auth import issue_token
from tests.support.parties import auth

MARKETPLACE_ID = "market-tests"

# (method, path, body, headers) -> (status, body)
Transport = Callable[[str, str, Any, dict], tuple[int, Any]]


def registration(order: dict, buyer_id: str) -> dict:
    """An inline order as the marketplace registers it for `buyer_id`."""
    shipment = None
    if order.get("delivered_at"):
        shipment = {"delivered_at": order["delivered_at"]}
    return {
        "buyer_id": buyer_id,
        "shop_id": order.get("shop_id"),
        "items": order.get("items"),
        "total": order.get("total"),
        "payment": {
            "method": order.get("payment_method", "transfer"),
            "status": order.get("payment_status", "paid"),
            "paid_at": order.get("paid_at"),
        },
        "shipment": shipment,
        "held_amount": order.get("held_amount", order.get("total")),
    }


def _caller_of(headers: dict) -> dict | None:
    bearer = (headers or {}).get("Authorization", "")
    try:
        return jwt.decode(bearer.removeprefix("Bearer "), options={"verify_signature": False})
    except jwt.PyJWTError:
        return None


def marketplace(channel: str, order_id: str, policy: Any = None) -> dict:
    """The marketplace's headers for registering one order. Its caller id is the order's own:
    the tests' rate limits count each caller's writes, and these registrations are not what
    any test counts."""
    sub = f"{MARKETPLACE_ID}-{order_id}"[:128]
    if policy is None:
        return auth("integration", sub, channels=(channel,))
    token = issue_token(policy, "integration", sub, channels=(channel,))
    return {"Authorization": f"Bearer {token}"}


def by_reference(
    method: str, path: str, body: Any, headers: dict, send: Transport, policy: Any = None
) -> Any:
    """The body to send: an opening's inline order registered (if it was not) and named by
    reference; any other request's body as it is. `policy`: the app's token policy (an
    issuer or audience it requires), when known."""
    order = body.get("order") if isinstance(body, dict) else None
    if method.upper() != "POST" or path.split("?")[0].rstrip("/") != "/v1/complaints":
        return body
    if not isinstance(order, dict) or "items" not in order:
        return body
    caller = _caller_of(headers)
    channel, order_id = order.get("channel"), order.get("id")
    if caller is None or not isinstance(channel, str) or not isinstance(order_id, str):
        return body
    reference = {**body, "order": {"channel": channel, "id": order_id}}
    if caller.get("role") != "buyer":
        return reference  # not the buyer's: the API refuses the caller, not the order
    buyer = caller.get("sub")
    where = f"/v1/orders/{channel}/{order_id}"
    market = marketplace(channel, order_id, policy)
    status, _ = send("GET", where, None, market)
    if status == 404:
        status, _ = send("PUT", where, registration(order, buyer), market)
        if status not in (200, 201):
            return body  # a malformed order: the API refuses the opening as the test wrote it
    elif status != 200:
        return body
    return reference


class MarketplaceClient(FlaskClient):
    """The Flask test client, registering the inline orders of openings (`by_reference`)."""

    def open(self, *args: Any, **kwargs: Any):
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "/")
        if "json" in kwargs:
            kwargs["json"] = by_reference(
                kwargs.get("method", "GET"),
                path,
                kwargs["json"],
                dict(kwargs.get("headers") or {}),
                self._send,
                self.application.config.get("RESOLUTION_TOKENS"),
            )
        return super().open(*args, **kwargs)

    def _send(self, method: str, path: str, body: Any, headers: dict) -> tuple[int, Any]:
        response = super().open(path, method=method, json=body, headers=headers)
        return response.status_code, response.get_json(silent=True)


def open_registered(ctx, buyer, request: dict, idem=None):
    """`service.open_complaint`, an inline order registered first as the marketplace would
    (through the same service function as `PUT /v1/orders/…`)."""
    from resolution.domain.actors import Actor, Role
    from resolution.domain.errors import NotFound
    from resolution.service import complaints, orders
    from schemas.orders import RegisterOrderSchema

    order = request["order"]
    if "items" in order:
        channel, order_id = order["channel"], order["id"]
        market = Actor(Role.INTEGRATION, MARKETPLACE_ID, channels=frozenset({channel}))
        try:
            orders.get_order(ctx, market, channel, order_id)
        except NotFound:
            body = RegisterOrderSchema().load(registration(order, buyer.id))
            orders.register(ctx, market, channel, order_id, body)
        request = {**request, "order": {"channel": channel, "id": order_id}}
    return complaints.open_complaint(ctx, buyer, request, idem)
