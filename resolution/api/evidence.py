"""The evidence API: upload a file or a tracking number, list, download (with ranges), review."""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from schemas.evidence import (
    EvidenceFormSchema,
    EvidenceSchema,
    ReviewSchema,
    TrackingEvidenceSchema,
)

from ..domain.errors import Invalid, UnsupportedFile
from ..domain.events import canonical
from ..service import Recorded, views
from ..service import evidence as service
from ..service.unit_of_work import fingerprint
from ..web.files import send_evidence_file
from ..web.http import (
    caller,
    complaint_id,
    context,
    etag,
    if_match,
    json_body,
    json_response,
    load_body,
    object_id,
    write,
)

bp = Blueprint("evidence", __name__, url_prefix="/v1/complaints")
_schema = EvidenceSchema()
_FORM_OVERHEAD = 1 << 20  # room for the multipart framing and the small fields


def evidence_view(shown: dict, cid: str) -> dict:
    """An evidence entry (already as the caller may see it), with where to fetch its file."""
    shown = dict(shown)
    if "file" in shown:
        shown["href"] = url_for("evidence.get_file", cid=cid, eid=shown["id"])
    return _schema.dump(shown)


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
        return 201, evidence_view(views.evidence_as_seen(item, actor), cid), headers

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

        def fingerprinted() -> str:  # the form's fields, then the file's bytes
            chunks = iter(lambda: upload.stream.read(1 << 20), b"")
            found = fingerprint(request.method, request.path, canonical(fields), chunks)
            upload.stream.seek(0)
            return found

        return write(
            lambda idem: service.add_evidence(
                ctx, actor, cid, fields, upload.stream, upload.filename, idem, if_match=version
            ),
            render,
            fingerprinted,
        )
    if request.is_json or not request.get_data(cache=True).strip():
        json_body()
        fields = load_body(TrackingEvidenceSchema())
        return write(
            lambda idem: service.add_evidence(ctx, actor, cid, fields, idem=idem, if_match=version),
            render,
        )
    raise UnsupportedFile(
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
    return send_evidence_file(context(), caller(), cid, eid)


@bp.post("/<cid>/evidence/<eid>/review")
def review(cid: str, eid: str) -> Response:
    actor = caller()
    cid, eid = complaint_id(cid), object_id(eid, "evidence", "on this complaint")
    note = load_body(ReviewSchema())["note"]

    def render(result: Recorded) -> tuple[int, dict, dict]:
        item = next(i for i in result.complaint.evidence if i["id"] == eid)
        shown = evidence_view(views.evidence_as_seen(item, actor), cid)
        return 200, shown, {"ETag": etag(result.complaint.version)}

    version = if_match()
    return write(
        lambda idem: service.review_evidence(
            context(), actor, cid, eid, note, idem, if_match=version
        ),
        render,
    )
