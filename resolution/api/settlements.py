"""The settlements API: the payment system lists the settlements of its channels and answers
each (confirm with its reference, or fail with a reason); care retries a failed one; care and
auditors read them all."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.settlements import (
    ConfirmSettlementSchema,
    FailSettlementSchema,
    ListSettlementsQuery,
    RetrySettlementSchema,
)

from ..domain.commands import check_settles
from ..domain.projection import Complaint
from ..service import Recorded, views
from ..service import settlements as service
from ..web.http import authenticated, context, json_response, load_body, load_query, object_id
from ..web.http import write as write_once

bp = Blueprint("settlements", __name__, url_prefix="/v1/settlements")


def _settlement_id(value: str) -> str:
    return object_id(value, "settlement")


def _render(result: Recorded | Complaint) -> tuple[int, dict, dict]:
    complaint = result.complaint if isinstance(result, Recorded) else result
    return 200, views.settlement_as_seen(complaint), {}


@bp.get("")
def list_settlements() -> Response:
    actor = authenticated()
    query = load_query(ListSettlementsQuery())
    page, next_cursor = service.list_settlements(context(), actor, **query)
    items = [views.settlement_as_seen(c) for c in page]
    return json_response({"items": items, "next_cursor": next_cursor})


@bp.get("/<sid>")
def get_settlement(sid: str) -> Response:
    actor = authenticated()
    service.check_reads(actor)  # 403 before the id is looked at
    complaint = service.get_settlement(context(), actor, _settlement_id(sid))
    return json_response(views.settlement_as_seen(complaint))


@bp.post("/<sid>/confirm")
def confirm_settlement(sid: str) -> Response:
    actor = authenticated()
    check_settles(actor, "confirm")  # 403 before the body is read
    sid = _settlement_id(sid)
    body = load_body(ConfirmSettlementSchema())
    return write_once(
        lambda idem: service.confirm(context(), actor, sid, body["reference"], idem), _render
    )


@bp.post("/<sid>/fail")
def fail_settlement(sid: str) -> Response:
    actor = authenticated()
    check_settles(actor, "fail")
    sid = _settlement_id(sid)
    body = load_body(FailSettlementSchema())
    return write_once(
        lambda idem: service.fail(context(), actor, sid, body["reason"], idem), _render
    )


@bp.post("/<sid>/retry")
def retry_settlement(sid: str) -> Response:
    actor = authenticated()
    check_settles(actor, "retry")
    sid = _settlement_id(sid)
    body = load_body(RetrySettlementSchema())
    return write_once(
        lambda idem: service.retry(context(), actor, sid, body.get("note"), idem), _render
    )
