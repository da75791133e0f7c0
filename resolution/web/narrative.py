"""A complaint told in plain words, for people: its events, states, solutions, times in WIB.

Used by the printable export and the care console. Every sentence goes through Flask-Babel, so
it reads in the page's language (Indonesian by default, see `i18n`). It tells only what the
records it is given hold: visibility (what a party may see) is decided before, by the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from babel.numbers import format_decimal
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain import decisions
from ..domain.audit import mask_text
from ..domain.calendars import EXTRA_HOLIDAY, WEEKEND, holiday_name
from ..domain.policy import Period, parse_iso_duration
from ..domain.projection import EVIDENCE_RULE

STATES = {
    "awaiting_seller": _l("Waiting for the seller"),
    "awaiting_buyer": _l("Waiting for the buyer"),
    "appealed": _l("Appealed by the seller, waiting for the buyer"),
    "awaiting_care": _l("Waiting for the care team"),
    "in_mediation": _l("In mediation by the care team"),
    "awaiting_return": _l("Waiting for the buyer to send the item back"),
    "return_shipped": _l("Return on its way, waiting for the seller to confirm"),
    "awaiting_shipment": _l("Waiting for the seller to send the goods"),
    "shipment_sent": _l("Goods on their way, waiting for the buyer to confirm"),
    "closed": _l("Closed"),
}
OUTCOMES = {
    "agreed": _l("the parties agreed"),
    "decided": _l("the care team decided"),
    "withdrawn": _l("the buyer withdrew"),
    "return_not_shipped": _l("the buyer did not send the item back in time"),
    "fulfilled": _l("the solution was carried out"),
}
REASONS = {
    "not_received": _l("Order not received"),
    "damaged": _l("Item damaged"),
    "wrong_item": _l("Wrong item"),
    "incomplete": _l("Order incomplete"),
    "not_as_described": _l("Not as described"),
    "counterfeit": _l("Counterfeit"),
    "other": _l("Other"),
}
EVIDENCE_KINDS = {
    "photo": _l("a photo"),
    "video": _l("a video"),
    "screenshot": _l("a screenshot"),
    "document": _l("a document"),
    "identity_document": _l("an identity document"),
    "tracking": _l("a tracking number"),
}
PARTIES = {
    "buyer": _l("the buyer"),
    "seller": _l("the seller"),
    "care": _l("the care team"),
}
SOLUTION_KINDS = {
    "refund": _l("Refund"),
    "return_refund": _l("Return, then refund"),
    "exchange": _l("Exchange"),
    "send_remaining": _l("Send the missing items"),
    "release_to_seller": _l("No refund: pay the seller"),
}
SETTLEMENT_STATUSES = {
    "held": _l("held until the review window closes"),
    "requested": _l("asked of the payment system"),
    "confirmed": _l("paid"),
    "failed": _l("failed"),
    "nothing_to_move": _l("nothing held to move"),
}

PAYMENT_METHODS = {
    "transfer": _l("bank transfer"),
    "ewallet": _l("e-wallet"),
    "card": _l("card"),
    "cod": _l("cash on delivery"),
    "paylater": _l("pay later"),
    "other": _l("other"),
}
PAYMENT_STATUSES = {
    "paid": _l("paid"),
    "unpaid": _l("unpaid"),
    "cod_pending": _l("to be paid on delivery"),
    "cod_collected": _l("paid on delivery"),
    "refunded": _l("refunded"),
    "cancelled": _l("cancelled"),
}
ORDER_FIELDS = {
    "payment": _l("payment"),
    "shipment": _l("shipment"),
    "held_amount": _l("money held"),
}


def payment(data: Mapping | None) -> str:
    """`bank transfer, paid` (the order's payment as people say it)."""
    data = data or {}
    method = PAYMENT_METHODS.get(data.get("method", ""), data.get("method") or "–")
    status = PAYMENT_STATUSES.get(data.get("status", ""), data.get("status") or "–")
    return f"{method}, {status}"


def shipment(data: Mapping | None) -> str:
    """`J&T JP123, shipped 1 Jun 2025 10.00 WIB, delivered …` or `–`."""
    data = data or {}
    parts = [text(" ".join(str(data[k]) for k in ("courier", "tracking_number") if data.get(k)))]
    if data.get("shipped_at"):
        parts.append(_("shipped %(at)s", at=wib(data["shipped_at"])))
    if data.get("delivered_at"):
        parts.append(_("delivered %(at)s", at=wib(data["delivered_at"])))
    return ", ".join(p for p in parts if p) or "–"


def _order_updated(by: str, data: Mapping) -> str:
    changed = data.get("changes") or {}
    said = []
    for name, change in changed.items():
        after = (change or {}).get("after")
        if name == "payment":
            said.append(_("payment now %(what)s", what=payment(after)))
        elif name == "shipment":
            said.append(_("shipment now %(what)s", what=shipment(after)))
        elif name == "held_amount":
            said.append(_("money held now %(amount)s", amount=rupiah(int(after or 0))))
    what = "; ".join(said) or "–"
    return _("%(who)s updated the order: %(what)s.", who=by, what=what)


def wib(moment: datetime | str | None) -> str:
    """A time as people in Indonesia read it: `23 Nov 2026 14.05 WIB`."""
    if moment is None:
        return "–"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return f"{format_datetime(moment, 'd MMM y HH.mm')} WIB"


def duration(span: timedelta) -> str:
    """A span of time as an agent reads a queue: `5 h 12 min`, `30 h`, `3 d 2 h`, `0 min`.

    Under two days it counts hours, as the 24-hour care SLA does.
    """
    minutes = max(0, int(span.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        days, hours = divmod(hours, 24)
        parts = [_("%(days)s d", days=days)]
        return " ".join([*parts, _("%(hours)s h", hours=hours)] if hours else parts)
    parts = [_("%(hours)s h", hours=hours)] if hours else []
    if minutes or not hours:
        parts.append(_("%(minutes)s min", minutes=minutes))
    return " ".join(parts)


# The days a deadline passes over that are named by the service, not by a calendar.
DAYS_OFF = {WEEKEND: _l("weekend"), EXTRA_HOLIDAY: _l("extra holiday")}


def _period(rule: str) -> str:
    return period(Period.parse(rule))


def period(period: Period) -> str:
    """`3 business days`, `72 hours`, `1 h 30 min`: a policy's period in words."""
    if period.span is None:
        # No plural forms in the catalogue (Indonesian has none): one sentence for one.
        n = period.business_days
        return _("1 business day") if n == 1 else _("%(num)s business days", num=n)
    hours, rest = divmod(int(period.span.total_seconds()), 3600)
    if rest:
        return duration(period.span)
    return _("1 hour") if hours == 1 else _("%(num)s hours", num=hours)


def _day_off(calendar: str, day: str, name: str) -> str:
    if name in DAYS_OFF:
        return str(DAYS_OFF[name])
    if str(get_locale() or "id").startswith("id") and calendar != "none":
        return holiday_name(calendar, date.fromisoformat(day), "id") or name
    return name


def _skipped(calendar: str, skipped: list) -> str:
    """`29 March (Day of Silence), 5–6 April (weekend)`: consecutive days of one name
    together."""
    runs: list[list] = []
    for entry in skipped:
        day = date.fromisoformat(entry["date"])
        name = _day_off(calendar, entry["date"], entry["name"])
        if runs and runs[-1][2] == name and (day - runs[-1][1]).days == 1:
            runs[-1][1] = day
        else:
            runs.append([day, day, name])
    words = []
    for first, last, name in runs:
        when = format_date(first, "d MMMM")
        if last != first:
            when = f"{format_date(first, 'd')}–{format_date(last, 'd MMMM')}"
            if last.month != first.month:
                when = f"{format_date(first, 'd MMMM')}–{format_date(last, 'd MMMM')}"
        words.append(f"{when} ({name})")
    return ", ".join(words)


def deadline(explained: Mapping | None) -> str:
    """Why a party's deadline falls where it does, in words: `3 business days from Friday 28
    March 2025, 10.00 WIB, skipping 29 March (Day of Silence), …`."""
    if not explained:
        return ""
    started = datetime.fromisoformat(explained["started_at"])
    start = f"{format_datetime(started, 'EEEE d MMMM y, HH.mm')} WIB"
    if explained["rule"] == EVIDENCE_RULE:
        text = _("The due time care gave its request for evidence, asked %(start)s", start=start)
    else:
        text = _("%(rule)s from %(start)s", rule=_period(explained["rule"]), start=start)
    parts = [text]
    if explained.get("skipped"):
        days = _skipped(explained.get("calendar", "none"), explained["skipped"])
        parts.append(_("skipping %(days)s", days=days))
    if explained.get("working_hours"):
        hours = explained["working_hours"].replace("-", "–").replace(":", ".")
        parts.append(_("falling within working hours, %(hours)s WIB", hours=hours))
    paused = parse_iso_duration(explained.get("paused_for") or "PT0S")
    if paused:
        parts.append(_("plus %(paused)s the clock was paused", paused=duration(paused)))
    return "; ".join(parts) + "."


def rupiah(amount: int) -> str:
    """Whole rupiah, grouped the Indonesian way: `Rp 150.000`."""
    return f"Rp {format_decimal(amount, locale='id_ID')}"


def state(name: str | None) -> str:
    return str(STATES.get(name or "", name or "–"))


def outcome(name: str | None) -> str:
    return str(OUTCOMES.get(name or "", name or "–"))


def reason(name: str) -> str:
    return str(REASONS.get(name, name))


def reason_code(code: str | None) -> str:
    """A decision's reason code in the page's language (the catalogue's own labels)."""
    if not code or code not in decisions.REASON_CODES:
        return code or "–"
    labels = decisions.label(code)
    return labels.get(str(get_locale()), labels["en"])


def settlement_status(name: str | None) -> str:
    return str(SETTLEMENT_STATUSES.get(name or "", name or "–"))


def settlement(data: Mapping | None) -> str:
    """`Rp 45.000 to the buyer, Rp 60.000 to the seller`."""
    if not data:
        return "–"
    return _(
        "%(buyer)s to the buyer, %(seller)s to the seller",
        buyer=rupiah(data["to_buyer"]),
        seller=rupiah(data["to_seller"]),
    )


def who(actor: Mapping) -> str:
    """`the buyer (buyer-1)`, `the seller (shop shop-1)`, `the care team (agent-1)`, …"""
    role = actor.get("role")
    if role == "buyer":
        return _("the buyer (%(id)s)", id=actor["id"])
    if role == "seller":
        return _("the seller (shop %(shop)s)", shop=actor.get("shop_id") or actor["id"])
    if role == "care":
        return _("the care team (%(id)s)", id=actor["id"])
    if role == "auditor":
        return _("an auditor (%(id)s)", id=actor["id"])
    if role == "integration":
        return _("the marketplace (%(id)s)", id=actor["id"])
    return _("the service")


def solution(data: Mapping | None) -> str:
    """A solution in words: `a refund of Rp 150.000`, `an exchange of 1 × SKU-1`."""
    if not data:
        return "–"
    kind, amount = data["kind"], data.get("amount")
    items = ", ".join(f"{i['qty']} × {i['sku']}" for i in data.get("items") or ())
    if kind == "refund":
        return _("a refund of %(amount)s", amount=rupiah(amount))
    if kind == "return_refund":
        return _("a return, then a refund of %(amount)s", amount=rupiah(amount))
    if kind == "exchange":
        return _("an exchange (%(items)s)", items=items)
    if kind == "send_remaining":
        return _("sending the missing items (%(items)s)", items=items)
    if kind == "release_to_seller":
        return _("no refund: the payment goes to the seller")
    return kind


def text(value: str) -> str:
    """Free text as printed: any 16-digit number (a NIK) shows only its last 4 digits."""
    return mask_text(value)


def describe(record: Mapping) -> str:
    """One event, as a sentence: `The seller (shop s-1) offered a refund of Rp 30.000.`"""
    kind, data, by = record["type"], record.get("data") or {}, who(record["actor"])
    line = _SENTENCES.get(kind)
    if line is None:
        sentence = _("%(who)s: %(what)s.", who=by, what=kind.replace("_", " "))
    else:
        sentence = line(by, data)
    return sentence[:1].upper() + sentence[1:]


def _deadline_party(data: Mapping) -> str:
    return str(PARTIES.get(data.get("party") or "", data.get("party") or "–"))


def _evidence(by: str, data: Mapping) -> str:
    what = str(EVIDENCE_KINDS.get(data.get("kind", ""), data.get("kind", "")))
    if data.get("kind") == "tracking" and "tracking_number" in data:
        if not str(data["tracking_number"]).startswith("[withheld"):
            what = _(
                "a tracking number (%(courier)s %(number)s)",
                courier=text(str(data.get("courier", ""))),
                number=text(str(data["tracking_number"])),
            )
    return _("%(who)s added %(what)s.", who=by, what=what)


def _closing(data: Mapping) -> str:
    if data.get("state") != "closed":
        return ""
    closed = " " + _("The complaint is closed: %(outcome)s.", outcome=outcome(data["outcome"]))
    if data.get("reason_code"):
        closed += " " + _("Reason: %(reason)s.", reason=reason_code(data["reason_code"]))
    if data.get("settlement"):
        closed += " " + _("Settlement: %(split)s.", split=settlement(data["settlement"]))
    return closed


_SENTENCES = {
    "open": lambda by, d: _(
        "%(who)s opened the complaint (%(reason)s) and asked for %(solution)s.",
        who=by,
        reason=reason(d.get("reason", "")),
        solution=solution(d.get("requested_solution")),
    ),
    "propose": lambda by, d: _(
        "%(who)s proposed %(solution)s.", who=by, solution=solution(d.get("solution"))
    ),
    "accept": lambda by, d: (
        _("%(who)s accepted %(solution)s.", who=by, solution=solution(d.get("solution")))
        + _closing(d)
    ),
    "appeal": lambda by, d: _("%(who)s appealed.", who=by),
    "deadline_approaching": lambda by, d: _(
        "The service reminded %(party)s that its turn ends %(deadline)s.",
        party=_deadline_party(d),
        deadline=wib(d.get("due_at")),
    ),
    "escalate": lambda by, d: _("%(who)s asked the care team for help.", who=by),
    "auto_escalate": lambda by, d: _(
        "%(party)s did not respond by %(deadline)s: the complaint went to the care team.",
        party=_deadline_party(d),
        deadline=wib(d.get("deadline")),
    ),
    "auto_close": lambda by, d: (
        _("The buyer did not send the item back by %(deadline)s.", deadline=wib(d.get("deadline")))
        + _closing(d)
    ),
    "auto_complete": lambda by, d: (
        _(
            "The buyer did not confirm or dispute the shipment by %(deadline)s.",
            deadline=wib(d.get("deadline")),
        )
        + _closing(d)
    ),
    "assign": lambda by, d: (
        _(
            "%(agent)s took over the complaint from %(other)s, past its care deadline.",
            agent=who({"role": "care", "id": d.get("agent_id")}),
            other=d.get("from_agent"),
        )
        if d.get("from_agent")
        else _(
            "%(agent)s took the complaint.", agent=who({"role": "care", "id": d.get("agent_id")})
        )
    ),
    "release": lambda by, d: _("%(who)s released the complaint back to the queue.", who=by),
    "reassign": lambda by, d: _(
        "%(who)s handed the complaint to %(agent)s.",
        who=by,
        agent=who({"role": "care", "id": d.get("agent_id")}),
    ),
    "request_evidence": lambda by, d: _(
        "%(who)s asked %(party)s for evidence, due %(due)s.",
        who=by,
        party=PARTIES.get(d.get("party", ""), d.get("party", "")),
        due=wib(d.get("due_at")),
    ),
    "decide": lambda by, d: (
        _("%(who)s decided: %(solution)s.", who=by, solution=solution(d.get("solution")))
        + (
            " " + _("The evidence asked for was not sent in time: decided without it.")
            if d.get("expired_requests")
            else ""
        )
        + _closing(d)
    ),
    "ship_return": lambda by, d: _(
        "%(who)s sent the item back (%(courier)s %(number)s).",
        who=by,
        courier=text(str(d.get("courier", ""))),
        number=text(str(d.get("tracking_number", ""))),
    ),
    "confirm_return": lambda by, d: (
        _("%(who)s confirmed the return arrived.", who=by) + _closing(d)
    ),
    "ship_items": lambda by, d: _(
        "%(who)s sent the goods (%(courier)s %(number)s).",
        who=by,
        courier=text(str(d.get("courier", ""))),
        number=text(str(d.get("tracking_number", ""))),
    ),
    "confirm_received": lambda by, d: (
        _("%(who)s confirmed the goods arrived.", who=by) + _closing(d)
    ),
    "withdraw": lambda by, d: _("%(who)s withdrew the complaint.", who=by) + _closing(d),
    "request_review": lambda by, d: _("%(who)s asked for the decision to be reviewed.", who=by),
    "message": lambda by, d: (
        _("%(who)s wrote to %(party)s only.", who=by, party=PARTIES.get(d["to"], d["to"]))
        if d.get("to")
        else _("%(who)s wrote a message.", who=by)
    ),
    "note": lambda by, d: _("%(who)s added a note for the care team.", who=by),
    "evidence_request_withdrawn": lambda by, d: _(
        "%(who)s withdrew an evidence request it no longer needed.", who=by
    ),
    "evidence_added": _evidence,
    "order_updated": _order_updated,
    "evidence_reviewed": lambda by, d: _("%(who)s reviewed a piece of evidence.", who=by),
    "settlement_requested": lambda by, d: _(
        "The service asked the payment system to pay the settlement (attempt %(n)s).",
        n=d.get("attempt"),
    ),
    "settlement_confirmed": lambda by, d: _(
        "%(who)s confirmed the settlement was paid (reference %(reference)s).",
        who=by,
        reference=text(str(d.get("reference", ""))),
    ),
    "settlement_failed": lambda by, d: _(
        "%(who)s could not pay the settlement.",
        who=by,
    ),
    "settlement_retried": lambda by, d: _(
        "%(who)s asked the payment system again (attempt %(n)s).", who=by, n=d.get("attempt")
    ),
    "evidence_viewed": lambda by, d: _(
        "%(who)s opened %(what)s.",
        who=by,
        what=EVIDENCE_KINDS.get(d.get("kind", ""), d.get("kind", "")),
    ),
    "evidence_purged": lambda by, d: _(
        "The service destroyed a file (%(what)s): its retention after the closing ended. Its "
        "fingerprint stays in the log.",
        what=EVIDENCE_KINDS.get(d.get("kind", ""), d.get("kind", "")),
    ),
    "legal_hold_set": lambda by, d: _(
        "%(who)s put the complaint's files under a legal hold.", who=by
    ),
    "legal_hold_lifted": lambda by, d: _("%(who)s lifted the legal hold.", who=by),
    "erasure": lambda by, d: _(
        "%(who)s erased a person's personal data on request; the log still verifies.", who=by
    ),
}


def detail(record: Mapping) -> str | None:
    """The words the event carries (a description, message, reason, rationale, note), masked."""
    data = record.get("data") or {}
    keys = ("description",) if record["type"] == "open" else _WORDS
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and not value.startswith("[withheld"):
            return text(value)
    return None


_WORDS = ("body", "rationale", "reason", "note", "caption")
