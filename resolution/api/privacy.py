"""Personal data (UU PDP): legal holds on a complaint's files, erasure on request."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.complaints import ReasonSchema

from ..service import Recorded, erasure, views
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


@bp.post("/data-subjects/<subject_id>/erasure")
def erase_data_subject(subject_id: str) -> Response:
    """Care erases a data subject's personal data (UU PDP): the receipt; asked again with
    nothing left to erase, the first receipt (`Idempotent-Replayed: true`)."""
    actor = caller()
    erasure.check_eraser(actor)  # 403 for anyone else, before the body or the subject is read
    body = load_body(ReasonSchema())

    def render(done: erasure.Erased) -> tuple[int, dict, dict]:
        if done.replayed:
            return 200, done.receipt, {"Idempotent-Replayed": "true"}
        return 201, done.receipt, {}

    return write(
        lambda idem: erasure.erase(context(), actor, subject_id, body["reason"], idem), render
    )
