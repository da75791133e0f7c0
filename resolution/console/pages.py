"""The console's pages: the queue, an agent's own cases, a case, a restricted document, and
evidence files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from schemas.complaints import REASONS

from ..domain import requests
from ..domain.errors import NotFound
from ..domain.identifiers import is_object_id
from ..domain.lifecycle import allowed_actions, decision_waits_for_evidence
from ..domain.projection import CARE_STATES, Complaint
from ..domain.solutions import WITH_AMOUNT, WITH_ITEMS
from ..service import Context, views
from ..service.complaints import case_record
from ..service.queue import care_queue, my_cases
from ..service.settlements import list_settlements
from ..web import narrative
from ..web.files import send_evidence_file
from ..web.http import complaint_id, context
from . import canned
from .blueprint import bp
from .diagram import lifecycle_svg
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
    SignOutForm,
    WithdrawRequestForm,
)
from .signin import agent


@bp.app_template_global()
def url_for_lang(lang: str) -> str:
    """This page in another language. A page that answers a form whose address takes no GET
    (a refusal, an inserted canned reply) links to its case's page instead."""
    args = {**request.args.to_dict(), "lang": lang}
    view_args = request.view_args or {}
    rule = request.url_rule
    if rule is None or "GET" not in (rule.methods or ()):
        if "cid" in view_args:
            return url_for("console.case", cid=view_args["cid"], lang=lang)
        return url_for("console.queue", lang=lang)
    return url_for(request.endpoint or "console.queue", **view_args, **args)


@bp.context_processor
def _page_globals() -> dict[str, Any]:
    return {"n": narrative, "lang": str(get_locale()), "sign_out": SignOutForm()}


@bp.get("/")
def queue() -> str:
    ctx, me = context(), agent()
    args = request.args
    if args.get("settlement") == "failed":
        return failed_settlements()
    state = args.get("state") if args.get("state") in CARE_STATES else None
    reason = args.get("reason") if args.get("reason") in REASONS else None
    channel = (args.get("channel") or "")[:32] or None
    page_number = int(args["page"]) if args.get("page", "").isdigit() else 1
    page = care_queue(
        ctx,
        me,
        state=state,
        channel=channel,
        reason=reason,
        assigned_to=me.id if args.get("mine") else None,
        overdue=bool(args.get("overdue")),
        page=min(page_number, 10**6),
    )
    filters = {"state": state, "channel": channel, "reason": reason}
    filters |= {"mine": args.get("mine"), "overdue": args.get("overdue")}
    return render_template(
        "console/queue.html",
        page=page,
        now=ctx.clock(),
        sla=ctx.deadlines.rules(None).care_first_reply.minimum,
        filters=filters,
        states=CARE_STATES,
        reasons=REASONS,
        next_case=NextCaseForm(),
        page_url=lambda number: url_for(
            "console.queue", **{k: v for k, v in filters.items() if v}, page=number
        ),
    )


@bp.get("/mine")
def mine() -> str:
    """The signed-in agent's own cases with their deadlines, the most urgent first."""
    ctx, me = context(), agent()
    return render_template(
        "console/mine.html",
        cases=my_cases(ctx, me),
        now=ctx.clock(),
        reply=narrative.period(ctx.deadlines.rules(None).care_first_reply),
        decide=narrative.period(ctx.deadlines.rules(None).care_decide),
        next_case=NextCaseForm(),
    )


def failed_settlements() -> str:
    """The queue's other filter: settlements the payment system failed, with its reason and a
    retry button each, the newest first, a page at a time (`after`: the last one shown)."""
    ctx, me = context(), agent()
    args = request.args
    channel = (args.get("channel") or "")[:32] or None
    after = args.get("after") if is_object_id(args.get("after") or "") else None
    items, next_after = list_settlements(
        ctx, me, status="failed", channel=channel, cursor=after, limit=20
    )
    return render_template(
        "console/failed_settlements.html",
        items=items,
        channel=channel,
        next_url=url_for(
            "console.queue", settlement="failed", after=next_after, **_only(channel=channel)
        )
        if next_after
        else None,
        retry=RetrySettlementForm(formdata=None),
        states=CARE_STATES,
        reasons=REASONS,
    )


def _only(**given: str | None) -> dict[str, str]:
    return {k: v for k, v in given.items() if v}


@bp.get("/complaints/<cid>")
def case(cid: str) -> str:
    return case_page(cid)


