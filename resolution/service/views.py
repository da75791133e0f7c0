"""What each caller sees of a complaint, an event, a piece of evidence and a webhook
delivery: shaped here once, for the API, the console, the printable record, the deliverer
and the audit exports alike.

A complaint and a webhook payload come out as the contract's JSON (`schemas/`); an event
and evidence as plain values, which each edge then writes in its own form.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from schemas.complaints import ComplaintSchema, EventSchema

from ..domain.actors import Actor, Role
from ..domain.audit import masked_record
from ..domain.events import Event, sha256
from ..domain.evidence import as_seen_by, event_as_seen_by
from ..domain.lifecycle import allowed_actions
from ..domain.projection import Complaint

_complaints = ComplaintSchema()
_events = EventSchema()


def complaint_as_seen(complaint: Complaint, actor: Actor, now: datetime) -> dict:
    """The complaint as `actor` sees it at `now`, with the actions it may take then."""
    view = {
        **{f.name: getattr(complaint, f.name) for f in dataclasses.fields(complaint)},
        "allowed_actions": allowed_actions(complaint, actor, now),
    }
    if actor.is_staff:
        view["care_overdue"] = complaint.care_overdue(now)
    else:
        del view["care_due_at"]  # the care team's own clock: not the parties' business
    return _complaints.dump(view)


def evidence_as_seen(item: Mapping, actor: Actor) -> dict:
    """An evidence entry; of restricted evidence another party sees only the mention."""
    return as_seen_by(actor, item)


def event_as_seen(event: Event, actor: Actor, evidence: Mapping[str, Mapping]) -> dict:
    """An event as `actor` may see it (`evidence`: the complaint's entries by id).

    Uploads the actor may not open (another party's identity document) keep only their
    mention; the hidden fields' hashes come in `data_hashes`, so the chain still verifies.
    """
    record = event.as_data()
    record["data"], record["data_hashes"] = event_as_seen_by(
        actor, event.type, event.data, event.actor, evidence, sha256
    )
    return record


def evidence_by_id(complaint: Complaint) -> dict[str, dict]:
    return {item["id"]: item for item in complaint.evidence}


def webhook_payload(owner: str, event: Event, complaint: Complaint) -> dict:
    """What a subscription of integrator `owner` receives for `event`: the event and the
    complaint as that event left it, as the integrator may see them."""
    reader = Actor(Role.INTEGRATION, owner)
    body = _events.dump(event_as_seen(event, reader, evidence_by_id(complaint)))
    return {
        "type": body["type"],
        "complaint_id": body["complaint_id"],
        "seq": body["seq"],
        "at": body["at"],
        "actor": body["actor"],
        "data": body["data"],
        "data_hashes": body["data_hashes"],
        "complaint": complaint_as_seen(complaint, reader, event.at),
    }


def exported_event(event: Event) -> dict:
    """An event as an audit export holds it: every NIK masked, hidden fields hashed."""
    return masked_record(event)
