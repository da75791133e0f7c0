"""Personal data (UU PDP): legal holds on a complaint's files."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.complaints import ReasonSchema

from ..service import Recorded, views
from ..service import retention as service
from ..web.http import (
    caller,
    complaint_id,
    context,
    etag,
    if_match,
    load_body,
    write,
)

bp = Blueprint("privacy", __name__, url_prefix="/v1")


def _complaint(result: Recorded, actor) -> tuple[int, dict, dict]:
    complaint = result.complaint
    view = views.complaint_as_seen(complaint, actor, context().clock())
    return 200, view, {"ETag": etag(complaint.version)}


@bp.post("/complaints/<cid>/legal-hold")
def set_legal_hold(cid: str) -> Response:
    actor = caller()
    cid = complaint_id(cid)
    body = load_body(ReasonSchema())
    version = if_match()
    return write(
        lambda idem: service.set_legal_hold(
            context(), actor, cid, body["reason"], if_match=version, idem=idem
        ),
        lambda result: _complaint(result, actor),
    )


@bp.post("/complaints/<cid>/legal-hold/lift")
def lift_legal_hold(cid: str) -> Response:
    actor = caller()
    cid = complaint_id(cid)
    body = load_body(ReasonSchema())
    version = if_match()
    return write(
        lambda idem: service.lift_legal_hold(
            context(), actor, cid, body["reason"], if_match=version, idem=idem
        ),
        lambda result: _complaint(result, actor),
    )
