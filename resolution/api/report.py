"""A complaint's printable record, for the buyer or seller who wants one of their own case."""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, render_template
from flask_babel import get_locale

from schemas.anchoring import ProofSchema

from ..service import anchoring, views
from ..service import complaints as service
from ..web import narrative
from ..web.http import authenticated, caller, complaint_id, context

bp = Blueprint("report", __name__, url_prefix="/v1/complaints", template_folder="templates")

# The page is self-contained: inline styles, no scripts, nothing fetched.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@bp.get("/<cid>/export")
def export(cid: str) -> Response:
    actor = caller()
    cid = complaint_id(cid)
    ctx = context()
    complaint, records = service.case_record(ctx, actor, cid)
    try:
        proof = anchoring.proof(ctx, actor, cid)
    except anchoring.NotCovered:
        proof = None  # no checkpoint covers it yet: the page says so
    page = render_template(
        "complaint_export.html",
        complaint=complaint,
        records=records,
        evidence=[views.evidence_as_seen(item, actor) for item in complaint.evidence],
        resolution=views.resolution_as_seen(complaint, actor),
        settlement=complaint.settlement,
        reader=narrative.who(actor.as_data()),
        printed_at=ctx.clock(),
        proof=proof,
        proof_json=json.dumps(proof, indent=1, ensure_ascii=False) if proof else None,
        n=narrative,
        lang=str(get_locale()),
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Language"] = str(get_locale())
    response.headers["Content-Disposition"] = f'inline; filename="complaint-{cid}.html"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = _POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.vary.add("Accept-Language")
    return response


@bp.get("/<cid>/proof")
def proof(cid: str) -> Response:
    """The inclusion proof of the complaint's head in the latest checkpoint: a party keeps it
    and checks it offline against the checkpoint's line (`resolution verify-proof`)."""
    actor = authenticated()  # whoever may see the complaint, the marketplace's back end too
    cid = complaint_id(cid)
    return jsonify(ProofSchema().dump(anchoring.proof(context(), actor, cid)))
