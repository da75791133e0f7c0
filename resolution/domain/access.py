"""Who may see which complaint: object-level visibility, decided in one place."""

from __future__ import annotations

from .actors import Actor, Role
from .projection import Complaint


def can_see(actor: Actor, complaint: Complaint) -> bool:
    """A buyer sees the complaints it opened, a seller those of its shop, care and auditors all."""
    if actor.role is Role.BUYER:
        return complaint.buyer_id == actor.id
    if actor.role is Role.SELLER:
        return actor.shop_id is not None and complaint.shop_id == actor.shop_id
    return actor.is_staff or actor.role is Role.SYSTEM


def visibility_filter(actor: Actor) -> dict[str, str]:
    """The same rule as `can_see`, as the equality fields a listing query must match."""
    if actor.role is Role.BUYER:
        return {"buyer_id": actor.id}
    if actor.role is Role.SELLER:
        return {"shop_id": actor.shop_id or "\0no-shop"}
    return {}
