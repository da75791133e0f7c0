"""A shop's figures: for its sellers, care, auditors and the marketplace of its channels."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.shops import ShopFiguresQuery

from ..domain.errors import NotFound
from ..domain.events import iso
from ..domain.identifiers import EXTERNAL_ID
from ..service import stats
from ..web.http import authenticated, context, json_response, load_query

bp = Blueprint("shops", __name__, url_prefix="/v1/shops")


@bp.get("/<shop_id>/stats")
def shop_stats(shop_id: str) -> Response:
    actor = authenticated()
    if not EXTERNAL_ID.fullmatch(shop_id):
        raise NotFound(f"There is no shop {shop_id[:64]}.")
    query = load_query(ShopFiguresQuery())
    found = stats.shop_figures(context(), actor, shop_id, **query)
    return json_response({**found, "since": iso(found["since"]), "until": iso(found["until"])})
