"""Orders as the marketplace registered them, and what the complaints on an order add up to.

An order is kept as its latest version (`version` counts its writes); each write is
conditional on the version it replaces, inside the caller's transaction, so two writers of
one order cannot both win.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from ..domain.projection import Complaint
from .documents import ComplaintDocument, OrderDocument
from .errors import guarded
from .eventstore import complaint_from_mongo
from .transactions import Session, VersionConflict

# Of the order's mapping, what is stored as is (the rest: `_id`, `version`, times of the record).
FIELDS = (
    "channel",
    "id",
    "buyer_id",
    "shop_id",
    "items",
    "total",
    "payment",
    "shipment",
    "completed_at",
    "invoice_url",
    "held_amount",
    "version",
    "registered_at",
    "updated_at",
)


def key(channel: str, order_id: str) -> str:
    return f"{channel}/{order_id}"


def _to_mongo(order: dict[str, Any]) -> dict[str, Any]:
    doc = {name: order.get(name) for name in FIELDS if name != "id"}
    doc["_id"] = key(order["channel"], order["id"])
    doc["order_id"] = order["id"]
    return doc


def _from_mongo(doc: dict[str, Any]) -> dict[str, Any]:
    order = {name: doc.get(name) for name in FIELDS if name != "id"}
    order["id"] = doc["order_id"]
    return order


def _orders():
    return OrderDocument._get_collection()


@guarded
def load(channel: str, order_id: str, session: Session | None = None) -> dict[str, Any] | None:
    """The order's latest version, or None."""
    doc = _orders().find_one({"_id": key(channel, order_id)}, session=session)
    return _from_mongo(doc) if doc else None


@guarded
def save(order: dict[str, Any], session: Session) -> None:
    """Writes `order` at its `version`, over the version before it (1: a first write)."""
    doc = _to_mongo(order)
    try:
        if order["version"] == 1:
            _orders().insert_one(doc, session=session)
            return
        written = _orders().replace_one(
            {"_id": doc["_id"], "version": order["version"] - 1}, doc, session=session
        )
    except DuplicateKeyError as error:
        raise VersionConflict(doc["_id"]) from error
    if written.matched_count != 1:
        raise VersionConflict(doc["_id"])


@guarded
def complaints_on(
    channel: str, order_id: str, session: Session | None = None, *, open_only: bool = False
) -> list[Complaint]:
    """The complaints on an order (only the one not closed, with `open_only`), oldest first."""
    query: dict[str, Any] = {"channel": channel, "order.id": order_id}
    if open_only:
        query["active"] = True
    # Oldest first by opening time: complaint ids are random (eventstore.new_complaint_id).
    docs = ComplaintDocument._get_collection().find(query, session=session)
    docs = docs.sort([("created_at", 1), ("_id", 1)])
    return [complaint_from_mongo(doc) for doc in docs]
