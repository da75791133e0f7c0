"""The order registry's API: the marketplace registers and updates its orders (integration
tokens, per channel); the order's buyer, its shop's sellers and the marketplace read them."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from schemas.orders import OrderSchema, RegisterOrderSchema

from ..domain.errors import NotFound
from ..domain.identifiers import CHANNEL, EXTERNAL_ID
from ..service import orders as service
from ..web.http import authenticated, context, etag, if_match, json_response, load_body, write

bp = Blueprint("orders", __name__, url_prefix="/v1/orders")
_order = OrderSchema()


def _path(channel: str, order_id: str) -> tuple[str, str]:
    """The order named by the path; anything that cannot name one is an unknown order."""
    if not (CHANNEL.fullmatch(channel) and EXTERNAL_ID.fullmatch(order_id)):
        raise NotFound(f"There is no order {order_id[:64]} on {channel[:32]}.")
    return channel, order_id


@bp.put("/<channel>/<order_id>")
def register(channel: str, order_id: str) -> Response:
    actor = authenticated()
    channel, order_id = _path(channel, order_id)
    service.check_acts_for(actor, channel)  # 403 before the body is read
    body = load_body(RegisterOrderSchema())
    version = if_match()

    def render(result: service.Registered) -> tuple[int, dict, dict]:
        headers = {"ETag": etag(result.order["version"])}
        if result.created:
            where = url_for("orders.get_order", channel=channel, order_id=order_id)
            return 201, _order.dump(result.order), {**headers, "Location": where}
        return 200, _order.dump(result.order), headers

    return write(
        lambda idem: service.register(
            context(), actor, channel, order_id, body, if_match=version, idem=idem
        ),
        render,
    )


@bp.get("/<channel>/<order_id>")
def get_order(channel: str, order_id: str) -> Response:
    actor = authenticated()
    channel, order_id = _path(channel, order_id)
    order = service.get_order(context(), actor, channel, order_id)
    return json_response(_order.dump(order), headers={"ETag": etag(order["version"])})
