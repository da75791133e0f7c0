"""The evidence API: upload a file or a tracking number, list, download (with ranges), review."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, request, url_for
from werkzeug.http import parse_range_header
from werkzeug.wsgi import wrap_file

from schemas.evidence import (
    EvidenceFormSchema,
    EvidenceSchema,
    ReviewSchema,
    TrackingEvidenceSchema,
)

from ..domain.actors import Actor
from ..domain.errors import Invalid, NotFound, Unsupported
from ..domain.events import canonical
from ..domain.evidence import as_seen_by
from ..service import Context, Recorded
from ..service import evidence as service
from .http import (
    caller,
    complaint_id,
    context,
    etag,
    if_match,
    json_body,
    json_response,
    load_body,
    write,
)

bp = Blueprint("evidence", __name__, url_prefix="/v1/complaints")
_schema = EvidenceSchema()
_EVIDENCE_ID = re.compile(r"[0-9a-f]{24}")
_FORM_OVERHEAD = 1 << 20  # room for the multipart framing and the small fields


def evidence_view(shown: dict, cid: str) -> dict:
    """An evidence entry (already as the caller may see it), with where to fetch its file."""
    shown = dict(shown)
    if "file" in shown:
        shown["href"] = url_for("evidence.get_file", cid=cid, eid=shown["id"])
    return _schema.dump(shown)


def _evidence_id(value: str) -> str:
    if not _EVIDENCE_ID.fullmatch(value):
        raise NotFound(f"There is no evidence {value[:64]} on this complaint.")
    return value


@bp.post("/<cid>/evidence")
def add_evidence(cid: str) -> Response:
    actor = caller()
    cid = complaint_id(cid)
    ctx = context()
    version = if_match()

    def render(result: Recorded) -> tuple[int, dict, dict]:
        item = result.complaint.evidence[-1]
        location = url_for("evidence.list_evidence", cid=cid)
        headers = {"Location": location, "ETag": etag(result.complaint.version)}
        return 201, evidence_view(as_seen_by(actor, item), cid), headers

    if request.mimetype == "multipart/form-data":
        request.max_content_length = ctx.evidence_limits.largest + _FORM_OVERHEAD
        form = request.form.to_dict(flat=False)
        if any(len(values) != 1 for values in form.values()):
            raise Invalid("Send each form field once.", {"_form": ["a field is repeated"]})
        fields = EvidenceFormSchema().load({name: values[0] for name, values in form.items()})
        uploads = request.files.to_dict(flat=False)
        if list(uploads) != ["file"] or len(uploads["file"]) != 1:
            raise Invalid("Send exactly one file, in the field `file`.", {"file": ["one file"]})
        upload = uploads["file"][0]
        digest = hashlib.sha256(f"POST\0{request.path}\0".encode())
        digest.update(canonical(fields))
        while chunk := upload.stream.read(1 << 20):
            digest.update(chunk)
        upload.stream.seek(0)
        return write(
            lambda idem: service.add_evidence(
                ctx, actor, cid, fields, upload.stream, upload.filename, idem, if_match=version
            ),
            render,
            digest.hexdigest(),
        )
    if request.is_json or not request.get_data(cache=True).strip():
        json_body()
        fields = load_body(TrackingEvidenceSchema())
        return write(
            lambda idem: service.add_evidence(ctx, actor, cid, fields, idem=idem, if_match=version),
            render,
        )
    raise Unsupported(
        "Upload a file as multipart/form-data (fields `file`, `kind`, optional `caption`, "
        "`care_only`, `answers`), or a tracking number as application/json."
    )


@bp.get("/<cid>/evidence")
def list_evidence(cid: str) -> Response:
    actor = caller()
    cid = complaint_id(cid)
    items = service.list_evidence(context(), actor, cid)
    shown = [evidence_view(item, cid) for item in items]
    return json_response({"items": shown, "next_cursor": None})


@bp.get("/<cid>/evidence/<eid>")
def get_file(cid: str, eid: str) -> Response:
    return file_response(context(), caller(), cid, eid)


def file_response(ctx: Context, actor: Actor, cid: str, eid: str) -> Response:
    """An evidence file for `actor`, with ranges and conditional requests (the API and the
    console both send files this way): a read of restricted evidence is recorded first."""
    cid, eid = complaint_id(cid), _evidence_id(eid)
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
        service.record_read(ctx, actor, cid, item, first_byte)
    return response


@bp.post("/<cid>/evidence/<eid>/review")
def review(cid: str, eid: str) -> Response:
    actor = caller()
    cid, eid = complaint_id(cid), _evidence_id(eid)
    note = load_body(ReviewSchema())["note"]

    def render(result: Recorded) -> tuple[int, dict, dict]:
        item = next(i for i in result.complaint.evidence if i["id"] == eid)
        shown = evidence_view(as_seen_by(actor, item), cid)
        return 200, shown, {"ETag": etag(result.complaint.version)}

    version = if_match()
    return write(
        lambda idem: service.review_evidence(
            context(), actor, cid, eid, note, idem, if_match=version
        ),
        render,
    )
