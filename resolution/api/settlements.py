"""The settlements API: the payment system lists the settlements of its channels and answers
each (confirm with its reference, or fail with a reason); care retries a failed one; care and
auditors read them all."""

from __future__ import annotations

from flask import Blueprint, Response
from marshmallow import Schema

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


def _step(step: str, schema: Schema, sid: str, run) -> Response:
    """A step of a settlement: the role checked (403) before the id and the body are read,
    then the service's `run(ctx, actor, sid, body, idem)` under the request's key."""
    actor = authenticated()
    check_settles(actor, step)
    sid = _settlement_id(sid)
    body = load_body(schema)
    return write_once(lambda idem: run(context(), actor, sid, body, idem), _render)


@bp.post("/<sid>/confirm")
def confirm_settlement(sid: str) -> Response:
    return _step(
        "confirm",
        ConfirmSettlementSchema(),
        sid,
        lambda ctx, actor, sid, body, idem: service.confirm(
            ctx, actor, sid, body["reference"], idem
        ),
    )


@bp.post("/<sid>/fail")
def fail_settlement(sid: str) -> Response:
    return _step(
        "fail",
        FailSettlementSchema(),
        sid,
        lambda ctx, actor, sid, body, idem: service.fail(ctx, actor, sid, body["reason"], idem),
    )


@bp.post("/<sid>/retry")
def retry_settlement(sid: str) -> Response:
    return _step(
        "retry",
        RetrySettlementSchema(),
        sid,
        lambda ctx, actor, sid, body, idem: service.retry(ctx, actor, sid, body.get("note"), idem),
    )
