"""Sending an evidence file, the one way the API and the console both send them."""

from __future__ import annotations

from flask import Response, request
from werkzeug.http import parse_range_header
from werkzeug.wsgi import wrap_file

from ..domain.actors import Actor
from ..service import evidence as service
from ..service.unit_of_work import Context
from .http import complaint_id, object_id


def send_evidence_file(ctx: Context, actor: Actor, cid: str, eid: str) -> Response:
    """An evidence file for `actor`, with ranges and conditional requests: a read of
    restricted evidence is recorded first."""
    cid, eid = complaint_id(cid), object_id(eid, "evidence", "on this complaint")
    item, stored = service.open_evidence(ctx, actor, cid, eid)
    asked = parse_range_header(request.environ.get("HTTP_RANGE"))
    if "HTTP_RANGE" in request.environ and (asked is None or asked.units != "bytes"):
        # A Range in another unit, or one we cannot read, is ignored (RFC 9110 14.2): the
        # whole file is sent. (werkzeug would answer 416.)
        del request.environ["HTTP_RANGE"]
    response = Response(
        wrap_file(request.environ, stored),
        mimetype=item["file"]["content_type"],
        direct_passthrough=True,
    )
    response.content_length = stored.length
    response.set_etag(item["file"]["sha256"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store" if item.get("restricted") else "private"
    response = response.make_conditional(request, accept_ranges=True, complete_length=stored.length)
    if request.method != "HEAD" and response.status_code in (200, 206):
        # Bytes will go out: a read of personal data is recorded first (a failure to record
        # answers an error instead of the file).
        first_byte = response.content_range.start if response.status_code == 206 else 0
        service.record_read(ctx, actor, cid, item, first_byte, response.content_length)
    return response
