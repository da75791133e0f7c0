"""Care's evidence requests: several may be open at once, and none can be skipped.

Each request names the party, what is needed and a due time (at least
`Deadlines.evidence_min_due` away). Its state: `open` (awaited), `answered` (the party sent
something: a message or evidence), `reviewed` (every piece it sent is reviewed by care),
`expired` (past due with no answer: the decision may go ahead, and says so), `withdrawn` (care
no longer needs it). A decision waits while any request is open and not past due, or answered
and not reviewed (seed 000: a KTP video was requested, then the report closed unread).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .events import iso

OPEN, ANSWERED, REVIEWED, EXPIRED, WITHDRAWN = (
    "open",
    "answered",
    "reviewed",
    "expired",
    "withdrawn",
)


def state(request: Mapping[str, Any], evidence: Sequence[Mapping], now: datetime) -> str:
    """Where the request stands at `now` (`evidence`: the complaint's)."""
    if request.get("withdrawn_at"):
        return WITHDRAWN
    if request.get("answered_at"):
        reviewed = {item["id"] for item in evidence if item.get("reviewed")}
        return REVIEWED if all(i in reviewed for i in request["answer_ids"]) else ANSWERED
    if datetime.fromisoformat(request["due_at"]) <= now:
        return EXPIRED
    return OPEN


def blocking(
    requests: Sequence[Mapping[str, Any]], evidence: Sequence[Mapping], now: datetime
) -> list[tuple[Mapping[str, Any], str]]:
    """The requests a decision waits for at `now`, with their states (open or answered)."""
    found = [(r, state(r, evidence, now)) for r in requests]
    return [(r, s) for r, s in found if s in (OPEN, ANSWERED)]


def expired(
    requests: Sequence[Mapping[str, Any]], evidence: Sequence[Mapping], now: datetime
) -> list[int]:
    """Ids of the requests that went unanswered past their due time."""
    return [r["id"] for r in requests if state(r, evidence, now) == EXPIRED]


def awaited(requests: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The unanswered request due first: whose turn it is in mediation, and until when."""
    waiting = [r for r in requests if not r.get("answered_at") and not r.get("withdrawn_at")]
    return min(waiting, key=lambda r: (r["due_at"], r["id"])) if waiting else None


def answering(
    requests: Sequence[Mapping[str, Any]], role: str, answers: int | None
) -> Mapping[str, Any] | None:
    """The request a party's message or evidence answers: the one it names (`answers`), else
    the oldest one made to it that is not answered yet, else the latest one it answered (what
    it sends after its answer is part of the answer, to be reviewed too). Withdrawn ones
    take no answer."""
    mine = [r for r in requests if r["party"] == role and not r.get("withdrawn_at")]
    if answers is not None:
        return next((r for r in mine if r["id"] == answers), None)
    unanswered = [r for r in mine if not r.get("answered_at")]
    if unanswered:
        return unanswered[0]
    return mine[-1] if mine else None


def answered(
    requests: Sequence[Mapping[str, Any]],
    role: str,
    at: datetime,
    answers: int | None,
    evidence_id: str | None,
) -> list[dict[str, Any]]:
    """The requests after `role` spoke at `at` (naming `answers`, sending `evidence_id`)."""
    target = answering(requests, role, answers)
    if target is None:
        return [dict(r) for r in requests]
    changed = []
    for request in requests:
        request = dict(request)
        if request["id"] == target["id"]:
            request["answered_at"] = request.get("answered_at") or iso(at)
            if evidence_id is not None:
                request["answer_ids"] = [*request.get("answer_ids", []), evidence_id]
        changed.append(request)
    return changed


def described(request: Mapping[str, Any], request_state: str) -> str:
    """`#12 (from the buyer, due …): open`: a request in a refusal's words."""
    party, due = request["party"], request["due_at"]
    return f"#{request['id']} (from the {party}, due {due}): {request_state}"
