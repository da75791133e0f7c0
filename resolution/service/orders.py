"""The order registry: the marketplace registers and updates its orders; the order's buyer,
its shop's sellers and the marketplace read them.

A change to an order's payment, shipment or held money reaches its complaint not closed as
an `order_updated` event, in the same transaction as the order's new version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain import commands, orders, settlements
from ..domain.actors import Actor, Role
from ..domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Stale
from ..domain.events import utc_ms
from ..store import orders as store
from ..store.transactions import Session
from .unit_of_work import Context, Idempotency, append, write

# Of a registered order, what a complaint's snapshot leaves out: the registry's own record.
_RECORD = ("registered_at", "updated_at")


@dataclass(frozen=True)
class Registered:
    """An order as registered now, and whether this write created it."""

    order: dict[str, Any]
    created: bool


def _exact(value: Any) -> Any:
    """`value` with every time truncated to what the database keeps (so an unchanged order
    compares equal to its stored self)."""
    if isinstance(value, datetime):
        return utc_ms(value)
    if isinstance(value, Mapping):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(v) for v in value]
    return value


def check_acts_for(actor: Actor, channel: str) -> None:
    """Only an integration token allowed for the channel writes its orders (403)."""
    if actor.role is not Role.INTEGRATION:
        raise Forbidden("Orders are registered by the marketplace, with an integration token.")
    if not actor.acts_for(channel):
        raise Forbidden(f"This integration token does not act for the channel {channel}.")


def register(
    ctx: Context,
    actor: Actor,
    channel: str,
    order_id: str,
    body: Mapping[str, Any],
    *,
    if_match: int | None = None,
    idem: Idempotency | None = None,
) -> Registered:
    """Registers the order, or its new version; tells its complaint not closed what changed."""
    check_acts_for(actor, channel)
    now = ctx.clock()
    given = _exact({"shipment": None, "completed_at": None, "invoice_url": None, **body})
    given |= {"channel": channel, "id": order_id}
    orders.check(given, now)

    def work(session: Session) -> Registered:
        stored = store.load(channel, order_id, session)
        if if_match is not None and (stored is None or stored["version"] != if_match):
            if stored is None:
                raise Stale(f"Order {order_id} is not registered: there is no version {if_match}.")
            raise Stale(
                f"Order {order_id} is at version {stored['version']}, not {if_match}: read it "
                "again.",
                version=stored["version"],
            )
        if stored is None:
            order = {**given, "version": 1, "registered_at": now, "updated_at": now}
            store.save(_exact(order), session)
            return Registered(order, created=True)
        if all(stored.get(name) == value for name, value in given.items()):
            return Registered(stored, created=False)  # nothing new: no new version
        moved = orders.parties_changed(stored, given)
        if moved and store.complaints_on(channel, order_id, session):
            raise Conflict(
                f"Order {order_id} has a complaint: its {' and '.join(moved)} cannot change "
                "(a complaint's parties never change under it).",
                fields=moved,
            )
        order = _exact(
            {
                **given,
                "version": stored["version"] + 1,
                "registered_at": stored["registered_at"],
                "updated_at": now,
            }
        )
        store.save(order, session)
        changed = orders.changes(stored, order)
        if changed:
            for complaint in store.complaints_on(channel, order_id, session, open_only=True):
                event = commands.order_updated(complaint, actor, changed, snapshot(order), now)
                append(session, ctx, actor, complaint, event, None)
        return Registered(order, created=False)

    return write(ctx, actor, idem, work)


def snapshot(order: Mapping[str, Any]) -> dict[str, Any]:
    """The order as a complaint keeps it: everything but the registry's own record."""
    return {k: v for k, v in order.items() if k not in _RECORD}


def get_order(ctx: Context, actor: Actor, channel: str, order_id: str) -> dict[str, Any]:
    """The order, for the marketplace of its channel, its buyer and its shop's sellers; for
    anyone else it does not exist (the same 404 as an unknown order)."""
    order = store.load(channel, order_id)
    if order is None or not _may_read(actor, order):
        raise NotFound(f"There is no order {order_id} on {channel}.")
    return order


def _may_read(actor: Actor, order: Mapping[str, Any]) -> bool:
    if actor.role is Role.INTEGRATION:
        return actor.acts_for(order["channel"])
    if actor.role is Role.BUYER:
        return order["buyer_id"] == actor.id
    if actor.role is Role.SELLER:
        return actor.shop_id is not None and order["shop_id"] == actor.shop_id
    return False


def order_to_complain_about(
    actor: Actor, channel: str, order_id: str, session: Session | None = None
) -> dict[str, Any]:
    """The registered order a buyer names when opening a complaint, as the complaint
    snapshots it; an unknown order and someone else's get the one same refusal."""
    commands.check_opener(actor)
    order = store.load(channel, order_id, session)
    if order is None or order["buyer_id"] != actor.id:
        raise commands.unknown_order(channel, order_id)
    return snapshot(order)


def settled_earlier(
    channel: str, order_id: str, session: Session | None = None
) -> settlements.Ledger:
    """What the complaints closed on the order settled: to the buyer, and moved in all.

    A complaint closed before settlements were recorded counts its refund as paid and the
    rest as released (it moved everything held, as a settlement would have)."""
    settled = []
    for complaint in store.complaints_on(channel, order_id, session):
        if complaint.is_open:
            continue
        if complaint.settlement is not None:
            settled.append(complaint.settlement)
            continue
        solution = (complaint.resolution or {}).get("solution") or {}
        refund = complaint.outcome in ("agreed", "decided", "fulfilled") and solution.get(
            "kind"
        ) in ("refund", "return_refund")
        held = int(complaint.order.get("held_amount") or 0)
        to_buyer = min(int(solution.get("amount") or 0), held) if refund else 0
        settled.append({"to_buyer": to_buyer, "to_seller": held - to_buyer})
    return settlements.Ledger.of(settled)


@dataclass
class Imported:
    """How an import went: counts, and the reason of each refused line."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def import_orders(
    ctx: Context, lines: Iterable[tuple[int, Mapping[str, Any] | str]], registrar: str
) -> Imported:
    """Registers each (line number, order) as the marketplace would, each in its own
    transaction: a line is wholly written or refused (a `str` is a line already refused,
    with why). `registrar` names who imported (the events' actor)."""
    done = Imported()
    for number, line in lines:
        if isinstance(line, str):
            done.refused.append((number, line))
            continue
        body = {k: v for k, v in line.items() if k not in ("channel", "id")}
        actor = Actor(Role.INTEGRATION, registrar, channels=frozenset({line["channel"]}))
        try:
            before = store.load(line["channel"], line["id"])
            result = register(ctx, actor, line["channel"], line["id"], body)
        except DomainError as refused:
            why = refused.detail
            if isinstance(refused, Invalid) and refused.errors:
                why += " " + "; ".join(f"{k}: {', '.join(v)}" for k, v in refused.errors.items())
            done.refused.append((number, why))
            continue
        if result.created:
            done.created += 1
        elif before is not None and result.order["version"] == before["version"]:
            done.unchanged += 1
        else:
            done.updated += 1
    return done
