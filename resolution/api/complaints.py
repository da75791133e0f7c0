"""The complaints API: open, list, read, act, message, and the event log."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from schemas.complaints import (
    ACTION_SCHEMAS,
    EventSchema,
    ListComplaintsQuery,
    ListEventsQuery,
    MessageSchema,
    NoteSchema,
    OpenComplaintSchema,
    ReasonSchema,
)

from .. import service
from ..domain.actors import Actor
from ..domain.commands import check_opener
from ..domain.lifecycle import PERSON_ACTIONS
from ..domain.projection import Complaint
from ..service import Recorded, views
from ..service import complaints as service_complaints
from ..web.http import (
    authenticated,
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

bp = Blueprint("complaints", __name__, url_prefix="/v1/complaints")
_event_schema = EventSchema()


def complaint_view(complaint: Complaint, actor: Actor) -> dict:
    """The complaint as this caller sees it now, with the actions it may take."""
    return views.complaint_as_seen(complaint, actor, context().clock())


@bp.post("")
def open_complaint() -> Response:
    actor = caller()
    check_opener(actor)  # 403 for anyone but a buyer, whatever the body (as the spec says)
    request = load_body(OpenComplaintSchema())

    def render(result: Recorded) -> tuple[int, dict, dict]:
        complaint = result.complaint
        location = url_for("complaints.get_complaint", cid=complaint.id)
        return (
            201,
            complaint_view(complaint, actor),
            {"Location": location, "ETag": etag(complaint.version)},
        )

    return write(lambda idem: service.open_complaint(context(), actor, request, idem), render)


@bp.get("")
def list_complaints() -> Response:
    actor = authenticated()  # the marketplace reads its channels' complaints too
    query = load_query(ListComplaintsQuery())
    page, next_cursor = service.list_complaints(context(), actor, **query)
    return json_response(
        {"items": [complaint_view(c, actor) for c in page], "next_cursor": next_cursor}
    )


@bp.get("/<cid>")
def get_complaint(cid: str) -> Response:
    actor = authenticated()  # the marketplace reads its channels' complaints too
    complaint = service.get_complaint(context(), actor, complaint_id(cid))
    return json_response(
        complaint_view(complaint, actor), headers={"ETag": etag(complaint.version)}
    )


@bp.get("/<cid>/events")
def list_events(cid: str) -> Response:
    actor = authenticated()  # the marketplace reads its channels' complaints too
    query = load_query(ListEventsQuery())
    after = int(query.get("cursor") or 0)
    events, next_cursor = service.list_events(
        context(), actor, complaint_id(cid), after=after, limit=query["limit"]
    )
    return json_response(
        {"items": [_event_schema.dump(e) for e in events], "next_cursor": next_cursor}
    )


@bp.post("/<cid>/messages")
def post_message(cid: str) -> Response:
    actor = caller()
    cid = complaint_id(cid)
    message = load_body(MessageSchema())
    version = if_match()

    def render(result: Recorded) -> tuple[int, dict, dict]:
        return 201, _event_schema.dump(result.event), {"ETag": etag(result.complaint.version)}

    return write(
        lambda idem: service.post_message(
            context(),
            actor,
            cid,
            message["body"],
            evidence_ids=message.get("evidence_ids", ()),
            answers=message.get("answers"),
            to=message.get("to"),
            if_match=version,
            idem=idem,
        ),
        render,
    )


@bp.post("/<cid>/evidence-requests/<int:request_id>/withdraw")
def withdraw_evidence_request(cid: str, request_id: int) -> Response:
    actor = caller()
    cid = complaint_id(cid)
    body = load_body(ReasonSchema())
    version = if_match()

    def render(result: Recorded) -> tuple[int, dict, dict]:
        complaint = result.complaint
        return 200, complaint_view(complaint, actor), {"ETag": etag(complaint.version)}

    return write(
        lambda idem: service_complaints.withdraw_evidence_request(
            context(), actor, cid, request_id, body["reason"], if_match=version, idem=idem
        ),
        render,
    )


@bp.post("/<cid>/notes")
def add_note(cid: str) -> Response:
    actor = caller()  # a complaint the caller cannot see is 404 before its role is 403
    cid = complaint_id(cid)
    note = load_body(NoteSchema())
    version = if_match()

    def render(result: Recorded) -> tuple[int, dict, dict]:
        return 201, _event_schema.dump(result.event), {"ETag": etag(result.complaint.version)}

    return write(
        lambda idem: service_complaints.add_note(
            context(), actor, cid, note["body"], if_match=version, idem=idem
        ),
        render,
    )


def _action_view(action: str):
    schema = ACTION_SCHEMAS[action]()

    def take_action(cid: str) -> Response:
        actor = caller()
        cid = complaint_id(cid)
        request = load_body(schema)
        version = if_match()

        def render(result: Recorded) -> tuple[int, dict, dict]:
            complaint = result.complaint
            return 200, complaint_view(complaint, actor), {"ETag": etag(complaint.version)}

        return write(
            lambda idem: service.act(
                context(), actor, cid, action, request, if_match=version, idem=idem
            ),
            render,
        )

    return take_action


# One route per action, so the route table and openapi.yaml list exactly the same paths.
for _action in PERSON_ACTIONS:
    bp.add_url_rule(
        f"/<cid>/actions/{_action}",
        endpoint=f"action_{_action}",
        view_func=_action_view(_action),
        methods=["POST"],
    )
