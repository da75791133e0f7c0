"""The audit API: the event log as a masked, signed NDJSON or CSV stream."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import NotAcceptable

from schemas.anchoring import CheckpointPageSchema, ListCheckpointsQuery
from schemas.common import CHANNEL_PATTERN, Instant, identifier

from ..domain.events import EPOCH
from ..service import anchoring, audit
from ..web.http import caller, context, load_query

bp = Blueprint("audit", __name__, url_prefix="/v1/audit")
MEDIA = {"application/x-ndjson": "ndjson", "text/csv": "csv"}


class AuditEventsQuery(Schema):
    since = Instant()
    until = Instant()
    type = fields.String(validate=validate.Regexp(r"^[a-z_]{1,40}(,[a-z_]{1,40}){0,20}\Z"))
    channel = fields.String(validate=validate.Regexp(CHANNEL_PATTERN))
    complaint_id = identifier()


@bp.get("/events")
def events() -> Response:
    actor = caller()
    audit.check_can_export(actor)  # before anything else of the request is looked at
    query = load_query(AuditEventsQuery())
    # No Accept (or */*): NDJSON. An Accept naming neither format: 406.
    accept = request.accept_mimetypes
    best = accept.best_match(list(MEDIA)) if accept else "application/x-ndjson"
    if best is None:
        raise NotAcceptable("This export comes as application/x-ndjson or text/csv.")
    wanted = audit.ExportQuery(
        since=query.get("since", EPOCH),
        until=query.get("until"),
        types=tuple(query["type"].split(",")) if "type" in query else (),
        channel=query.get("channel"),
        complaint_id=query.get("complaint_id"),
    )
    records = audit.export_records(context(), actor, wanted)
    first = next(records)  # refusals (403, 422) surface now, before the 200 is sent
    render = audit.as_csv if MEDIA[best] == "csv" else audit.as_ndjson

    def stream():
        yield from render(_chain(first, records))

    filename = f"resolution-events.{MEDIA[best]}"
    return Response(
        stream(),
        mimetype=best,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _chain(first: dict, rest):
    yield first
    yield from rest


@bp.get("/checkpoints")
def checkpoints() -> Response:
    """The newest signed checkpoints (each also as its one line of text) and the key history."""
    actor = caller()
    anchoring.check_can_list(actor)
    query = load_query(ListCheckpointsQuery())
    found = anchoring.listing(actor, query.get("before"), query["limit"])
    items = [{**vars(c), "line": c.line} for c in found]
    more = found and found[-1].n > 1 and len(found) == query["limit"]
    body = {
        "items": items,
        "keys": anchoring.key_history(),
        "next_before": found[-1].n if more else None,
    }
    return jsonify(CheckpointPageSchema().dump(body))
