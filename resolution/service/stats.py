"""A shop's figures ("Skor Performa Toko", seed 002): what its complaints were about, how they
ended and why, how often they went to care, how fast the seller answered, what was refunded.

Read from the shop's complaints opened in the window, through one index range: never every
complaint of the service.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..domain.actors import Actor, Role
from ..domain.errors import Forbidden, Invalid
from ..domain.settlements import CONFIRMED, NOTHING_TO_MOVE
from ..store import listings
from .unit_of_work import Context

DEFAULT_WINDOW = timedelta(days=30)
LONGEST_WINDOW = timedelta(days=366)


def _channels_for(actor: Actor, shop_id: str) -> tuple[str, ...] | None:
    """Which channels' complaints the actor may count (None: all), or 403."""
    if actor.role is Role.SELLER and actor.shop_id == shop_id:
        return None
    if actor.is_staff:
        return None
    if actor.role is Role.INTEGRATION:
        return tuple(sorted(actor.channels))
    raise Forbidden("A shop's figures are for its own sellers, care, auditors and the marketplace.")


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def shop_figures(
    ctx: Context,
    actor: Actor,
    shop_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The shop's figures over the complaints opened in [since, until) (default: the 30 days
    up to now; at most 366 days)."""
    channels = _channels_for(actor, shop_id)
    until = until or ctx.clock()
    since = since or until - DEFAULT_WINDOW
    if since >= until:
        raise Invalid("`since` must be before `until`.", {"since": ["not before until"]})
    if until - since > LONGEST_WINDOW:
        raise Invalid(
            "The window is at most 366 days.", {"since": ["more than 366 days before until"]}
        )
    rows = listings.shop_window(shop_id, since, until, channels)
    return {
        "shop_id": shop_id,
        "since": since,
        "until": until,
        "channels": list(channels) if channels is not None else None,
        **figures(rows),
    }


def figures(rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures of these complaints (as `listings.shop_window` reads them)."""
    opened = len(rows)
    closed = [r for r in rows if r.get("state") == "closed"]
    escalated = sum(1 for r in rows if r.get("escalated"))
    auto = sum(1 for r in rows if r.get("auto_escalated"))
    waits = [
        (r["seller_first_answer_at"] - r["created_at"]).total_seconds()
        for r in rows
        if r.get("seller_first_answer_at") and r.get("created_at")
    ]
    refunded = pending = 0
    for r in rows:
        settlement = r.get("settlement") or {}
        to_buyer = int(settlement.get("to_buyer") or 0)
        if settlement.get("status") == CONFIRMED:
            refunded += to_buyer
        elif settlement.get("status") not in (None, NOTHING_TO_MOVE):
            pending += to_buyer
    codes = Counter((r.get("resolution") or {}).get("reason_code") or "none" for r in closed)
    return {
        "opened": {"total": opened, "by_reason": dict(Counter(r["reason"] for r in rows))},
        "closed": {
            "total": len(closed),
            "by_outcome": dict(Counter(r.get("outcome") for r in closed)),
            "by_reason_code": dict(codes),
        },
        "escalated": {"count": escalated, "share": _share(escalated, opened)},
        "auto_escalated": {"count": auto, "share": _share(auto, opened)},
        "seller_first_answer": {
            "answered": len(waits),
            "median_seconds": int(statistics.median(waits)) if waits else None,
        },
        "refunded": {"confirmed": refunded, "pending": pending},
    }
