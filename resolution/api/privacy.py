"""Personal data (UU PDP): legal holds, erasure on request, a subject's report, and the
identity documents an agent opened."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale

from schemas.complaints import ReasonSchema
from schemas.privacy import IdentityViewsQuery, SubjectReportQuery

from ..domain.events import EPOCH
from ..service import Recorded, erasure, subjects, views
from ..service import retention as service
from ..web import narrative
from ..web.http import (
    caller,
    complaint_id,
    context,
    etag,
    if_match,
    json_response,
    load_body,
    load_query,
    write,
)

bp = Blueprint("privacy", __name__, url_prefix="/v1", template_folder="templates")
# The printable report is self-contained: inline styles, no scripts, nothing fetched.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


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


@bp.get("/data-subjects/<subject_id>/report")
def subject_report(subject_id: str) -> Response:
    """Everything held about a data subject (care, auditors): JSON, or a printable page
    (`format=html`, or a browser's `Accept: text/html`) in Indonesian or English."""
    actor = caller()
    subjects.check_can_read(actor)  # before anything else of the request is looked at
    query = load_query(SubjectReportQuery())
    ctx = context()
    found = subjects.report(ctx, actor, subject_id)
    wanted = query.get("format")
    if wanted is None:
        best = request.accept_mimetypes.best_match(["application/json", "text/html"])
        wanted = "html" if best == "text/html" else "json"
    if wanted == "json":
        return json_response(found)
    page = render_template(
        "subject_report.html",
        report=found,
        n=narrative,
        lang=str(get_locale()),
        printed_at=ctx.clock(),
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Language"] = str(get_locale())
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = _POLICY
    response.vary.add("Accept-Language")
    response.vary.add("Accept")
    return response


@bp.get("/audit/identity-views")
def identity_views() -> Response:
    """Every identity document an agent (`viewer`) opened between `since` and `until`."""
    actor = caller()
    subjects.check_can_read(actor)
    query = load_query(IdentityViewsQuery())
    items, next_cursor = subjects.identity_views(
        context(),
        actor,
        query["viewer"],
        query.get("since", EPOCH),
        query.get("until"),
        query.get("cursor"),
        query.get("limit", subjects.MAX_VIEWS),
    )
    return json_response({"items": items, "next_cursor": next_cursor})
