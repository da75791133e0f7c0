"""The console's actions: each form calls the same service function as the API.

The version the agent saw goes as `if_match`: when someone acted first, the page comes back
as it stands now, saying so, with what the agent typed kept in its form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from schemas.complaints import ACTION_SCHEMAS, MessageSchema, NoteSchema, ReasonSchema
from schemas.evidence import ReviewSchema
from schemas.settlements import RetrySettlementSchema

from ..domain.errors import Conflict, DomainError, Invalid, NotAllowed, Stale
from ..domain.solutions import WITH_AMOUNT, WITH_ITEMS
from ..service import complaints, evidence, retention, settlements
from ..service.complaints import get_complaint
from ..service.queue import take_next
from ..web.http import complaint_id, context
from ..web.i18n import TIMEZONE
from ..web.problems import status_of
from . import canned, refusals
from .blueprint import bp
from .forms import (
    AssignForm,
    DecideForm,
    LegalHoldForm,
    MessageForm,
    NextCaseForm,
    NoteForm,
    PauseClockForm,
    ReassignForm,
    ReleaseForm,
    RequestEvidenceForm,
    ResumeClockForm,
    RetrySettlementForm,
    ReviewForm,
    WithdrawRequestForm,
)
from .pages import case_page, review_window
from .signin import agent

log = logging.getLogger(__name__)


def _take(cid: str, name: str, form: Any, run: Callable[[int], object], done: str):
    """Validates `form`, runs the use case at the version the agent saw, shows the outcome."""
    cid = complaint_id(cid)
    version = form.seen_version() if form.validate_on_submit() else None
    if version is None:
        problem = _("Some fields are missing: see the form below.")
        return case_page(cid, submitted={name: form}, problem=problem, status=422)
    try:
        run(version)
    except Stale:
        return case_page(cid, submitted={name: form}, stale=True, status=409)
    except ValidationError as error:
        problem = _("Not recorded: %(why)s", why=refusals.fields(error.messages))
        return case_page(cid, submitted={name: form}, problem=problem, status=422)
    except NotAllowed as error:
        problem = _("Not possible now: %(why)s", why=refusals.reason(error.detail))
        return case_page(cid, submitted={name: form}, problem=problem, status=409)
    except Invalid as error:
        problem = _("Not recorded: %(why)s", why=refusals.fields(error.errors) or error.detail)
        return case_page(cid, submitted={name: form}, problem=problem, status=422)
    except DomainError as error:
        problem = _("Not recorded: %(why)s", why=error.detail)
        return case_page(cid, submitted={name: form}, problem=problem, status=status_of(error))
    flash(done)
    return redirect(url_for("console.case", cid=cid))


@bp.post("/next")
def next_case():
    me, form = agent(), NextCaseForm()
    if not form.validate_on_submit():
        return _error_page(_("The form was not sent from this console: reload the queue."), 400)
    taken = take_next(context(), me)
    if taken is None:
        flash(_("No case is waiting for you right now."))
        return redirect(url_for("console.queue"))
    flash(_("The complaint is yours now."))
    return redirect(url_for("console.case", cid=taken.complaint.id))


@bp.post("/complaints/<cid>/assign")
def assign(cid: str):
    me = agent()
    return _take(
        cid,
        "assign",
        AssignForm(),
        lambda v: complaints.act(context(), me, cid, "assign", {}, if_match=v),
        _("The complaint is yours now."),
    )


@bp.post("/complaints/<cid>/note")
def note(cid: str):
    me, form = agent(), NoteForm(prefix="note")

    def run(version: int) -> object:
        body = NoteSchema().load({"body": form.body.data})["body"]
        return complaints.add_note(context(), me, cid, body, if_match=version)

    return _take(cid, "note", form, run, _("The note is added."))


@bp.post("/complaints/<cid>/evidence-requests/<int:request_id>/withdraw")
def withdraw_request(cid: str, request_id: int):
    me, form = agent(), WithdrawRequestForm()

    def run(version: int) -> object:
        reason = ReasonSchema().load({"reason": form.reason.data})["reason"]
        return complaints.withdraw_evidence_request(
            context(), me, cid, request_id, reason, if_match=version
        )

    return _take(cid, "withdraw_request", form, run, _("The request is withdrawn."))


@bp.post("/complaints/<cid>/release")
def release(cid: str):
    me, form = agent(), ReleaseForm()

    def run(version: int) -> object:
        asked = ACTION_SCHEMAS["release"]().load({"reason": form.reason.data})
        return complaints.act(context(), me, cid, "release", asked, if_match=version)

    return _take(cid, "release", form, run, _("The case is back in the queue."))


@bp.post("/complaints/<cid>/pause-clock")
def pause_clock(cid: str):
    me, form = agent(), PauseClockForm()

    def run(version: int) -> object:
        asked: dict[str, Any] = {"reason": form.reason.data}
        if form.until.data:
            asked["until"] = _wib(form.until.data).isoformat()
        loaded = ACTION_SCHEMAS["pause_clock"]().load(asked)
        return complaints.act(context(), me, cid, "pause_clock", loaded, if_match=version)

    return _take(cid, "pause_clock", form, run, _("The party's clock is paused."))


@bp.post("/complaints/<cid>/resume-clock")
def resume_clock(cid: str):
    me = agent()
    return _take(
        cid,
        "resume_clock",
        ResumeClockForm(),
        lambda v: complaints.act(context(), me, cid, "resume_clock", {}, if_match=v),
        _("The party's clock runs again."),
    )


@bp.post("/complaints/<cid>/reassign")
def reassign(cid: str):
    me, form = agent(), ReassignForm()

    def run(version: int) -> object:
        asked = ACTION_SCHEMAS["reassign"]().load({"agent_id": (form.agent_id.data or "").strip()})
        return complaints.act(context(), me, cid, "reassign", asked, if_match=version)

    return _take(cid, "reassign", form, run, _("The case is handed over."))


@bp.post("/complaints/<cid>/message")
def message(cid: str):
    me, form = agent(), MessageForm()

    def run(version: int) -> object:
        asked = {"body": form.body.data, **({"to": form.to.data} if form.to.data else {})}
        loaded = MessageSchema().load(asked)
        return complaints.post_message(
            context(), me, cid, loaded["body"], to=loaded.get("to"), if_match=version
        )

    return _take(cid, "message", form, run, _("Your message is in the thread."))


@bp.post("/complaints/<cid>/message/draft")
def message_draft(cid: str):
    """A canned reply put into the message form, after what the agent typed: the page comes
    back with it to edit, and nothing is sent (how the form works without its script)."""
    me, form = agent(), MessageForm()
    cid = complaint_id(cid)
    reply = canned.find(form.canned.data)
    if reply is None:
        problem = _("Choose a canned reply from the list.")
        return case_page(cid, submitted={"message": form}, problem=problem, status=422)
    ctx = context()
    complaint = get_complaint(ctx, me, cid)
    text = reply.text(
        str(get_locale()), complaint.order.get("id", ""), review_window(ctx, complaint)
    )
    typed = (form.body.data or "").rstrip()
    form.body.data = f"{typed}\n\n{text}" if typed else text
    return case_page(cid, submitted={"message": form}, drafted=True)


@bp.post("/complaints/<cid>/request-evidence")
def request_evidence(cid: str):
    me, form = agent(), RequestEvidenceForm()

    def run(version: int) -> object:
        asked: dict[str, Any] = {"party": form.party.data, "what": form.what.data}
        if form.due.data:
            asked["due_at"] = _wib(form.due.data).isoformat()
        loaded = ACTION_SCHEMAS["request_evidence"]().load(asked)
        return complaints.act(context(), me, cid, "request_evidence", loaded, if_match=version)

    return _take(cid, "request_evidence", form, run, _("The evidence is requested."))


@bp.post("/complaints/<cid>/legal-hold")
def legal_hold(cid: str):
    """Care holds every file of the complaint (the API's `POST …/legal-hold`)."""
    already = _("The complaint is already under a legal hold.")
    return _hold(cid, retention.set_legal_hold, already, _("The complaint is under a legal hold."))


@bp.post("/complaints/<cid>/legal-hold/lift")
def lift_legal_hold(cid: str):
    """Care lifts the hold: retention runs again (the API's `POST …/legal-hold/lift`)."""
    not_held = _("The complaint is not under a legal hold.")
    return _hold(cid, retention.lift_legal_hold, not_held, _("The legal hold is lifted."))


def _hold(cid: str, change, refused: str, done: str):
    """Sets or lifts the hold (`change`) with the form's reason, at the version the agent saw;
    a hold already in the state asked for is `refused`, in the agent's words."""
    me, form = agent(), LegalHoldForm(prefix="hold")

    def run(version: int) -> object:
        reason = ReasonSchema().load({"reason": form.reason.data})["reason"]
        try:
            return change(context(), me, cid, reason, if_match=version)
        except Conflict as error:
            raise Conflict(refused) from error

    return _take(cid, "legal_hold", form, run, done)


def _wib(moment: datetime) -> datetime:
    """A time the agent typed (a local time in WIB) as an aware time."""
    return moment.replace(tzinfo=ZoneInfo(TIMEZONE))


@bp.post("/complaints/<cid>/evidence/<eid>/review")
def review(cid: str, eid: str):
    me, form = agent(), ReviewForm(prefix=f"review-{eid}")

    def run(version: int) -> object:
        note = ReviewSchema().load({"note": form.note.data})["note"]
        return evidence.review_evidence(context(), me, cid, eid, note, if_match=version)

    return _take(cid, f"review-{eid}", form, run, _("The evidence is marked reviewed."))


@bp.post("/complaints/<cid>/decide")
def decide(cid: str):
    me, form = agent(), DecideForm()

    def run(version: int) -> object:
        solution: dict[str, Any] = {"kind": form.kind.data}
        if form.kind.data in WITH_AMOUNT and form.amount.data is not None:
            solution["amount"] = form.amount.data
        if form.kind.data in WITH_ITEMS:
            items = _items(get_complaint(context(), me, complaint_id(cid)).order)
            if items:
                solution["items"] = items
        asked = {
            "solution": solution,
            "reason_code": form.reason_code.data,
            "rationale": form.rationale.data,
            "evidence_considered": request.form.getlist("considered"),
        }
        loaded = ACTION_SCHEMAS["decide"]().load(asked)
        return complaints.act(context(), me, cid, "decide", loaded, if_match=version)

    return _take(cid, "decide", form, run, _("The decision is recorded."))


@bp.post("/complaints/<cid>/settlement/retry")
def retry_settlement(cid: str):
    me, form = agent(), RetrySettlementForm()
    cid = complaint_id(cid)
    if not form.validate_on_submit():
        problem = _("Some fields are missing: see the form below.")
        return case_page(cid, submitted={"retry_settlement": form}, problem=problem, status=422)
    try:
        RetrySettlementSchema().load({"note": form.note.data} if form.note.data else {})
        settlements.retry(context(), me, form.settlement_id.data, form.note.data or None)
    except (ValidationError, DomainError) as error:
        why = (
            refusals.fields(error.messages) if isinstance(error, ValidationError) else error.detail
        )
        problem = _("Not recorded: %(why)s", why=why)
        status = 422 if isinstance(error, ValidationError) else status_of(error)
        return case_page(cid, submitted={"retry_settlement": form}, problem=problem, status=status)
    flash(_("The payment system is asked again."))
    back = request.form.get("back")
    if back == "failed":
        return redirect(url_for("console.queue", settlement="failed"))
    return redirect(url_for("console.case", cid=cid))


def _items(order: dict) -> list[dict]:
    """`qty-<n>` fields, one per order line; none filled in means the whole order."""
    chosen = []
    for number, line in enumerate(order.get("items") or ()):
        text = (request.form.get(f"qty-{number}") or "").strip()
        if text.isdigit() and int(text) > 0:
            chosen.append({"sku": line["sku"], "qty": int(text)})
    return chosen


@bp.errorhandler(DomainError)
def _refused(error: DomainError):
    return _error_page(error.detail, status_of(error))


@bp.errorhandler(HTTPException)
def _http(error: HTTPException):
    return _error_page(error.description or error.name, error.code or 500)


@bp.errorhandler(Exception)
def _bug(error: Exception):
    log.exception("console error", exc_info=error)
    return _error_page(_("Something went wrong on our side. Nothing was changed."), 500)


def _error_page(message: str, status: int):
    return render_template("console/error.html", message=message, status=status), status
