"""A refusal on a console page, in the reader's language: the field by its label on the form,
the rule in words.

The service's refusals are English (the API's problem details, marshmallow's messages): this
reads the known shapes of them and says each again through the catalogue. A message of a
shape not listed here is shown as it came (tests/unit/test_console_refusals.py keeps the
domain's own sentences listed)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l

from ..web.narrative import STATES

# The fields a care form sends, by their label on the form (the same catalogue entries).
FIELDS = {
    "solution": _l("Solution"),
    "solution.kind": _l("Solution"),
    "solution.amount": _l("Amount (rupiah)"),
    "solution.items": _l("Items"),
    "rationale": _l("Rationale (the parties read it)"),
    "reason_code": _l("Reason code (the parties read its label)"),
    "evidence_considered": _l("Evidence considered"),
    "body": _l("Message"),
    "to": _l("To"),
    "agent_id": _l("To the agent (their id)"),
    "reason": _l("Why (the team reads it)"),
    "what": _l("What is needed"),
    "party": _l("From"),
    "due_at": _l("Due (WIB, optional: the inactivity period by default)"),
    "note": _l("What you found"),
    "until": _l("Paused until (WIB, optional: as long as allowed)"),
}

# The rules, as marshmallow and the domain word them, each said again.
RULES = [
    (r"Missing data for required field\.", _l("is required")),
    (r"Field may not be null\.", _l("is required")),
    (r"Unknown field\.", _l("is not expected here")),
    (r"Not a valid integer\.", _l("must be a whole number")),
    (r"Not a valid string\.", _l("must be text")),
    (r"Not a valid datetime\.", _l("must be a date and time")),
    (
        r"Must be greater than or equal to (?P<min>\d+) and less than or equal to (?P<max>\d+)\.",
        _l("must be between %(min)s and %(max)s"),
    ),
    (
        r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.",
        _l("must be %(min)s to %(max)s characters long"),
    ),
    (r"Shorter than minimum length (?P<min>\d+)\.", _l("must be at least %(min)s characters")),
    (r"Must be one of: (?P<choices>.+)\.", _l("must be one of: %(choices)s")),
    (r"at most (?P<max>\d+)", _l("at most %(max)s")),
    (
        r"must be more than 0 and at most the order total \((?P<max>\d+)\)",
        _l("must be more than 0 and at most the order total (%(max)s)"),
    ),
    (r"must be later than now", _l("must be later than now")),
    (r"(?P<kind>\w+) needs an amount in rupiah", _l("this solution needs an amount in rupiah")),
    (r"(?P<kind>\w+) takes no amount", _l("this solution takes no amount")),
    (r"(?P<kind>\w+) takes no items", _l("this solution takes no items")),
    (r"(?P<sku>\S+) is listed twice", _l("%(sku)s is listed twice")),
    (r"(?P<sku>\S+) is not in the order", _l("%(sku)s is not in the order")),
    (
        r"(?P<sku>\S+): qty must be between 1 and (?P<max>\d+)",
        _l("%(sku)s: the quantity must be between 1 and %(max)s"),
    ),
    (r"no evidence (?P<id>\S+) on this complaint", _l("no evidence %(id)s on this complaint")),
    (r"each piece of evidence once", _l("each piece of evidence once")),
    (
        r"name at least one piece of the evidence the decision weighed",
        _l("name at least one piece of the evidence the decision weighed"),
    ),
]
RULES = [(re.compile(pattern), said) for pattern, said in RULES]

# Why the lifecycle refused (domain.commands.REFUSALS), and the state it refused in.
REASONS = {
    "the seller has not answered yet (propose or appeal): its turn comes first": _l(
        "the seller has not answered yet (propose or appeal): its turn comes first"
    ),
    "only the care agent the complaint is assigned to may do this": _l(
        "only the care agent the complaint is assigned to may do this"
    ),
    "a review must go to another agent than the one who decided": _l(
        "a review must go to another agent than the one who decided"
    ),
    "only a decision by the care team can be reviewed": _l(
        "only a decision by the care team can be reviewed"
    ),
    "a review has already been requested once for this complaint": _l(
        "a review has already been requested once for this complaint"
    ),
    "the time to request a review of the decision has passed": _l(
        "the time to request a review of the decision has passed"
    ),
    "the decided money has already been sent to the payment system": _l(
        "the decided money has already been sent to the payment system"
    ),
    "the deadline has not passed yet": _l("the deadline has not passed yet"),
    "the goods have already been sent: the decision is being carried out": _l(
        "the goods have already been sent: the decision is being carried out"
    ),
    "the case has an agent and its 24 hours to decide have not passed: until then only "
    "that agent works on it (it may release or reassign it)": _l(
        "the case has an agent and its 24 hours to decide have not passed: until then only "
        "that agent works on it (it may release or reassign it)"
    ),
    "the evidence requested from a party is still awaited (until its due time) or has not been "
    "reviewed yet": _l(
        "the evidence requested from a party is still awaited (until its due time) or has not "
        "been reviewed yet"
    ),
    "the clock is already paused: resume it first": _l(
        "the clock is already paused: resume it first"
    ),
    "the clock is running: there is no pause to end": _l(
        "the clock is running: there is no pause to end"
    ),
    "the pause has not reached its end yet": _l("the pause has not reached its end yet"),
}
NOW = re.compile(r"Cannot \w+ now: (?P<why>.+)\.")
WHILE = re.compile(r"Cannot \w+ while the complaint is (?P<state>[a-z ]+)\.")


def rule(message: str) -> str:
    """One rule's words in the reader's language (as it came when its shape is unknown)."""
    for pattern, said in RULES:
        found = pattern.fullmatch(message.strip())
        if found:
            return str(said) % found.groupdict() if found.groupdict() else str(said)
    return message


def fields(messages: Any, prefix: str = "") -> str:
    """Field errors, nested as marshmallow nests them, as one line: `Amount: at most 5000`."""
    if not isinstance(messages, dict):
        listed = messages if isinstance(messages, list) else [messages]
        said = ", ".join(rule(str(m)) for m in listed)
        name = FIELDS.get(prefix) or FIELDS.get(re.sub(r"\.\d+", "", prefix)) or prefix
        return f"{name}: {said}" if prefix else said
    return "; ".join(fields(v, f"{prefix}.{k}" if prefix else str(k)) for k, v in messages.items())


def reason(detail: str) -> str:
    """Why the lifecycle refused an action, in the reader's language."""
    found = NOW.fullmatch(detail)
    if found:
        # A reason may name what it waits for after it (`…: #12 (from the buyer, …): open`).
        why, _, named = found["why"].partition(": #")
        if why in REASONS:
            return str(REASONS[why]) + (f": #{named}" if named else "")
    found = WHILE.fullmatch(detail)
    if found:
        state = STATES.get(found["state"].replace(" ", "_"), found["state"])
        return str(_l("not while the complaint is: %(state)s", state=state))
    return detail
