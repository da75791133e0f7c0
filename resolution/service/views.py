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
from schemas.settlements import SettlementSchema

from ..domain import decisions, personal, requests
from ..domain.actors import Actor, Role
from ..domain.audit import masked_record
from ..domain.events import Event
from ..domain.evidence import as_seen_by, event_as_seen_by
from ..domain.lifecycle import allowed_actions
from ..domain.projection import Complaint

_complaints = ComplaintSchema()
_events = EventSchema()
_settlements = SettlementSchema()
# A brief of a piece of evidence a decision considered: what a party may read of it in the
# resolution (the file itself is opened from the evidence list, by those who may).
_CONSIDERED = ("id", "kind", "by", "at", "caption", "restricted")


def resolution_as_seen(complaint: Complaint, actor: Actor) -> dict | None:
    """How the complaint was resolved, as `actor` reads it: the reason code with its labels,
    the rationale, and the evidence considered (restricted evidence named as such only)."""
    resolution = complaint.resolution
    if resolution is None:
        return None
    seen = dict(resolution)
    code = resolution.get("reason_code")
    if code:
        seen["reason_label"] = decisions.label(code)
    if "evidence_considered" in resolution:
        known = evidence_by_id(complaint)
        seen["evidence_considered"] = [
            {k: v for k, v in as_seen_by(actor, known[eid]).items() if k in _CONSIDERED}
            if eid in known
            else {"id": eid}
            for eid in resolution["evidence_considered"]
        ]
    return seen


def settlement_as_seen(complaint: Complaint) -> dict:
    """The complaint's settlement with what the payment system needs to carry it out."""
    return _settlements.dump(
        {
            **complaint.settlement,
            "complaint_id": complaint.id,
            "order": {"channel": complaint.channel, "id": complaint.order.get("id")},
            "buyer_id": complaint.buyer_id,
            "shop_id": complaint.shop_id,
            "outcome": complaint.outcome,
        }
    )


def complaint_as_seen(complaint: Complaint, actor: Actor, now: datetime) -> dict:
    """The complaint as `actor` sees it at `now`, with the actions it may take then."""
    view = {
        **{f.name: getattr(complaint, f.name) for f in dataclasses.fields(complaint)},
        "resolution": resolution_as_seen(complaint, actor),
        "allowed_actions": allowed_actions(complaint, actor, now),
    }
    if complaint.settlement is not None:
        view["settlement"] = settlement_as_seen(complaint)
    view["evidence_requests"] = [
        {**r, "state": requests.state(r, complaint.evidence, now)}
        for r in complaint.evidence_requests
    ]
    if actor.is_staff:
        view["care_overdue"] = complaint.care_overdue(now)
    else:
        # The care team's own clocks and holds: not the parties' business.
        del view["care_due_at"], view["care_reply_due_at"], view["legal_hold"]
    return personal.complaint_as_seen(actor, _complaints.dump(view))


def evidence_as_seen(item: Mapping, actor: Actor) -> dict:
    """An evidence entry; of restricted evidence another party sees only the mention, and a
    NIK in another's caption or file name masked."""
    return personal.evidence_as_seen(actor, as_seen_by(actor, item))


def event_as_seen(event: Event, actor: Actor, evidence: Mapping[str, Mapping]) -> dict:
    """An event as `actor` may see it (`evidence`: the complaint's entries by id).

    Uploads the actor may not open (another party's identity document) keep only their
    mention, and a NIK in another's free text is masked (`domain.personal`); the hidden
    fields' commitments come in `data_hashes` (their salts stay here), so the chain still
    verifies and the hidden values cannot be confirmed by guessing.
    """
    data, withheld = event_as_seen_by(
        actor, event.type, event.data, event.actor, evidence, event.commitment
    )
    data, withheld = personal.event_data_as_seen(
        actor, event.actor.get("role"), data, withheld, event.commitment
    )
    return event.as_shown(data, withheld)


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
        "salts": body["salts"],
        "hash_version": body["hash_version"],
        "complaint": complaint_as_seen(complaint, reader, event.at),
    }


def exported_event(event: Event) -> dict:
    """An event as an audit export holds it: every NIK masked, hidden fields hashed."""
    return masked_record(event)