def case_page(
    cid: str,
    *,
    submitted: Mapping[str, Any] | None = None,
    problem: str | None = None,
    stale: bool = False,
    drafted: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    """A case as care sees it, with the forms of what the agent may do now.

    `submitted` are forms that came back refused: they are shown again with what the agent
    typed (and the current version, when the page was stale), never lost. `drafted`: the
    message form came back with a canned reply in it, to edit (the cursor goes there).
    """
    ctx, me = context(), agent()
    complaint, records = case_record(ctx, me, complaint_id(cid))
    now = ctx.clock()
    evidence = [views.evidence_as_seen(item, me) for item in complaint.evidence]
    forms = _forms(complaint, evidence)
    for name, form in (submitted or {}).items():
        if hasattr(form, "version"):  # a form that acts at a version: now the current one
            form.version.data = str(complaint.version)
        forms[name] = form
    forms["message"].canned.choices = canned_choices(complaint, review_window(ctx, complaint))
    page = render_template(
        "console/case.html",
        complaint=complaint,
        records=records,
        messages=[r for r in records if r["type"] in ("message", "note")],
        evidence=evidence,
        resolution=views.resolution_as_seen(complaint, me),
        evidence_requests=[
            (r, requests.state(r, complaint.evidence, now)) for r in complaint.evidence_requests
        ],
        settlement=complaint.settlement,
        allowed=allowed_actions(complaint, me, now),
        decision_waits=decision_waits_for_evidence(complaint, me, now),
        forms=forms,
        problem=problem,
        stale=stale,
        drafted=drafted,
        now=now,
        me=me,
        with_amount=sorted(str(k) for k in WITH_AMOUNT),
        with_items=sorted(str(k) for k in WITH_ITEMS),
        diagram=lifecycle_svg(
            complaint.state,
            _(
                "Lifecycle of a complaint; this one is %(state)s",
                state=narrative.state(complaint.state),
            ),
            str(get_locale()),
        ),
    )
    return page, status


def review_window(ctx: Context, complaint: Complaint) -> str:
    """The case's review window in words, as its channel's rules give it."""
    return narrative.period(ctx.deadlines.rules(complaint.channel).review_window)


def canned_choices(complaint: Complaint, review_window: str) -> list[SelectChoice]:
    """The canned replies in the page's language, each option carrying its filled-in text
    (`data-body`) for the script that inserts it without a round trip."""
    lang = str(get_locale())
    order_id = complaint.order.get("id", "")
    return [
        SelectChoice(
            reply.id,
            reply.title[lang],
            render_kw={"data-body": reply.text(lang, order_id, review_window)},
        )
        for reply in canned.replies()
    ]


def _forms(complaint: Complaint, evidence: list[dict]) -> dict[str, Any]:
    version = str(complaint.version)
    forms: dict[str, Any] = {
        "assign": AssignForm(formdata=None, version=version),
        "message": MessageForm(formdata=None, version=version),
        "note": NoteForm(formdata=None, version=version, prefix="note"),
        "withdraw_request": WithdrawRequestForm(formdata=None, version=version),
        "request_evidence": RequestEvidenceForm(formdata=None, version=version),
        "decide": DecideForm(formdata=None, version=version),
        "release": ReleaseForm(formdata=None, version=version),
        "pause_clock": PauseClockForm(formdata=None, version=version),
        "resume_clock": ResumeClockForm(formdata=None, version=version),
        "reassign": ReassignForm(formdata=None, version=version),
        "legal_hold": LegalHoldForm(formdata=None, version=version, prefix="hold"),
        "retry_settlement": RetrySettlementForm(
            formdata=None, settlement_id=(complaint.settlement or {}).get("id")
        ),
    }
    for item in evidence:
        forms[f"review-{item['id']}"] = ReviewForm(
            formdata=None, version=version, prefix=f"review-{item['id']}"
        )
    return forms


@bp.get("/complaints/<cid>/evidence/<eid>")
def evidence_page(cid: str, eid: str) -> str:
    """One piece of evidence on a page of its own: how identity documents are opened."""
    ctx, me = context(), agent()
    complaint, _records = case_record(ctx, me, complaint_id(cid))
    item = next((i for i in complaint.evidence if i["id"] == eid), None)
    if item is None:
        raise NotFound(_("There is no such evidence on this complaint."))
    return render_template(
        "console/evidence.html", complaint=complaint, item=views.evidence_as_seen(item, me)
    )


@bp.get("/complaints/<cid>/evidence/<eid>/file")
def evidence_file(cid: str, eid: str) -> Response:
    """The file itself, sent as the API sends it (ranges; restricted reads recorded first)."""
    return send_evidence_file(context(), agent(), cid, eid)
