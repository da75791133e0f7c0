"""The webhooks API, for integration tokens: subscriptions, their deliveries, redelivery."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from schemas.webhooks import (
    DeliverySchema,
    ListDeliveriesQuery,
    SubscribeSchema,
    SubscriptionSchema,
)

from ..service import webhooks as service
from ..web.http import caller, context, json_response, load_body, load_query, object_id, write

bp = Blueprint("webhooks", __name__, url_prefix="/v1/webhooks")
_subscription = SubscriptionSchema()
_delivery = DeliverySchema()


def subscription_view(doc: dict, secret: str | None = None) -> dict:
    view = {**doc, "id": doc["_id"]}
    if secret is not None:
        view["secret"] = secret
        previous = [s["expires_at"] for s in doc["secrets"] if s["expires_at"] is not None]
        view["previous_secret_expires_at"] = max(previous) if previous else None
    return _subscription.dump(view)


def delivery_view(doc: dict) -> dict:
    # `last_response` is null on deliveries recorded before answers were kept.
    return _delivery.dump({"last_response": None, **doc, "id": doc["_id"]})


@bp.post("")
def subscribe() -> Response:
    actor = caller(integration=True)
    request = load_body(SubscribeSchema())

    def render(result: tuple[dict, str]) -> tuple[int, dict, dict]:
        doc, secret = result
        location = url_for("webhooks.get_subscription", wid=doc["_id"])
        return 201, subscription_view(doc, secret), {"Location": location}

    return write(lambda idem: service.subscribe(context(), actor, request, idem), render)


@bp.get("")
def list_subscriptions() -> Response:
    actor = caller(integration=True)
    items = [subscription_view(doc) for doc in service.subscriptions(context(), actor)]
    return json_response({"items": items, "next_cursor": None})


@bp.get("/<wid>")
def get_subscription(wid: str) -> Response:
    actor = caller(integration=True)
    doc = service.subscription(context(), actor, object_id(wid, "webhook"))
    return json_response(subscription_view(doc))


@bp.delete("/<wid>")
def unsubscribe(wid: str) -> Response:
    actor = caller(integration=True)
    service.unsubscribe(context(), actor, object_id(wid, "webhook"))
    return Response(status=204)


@bp.post("/<wid>/rotate-secret")
def rotate_secret(wid: str) -> Response:
    actor = caller(integration=True)
    wid = object_id(wid, "webhook")
    return write(
        lambda idem: service.rotate_secret(context(), actor, wid, idem),
        lambda result: (200, subscription_view(*result), {}),
    )


@bp.get("/<wid>/deliveries")
def list_deliveries(wid: str) -> Response:
    actor = caller(integration=True)
    query = load_query(ListDeliveriesQuery())
    page, next_cursor = service.deliveries(context(), actor, object_id(wid, "webhook"), **query)
    return json_response({"items": [delivery_view(d) for d in page], "next_cursor": next_cursor})


@bp.post("/<wid>/deliveries/<did>/redeliver")
def redeliver(wid: str, did: str) -> Response:
    actor = caller(integration=True)
    wid, did = object_id(wid, "webhook"), object_id(did, "delivery")
    return write(
        lambda idem: service.redeliver(context(), actor, wid, did, idem),
        lambda doc: (202, delivery_view(doc), {}),
    )
